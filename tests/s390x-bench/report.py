#!/usr/bin/env python3
"""The report of scripts/bench: medians, ratios, targets, chart.

    report.py --dir RESULTS [--elapsed S] [--command CMD]
              [--md BENCHMARKS.md] [--chart PNG]

Reads the raw results scripts/bench left in RESULTS (meta.json, load.txt,
rust-bench.txt, rpcit.jsonl, notify-BUILD.json, trace-BUILD.txt,
guest.jsonl; any may be missing) and prints the results as Markdown. With
--md, they replace the part of that file between the lines
"<!-- bench:begin -->" and "<!-- bench:end -->"; with --chart, gnuplot
draws the chart there (the data and script stay in RESULTS).

SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

PAGES = 65536
LAYOUTS = ("contiguous", "scattered")
KINDS = ("empty", "map", "refresh", "unmap")
BUILDS = ("stock", "patched")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
# hw/s390x/trace-events of the patched build: s390_pci_rs_rpcit
RS_RPCIT = re.compile(r"s390_pci_rs_rpcit .*: cc (\d+) status (\d+), (\d+) maps "
                      r"\((\d+) pages\), (\d+) unmaps \((\d+) pages\)")

# The targets, as (patched / stock) ratios or absolute patched values.
REFRESH_X = 20.0        # RPCIT refresh pages/s, patched / stock, at least
EVENTS_PER_256 = 1.0    # map notifier events per 256 contiguous pages, at most
IOTLB_BYTES = 16.0      # IOTLB bytes per mapped page, at most
IOPS_RATIO = 0.97       # guest IOPS, patched / stock, at least


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def med(values):
    values = list(values)
    return statistics.median(values) if values else None


def spread(values):
    values = list(values)
    return (min(values), max(values)) if values else (None, None)


def fmt_rate(x):
    if x is None:
        return "n/a"
    if x >= 1e6:
        return "%.2f M" % (x / 1e6)
    if x >= 1e3:
        return "%.1f k" % (x / 1e3)
    return "%.0f" % x


def fmt_ratio(x):
    if x is None:
        return "n/a"
    return "%.3g×" % x


def yes(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


class Results:
    def __init__(self, d):
        self.dir = d
        self.meta = load_json(os.path.join(d, "meta.json")) or {}
        self.rpcit = load_jsonl(os.path.join(d, "rpcit.jsonl"))
        self.guest = load_jsonl(os.path.join(d, "guest.jsonl"))
        self.notify = {b: load_json(os.path.join(d, "notify-%s.json" % b))
                       for b in BUILDS}
        self.trace = {}
        self.rs_rpcit = {}
        for b in BUILDS:
            p = os.path.join(d, "trace-%s.txt" % b)
            if os.path.exists(p):
                with open(p) as f:
                    self.trace[b] = [line.split() for line in f if line.strip()]
            # the Rust side's own counts, one trace line per RPCIT
            p = os.path.join(d, "trace-%s.log" % b)
            if os.path.exists(p):
                with open(p) as f:
                    self.rs_rpcit[b] = [tuple(int(x) for x in m.groups())
                                        for m in map(RS_RPCIT.search, f) if m]
        p = os.path.join(d, "rust-bench.txt")
        self.rust = open(p).read() if os.path.exists(p) else None
        self.rust_failed = os.path.exists(os.path.join(d, "rust-bench.failed.txt"))
        # 1-minute load average before each run: (part, value)
        self.loads = []
        p = os.path.join(d, "load.txt")
        if os.path.exists(p):
            with open(p) as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 3:
                        self.loads.append((w[2], float(w[1])))

    # RPCIT pages per second: per run the median of its samples, then the
    # median of the runs.
    def rpcit_runs(self, build, layout, kind):
        out = []
        for r in self.rpcit:
            if r["build"] != build or r["layout"] != layout:
                continue
            us = med(s["usecs"] for s in r["samples"] if s["kind"] == kind)
            if us:
                out.append(PAGES / (us / 1e6))
        return out

    def rpcit_rate(self, build, layout, kind):
        return med(self.rpcit_runs(build, layout, kind))

    def iotlb_runs(self, build, layout):
        out = []
        for r in self.rpcit:
            if r["build"] != build or r["layout"] != layout:
                continue
            m = {c["at"]: c["anon_kib"] for c in r.get("checkpoints", [])
                 if c["layout"] == layout}
            if "empty" in m and "mapped" in m:
                out.append((m["mapped"] - m["empty"]) * 1024.0 / PAGES)
        return out

    def iotlb_bytes(self, build, layout):
        return med(self.iotlb_runs(build, layout))

    # Notifier events per RPCIT of the counting run: calls 1..8 are empty,
    # map, refresh, unmap of the contiguous, then of the scattered layout.
    def events(self, build):
        n = self.notify.get(build)
        if not n or n.get("rpcit_calls") != 2 * len(KINDS):
            return None
        out = {}
        for i, layout in enumerate(LAYOUTS):
            for j, kind in enumerate(KINDS):
                out[(layout, kind)] = n["groups"][1 + len(KINDS) * i + j]
        return out

    def guest_runs(self, build):
        return [med(p["bytes"] / 4096 / (p["usecs"] / 1e6) for p in g["passes"])
                for g in self.guest if g["build"] == build]

    def guest_iops(self, build):
        return med(self.guest_runs(build))

    # patched / stock of the two boots of each run (back to back)
    def guest_pairs(self):
        by = {}
        for g in self.guest:
            by.setdefault(g["run"], {})[g["build"]] = med(
                p["bytes"] / 4096 / (p["usecs"] / 1e6) for p in g["passes"])
        return [r["patched"] / r["stock"] for r in by.values()
                if "stock" in r and "patched" in r]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def commit():
    """The checkout's commit, with -dirty when the tree has changes other
    than the report and chart this script writes."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", ".",
             ":!BENCHMARKS.md", ":!tests/s390x-bench/benchmarks.png"],
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if changed else "")


def build_lines(res):
    lines = []
    for b in res.meta.get("builds", []):
        where = "`zpci_rs_iommu_rpcit` linked: RPCIT in Rust" if b["rpcit_in_rust"] \
            else "no `zpci_rs_iommu_rpcit`: RPCIT, IOTLB and notifiers are QEMU's C code"
        lines.append("- %s: `%s` (built %s, %d `zpci_rs_` functions; %s)"
                     % (b["build"], b["path"], b["mtime"],
                        b["zpci_rs_functions"], where))
    return lines


def markdown(res, elapsed, command, chart_rel):
    m = res.meta
    out = []
    w = out.append
    w("Measured %s by `%s`%s, on QEMU %s, from commit %s." % (
        m.get("started", "?"), command,
        " in %d min %02d s" % (elapsed // 60, elapsed % 60) if elapsed else "",
        os.environ.get("QEMU_VERSION", "?"), commit()))
    w("")
    if res.loads:
        parts = []
        for part in ("rust", "rpcit", "notify", "guest"):
            v = [x for p, x in res.loads if p == part]
            if v:
                parts.append("%s %.1f–%.1f" % (part, min(v), max(v)) if len(v) > 1
                             else "%s %.1f" % (part, v[0]))
        w("Machine: %d CPUs (%s), Linux %s. The 1-minute load average before "
          "each run (the other work on the machine and the previous run): %s. "
          "Stock and patched runs alternate (stock first in odd runs), so "
          "both saw the same load."
          % (m.get("cpus", 0), m.get("cpu_model", "?"), m.get("kernel", "?"),
             "; ".join(parts)))
        w("")
    out.extend(build_lines(res))
    w("")

    # targets
    refresh = {lay: ratio(res.rpcit_rate("patched", lay, "refresh"),
                          res.rpcit_rate("stock", lay, "refresh"))
               for lay in LAYOUTS}
    ev = {b: res.events(b) for b in BUILDS}

    def per256(b, lay="contiguous"):
        if not ev[b]:
            return None
        return ev[b][(lay, "map")]["map_events"] * 256.0 / PAGES

    # judged on the largest run: RSS can only under-count (malloc may reuse
    # memory that was already resident), never over-count the IOTLB
    iotlb = {(b, lay): max(res.iotlb_runs(b, lay), default=None)
             for b in BUILDS for lay in LAYOUTS}
    iops = {b: res.guest_iops(b) for b in BUILDS}
    # the target is judged on the median of the per-run ratios: each pair
    # of boots ran back to back, so slow drifts of the load cancel
    iops_ratio = med(res.guest_pairs())

    def le(x, limit):
        return None if x is None else x <= limit

    def ge(x, limit):
        return None if x is None else x >= limit

    w("### Targets")
    w("")
    w("| target | required | stock | patched | reached |")
    w("|---|---|---|---|---|")
    for lay in LAYOUTS:
        w("| RPCIT refresh of 256 MiB, %s frames (pages/s) | ≥ %g× stock | %s | %s | %s %s |"
          % (lay, REFRESH_X, fmt_rate(res.rpcit_rate("stock", lay, "refresh")),
             fmt_rate(res.rpcit_rate("patched", lay, "refresh")),
             fmt_ratio(refresh[lay]), yes(ge(refresh[lay], REFRESH_X))))
    w("| notifier events per 256 contiguous mapped pages | ≤ %g | %s | %s | %s |"
      % (EVENTS_PER_256, "%.3g" % per256("stock") if ev["stock"] else "n/a",
         "%.3g" % per256("patched") if ev["patched"] else "n/a",
         yes(le(per256("patched"), EVENTS_PER_256))))
    for lay in LAYOUTS:
        s, p = iotlb[("stock", lay)], iotlb[("patched", lay)]
        w("| IOTLB bytes per mapped page, %s frames (largest run) | ≤ %g | %s | %s | %s |"
          % (lay, IOTLB_BYTES, "%.1f" % s if s is not None else "n/a",
             "%.1f" % p if p is not None else "n/a", yes(le(p, IOTLB_BYTES))))
    w("| Linux guest 4 KiB O_DIRECT read IOPS (patched/stock per run, median) | ≥ %g × stock | %s | %s | %s %s |"
      % (IOPS_RATIO, fmt_rate(iops["stock"]), fmt_rate(iops["patched"]),
         fmt_ratio(iops_ratio), yes(ge(iops_ratio, IOPS_RATIO))))
    w("")
    if chart_rel:
        w("![RPCIT pages per second and the targets](%s)" % chart_rel)
        w("")

    # RPCIT table
    if res.rpcit:
        n = {b: len([r for r in res.rpcit if r["build"] == b
                     and r["layout"] == "contiguous"]) for b in BUILDS}
        w("### 1. RPCIT over 256 MiB (65536 pages)")
        w("")
        w("Pages per second, median of %d runs per build and layout "
          "(each run: the median of its %d rounds; refresh: of its %d × %d "
          "refreshes); in brackets the slowest and fastest run."
          % (min(n.values()), m.get("rounds", 0), m.get("rounds", 0),
             m.get("refreshes", 0)))
        w("")
        w("| frames | RPCIT | stock pages/s | patched pages/s | patched/stock | stock ms | patched ms |")
        w("|---|---|---|---|---|---|---|")
        for lay in LAYOUTS:
            for kind in KINDS:
                s = res.rpcit_runs("stock", lay, kind)
                p = res.rpcit_runs("patched", lay, kind)
                if not s and not p:
                    continue
                ms, mp = med(s), med(p)

                def cell(v, vs):
                    lo, hi = spread(vs)
                    return "%s (%s–%s)" % (fmt_rate(v), fmt_rate(lo), fmt_rate(hi)) \
                        if v else "n/a"
                w("| %s | %s | %s | %s | %s | %s | %s |" % (
                    lay, kind, cell(ms, s), cell(mp, p), fmt_ratio(ratio(mp, ms)),
                    "%.1f" % (PAGES / ms * 1e3) if ms else "n/a",
                    "%.1f" % (PAGES / mp * 1e3) if mp else "n/a"))
        w("")

    # notifier events
    if ev["stock"] or ev["patched"]:
        w("### 2. IOMMU notifier events")
        w("")
        w("Calls of `memory_region_notify_iommu()` per RPCIT of the 256 MiB "
          "range, counted under gdb (one round, one refresh per layout).")
        w("")
        w("| frames | RPCIT | stock map events | stock unmap events | patched map events | patched unmap events | patched events per 256 pages |")
        w("|---|---|---|---|---|---|---|")
        for lay in LAYOUTS:
            for kind in KINDS:
                cells = []
                for b in BUILDS:
                    g = ev[b][(lay, kind)] if ev[b] else None
                    cells += ["%d" % g["map_events"], "%d" % g["unmap_events"]] \
                        if g else ["n/a", "n/a"]
                g = ev["patched"][(lay, kind)] if ev["patched"] else None
                cells.append("%.3g" % ((g["map_events"] + g["unmap_events"]) * 256.0 / PAGES)
                             if g else "n/a")
                w("| %s | %s | %s |" % (lay, kind, " | ".join(cells)))
        w("")
        for b in BUILDS:
            if res.trace.get(b):
                w("Trace events of the %s build on this path (one run, both "
                  "layouts): %s." % (b, ", ".join("`%s` %s" % (e, c)
                                                  for c, e in res.trace[b])))
                w("")
            rs = res.rs_rpcit.get(b)
            if rs and len(rs) == 2 * len(KINDS):
                agree = ev[b] and all(
                    (g["map_events"], g["unmap_events"]) == (r[2], r[4])
                    for g, r in zip((ev[b][(lay, k)] for lay in LAYOUTS for k in KINDS), rs))
                w("The %s build's own counts, from its trace event "
                  "`s390_pci_rs_rpcit` (a run without gdb), per RPCIT in the "
                  "same order: %s. %s" % (b, "; ".join(
                      "%s %s: %d maps (%d pages), %d unmaps (%d pages)"
                      % (lay[:4] + ".", k, r[2], r[3], r[4], r[5])
                      for (lay, k), r in zip(((lay, k) for lay in LAYOUTS for k in KINDS), rs)),
                    "They agree with the gdb count." if agree else
                    "**They differ from the gdb count.**"))
                w("")

    # memory
    if res.rpcit:
        w("### 3. IOTLB memory")
        w("")
        w("Growth of the QEMU process's RssAnon from the tables built with "
          "every entry invalid to after the first map RPCIT, divided by the "
          "65536 pages mapped: the median of the runs, in brackets the "
          "smallest and largest. The method can only under-count: memory "
          "malloc had already made resident and then freed is reused without "
          "growing RSS, so the largest run is the one to trust, and a small "
          "IOTLB can show up as one of two or three steps.")
        w("")
        w("| frames | stock bytes/page | patched bytes/page |")
        w("|---|---|---|")
        for lay in LAYOUTS:
            cells = []
            for b in BUILDS:
                v = res.iotlb_runs(b, lay)
                lo, hi = spread(v)
                cells.append("%.1f (%.1f–%.1f)" % (med(v), lo, hi) if v else "n/a")
            w("| %s | %s |" % (lay, " | ".join(cells)))
        w("")

    # guest
    if res.guest:
        g0 = res.guest[0]
        w("### 4. Linux guest: 4 KiB O_DIRECT reads")
        w("")
        w("`dd if=/dev/vda of=/dev/null bs=4096 count=%d iflag=direct` in the "
          "Debian 6.12 guest (clock: %s), virtio-blk with "
          "`iommu_platform=on`; per boot the median of %d passes after a "
          "warm-up pass, then the median of the boots."
          % (g0["passes"][0]["bytes"] // 4096, g0.get("clock", "?"),
             len(g0["passes"])))
        w("")
        w("| build | IOPS (median) | slowest–fastest boot | boots |")
        w("|---|---|---|---|")
        for b in BUILDS:
            v = res.guest_runs(b)
            lo, hi = spread(v)
            w("| %s | %s | %s–%s | %d |" % (b, fmt_rate(med(v)), fmt_rate(lo),
                                           fmt_rate(hi), len(v)))
        lo, hi = spread(res.guest_pairs())
        w("| patched/stock, per run | %s (median) | %s–%s | %d |"
          % (fmt_ratio(iops_ratio), fmt_ratio(lo), fmt_ratio(hi),
             len(res.guest_pairs())))
        w("| patched/stock, of the medians | %s | | |"
          % fmt_ratio(ratio(iops["patched"], iops["stock"])))
        w("")

    if res.rust:
        w("### Rust microbenchmarks (`cargo bench --bench iommu`)")
        w("")
        w("The crate alone, release build, guest memory a byte vector, 128 MiB "
          "mapped; each line is a median of repeated samples.")
        w("")
        w("```")
        out.extend(line.rstrip() for line in res.rust.splitlines()
                   if line.strip() and not line.startswith(("warning", "   ", "Running")))
        w("```")
        w("")
    elif res.rust_failed:
        w("`cargo bench --bench iommu` failed in this run (the crate in the "
          "working tree did not build); its output is in "
          "`rust-bench.failed.txt` of the raw results.")
        w("")
    return "\n".join(out).rstrip() + "\n"


def chart(res, dir_, png):
    """gnuplot: RPCIT pages/s per case, and each target reached/required."""
    rows = []
    for lay in LAYOUTS:
        for kind in KINDS:
            s = res.rpcit_rate("stock", lay, kind)
            p = res.rpcit_rate("patched", lay, kind)
            if s and p:
                rows.append('"%s\\n%s" %g %g' % (kind, lay[:4] + ".", s, p))
    targets = []
    r = {lay: ratio(res.rpcit_rate("patched", lay, "refresh"),
                    res.rpcit_rate("stock", lay, "refresh")) for lay in LAYOUTS}
    for lay in LAYOUTS:
        if r[lay]:
            targets.append('"refresh\\n%s" %g' % (lay[:4] + ".", r[lay] / REFRESH_X))
    ev = res.events("patched")
    if ev:
        e = ev[("contiguous", "map")]["map_events"] * 256.0 / PAGES
        targets.append('"events\\nper 256" %g' % (EVENTS_PER_256 / max(e, 1e-3)))
    for lay in LAYOUTS:
        b = max(res.iotlb_runs("patched", lay), default=None)
        if b is not None:
            targets.append('"IOTLB B\\n%s" %g' % (lay[:4] + ".", IOTLB_BYTES / max(b, 0.1)))
    io = med(res.guest_pairs())
    if io:
        targets.append('"guest\\nIOPS" %g' % (io / IOPS_RATIO))
    if not rows and not targets:
        return False
    with open(os.path.join(dir_, "rpcit.dat"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(dir_, "targets.dat"), "w") as f:
        f.write("\n".join(targets) + "\n")
    gp = os.path.join(dir_, "chart.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 960,360 font ",9"
set output "%s"
set multiplot layout 1,2
set bmargin 4
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 noborder
set boxwidth 0.9
set logscale y
set grid ytics
set key top left
set title "RPCIT over 256 MiB: pages per second (median)"
set format y "10^{%%L}"
plot "%s" using 2:xtic(1) title "stock QEMU %s" lc rgb "#9e9e9e", \\
     "" using 3 title "patched (zpci-rs)" lc rgb "#1f5fa8"
set title "targets: reached / required (at or above 1: met)"
set format y "%%g"
set yrange [0.001:1000]
unset key
plot "%s" using 2:xtic(1) lc rgb "#1f5fa8", 1 with lines lc rgb "#c0392b" lw 2
unset multiplot
""" % (png, os.path.join(dir_, "rpcit.dat"), os.environ.get("QEMU_VERSION", "?"),
       os.path.join(dir_, "targets.dat")))
    subprocess.run(["gnuplot", gp], check=True)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--command", default="scripts/bench")
    ap.add_argument("--md")
    ap.add_argument("--chart")
    a = ap.parse_args()

    res = Results(a.dir)
    chart_rel = None
    if a.chart and a.md:
        if chart(res, a.dir, a.chart):
            chart_rel = os.path.relpath(a.chart, os.path.dirname(os.path.abspath(a.md)))
    text = markdown(res, a.elapsed, a.command, chart_rel)
    with open(os.path.join(a.dir, "report.md"), "w") as f:
        f.write(text)
    print(text)
    if a.md:
        with open(a.md) as f:
            doc = f.read()
        if BEGIN not in doc or END not in doc:
            sys.exit("%s has no %s ... %s block to replace" % (a.md, BEGIN, END))
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(a.md, "w") as f:
            f.write(head + BEGIN + "\n" + text + END + tail)
        print("wrote %s%s" % (a.md, " and " + a.chart if chart_rel else ""),
              file=sys.stderr)


if __name__ == "__main__":
    main()
