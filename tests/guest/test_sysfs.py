"""What the guest kernel sees through zPCI CLP equals the values pinned
from stock QEMU of the same version (--expected, tests/guest/stock-*.expected),
and the guest reads its disk whole: a disk of random data behind zPCI
uid 5 (virtio-blk) and virtio-net with uid 0xa, fid 12.

SPDX-License-Identifier: GPL-2.0-or-later
"""

import hashlib
import os

import pytest

from zpcitest.expect import expect
from zpcitest.guest import Guest
from zpcitest.sysfs import ADDRS, ATTRS, read_expected, reported

pytestmark = pytest.mark.quick
DISK_MIB = 64


@pytest.fixture(scope="module")
def run(qemu, guest_image, guest_timeout, tmp_path_factory):
    work = tmp_path_factory.mktemp("sysfs")
    disk = work / "vda.img"
    data = os.urandom(DISK_MIB << 20)
    disk.write_bytes(data)
    with Guest(qemu, guest_image, work, disk=disk, timeout=guest_timeout) as g:
        g.wait_exit()
    return {"got": reported(g.report()), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def test_values_are_stocks(run, expected):
    want = read_expected(expected)
    expect([("%s %s" % (addr, attr), want[(addr, attr)],
             run["got"].get("pci %s %s" % (addr, attr)))
            for addr in ADDRS for attr in ATTRS])


def test_the_guest_reads_its_disk_whole(run):
    expect([("disk vda bytes", str(run["bytes"]), run["got"].get("disk vda bytes")),
            ("disk vda sha256", run["sha256"], run["got"].get("disk vda sha256"))])
