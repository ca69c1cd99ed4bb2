#!/usr/bin/env python3
"""The host side of one run of zpci-bench.elf (zpci-bench.h).

    bench-host.py --qmp SOCKET --pidfile FILE --timeout SECONDS
                  [--launcher PID] [--raw FILE]

Connects to QEMU's QMP socket, polls the results area with pmemsave and,
at each checkpoint of the program, pauses the machine (QMP stop), notes
VmRSS, RssAnon and VmHWM of the QEMU process (from /proc/PID/status),
resumes it and lets the program go on with a restart interruption
(inject-nmi). When the program is done it quits QEMU
and prints one JSON object: the decoded results area and the checkpoints.

Exit status: 0 done, 3 timed out, 4 QEMU went away or refused a command.

SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import json
import os
import struct
import sys
import time

from zpcitest.qmp import Gone, Qmp, Timeout

RESULTS_ADDR = 0x100000
RESULTS_SIZE = 0x4000
HEAD = ">QIIIIIIIIQII"          # struct zbench_results up to nsamples
DMA = ">IIII"
SAMPLE = ">BBBBIQ"
MAGIC_RUNNING = 0x7A62656E63682D52
MAGIC_DONE = 0x7A62656E63682D44
KINDS = {1: "map", 2: "refresh", 3: "unmap", 4: "empty"}
CHECKPOINTS = {1: "empty", 2: "mapped", 3: "unmapped"}
LAYOUTS = {0: "contiguous", 1: "scattered"}


def running(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def read_pid(pidfile, deadline, launcher):
    while time.monotonic() < deadline:
        if launcher and not running(launcher):
            raise Gone("QEMU exited before it wrote its pidfile")
        try:
            with open(pidfile) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise TimeoutError("no pidfile %s" % pidfile)


def memory(pid):
    """VmRSS, RssAnon and VmHWM of the process, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


def decode(data):
    (magic, version, options, pages, fh, checkpoint, checkpoints,
     ckpt_timeouts, error, detail, npgm, nsamples) = struct.unpack_from(HEAD, data)
    off = struct.calcsize(HEAD)
    dma = []
    for layout in range(2):
        checked, landed, dev_status, pci_cc = struct.unpack_from(DMA, data, off)
        off += struct.calcsize(DMA)
        dma.append({"layout": LAYOUTS[layout], "checked": checked,
                    "landed": landed, "device_status": dev_status,
                    "pci_cc": pci_cc})
    samples = []
    for _ in range(min(nsamples, 480)):
        layout, kind, cc, status, rnd, tod = struct.unpack_from(SAMPLE, data, off)
        off += struct.calcsize(SAMPLE)
        samples.append({"layout": LAYOUTS.get(layout, layout),
                        "kind": KINDS.get(kind, kind), "cc": cc,
                        "status": status, "round": rnd,
                        "usecs": tod / 4096.0})
    return {
        "done": magic == MAGIC_DONE, "version": version,
        "options": options, "pages": pages, "fh": fh,
        "checkpoint_timeouts": ckpt_timeouts, "error": error,
        "detail": detail, "npgm": npgm, "dma": dma, "samples": samples,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--launcher", type=int, default=0,
                    help="the process that starts QEMU: stop waiting when it is gone")
    ap.add_argument("--raw")
    ap.add_argument("--poll", type=float, default=0.02)
    a = ap.parse_args()

    deadline = time.monotonic() + a.timeout
    tmp = (a.raw or a.qmp) + ".head"
    try:
        pid = read_pid(a.pidfile, deadline, a.launcher)
        q = Qmp.wait(a.qmp, deadline, alive=lambda: running(pid))
        seen = 0
        marks = []
        state = None
        while True:
            q.cmd("pmemsave", val=RESULTS_ADDR, size=64, filename=tmp)
            with open(tmp, "rb") as f:
                head = f.read(64)
            magic = struct.unpack_from(">Q", head)[0]
            checkpoint, checkpoints = struct.unpack_from(">II", head, 24)
            if magic in (MAGIC_RUNNING, MAGIC_DONE) and checkpoints > seen:
                # the guest is parked at the checkpoint; paused, nothing at
                # all runs in it while its memory is read
                q.cmd("stop")
                mem = memory(pid)
                q.cmd("cont")
                layout, where = checkpoint >> 8, checkpoint & 0xff
                marks.append({"layout": LAYOUTS.get(layout, layout),
                              "at": CHECKPOINTS.get(where, where),
                              "rss_kib": mem.get("VmRSS"),
                              "anon_kib": mem.get("RssAnon"),
                              "hwm_kib": mem.get("VmHWM")})
                seen = checkpoints
                q.cmd("inject-nmi")
                continue
            if magic == MAGIC_DONE:
                out = a.raw or tmp
                q.cmd("pmemsave", val=RESULTS_ADDR, size=RESULTS_SIZE,
                      filename=out)
                with open(out, "rb") as f:
                    state = decode(f.read())
                break
            if time.monotonic() > deadline:
                print("zpci-bench did not finish within %gs (magic %#x, "
                      "%d checkpoints)" % (a.timeout, magic, checkpoints),
                      file=sys.stderr)
                sys.exit(3)
            time.sleep(a.poll)
        state["checkpoints"] = marks
        state["peak_kib"] = memory(pid).get("VmHWM")
        q.quit()
        q.close()
    except (Timeout, TimeoutError) as e:
        print("zpci-bench: %s within %gs" % (e, a.timeout), file=sys.stderr)
        sys.exit(3)
    except (Gone, OSError) as e:
        print("zpci-bench: %s" % e, file=sys.stderr)
        sys.exit(4)
    finally:
        if os.path.exists(tmp) and tmp != a.raw:
            os.unlink(tmp)
    print(json.dumps(state))


if __name__ == "__main__":
    main()
