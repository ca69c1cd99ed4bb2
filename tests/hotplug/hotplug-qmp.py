#!/usr/bin/env python3
"""Hot-plug cycles through QMP while the guest of tests/hotplug/init runs.

    hotplug-qmp.py --qmp SOCKET --console FILE --cycles N --pid PID
                   [--profile FILE] [--profile-every K] [--timeout SECONDS]
                   [--smaps PREFIX]

Each cycle adds a zpci device and a virtio-*-pci function it targets
(device_add), waits for the guest's "hotplug add" line, removes the
function (device_del), waits for QEMU's DEVICE_DELETED events of both
devices and for the guest's "hotplug remove" line. The function kinds
rotate through virtio-net-pci, virtio-blk-pci (on a null-co block node made
with blockdev-add and removed with blockdev-del) and virtio-rng-pci; every
K-th cycle's zpci replays the host profile FILE (host-profile=). Then the
stop function (uid 0xfe) is added, the guest's report awaited, and QEMU
told to quit.

Prints one line per cycle, "cycle N ok ..." or "cycle N FAIL why", then
"rss_kib first N last N large_first N large_last N other_first N
other_last N" (QEMU's resident memory after the first and the last cycle:
all of it, in guest RAM and TCG's translation buffer, the rest), "stop ok|FAIL" and "quit ok|FAIL". Exit status 0 when all passed.
"""

import argparse
import sys
import time

from zpcitest.qmp import Gone, Qmp, Timeout

UIDS = (0x10, 0x11, 0x12, 0x13)
KINDS = ("virtio-net-pci", "virtio-blk-pci", "virtio-rng-pci")
STOP_UID = 0xFE


class Fail(Exception):
    """A step that did not happen as it should."""


class Console:
    """Follows the guest's console file from where it was last read."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.pending = ""

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        text = self.pending + data.decode("utf-8", "replace").replace("\r", "")
        parts = text.split("\n")
        self.pending = parts.pop()
        return parts

    def wait_for(self, want, timeout):
        """Waits for a line for which WANT(line) is true; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                if want(line):
                    return line
            time.sleep(0.05)
        raise Fail(f"the guest did not print the awaited line within {timeout} s")


def rss_kib(pid):
    """QEMU's resident KiB: (all, in mappings of 512 MiB or more).

    The large mappings are guest RAM and TCG's translation buffer, which
    fill as the guest touches memory and runs code; the rest is QEMU's heap
    and thread arenas, where a leak would show.
    """
    total = large = size = 0
    try:
        with open(f"/proc/{pid}/smaps", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Size:"):
                    size = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
                    total += rss
                    if size >= 512 * 1024:
                        large += rss
    except (OSError, ValueError):
        return (-1, -1)
    return (total, large)


def cycle(qmp, con, n, kind, profile, timeout):
    uid = UIDS[n % len(UIDS)]
    addr = f"{uid:04x}:00:00.0"
    dev, zdev, node = f"hp{n}", f"hpz{n}", f"hpn{n}"
    zargs = {"driver": "zpci", "id": zdev, "uid": uid, "fid": uid, "target": dev}
    if profile:
        zargs["host-profile"] = profile
    dargs = {"driver": kind, "id": dev}
    if kind != "virtio-rng-pci":
        dargs.update({"iommu_platform": True, "disable-legacy": "on"})
    if kind == "virtio-net-pci":
        dargs["romfile"] = ""
    if kind == "virtio-blk-pci":
        qmp.cmd("blockdev-add", driver="null-co", **{"node-name": node},
                    size=1 << 20, **{"read-zeroes": True})
        dargs["drive"] = node
    t0 = time.monotonic()
    qmp.cmd("device_add", **zargs)
    qmp.cmd("device_add", **dargs)
    line = con.wait_for(lambda l: l.startswith(f"hotplug add {addr} "), timeout)
    driver = line.split()[-1]
    t1 = time.monotonic()
    qmp.cmd("device_del", id=dev)
    try:
        qmp.wait_deleted((dev, zdev), timeout)
    except Timeout as e:
        # Tell apart a request the guest never acted on from a stuck
        # unplug: ask once more (QEMU sends the guest a new request).
        again = "a second device_del"
        try:
            qmp.cmd("device_del", id=dev)
            qmp.wait_deleted((dev, zdev), timeout)
            again += " completed"
        except (Gone, Timeout) as e2:
            again += f" failed too: {e2}"
        raise Fail(f"{e}; {again}") from e
    con.wait_for(lambda l: l == f"hotplug remove {addr}", timeout)
    if kind == "virtio-blk-pci":
        qmp.cmd("blockdev-del", **{"node-name": node})
    t2 = time.monotonic()
    return (f"cycle {n} ok {kind} uid 0x{uid:x} profile {1 if profile else 0} "
            f"driver {driver} add_s {t1 - t0:.2f} del_s {t2 - t1:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--console", required=True)
    ap.add_argument("--cycles", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--profile", default="")
    ap.add_argument("--profile-every", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--boot-timeout", type=float, default=300)
    ap.add_argument("--smaps", default="", help="save QEMU's smaps to PREFIX.first/.last")
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    ok = True
    con = Console(a.console)
    try:
        qmp = Qmp.wait(a.qmp, time.monotonic() + a.timeout)
        con.wait_for(lambda l: l == "ZPCI-HOTPLUG-READY", a.boot_timeout)
        print("ready ok")
    except (Fail, Gone, Timeout) as e:
        print(f"ready FAIL {e}")
        return 1

    first = last = (-1, -1)
    for n in range(1, a.cycles + 1):
        kind = KINDS[(n - 1) % len(KINDS)]
        profile = a.profile if a.profile and n % a.profile_every == 0 else ""
        try:
            print(cycle(qmp, con, n, kind, profile, a.timeout))
        except (Fail, Gone, Timeout) as e:
            print(f"cycle {n} FAIL {kind}: {e}")
            ok = False
            break
        last = rss_kib(a.pid)
        if n == 1:
            first = last
        if a.smaps and n in (1, a.cycles):
            try:
                with open(f"/proc/{a.pid}/smaps", "rb") as f:
                    data = f.read()
                with open(f"{a.smaps}.{'first' if n == 1 else 'last'}", "wb") as f:
                    f.write(data)
            except OSError:
                pass
        print(f"progress {n}/{a.cycles}", file=sys.stderr)
    print(f"rss_kib first {first[0]} last {last[0]} "
          f"large_first {first[1]} large_last {last[1]} "
          f"other_first {first[0] - first[1]} other_last {last[0] - last[1]}")

    if ok:
        try:
            qmp.cmd("device_add", driver="zpci", id="hpstopz", uid=STOP_UID,
                        fid=STOP_UID, target="hpstop")
            qmp.cmd("device_add", driver="virtio-rng-pci", id="hpstop")
            con.wait_for(lambda l: l == "ZPCI-REPORT-END", a.timeout)
            print("stop ok")
        except (Fail, Gone, Timeout) as e:
            print(f"stop FAIL {e}")
            ok = False
    # QEMU may close the connection before its answer is read.
    qmp.quit()
    qmp.close()
    print("quit ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
