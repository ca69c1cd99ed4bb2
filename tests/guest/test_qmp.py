"""What x-query-zpci says each zPCI function was given is what the guest
kernel shows in sysfs, and the trace events agree with the counters.

The guest runs with virtio-blk (uid 5, fid 0, through the IOMMU:
iommu_platform=on), virtio-net (uid 0xa, fid 12), and two virtio-rng
functions (uids 0x20, 0x21) replaying tests/fixtures/replay-sample.zpcihost.
QEMU runs with -no-shutdown: once the guest has printed its report and
powered off, x-query-zpci and info zpci are asked over QMP.

SPDX-License-Identifier: GPL-2.0-or-later
"""

import re

import pytest

from zpcitest.expect import expect
from zpcitest.guest import ROOT, Guest

PROFILE = ROOT / "tests/fixtures/replay-sample.zpcihost"
FIDS = [0x0, 0xC, 0x20, 0x21]

pytestmark = [pytest.mark.quick, pytest.mark.zpci_rs]


@pytest.fixture(scope="module")
def run(qemu, guest_image, guest_timeout, tmp_path_factory):
    work = tmp_path_factory.mktemp("qmp")
    trace = work / "trace.log"
    extra = [
        "-global", "virtio-blk-pci.iommu_platform=on",
        "-global", "virtio-blk-pci.disable-legacy=on",
        "-trace", "s390_pci_rs_clp_built", "-trace", "s390_pci_rs_iommu_event",
        "-D", str(trace),
    ]
    for i, uid in enumerate((0x20, 0x21)):
        extra += ["-device", "zpci,uid=%#x,fid=%#x,target=rep%d,host-profile=%s"
                  % (uid, uid, i, PROFILE),
                  "-device", "virtio-rng-pci,id=rep%d" % i]
    with Guest(qemu, guest_image, work, extra=extra, no_shutdown=True,
               timeout=guest_timeout) as g:
        g.wait_stopped()
        query = g.qmp.cmd("x-query-zpci")
        info = g.qmp.hmp("info zpci")
    sysfs = {}
    for line in g.report():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0] == "pci":
            sysfs.setdefault(parts[1], {})[parts[2]] = parts[3]
    return {"query": query, "info": info, "sysfs": sysfs,
            "trace": trace.read_text().splitlines()}


def number(attr):
    return None if attr is None else int(attr, 0)


def test_x_query_zpci_lists_the_four_functions(run):
    assert sorted(f["fid"] for f in run["query"]) == FIDS


def test_info_zpci_names_each_function(run):
    for fid in FIDS:
        assert "fid %#x " % fid in run["info"]


@pytest.mark.parametrize("fid", FIDS, ids=lambda fid: "fid%#x" % fid)
def test_what_qmp_says_is_what_the_guest_sees(run, fid):
    f = next(f for f in run["query"] if f["fid"] == fid)
    values = {v["name"]: v for v in f["function"]}
    group = {v["name"]: v for v in f["function-group"]}
    g = run["sysfs"].get("%04x:00:00.0" % f["uid"], {})
    segments = [g.get("pfip/segment%d" % i) for i in range(4)]
    pfip = None if None in segments else "".join("%02x" % int(s, 0) for s in segments)
    checks = [
        ("in the guest", True, bool(g)),
        ("function_id", f["fid"], number(g.get("function_id"))),
        ("uid", f["uid"], number(g.get("uid"))),
        ("function_handle", f["fh"], number(g.get("function_handle"))),
        ("pfgid", values["pfgid"]["value"], number(g.get("pfgid"))),
        ("group", f["group"], number(g.get("pfgid"))),
        ("pchid", values["pchid"]["value"], number(g.get("pchid"))),
        ("vfn", values["vfn"]["value"], number(g.get("vfn"))),
        ("pft", values["pft"]["value"], number(g.get("pft"))),
        ("pfip", values["pfip"]["hex"], pfip),
        ("utility string", values["util-str"]["hex"], g.get("util_string_hex", "")),
    ]
    if f["source"] == "host-profile":
        built = [l for l in run["trace"]
                 if re.match(r"s390_pci_rs_clp_built fid %#x from host-profile: " % fid, l)]
        checks += [
            ("pchid provenance",
             "host zPCI base capability (id 1) v2, replayed from %s" % PROFILE,
             values["pchid"]["provenance"]),
            ("edma provenance", "edma shrunk to the DMA limit", values["edma"]["provenance"]),
            ("noi provenance names the profile", True,
             group["noi"]["provenance"].endswith("replayed from %s" % PROFILE)),
            ("one s390_pci_rs_clp_built trace", 1, len(built)),
        ]
    else:
        checks += [
            ("source", "emulated", f["source"]),
            ("sdma provenance", "default", values["sdma"]["provenance"]),
            ("msia provenance", "default", group["msia"]["provenance"]),
        ]
    maps = sum(1 for l in run["trace"]
               if l.startswith("s390_pci_rs_iommu_event fid %#x map " % fid))
    checks.append(("map-events equals its map trace lines", f["dma"]["map-events"], maps))
    expect(checks)


def test_the_disks_function_mapped_pages_for_the_guests_reads(run):
    blk = next(f for f in run["query"] if f["uid"] == 5)
    assert blk["dma"]["pages-mapped"] > 0 and blk["dma"]["map-events"] > 0
