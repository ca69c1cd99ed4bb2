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
import json
import os
import socket
import sys
import time

UIDS = (0x10, 0x11, 0x12, 0x13)
KINDS = ("virtio-net-pci", "virtio-blk-pci", "virtio-rng-pci")
STOP_UID = 0xFE


class Fail(Exception):
    """A step that did not happen as it should."""


class Qmp:
    """A QMP connection that keeps the events it reads."""

    def __init__(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Fail(f"no QMP socket at {path} after {timeout} s")
                time.sleep(0.1)
        self.buf = b""
        self.events = []
        self.timeout = timeout
        self.read_message()  # the greeting
        self.command("qmp_capabilities")

    def read_message(self):
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("QMP: no answer")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout as e:
                raise Fail("QMP: no answer") from e
            if not chunk:
                raise Fail("QMP: connection closed (QEMU gone?)")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.read_message()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise Fail(f"{name}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def poll_events(self, wait):
        """Reads what arrives within WAIT seconds into self.events."""
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return
        if not chunk:
            raise Fail("QMP: connection closed (QEMU gone?)")
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg)

    def wait_deleted(self, ids, timeout):
        """Waits for DEVICE_DELETED of every id in IDS."""
        left = set(ids)
        deadline = time.monotonic() + timeout
        while left:
            for ev in self.events:
                if ev["event"] == "DEVICE_DELETED":
                    left.discard(ev.get("data", {}).get("device"))
            self.events = [e for e in self.events if e["event"] != "DEVICE_DELETED"]
            if not left:
                break
            if time.monotonic() > deadline:
                raise Fail(f"no DEVICE_DELETED for {sorted(left)} after {timeout} s")
            self.poll_events(0.2)


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

    def wait_for(self, want, timeout, qmp=None):
        """Waits for a line for which WANT(line) is true; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                if want(line):
                    return line
            if qmp is not None:
                qmp.poll_events(0.05)
            else:
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
        qmp.command("blockdev-add", driver="null-co", **{"node-name": node},
                    size=1 << 20, **{"read-zeroes": True})
        dargs["drive"] = node
    t0 = time.monotonic()
    qmp.command("device_add", **zargs)
    qmp.command("device_add", **dargs)
    line = con.wait_for(lambda l: l.startswith(f"hotplug add {addr} "), timeout, qmp)
    driver = line.split()[-1]
    t1 = time.monotonic()
    qmp.command("device_del", id=dev)
    try:
        qmp.wait_deleted((dev, zdev), timeout)
    except Fail as e:
        # Tell apart a request the guest never acted on from a stuck
        # unplug: ask once more (QEMU sends the guest a new request).
        again = "a second device_del"
        try:
            qmp.command("device_del", id=dev)
            qmp.wait_deleted((dev, zdev), timeout)
            again += " completed"
        except Fail as e2:
            again += f" failed too: {e2}"
        raise Fail(f"{e}; {again}") from e
    con.wait_for(lambda l: l == f"hotplug remove {addr}", timeout, qmp)
    if kind == "virtio-blk-pci":
        qmp.command("blockdev-del", **{"node-name": node})
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
        qmp = Qmp(a.qmp, a.timeout)
        con.wait_for(lambda l: l == "ZPCI-HOTPLUG-READY", a.boot_timeout, qmp)
        print("ready ok")
    except (Fail, OSError, ValueError) as e:
        print(f"ready FAIL {e}")
        return 1

    first = last = (-1, -1)
    for n in range(1, a.cycles + 1):
        kind = KINDS[(n - 1) % len(KINDS)]
        profile = a.profile if a.profile and n % a.profile_every == 0 else ""
        try:
            print(cycle(qmp, con, n, kind, profile, a.timeout))
        except (Fail, OSError, ValueError) as e:
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
            qmp.command("device_add", driver="zpci", id="hpstopz", uid=STOP_UID,
                        fid=STOP_UID, target="hpstop")
            qmp.command("device_add", driver="virtio-rng-pci", id="hpstop")
            con.wait_for(lambda l: l == "ZPCI-REPORT-END", a.timeout, qmp)
            print("stop ok")
        except (Fail, OSError, ValueError) as e:
            print(f"stop FAIL {e}")
            ok = False
    try:
        qmp.command("quit")
        print("quit ok")
    except Fail as e:
        # QEMU may close the connection before its answer is read.
        if "connection closed" in str(e):
            print("quit ok")
        else:
            print(f"quit FAIL {e}")
            ok = False
    except (OSError, ValueError) as e:
        print(f"quit FAIL {e}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
