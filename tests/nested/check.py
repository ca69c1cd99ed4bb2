#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What the nested test asserts, from the console log of scripts/nested.

  check.py --write-disk FILE
      the disk behind each function: byte i of sector s is zb_disk_byte(s, i)
      of tests/s390x-bare/zpci-bare.h
  check.py --log FILE --functions ADDR[,ADDR] --dma-limit N
           [--build-seconds S] [--run-seconds S]
      the checks, one "ok"/"FAIL" line each, then times and MAP_DMA counts;
      exit status 1 when a check failed

For each function L1 passed through, and each QEMU in L1 (rs: zpci-rs,
off: the same series with zpci-rs disabled, i.e. stock):
  - L2 ran to "done", every step answered CC 0 without a program
    interruption, and the reads by DMA landed the disk's bytes;
  - the CLP answers L2 received (Query PCI Function and Function Group
    blocks, decoded at the offsets of Linux's asm/pci_clp.h) equal what
    L1's kernel reports through VFIO, decoded by zpci-caps --live with
    zpci-rs's policies (rs), or differ from rs's only where a difference is
    listed in STOCK_DIFFERS with its reason (off);
  - every VFIO_IOMMU_MAP_DMA and _UNMAP_DMA the kernel saw (its kprobe
    trace) succeeded; replaying them gives the DMA entries in use, which
    reach exactly dma_entry_limit when L2 is refused (CC 1 status 16), and
    never pass it;
  - rs: x-query-zpci's dma-avail in L1's QEMU is the kernel's DMA_AVAIL
    before L2 starts and DMA_AVAIL less the entries in use at the end;
    the 1 MiB of contiguous frames L2 maps with one RPCIT is one MAP_DMA.
"""

import argparse
import base64
import json
import re
import sys

SECTOR = 512
MIB = 1 << 20
# Where L2 maps its 1 MiB, from the start of the aperture (zpci-bare.h's
# ZB_IOVA_1M less ZB_SDMA).
OFFSET_1M = 0x100000
VFIO_IOMMU_MAP_DMA = 0x3B71
VFIO_IOMMU_UNMAP_DMA = 0x3B72

# Where stock QEMU's answers for a vfio-pci function may differ from
# zpci-rs's, and why. Empty: on this host every value agrees.
STOCK_DIFFERS = {}


def disk_byte(s, i):
    return (s * 0x35 + i * 7 + (i >> 8)) & 0xFF


def write_disk(path, sectors=2048):
    with open(path, "wb") as f:
        for s in range(sectors):
            f.write(bytes(disk_byte(s, i) for i in range(SECTOR)))


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok    %s" % what)
        else:
            self.failed += 1
            print("FAIL  %s%s" % (what, ": " + detail if detail else ""))
        return ok


def u(b, off, n):
    return int.from_bytes(b[off:off + n], "big")


def decode_function(b):
    """Query PCI Function response, as Linux 6.12's clp_rsp_query_pci."""
    return {
        "vfn": u(b, 16, 2),
        "pfgid": b[19],
        "fid": u(b, 20, 4),
        "pchid": u(b, 30, 2),
        "pfip": b[56:60].hex(),
        "fmbl": b[62],
        "pft": b[63],
        "sdma": u(b, 64, 8),
        "edma": u(b, 72, 8),
        "uid": u(b, 124, 4),
        "util-str": b[128:192].hex(),
    }


def decode_group(b):
    """Query PCI Function Group response (clp_rsp_query_pci_grp)."""
    return {
        "noi": u(b, 16, 2) & 0xFFF,
        "version": b[18],
        "rtr": (b[19] >> 5) & 1,
        "refresh": b[19] & 1,
        "maxstbl": u(b, 20, 2) & 0x1FFF,
        "mui": u(b, 22, 2),
        "dtsm": b[24],
        "dasm": u(b, 32, 8),
        "msia": u(b, 40, 8),
    }


class Run:
    """One QEMU in L1 on one function: what L2, QMP and the kernel said."""

    def __init__(self):
        self.steps = {}
        self.blocks = {}
        self.limit = None
        self.done = False
        self.l2_error = None
        self.qmp = {}
        self.trace = []
        self.qemu_err = []
        self.times = {}
        self.exit = None


def parse_log(path):
    lives = {}
    runs = {}
    meta = {}
    errors = []
    live_b64 = {}
    for raw in open(path, errors="replace"):
        line = raw.rstrip("\n")
        if line.startswith("ZPCI-REPORT-ERROR "):
            errors.append(line[len("ZPCI-REPORT-ERROR "):])
            continue
        if not line.startswith("nested "):
            continue
        w = line.split(" ", 4)
        if w[1] == "dma_entry_limit":
            meta["dma_entry_limit"] = int(w[2])
            continue
        if w[1] == "time":
            meta[w[2]] = float(w[3])
            continue
        fn = int(w[1])
        if w[2] == "live":
            if w[3] not in ("begin", "end"):
                live_b64.setdefault(fn, []).append(w[3])
            continue
        run = runs.setdefault((fn, w[2]), Run())
        kind = w[3]
        rest = w[4] if len(w) > 4 else ""
        if kind == "time":
            what, t = rest.split()
            run.times[what] = float(t)
        elif kind == "exit":
            run.exit = int(rest)
        elif kind == "qmp":
            when, answer = rest.split(" ", 1)
            run.qmp[when] = json.loads(answer)
        elif kind == "trace":
            run.trace.append(rest)
        elif kind == "qemu":
            run.qemu_err.append(rest)
        elif kind == "l2":
            parse_l2(run, rest)
    for fn, parts in live_b64.items():
        captures = json.loads(base64.b64decode("".join(parts)))["captures"]
        lives[fn] = captures[0] if len(captures) == 1 else None
    return lives, runs, meta, errors


def kv(text):
    return dict(p.split("=", 1) for p in text.split() if "=" in p)


def parse_l2(run, text):
    if text.startswith("step="):
        d = kv(text)
        run.steps[d["step"]] = {k: int(v, 0) for k, v in d.items() if k != "step"}
    elif text.startswith("block="):
        d = kv(text)
        blk = run.blocks.setdefault(d["block"], bytearray())
        off = int(d["off"])
        data = bytes.fromhex(d["hex"])
        blk[off:off + len(data)] = data
    elif text.startswith("limit "):
        run.limit = {k: int(v) for k, v in kv(text).items()}
    elif text == "done":
        run.done = True
    elif text.startswith("error="):
        run.l2_error = text


TRACE_RE = re.compile(r"^\s*(\S+)-(\d+)\s+\[\d+\].*?\s([\d.]+): (ioctl|ioctl_ret): \(.*?\)\s*(.*)$")


def replay_trace(run):
    """The MAP/UNMAP calls with their answers, and the entries in use."""
    pending = {}
    calls = []
    for line in run.trace:
        m = TRACE_RE.match(line)
        if not m:
            continue
        pid, event, args = m.group(2), m.group(4), kv(m.group(5))
        if event == "ioctl":
            pending.setdefault(pid, []).append(args)
        elif pending.get(pid):
            call = pending[pid].pop()
            call["ret"] = int(args["ret"])
            calls.append(call)
    ops = []
    for c in calls:
        cmd = int(c["cmd"], 16)
        if cmd == VFIO_IOMMU_MAP_DMA:
            ops.append(("map", int(c["w16"], 16), int(c["w24"], 16), c["ret"]))
        elif cmd == VFIO_IOMMU_UNMAP_DMA:
            ops.append(("unmap", int(c["w8"], 16), int(c["w16"], 16), c["ret"]))
    entries = []
    peak = 0
    for op, iova, size, ret in ops:
        if ret != 0:
            continue
        if op == "map":
            entries.append((iova, size))
            peak = max(peak, len(entries))
        else:
            entries = [e for e in entries
                       if not (iova <= e[0] and e[0] + e[1] <= iova + size)]
    return ops, len(entries), peak


def dma_avail(answer):
    fns = answer.get("return", [])
    if len(fns) != 1 or "dma" not in fns[0]:
        return None
    return fns[0]["dma"].get("dma-avail")


def check_run(c, name, run, live, limit, variant):
    c.check("%s: L2 ran to the end" % name,
            run.done and run.exit == 0 and not run.l2_error,
            "done=%s exit=%s %s" % (run.done, run.exit, run.l2_error or ""))
    c.check("%s: QEMU in L1 printed nothing on stderr" % name,
            not run.qemu_err, " | ".join(run.qemu_err[:5]))
    expected_refusal = {"rpcit_map_1m"} if variant == "off" else set()
    bad = ["%s cc=%d status=%d pgm=%#x" % (s, v["cc"], v["status"], v["pgm"])
           for s, v in run.steps.items()
           if (v["cc"] or v["pgm"]) and s not in expected_refusal]
    c.check("%s: every step answered CC 0 (%d steps)" % (name, len(run.steps)),
            run.steps and not bad, "; ".join(bad))
    for s in ("dma_read_s0", "dma_read_s4", "dma_read_remapped") + (
            ("dma_read_1m",) if variant == "rs" else ()):
        v = run.steps.get(s)
        c.check("%s: %s landed the disk's sector" % (name, s),
                v is not None and v["v0"] == 0 and v["v4"] == 1,
                "missing" if v is None else
                "request status %#x, landed %d, first bytes %#x" % (v["v0"], v["v4"], v["v3"]))

    if live is not None and "query_fn" in run.blocks and "query_grp" in run.blocks:
        got_fn = decode_function(bytes(run.blocks["query_fn"]))
        got_grp = decode_group(bytes(run.blocks["query_grp"]))
        want_fn = {k: v["value"] for k, v in live["clp"]["function"].items()}
        want_grp = {k: v["value"] for k, v in live["clp"]["group"].items()}
        diffs = ["%s: L2 %s, L1's VFIO %s" % (k, got_fn.get(k), want_fn[k])
                 for k in want_fn if got_fn.get(k) != want_fn[k]]
        diffs += ["group %s: L2 %s, L1's VFIO %s" % (k, got_grp.get(k), want_grp[k])
                  for k in want_grp if got_grp.get(k) != want_grp[k]]
        if variant == "off":
            unexplained = [d for d in diffs if d.split(":")[0] not in STOCK_DIFFERS]
            for d in diffs:
                if d not in unexplained:
                    print("      %s (%s)" % (d, STOCK_DIFFERS[d.split(":")[0]]))
            c.check("%s: CLP answers equal L1's VFIO capabilities with zpci-rs's "
                    "policies, but for the listed differences (%d values)"
                    % (name, len(want_fn) + len(want_grp)), not unexplained,
                    "; ".join(unexplained))
        else:
            c.check("%s: CLP answers equal L1's VFIO capabilities as zpci-caps "
                    "--live decodes them (%d values)" % (name, len(want_fn) + len(want_grp)),
                    not diffs, "; ".join(diffs))
    else:
        c.check("%s: CLP blocks and zpci-caps --live present" % name, False)

    ops, in_use_end, peak = replay_trace(run)
    failed = [o for o in ops if o[3] != 0]
    maps = [o for o in ops if o[0] == "map"]
    c.check("%s: the kernel saw MAP_DMA calls (%d) and answered every MAP_DMA "
            "and UNMAP_DMA with 0 (%d calls)" % (name, len(maps), len(ops)),
            maps and not failed, "; ".join(map(str, failed[:5])))
    lim = run.limit or {}
    c.check("%s: RPCIT answered CC 1 status 16 (insufficient resources) "
            "after %s single pages" % (name, lim.get("mapped")),
            lim.get("cc") == 1 and lim.get("status") == 16, str(lim))
    # QEMU, stock and zpci-rs alike, maps the page that takes the last
    # entry and answers that RPCIT with CC 1 status 16, so that the guest
    # frees mappings before it needs more.
    c.check("%s: the kernel's entries in use peaked at its dma_entry_limit "
            "(%d of %d), never above" % (name, peak, limit), peak == limit)

    # The 1 MiB of contiguous frames: MAP_DMAs in its range before the
    # first UNMAP_DMA there.
    one_mib = []
    sdma = decode_function(bytes(run.blocks.get("query_fn", bytes(384))))["sdma"]
    for op in ops:
        if sdma + OFFSET_1M <= op[1] < sdma + OFFSET_1M + MIB:
            if op[0] == "unmap":
                break
            one_mib.append(op)
    mapped = sum(o[2] for o in one_mib if o[3] == 0)
    per_mib = len(one_mib) * MIB / mapped if mapped else None
    if variant == "rs":
        c.check("%s: 1 MiB of contiguous frames, one RPCIT: one MAP_DMA of 1 MiB"
                % name, len(one_mib) == 1 and mapped == MIB,
                "%d calls, %d bytes" % (len(one_mib), mapped))
        avail = live["clp"].get("dma-limit") if live else None
        start = dma_avail(run.qmp.get("start", {}))
        end = dma_avail(run.qmp.get("end", {}))
        c.check("%s: x-query-zpci dma-avail before L2 ran is the kernel's "
                "DMA_AVAIL (%s)" % (name, avail), start is not None and start == avail,
                "x-query-zpci %s" % start)
        c.check("%s: x-query-zpci dma-avail at the end is DMA_AVAIL less the "
                "entries the kernel holds (%s - %d)" % (name, avail, in_use_end),
                end is not None and avail is not None and end == avail - in_use_end,
                "x-query-zpci %s" % end)
    return {"map_calls": len(maps), "per_mib": per_mib, "one_mib_calls": len(one_mib),
            "one_mib_bytes": mapped, "refused_after": lim.get("mapped"), "peak": peak}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-disk")
    ap.add_argument("--log")
    ap.add_argument("--functions", default="")
    ap.add_argument("--dma-limit", type=int)
    ap.add_argument("--build-seconds", type=int)
    ap.add_argument("--run-seconds", type=int)
    a = ap.parse_args()
    if a.write_disk:
        write_disk(a.write_disk)
        return 0

    lives, runs, meta, errors = parse_log(a.log)
    c = Checks()
    c.check("L1 reported no error", not errors, "; ".join(errors))
    c.check("L1's dma_entry_limit is %d" % a.dma_limit,
            meta.get("dma_entry_limit") == a.dma_limit, str(meta.get("dma_entry_limit")))
    fns = a.functions.split(",")
    results = {}
    for i, addr in enumerate(fns):
        live = lives.get(i)
        c.check("%s: zpci-caps --live decoded L1's VFIO answers" % addr, live is not None)
        for variant in ("rs", "off"):
            run = runs.get((i, variant))
            name = "%s %s" % (addr, "zpci-rs" if variant == "rs" else "stock")
            if not c.check("%s: ran" % name, run is not None):
                continue
            results[(i, variant)] = check_run(c, name, run, live, a.dma_limit, variant)
        rs, off = runs.get((i, "rs")), runs.get((i, "off"))
        if rs and off:
            same = [k for k in ("query_fn", "query_grp") if rs.blocks.get(k) == off.blocks.get(k)]
            print("      %s: stock's CLP blocks are byte-equal to zpci-rs's: %s"
                  % (addr, ", ".join(same) if same else "none"))

    print("times (seconds since L1 booted):")
    print("  L1 ready for the test  %.1f" % meta.get("l1-ready", float("nan")))
    for (i, v), run in sorted(runs.items()):
        t = run.times
        print("  %s %-3s QEMU start to QMP ready %.1f, L2 program %.1f"
              % (fns[i], v, t.get("qmp-ready", 0) - t.get("qemu-start", 0),
                 t.get("l2-done", 0) - t.get("qmp-ready", 0)))
    if a.build_seconds is not None:
        print("  builds %d s, nested run %d s" % (a.build_seconds, a.run_seconds or 0))
    print("MAP_DMA calls per MiB that L2 maps with one RPCIT of 1 MiB of contiguous frames:")
    for (i, v), r in sorted(results.items()):
        print("  %s %-3s %s (%d calls for %d KiB before the first refusal); %d MAP_DMA in all;"
              " refused after %s single pages"
              % (fns[i], v, "%.0f" % r["per_mib"] if r["per_mib"] else "-",
                 r["one_mib_calls"], r["one_mib_bytes"] // 1024, r["map_calls"],
                 r["refused_after"]))
    print("nested: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
