"""Count IOMMU notifier events per RPCIT, in gdb (gdb -x gdb-count.py).

Stock QEMU has no trace event on the notifier path, so this counts calls
of memory_region_notify_iommu() (system/memory.c), the one function every
IOMMU map and unmap notification of s390x zPCI goes through, whoever
listens. Calls are grouped by the rpcit_service_call() (hw/s390x/
s390-pci-inst.c) they happen in: group 0 is before the first RPCIT, group
n during or after the n-th. The event's type (IOMMU_NOTIFIER_MAP 2,
UNMAP 1) and size (addr_mask + 1) are read from the argument.

Environment: ZBENCH_COUNT_OUT, the JSON file written when QEMU exits:
  {"rpcit_calls": N, "groups": [{"map_events", "map_bytes",
   "unmap_events", "unmap_bytes", "unreadable"}, ...]}

SPDX-License-Identifier: GPL-2.0-or-later
"""

import json
import os

import gdb

OUT = os.environ["ZBENCH_COUNT_OUT"]
groups = [{"map_events": 0, "map_bytes": 0, "unmap_events": 0,
           "unmap_bytes": 0, "unreadable": 0}]
state = {"rpcit_calls": 0}


class RpcitCall(gdb.Breakpoint):
    def stop(self):
        state["rpcit_calls"] += 1
        groups.append({"map_events": 0, "map_bytes": 0, "unmap_events": 0,
                       "unmap_bytes": 0, "unreadable": 0})
        return False


class Notify(gdb.Breakpoint):
    def stop(self):
        g = groups[-1]
        try:
            event = gdb.selected_frame().read_var("event")
            kind = int(event["type"])
            size = int(event["entry"]["addr_mask"]) + 1
        except (gdb.error, ValueError):
            g["unreadable"] += 1
            return False
        if kind & 2:
            g["map_events"] += 1
            g["map_bytes"] += size
        elif kind & 1:
            g["unmap_events"] += 1
            g["unmap_bytes"] += size
        else:
            g["unreadable"] += 1
        return False


def write(_event):
    with open(OUT, "w") as f:
        json.dump({"rpcit_calls": state["rpcit_calls"], "groups": groups}, f)


gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set print thread-events off")
gdb.execute("handle SIGUSR1 SIGUSR2 SIGPIPE SIGALRM SIGCHLD nostop noprint pass")
RpcitCall("rpcit_service_call", internal=True)
Notify("memory_region_notify_iommu", internal=True)
gdb.events.exited.connect(write)
gdb.execute("run")
