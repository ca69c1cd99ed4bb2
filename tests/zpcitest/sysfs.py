"""The zPCI values a Linux guest sees through CLP, as its sysfs shows
them, against the values pinned from stock QEMU
(tests/guest/stock-VERSION.expected: "<addr> <attr> <value>" lines, '#'
starts a comment).

    python -m zpcitest.sysfs --qemu PATH/qemu-system-s390x

boots the guest and prints its values in the format of the expected file
(to pin a new stock version).

SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import sys
import tempfile

from zpcitest import guest

ADDRS = ("0005:00:00.0", "000a:00:00.0")
ATTRS = ("uid", "pfgid", "pchid", "vfn", "pft", "function_id", "function_handle")


def read_expected(path):
    """{(addr, attr): value} of an expected file; every pair must be there."""
    want = {}
    for line in open(path):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) != 3:
            raise ValueError("bad line in %s: %r (want '<addr> <attr> <value>')" % (path, line))
        want[(words[0], words[1])] = words[2]
    missing = [k for k in ((a, t) for a in ADDRS for t in ATTRS) if k not in want]
    if missing:
        raise ValueError("%s has no value for %s" % (path, missing))
    return want


def reported(report):
    """{key: value} of the report's lines: the last word is the value, the
    words before it the key ("pci ADDR ATTR", "disk vda sha256")."""
    out = {}
    for line in report:
        key, _, value = line.rpartition(" ")
        out.setdefault(key, value)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qemu", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with guest.Guest(a.qemu, guest.image(), tmp) as g:
            g.wait_exit()
        got = reported(g.report())
    for addr in ADDRS:
        for attr in ATTRS:
            print(addr, attr, got.get("pci %s %s" % (addr, attr), "missing"))


if __name__ == "__main__":
    sys.exit(main())
