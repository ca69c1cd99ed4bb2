//! Microbenchmarks of DMA translation: the table walk, RPCIT and the IOTLB
//! lookup of the DMA fast path. Medians of repeated samples, timed with
//! `std::time::Instant`; run with `cargo bench --bench iommu`.
//!
//! The guest tables are built as Linux's `s390-iommu.c` builds them: one
//! region-third table, segment and page tables allocated on first use, one
//! page entry per 4 KiB page.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use zpci_core::iommu::rpcit::DEFAULT_MAX_WORK;
use zpci_core::iommu::walk::walk_page;
use zpci_core::iommu::{
    DmaBudget, Event, FunctionDma, IoatRequest, Iommu, RangeWalker, RpcitAnswer, VecMemory,
};

/// Start of the DMA range.
const BASE: u64 = 0x1_0000_0000;
/// Guest RAM.
const RAM_BYTES: usize = 256 << 20;
/// Tables are allocated from here; guest data frames start at `DATA`.
const POOL: u64 = 0x1_0000;
const DATA: u64 = 8 << 20;
/// Pages mapped by the benchmarks: 128 MiB.
const PAGES: u64 = 32768;

/// Linux-style tables in guest memory.
struct Tables {
    rto: u64,
    next: u64,
}

impl Tables {
    fn new(mem: &mut VecMemory) -> Self {
        let mut t = Self { rto: 0, next: POOL };
        t.rto = t.alloc(mem, 0x4000, 0x20);
        t
    }

    fn iota(&self) -> u64 {
        self.rto | 0x804
    }

    fn alloc(&mut self, mem: &mut VecMemory, size: u64, fill: u64) -> u64 {
        let at = self.next.next_multiple_of(size);
        self.next = at + size;
        for k in 0..size / 8 {
            mem.write_u64(at + k * 8, fill).expect("table in RAM");
        }
        at
    }

    fn pte(&mut self, mem: &mut VecMemory, iova: u64) -> u64 {
        let rte_at = self.rto + ((iova >> 31) & 0x7ff) * 8;
        let mut rte = mem.read_u64(rte_at).expect("in RAM");
        if rte & 0x20 != 0 {
            rte = self.alloc(mem, 0x4000, 0x20) | 0x7;
            mem.write_u64(rte_at, rte).expect("in RAM");
        }
        let ste_at = (rte & !0x3fff) + ((iova >> 20) & 0x7ff) * 8;
        let mut ste = mem.read_u64(ste_at).expect("in RAM");
        if ste & 0x20 != 0 {
            ste = self.alloc(mem, 0x800, 0x400);
            mem.write_u64(ste_at, ste).expect("in RAM");
        }
        (ste & !0x7ff) + ((iova >> 12) & 0xff) * 8
    }

    /// Maps page `k` of the range to frame `frame(k)`.
    fn map(&mut self, mem: &mut VecMemory, pages: u64, frame: impl Fn(u64) -> u64) {
        for k in 0..pages {
            let at = self.pte(mem, BASE + k * 0x1000);
            mem.write_u64(at, DATA + frame(k) * 0x1000).expect("in RAM");
        }
    }

    fn unmap(&mut self, mem: &mut VecMemory, pages: u64) {
        for k in 0..pages {
            let at = self.pte(mem, BASE + k * 0x1000);
            let pte = mem.read_u64(at).expect("in RAM");
            mem.write_u64(at, pte | 0x400).expect("in RAM");
        }
    }
}

fn iommu(t: &Tables) -> Iommu {
    let mut iommu = Iommu::new();
    let dma = FunctionDma {
        sdma: BASE,
        edma: 0x01ff_ffff_ffff_ffff,
        relaxed_translation: false,
    };
    let req = IoatRequest {
        iota: t.iota(),
        pba: BASE,
        pal: BASE + (1 << 40) - 1,
    };
    iommu.register_ioat(req, &dma).expect("valid IOAT");
    iommu
}

/// The median time of `samples` runs of `run`, each on a fresh state from
/// `setup` (not timed).
fn median<S, R>(
    samples: usize,
    mut setup: impl FnMut() -> S,
    mut run: impl FnMut(&mut S) -> R,
) -> Duration {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let mut state = setup();
            let t0 = Instant::now();
            black_box(run(&mut state));
            t0.elapsed()
        })
        .collect();
    times.sort();
    times.get(samples / 2).copied().unwrap_or_default()
}

fn report(name: &str, total: Duration, per: u64, unit: &str) {
    let ns = total.as_secs_f64() * 1e9 / per.max(1) as f64;
    println!(
        "{name:<52} {:>10.3} ms  {ns:>8.2} ns/{unit}",
        total.as_secs_f64() * 1e3
    );
}

fn main() {
    // Contiguous frames: Linux mapping large buffers; every 8th page moved:
    // scattered single pages.
    let contiguous = |k: u64| k;
    let scattered = |k: u64| if k % 8 == 0 { k + 30_000 } else { k };
    let layouts: [(&str, &dyn Fn(u64) -> u64); 2] =
        [("contiguous", &contiguous), ("scattered", &scattered)];

    for (layout, frame) in layouts {
        let mut mem = VecMemory::new(RAM_BYTES);
        let mut t = Tables::new(&mut mem);
        t.map(&mut mem, PAGES, frame);
        let iota = t.iota();
        println!("-- {layout} frames, {} MiB mapped", PAGES >> 8);

        let d = median(
            31,
            || (),
            |()| {
                (0..4096u64).fold(0u64, |sum, k| {
                    let w = walk_page(&mem, iota, BASE + k * 0x1000 * 7);
                    sum.wrapping_add(u64::from(w.is_ok()))
                })
            },
        );
        report("walk_page (one read per level)", d, 4096, "page");

        let d = median(15, RangeWalker::new, |walker| {
            let mut units = 0u64;
            let _ = walker.walk(&mem, iota, BASE >> 12, (BASE >> 12) + PAGES, |_| {
                units += 1;
                std::ops::ControlFlow::Continue(())
            });
            units
        });
        report("range walk (one read per table)", d, PAGES, "page");

        // RPCIT from empty: map everything.
        let mut events = 0;
        let d = median(
            9,
            || (iommu(&t), Vec::<Event>::new()),
            |(iommu, sink)| {
                let mut budget = DmaBudget::unlimited();
                let out = iommu.rpcit(&mem, BASE, PAGES << 12, &mut budget, sink);
                events = sink.len();
                out
            },
        );
        report("RPCIT map from empty", d, PAGES, "page");
        println!(
            "{:<52} {events:>10} events (stock QEMU: {PAGES})",
            "  map events"
        );

        // RPCIT of unchanged tables (Linux's global refresh).
        let mut warm = iommu(&t);
        let mut sink: Vec<Event> = Vec::new();
        warm.rpcit(
            &mem,
            BASE,
            PAGES << 12,
            &mut DmaBudget::unlimited(),
            &mut sink,
        );
        let d = median(
            9,
            || (),
            |()| {
                let mut sink: Vec<Event> = Vec::new();
                let out = warm.rpcit(
                    &mem,
                    BASE,
                    PAGES << 12,
                    &mut DmaBudget::unlimited(),
                    &mut sink,
                );
                assert!(sink.is_empty() && out.answer == RpcitAnswer::Done);
                out.stats.work
            },
        );
        report("RPCIT refresh, nothing changed", d, PAGES, "page");

        // IOTLB lookups: sequential and scattered addresses.
        let iotlb = warm.iotlb();
        println!(
            "{:<52} {:>10.2} bytes/page ({} mappings)",
            "  IOTLB memory",
            iotlb.heap_bytes() as f64 / PAGES as f64,
            iotlb.extents()
        );
        let d = median(
            31,
            || (),
            |()| {
                (0..PAGES).fold(0u64, |sum, k| {
                    iotlb
                        .lookup(BASE + k * 0x1000)
                        .map_or(sum, |tr| sum.wrapping_add(tr.gpa))
                })
            },
        );
        report("IOTLB lookup, sequential", d, PAGES, "lookup");
        let random = || {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            (0..PAGES).map(move |_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                BASE + (x % PAGES) * 0x1000
            })
        };
        let d = median(
            31,
            || (),
            |()| {
                random().fold(0u64, |sum, a| {
                    iotlb.lookup(a).map_or(sum, |tr| sum.wrapping_add(tr.gpa))
                })
            },
        );
        report("IOTLB lookup, random", d, PAGES, "lookup");

        // For scale: a SipHash HashMap keyed by page, as a GHashTable is.
        let map: HashMap<u64, (u64, u8)> =
            (0..PAGES).map(|k| (BASE + k * 0x1000, (k, 3))).collect();
        let d = median(
            31,
            || (),
            |()| {
                random().fold(0u64, |sum, a| {
                    map.get(&a).map_or(sum, |v| sum.wrapping_add(v.0))
                })
            },
        );
        report(
            "  (std HashMap lookup, random, for scale)",
            d,
            PAGES,
            "lookup",
        );

        // RPCIT of an unmap of everything.
        let mut unmapped = mem.clone();
        t.unmap(&mut unmapped, PAGES);
        let d = median(
            9,
            || {
                let mut iommu = iommu(&t);
                let mut sink: Vec<Event> = Vec::new();
                iommu.rpcit(
                    &mem,
                    BASE,
                    PAGES << 12,
                    &mut DmaBudget::unlimited(),
                    &mut sink,
                );
                iommu
            },
            |iommu| {
                let mut sink: Vec<Event> = Vec::new();
                iommu.rpcit(
                    &unmapped,
                    BASE,
                    PAGES << 12,
                    &mut DmaBudget::unlimited(),
                    &mut sink,
                )
            },
        );
        report("RPCIT unmap everything", d, PAGES, "page");
    }

    // The work bound: a hostile range whose every segment points at one
    // page table of invalid entries. Nothing is mapped; all work is table
    // entries decoded until DEFAULT_MAX_WORK units are spent.
    let mut mem = VecMemory::new(1 << 20);
    let (rt, st, pt) = (0x4000u64, 0x8000u64, 0xc000u64);
    for k in 0..2048u64 {
        mem.write_u64(rt + k * 8, st | 0x7).expect("in RAM");
        mem.write_u64(st + k * 8, pt).expect("in RAM");
    }
    for k in 0..256u64 {
        mem.write_u64(pt + k * 8, 0x400).expect("in RAM");
    }
    let mut hostile = Iommu::new();
    let whole = FunctionDma {
        sdma: 0,
        edma: u64::MAX,
        relaxed_translation: false,
    };
    let req = IoatRequest {
        iota: rt | 0x804,
        pba: 0,
        pal: u64::MAX,
    };
    hostile.register_ioat(req, &whole).expect("valid IOAT");
    let mut work = 0;
    let d = median(
        5,
        || (),
        |()| {
            let mut sink: Vec<Event> = Vec::new();
            let out = hostile.rpcit(&mem, 0, u64::MAX, &mut DmaBudget::unlimited(), &mut sink);
            assert!(out.stats.work_exhausted);
            work = out.stats.work;
        },
    );
    println!("-- work bound: {DEFAULT_MAX_WORK} units per pass");
    report(
        "RPCIT over 2^64 bytes, stopped by the work bound",
        d,
        work,
        "unit",
    );
}
