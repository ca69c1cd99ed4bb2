//! Reference models for the tests, written for obviousness, not speed:
//!
//! - [`walk`]: the table walk for one page, transcribed line by line from
//!   QEMU 10.0.2's `table_translate`, one 8-byte read per level, an entry
//!   outside guest RAM read as zero (as `address_space_ldq` on unassigned
//!   memory);
//! - [`Container`]: a VFIO type1v2 container: mappings that may not
//!   overlap, an unmap that may not split a mapping, a DMA entry limit;
//! - [`check_rpcit`]: what must hold after every RPCIT;
//! - [`LinuxTables`]: translation tables built the way Linux's
//!   `drivers/iommu/s390-iommu.c` builds them.
//!
//! The property tests at the end drive random and hostile tables through
//! [`Iommu::rpcit`] and check every event stream against these models.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::rpcit::{Event, RpcitAnswer, RpcitOutcome};
use super::{DmaBudget, ErrorCode, IoatMode, Iommu, Perm, VecMemory};

/// What the model says of one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Page {
    Invalid,
    Mapped { gpa: u64, perm: Perm },
    Fault(ErrorCode),
}

/// QEMU reads guest memory that is not RAM as zero.
fn ldq(mem: &VecMemory, addr: u64) -> u64 {
    mem.read_u64(addr).unwrap_or(0)
}

/// `s390_guest_io_table_walk` + `table_translate`, for the page of `iova`.
pub(super) fn walk(mem: &VecMemory, iota: u64, iova: u64) -> Page {
    let iova = iova & !0xfff;
    let to = iota & !0x804; // s390_pci_get_table_origin
    if to == 0 {
        return Page::Fault(ErrorCode::InvalidAddressSpace); // (QEMU: undefined)
    }
    let mut read_only = iota & 0x200 != 0;

    // ett 1: region-third table
    let te = ldq(mem, to.wrapping_add(((iova >> 31) & 0x7ff) * 8));
    if te == 0 {
        return Page::Fault(ErrorCode::InvalidTableEntry);
    }
    if te & 0x20 != 0 {
        return Page::Invalid;
    }
    if te & 0x3 != 0x3 || te & 0xc0 != 0 {
        return Page::Fault(ErrorCode::InvalidTableLength);
    }
    let sto = if te & 0xc == 0x4 { te & !0x3fff } else { 0 };
    if sto == 0 {
        return Page::Fault(ErrorCode::TranslationType);
    }
    read_only |= te & 0x200 != 0;

    // ett 0: segment table
    let te = ldq(mem, sto.wrapping_add(((iova >> 20) & 0x7ff) * 8));
    if te == 0 {
        return Page::Fault(ErrorCode::InvalidTableEntry);
    }
    if te & 0x20 != 0 {
        return Page::Invalid;
    }
    let pto = if te & 0xc == 0 { te & !0x7ff } else { 0 };
    if pto == 0 {
        return Page::Fault(ErrorCode::TranslationType);
    }
    read_only |= te & 0x200 != 0;
    let perm = |ro: bool| if ro { Perm::ReadOnly } else { Perm::ReadWrite };
    if te & 0x400 != 0 {
        return Page::Mapped {
            gpa: (te & !0xf_ffff) | (iova & 0xf_ffff),
            perm: perm(read_only),
        };
    }

    // ett -1: page table
    let te = ldq(mem, pto.wrapping_add(((iova >> 12) & 0xff) * 8));
    if te == 0 {
        return Page::Fault(ErrorCode::InvalidTableEntry);
    }
    if te & 0x400 != 0 {
        return Page::Invalid;
    }
    let frame = te & !0xfff;
    if frame == 0 {
        return Page::Fault(ErrorCode::TranslationType);
    }
    read_only |= te & 0x200 != 0;
    Page::Mapped {
        gpa: frame,
        perm: perm(read_only),
    }
}

/// A VFIO type1v2 container fed by the IOMMU notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Container {
    limit: Option<u32>,
    /// iova -> (size, gpa, perm)
    maps: BTreeMap<u64, (u64, u64, Perm)>,
}

impl Container {
    pub(super) fn new(limit: Option<u32>) -> Self {
        Self {
            limit,
            maps: BTreeMap::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.maps.len()
    }

    /// The mapping containing `addr`: (iova, size, gpa, perm).
    fn find(&self, addr: u64) -> Option<(u64, u64, u64, Perm)> {
        let (&iova, &(size, gpa, perm)) = self.maps.range(..=addr).next_back()?;
        (addr - iova < size).then_some((iova, size, gpa, perm))
    }

    /// The translation of the page at `addr`.
    pub(super) fn page(&self, addr: u64) -> Option<(u64, Perm)> {
        self.find(addr)
            .map(|(iova, _, gpa, perm)| (gpa + (addr - iova), perm))
    }

    /// Applies one event as `vfio_iommu_map_notify` and type1v2 would, or
    /// says why the kernel would refuse it.
    pub(super) fn apply(&mut self, ev: &Event) -> Result<(), String> {
        let (iova, size) = (ev.iova(), ev.size());
        if !size.is_power_of_two() || size < 0x1000 || iova % size != 0 {
            return Err(format!("{ev:x?}: not a naturally aligned power of two"));
        }
        let last = iova + (size - 1);
        match *ev {
            Event::Map { gpa, perm, .. } => {
                if gpa % size != 0 {
                    return Err(format!("{ev:x?}: translated address not aligned"));
                }
                let overlap = self
                    .maps
                    .range(..=last)
                    .next_back()
                    .is_some_and(|(&i, &(s, _, _))| i + (s - 1) >= iova);
                if overlap {
                    return Err(format!("{ev:x?}: EEXIST, overlaps a mapping"));
                }
                if self.limit.is_some_and(|l| self.maps.len() >= l as usize) {
                    return Err(format!("{ev:x?}: ENOSPC, DMA entry limit"));
                }
                self.maps.insert(iova, (size, gpa, perm));
            }
            Event::Unmap { .. } => {
                if let Some((i, ..)) = self.find(iova) {
                    if i != iova {
                        return Err(format!("{ev:x?}: EINVAL, splits the mapping at {i:#x}"));
                    }
                }
                if let Some((i, s, ..)) = self.find(last) {
                    if i + (s - 1) != last {
                        return Err(format!("{ev:x?}: EINVAL, splits the mapping at {i:#x}"));
                    }
                }
                let inside: Vec<u64> = self.maps.range(iova..=last).map(|(&i, _)| i).collect();
                for i in inside {
                    self.maps.remove(&i);
                }
            }
        }
        Ok(())
    }

    /// Every mapped page: iova -> (gpa, perm).
    fn pages(&self) -> BTreeMap<u64, (u64, Perm)> {
        let mut out = BTreeMap::new();
        for (&iova, &(size, gpa, perm)) in &self.maps {
            for k in 0..size / 0x1000 {
                out.insert(iova + k * 0x1000, (gpa + k * 0x1000, perm));
            }
        }
        out
    }
}

/// One RPCIT as the checker needs to know it.
pub(super) struct Call {
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) limit: Option<u32>,
}

/// Applies `events` to `container` and checks everything that must hold
/// after an RPCIT:
/// - every event is accepted by a type1v2 container (aligned, no overlap,
///   no split, at most `limit` entries);
/// - the answer is the one the model gives for the range;
/// - the container maps exactly the model's valid translations over the
///   refreshed pages, and keeps every other page as it was; pages may be
///   missing only when the answer admits it (no DMA entry left, or the
///   work bound hit);
/// - the IOTLB equals the container, and the budget is the limit minus the
///   container's entries.
pub(super) fn check_rpcit(
    container: &mut Container,
    iommu: &Iommu,
    mem: &VecMemory,
    call: &Call,
    budget: DmaBudget,
    out: &RpcitOutcome,
    events: &[Event],
) -> Result<(), String> {
    let before = container.pages();
    for ev in events {
        container.apply(ev)?;
    }
    let after = container.pages();

    // The IOTLB is the container.
    let mut tlb = BTreeMap::new();
    let mut from = 0;
    while let Some(e) = iommu.iotlb().next_extent(from) {
        tlb.insert(e.iova, (e.size(), e.gpa, e.perm));
        match e.iova.checked_add(e.size()) {
            Some(next) => from = next,
            None => break,
        }
    }
    if tlb != container.maps {
        return Err(format!("IOTLB {tlb:x?} != container {:x?}", container.maps));
    }
    if let Some(limit) = call.limit {
        let want = limit as usize - container.len();
        if budget.avail() != Some(want as u32) {
            return Err(format!("budget {:?}, want {want}", budget.avail()));
        }
    }

    let ioat = iommu.ioat();
    let translated = ioat.is_some_and(|i| i.mode == IoatMode::Translated);
    let end = call.start.wrapping_add(call.len);
    // Answers decided before any walk.
    let Some(ioat) = ioat.filter(|i| i.iota != 0) else {
        return expect_early(out, events, ErrorCode::InvalidAddressSpace, call.start);
    };
    if end < ioat.pba || call.start > ioat.pal {
        return expect_early(out, events, ErrorCode::OutOfRange, call.start);
    }
    // The refreshed pages.
    let (first, stop) = if call.start < end {
        let first = (call.start & !0xfff).max(ioat.pba);
        let last = ((end - 1) & !0xfff).min(ioat.pal & !0xfff);
        (first, last.checked_add(0x1000).filter(|_| first <= last))
    } else {
        (0, None)
    };
    let lossy = budget.is_exhausted() || out.stats.work_exhausted;
    let mut fault_at = None;
    if let Some(stop) = stop {
        let mut page = first;
        while page < stop {
            let model = walk(mem, ioat.iota, page);
            if let Page::Fault(code) = model {
                fault_at = Some((page, code));
                break;
            }
            if translated && !out.stats.work_exhausted {
                let got = after.get(&page).copied();
                let ok = match model {
                    Page::Mapped { gpa, perm } => {
                        got == Some((gpa, perm)) || (lossy && got.is_none())
                    }
                    _ => got.is_none(),
                };
                if !ok {
                    return Err(format!(
                        "page {page:#x}: model {model:x?}, container {got:x?}"
                    ));
                }
            }
            page += 0x1000;
        }
    }
    // The answer.
    let want = match fault_at {
        Some((page, code)) => RpcitAnswer::Error(super::ErrorEvent {
            code,
            faddr: page | (call.start & 0xfff),
        }),
        None if lossy => RpcitAnswer::InsufficientResources,
        None => RpcitAnswer::Done,
    };
    // With the work bound hit, a fault later in the range is not reached.
    let answer_ok = out.answer == want
        || (out.stats.work_exhausted
            && matches!(want, RpcitAnswer::Error(_))
            && out.answer == RpcitAnswer::InsufficientResources);
    if !answer_ok {
        return Err(format!("answer {:x?}, model {want:x?}", out.answer));
    }
    // Pages outside the refreshed part keep their translation.
    let refreshed_end = fault_at.map_or(stop.unwrap_or(first), |(p, _)| p);
    let mut pages: Vec<u64> = before.keys().chain(after.keys()).copied().collect();
    pages.dedup();
    for page in pages {
        let inside = translated && page >= first && page < refreshed_end;
        if inside && !out.stats.work_exhausted {
            continue; // checked above
        }
        let (old, new) = (before.get(&page).copied(), after.get(&page).copied());
        let model_ok = out.stats.work_exhausted
            && inside
            && matches!(walk(mem, ioat.iota, page), Page::Mapped { gpa, perm } if new == Some((gpa, perm)));
        if new != old && !(lossy && new.is_none()) && !model_ok {
            return Err(format!(
                "page {page:#x} outside the refresh: {old:x?} -> {new:x?}"
            ));
        }
    }
    Ok(())
}

fn expect_early(
    out: &RpcitOutcome,
    events: &[Event],
    code: ErrorCode,
    faddr: u64,
) -> Result<(), String> {
    let want = RpcitAnswer::Error(super::ErrorEvent { code, faddr });
    if out.answer != want || !events.is_empty() {
        return Err(format!(
            "answer {:x?} with {} events, want {want:x?}",
            out.answer,
            events.len()
        ));
    }
    Ok(())
}

/// Translation tables as Linux's `s390-iommu.c` builds them: a region-third
/// table of invalid entries; a segment table and page tables allocated on
/// first use; entries validated and invalidated in place.
pub(super) struct LinuxTables {
    pub(super) rto: u64,
    next_free: u64,
}

impl LinuxTables {
    /// Tables allocated from guest address `pool` upwards.
    pub(super) fn new(mem: &mut VecMemory, pool: u64) -> Self {
        let mut t = Self {
            rto: 0,
            next_free: pool,
        };
        t.rto = t.alloc_table(mem, 0x4000, 0x20);
        t
    }

    /// The IOTA Linux registers (`virt_to_phys(dma_table) |
    /// ZPCI_IOTA_RTTO_FLAG`).
    pub(super) fn iota(&self) -> u64 {
        self.rto | 0x800 | 0x4
    }

    fn alloc_table(&mut self, mem: &mut VecMemory, size: u64, fill: u64) -> u64 {
        let at = self.next_free.next_multiple_of(size);
        self.next_free = at + size;
        for k in 0..size / 8 {
            mem.write_u64(at + k * 8, fill).unwrap();
        }
        at
    }

    /// `dma_walk_cpu_trans`: the page entry's address, allocating tables.
    fn pte_addr(&mut self, mem: &mut VecMemory, iova: u64) -> u64 {
        let rte_addr = self.rto + ((iova >> 31) & 0x7ff) * 8;
        let mut rte = mem.read_u64(rte_addr).unwrap();
        if rte & 0x20 != 0 {
            let sto = self.alloc_table(mem, 0x4000, 0x20);
            rte = sto | 0x4 | 0x3; // set_rt_sto + validate_rt_entry
            mem.write_u64(rte_addr, rte).unwrap();
        }
        let ste_addr = (rte & !0x3fff) + ((iova >> 20) & 0x7ff) * 8;
        let mut ste = mem.read_u64(ste_addr).unwrap();
        if ste & 0x20 != 0 {
            let pto = self.alloc_table(mem, 0x800, 0x400);
            ste = pto; // set_st_pto + validate_st_entry
            mem.write_u64(ste_addr, ste).unwrap();
        }
        (ste & !0x7ff) + ((iova >> 12) & 0xff) * 8
    }

    /// `s390_iommu_map_pages` (`dma_update_cpu_trans` per page).
    pub(super) fn map(
        &mut self,
        mem: &mut VecMemory,
        iova: u64,
        gpa: u64,
        pages: u64,
        writable: bool,
    ) {
        for k in 0..pages {
            let at = self.pte_addr(mem, iova + k * 0x1000);
            let prot = if writable { 0 } else { 0x200 };
            mem.write_u64(at, (gpa + k * 0x1000) | prot).unwrap();
        }
    }

    /// `s390_iommu_unmap_pages` (`invalidate_pt_entry`, protection cleared).
    pub(super) fn unmap(&mut self, mem: &mut VecMemory, iova: u64, pages: u64) {
        for k in 0..pages {
            let at = self.pte_addr(mem, iova + k * 0x1000);
            let pte = mem.read_u64(at).unwrap();
            mem.write_u64(at, (pte & !0x200) | 0x400).unwrap();
        }
    }
}

// ---------------------------------------------------------------------
// Property tests: random and hostile tables.

/// Guest RAM of the generated scenarios.
const RAM: u64 = 0x40_0000;
/// Where the region-third table sits.
const RT: u64 = 0x1_0000;
/// Segment tables.
const ST: [u64; 3] = [0x2_0000, 0x2_4000, 0x2_8000];
/// Page tables.
const PT: [u64; 6] = [0x3_0000, 0x3_0800, 0x3_1000, 0x3_1800, 0x3_2000, 0x3_2800];
/// Outside guest RAM.
const NOWHERE: u64 = 0x4000_0000;

/// A region-third entry: well formed, or (`hostile`) anything.
fn rte(hostile: bool) -> BoxedStrategy<u64> {
    let st = prop::sample::select(ST.to_vec());
    let valid = (st.clone(), any::<bool>()).prop_map(|(s, p)| s | 0x7 | if p { 0x200 } else { 0 });
    if !hostile {
        return prop_oneof![6 => valid, 1 => Just(0x20u64)].boxed();
    }
    prop_oneof![
        4 => valid,
        1 => Just(0x20u64),
        1 => Just(0u64),
        1 => (st.clone(), 0..3u64).prop_map(|(s, tl)| s | 0x4 | tl), // table length
        1 => st.clone().prop_map(|s| s | 0x7 | 0x40),                // table offset
        1 => (st, prop::sample::select(vec![0x0u64, 0x8, 0xc])).prop_map(|(s, t)| s | t | 0x3),
        1 => Just(NOWHERE | 0x7),                                    // outside RAM
        1 => Just(RT | 0x7),                                         // the region table as a segment table
        1 => Just((PT[0] & !0x3fff) | 0x7),                          // page tables as a segment table
        1 => any::<u64>(),
    ]
    .boxed()
}

/// A segment entry: a page table, a 1 MiB frame, invalid; or anything.
fn ste(hostile: bool) -> BoxedStrategy<u64> {
    let pt = prop::sample::select(PT.to_vec());
    let prot = || prop_oneof![3 => Just(0u64), 1 => Just(0x200u64)];
    let table = (pt.clone(), prot()).prop_map(|(p, prot)| p | prot);
    // consecutive frames in consecutive segments coalesce
    let frame = ((1u64..4).prop_map(|m| m << 20), prot()).prop_map(|(f, prot)| f | 0x400 | prot);
    if !hostile {
        return prop_oneof![6 => table, 2 => frame, 2 => Just(0x20u64), 1 => Just(NOWHERE | 0x400)]
            .boxed();
    }
    prop_oneof![
        4 => table,
        2 => frame,
        2 => Just(0x20u64),
        1 => Just(0u64),
        1 => (pt, prop::sample::select(vec![0x4u64, 0x8, 0xc])).prop_map(|(p, t)| p | t),
        1 => Just(NOWHERE),                                          // a page table outside RAM
        1 => Just(NOWHERE | 0x400),                                  // a frame outside RAM
        1 => prop::sample::select(ST.to_vec()),                      // a segment table as a page table
        1 => Just(0x400u64),                                         // FC without an address
        1 => any::<u64>(),
    ]
    .boxed()
}

/// A page entry; `base` makes runs of consecutive frames likely.
fn pte(base: u64, k: u64, hostile: bool) -> BoxedStrategy<u64> {
    let prot = prop_oneof![4 => Just(0u64), 1 => Just(0x200u64)];
    let run = prot.prop_map(move |p| (base + k * 0x1000) | p);
    let clean = prop_oneof![
        8 => run,
        2 => (0x100u64..0x400).prop_map(|f| f << 12),
        3 => Just(0x400u64 | (base + k * 0x1000)),
        1 => Just(NOWHERE + k * 0x1000),                             // a frame outside RAM
    ];
    if !hostile {
        return clean.boxed();
    }
    prop_oneof![
        12 => clean,
        1 => Just(0u64),
        1 => Just(0x200u64),                                         // frame 0: no address
        1 => any::<u64>(),
    ]
    .boxed()
}

/// Guest tables. Only the table slots the aperture reaches are random.
#[derive(Clone, Debug)]
struct Tables {
    /// Region index of the region whose start the aperture straddles.
    region: u64,
    rtes: [u64; 2],
    stes: Vec<Vec<u64>>,
    ptes: Vec<Vec<u64>>,
}

impl Tables {
    /// The I/O address where region `region` starts: the aperture is
    /// `boundary - 8 MiB ..= boundary + 8 MiB - 1`.
    fn boundary(&self) -> u64 {
        (4u64 << 40) + (self.region << 31)
    }

    fn write(&self, mem: &mut VecMemory) {
        for k in 0..2048u64 {
            mem.write_u64(RT + k * 8, 0x20).unwrap();
        }
        let r = self.region;
        mem.write_u64(RT + ((r + 2047) % 2048) * 8, self.rtes[0])
            .unwrap();
        mem.write_u64(RT + r * 8, self.rtes[1]).unwrap();
        for (st, entries) in ST.iter().zip(&self.stes) {
            for k in 0..2048u64 {
                mem.write_u64(st + k * 8, 0x20).unwrap();
            }
            // segments 2040..2047 and 0..7: the 16 MiB around a region start
            for (i, e) in entries.iter().enumerate() {
                let sx = (i as u64 + 2040) % 2048;
                mem.write_u64(st + sx * 8, *e).unwrap();
            }
        }
        for (pt, entries) in PT.iter().zip(&self.ptes) {
            for (k, e) in entries.iter().enumerate() {
                mem.write_u64(pt + k as u64 * 8, *e).unwrap();
            }
        }
    }
}

fn tables(hostile: bool) -> impl Strategy<Value = Tables> {
    let region = prop_oneof![Just(0u64), 1u64..2047, Just(2047)];
    let pts = (0..PT.len() as u64)
        .map(|t| {
            let base = 0x10_0000 + t * 0x8_0000;
            (0..256u64)
                .map(|k| pte(base, k, hostile))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    (
        region,
        [rte(hostile), rte(hostile)],
        prop::collection::vec(prop::collection::vec(ste(hostile), 16), ST.len()),
        pts,
    )
        .prop_map(|(region, rtes, stes, ptes)| Tables {
            region,
            rtes,
            stes,
            ptes,
        })
}

/// How the guest changes the entry that translates a page.
#[derive(Clone, Copy, Debug)]
enum Edit {
    /// Set the invalid bit (Linux's unmap).
    Invalidate,
    /// Clear the invalid bit.
    Revalidate,
    /// Flip the protection bit.
    Protect,
    /// Point a page entry at another frame.
    Move(u64),
    /// Replace the entry (a segment entry gets a segment value).
    Replace(u64),
}

/// One step of a scenario.
#[derive(Clone, Debug)]
enum Op {
    /// RPCIT at `boundary + off` (signed), `len` bytes.
    Rpcit { off: i64, len: u64 },
    /// RPCIT with raw register values.
    RpcitRaw { start: u64, len: u64 },
    /// The guest edits the lowest-level entry that translates the page at
    /// `boundary + off`; then, if `refresh`, RPCITs `before` pages before
    /// it to `after` pages after it.
    Edit {
        off: i64,
        edit: Edit,
        refresh: Option<(u64, u64)>,
    },
}

fn op(hostile: bool) -> impl Strategy<Value = Op> {
    let off = (-0x800i64..0x800).prop_map(|p| p << 12);
    let edit = prop_oneof![
        3 => Just(Edit::Invalidate),
        2 => Just(Edit::Revalidate),
        1 => Just(Edit::Protect),
        2 => (0x100u64..0x400).prop_map(|f| Edit::Move(f << 12)),
        1 => ste(hostile).prop_map(Edit::Replace),
    ];
    let refresh = prop_oneof![
        1 => Just(None),
        3 => (0u64..300, 1u64..300).prop_map(Some),
    ];
    prop_oneof![
        3 => (-0x90_0000i64..0x90_0000, 1u64..0x20_0000)
            .prop_map(|(off, len)| Op::Rpcit { off: off & !0xfff, len }),
        2 => Just(Op::Rpcit { off: -0x80_0000, len: 0x100_0000 }),   // the whole DMA range
        1 => (-0x90_0000i64..0x90_0000, 1u64..0x8000).prop_map(|(off, len)| Op::Rpcit { off, len }),
        1 => prop_oneof![
            Just(Op::RpcitRaw { start: 0, len: u64::MAX }),
            Just(Op::RpcitRaw { start: u64::MAX, len: u64::MAX }),
            Just(Op::RpcitRaw { start: 0, len: 0 }),
            any::<(u64, u64)>().prop_map(|(start, len)| Op::RpcitRaw { start, len }),
        ],
        6 => (off, edit, refresh).prop_map(|(off, edit, refresh)| Op::Edit { off, edit, refresh }),
    ]
}

/// The address and level (0 region, 1 segment, 2 page) of the lowest
/// well-formed entry on the walk of `iova`.
fn entry_for(mem: &VecMemory, iota: u64, iova: u64) -> (u64, u8) {
    let rte_addr = (iota & !0x804).wrapping_add(((iova >> 31) & 0x7ff) * 8);
    let rte = ldq(mem, rte_addr);
    if rte & 0x2f != 0x7 {
        return (rte_addr, 0);
    }
    let ste_addr = (rte & !0x3fff) + ((iova >> 20) & 0x7ff) * 8;
    let ste = ldq(mem, ste_addr);
    if ste & 0x42c != 0 || ste & !0x7ff == 0 {
        return (ste_addr, 1);
    }
    ((ste & !0x7ff) + ((iova >> 12) & 0xff) * 8, 2)
}

fn apply_edit(mem: &mut VecMemory, iota: u64, iova: u64, edit: Edit) {
    let (addr, level) = entry_for(mem, iota, iova);
    let Ok(old) = mem.read_u64(addr) else { return };
    let invalid = if level == 2 { 0x400 } else { 0x20 };
    let new = match edit {
        Edit::Invalidate => old | invalid,
        Edit::Revalidate => old & !invalid,
        Edit::Protect => old ^ 0x200,
        Edit::Move(frame) if level == 2 => frame | (old & 0xfff),
        Edit::Move(_) => old,
        Edit::Replace(v) if level == 1 => v,
        Edit::Replace(_) => old,
    };
    let _ = mem.write_u64(addr, new);
}

#[derive(Clone, Debug)]
struct Scenario {
    tables: Tables,
    iota_low: u64,
    limit: Option<u32>,
    max_work: u64,
    ops: Vec<Op>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let iota_low = prop_oneof![
        8 => Just(0u64),
        2 => Just(0x200u64),                              // protected IOTA
        1 => prop::sample::select(vec![0x1u64, 0x3, 0x100, 0x1e0]), // bits QEMU keeps in the origin
    ];
    let limit =
        prop_oneof![2 => Just(None), 3 => (0u32..24).prop_map(Some), 1 => Just(Some(65535))];
    let max_work = prop_oneof![6 => Just(u64::MAX), 1 => 1u64..3000];
    let world = prop_oneof![
        3 => (tables(false), prop::collection::vec(op(false), 1..16)),
        1 => (tables(true), prop::collection::vec(op(true), 1..16)),
    ];
    (world, iota_low, limit, max_work).prop_map(|((tables, ops), iota_low, limit, max_work)| {
        Scenario {
            tables,
            iota_low,
            limit,
            max_work,
            ops,
        }
    })
}

fn run(s: &Scenario) -> Result<(), TestCaseError> {
    use super::{FunctionDma, IoatRequest, Limits};
    let mut mem = VecMemory::new(RAM as usize);
    s.tables.write(&mut mem);
    let mut iommu = Iommu::with_limits(Limits {
        max_work: s.max_work,
        ..Limits::default()
    });
    let boundary = s.tables.boundary();
    let req = IoatRequest {
        iota: RT | 0x804 | s.iota_low,
        pba: boundary - 0x80_0000,
        pal: boundary + 0x7f_ffff,
    };
    let dma = FunctionDma {
        sdma: 0x1_0000_0000,
        edma: 0x01ff_ffff_ffff_ffff,
        relaxed_translation: false,
    };
    iommu.register_ioat(req, &dma).unwrap();
    let mut budget = s.limit.map_or(DmaBudget::unlimited(), DmaBudget::limited);
    let mut container = Container::new(s.limit);
    for op in &s.ops {
        let (start, len) = match *op {
            Op::Edit { off, edit, refresh } => {
                let iova = boundary.wrapping_add_signed(off);
                apply_edit(&mut mem, req.iota, iova, edit);
                let Some((before, after)) = refresh else {
                    continue;
                };
                (iova - before * 0x1000, (before + after) * 0x1000)
            }
            Op::Rpcit { off, len } => (boundary.wrapping_add_signed(off), len),
            Op::RpcitRaw { start, len } => (start, len),
        };
        let mut events = Vec::new();
        let out = iommu.rpcit(&mem, start, len, &mut budget, &mut events);
        let call = Call {
            start,
            len,
            limit: s.limit,
        };
        check_rpcit(&mut container, &iommu, &mem, &call, budget, &out, &events)
            .map_err(|e| TestCaseError::fail(format!("RPCIT {start:#x} + {len:#x}: {e}")))?;
        prop_assert!(out.stats.passes <= 2);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 192,
        // failing seeds go to model.regressions, next to this file
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    /// Random, partly hostile tables; a sequence of RPCITs and table
    /// changes; every event stream checked against the container model.
    #[test]
    fn rpcit_matches_the_models(s in scenario()) {
        run(&s)?;
    }

    /// The range walk and the per-page walk agree with the model on every
    /// page, whatever the tables.
    #[test]
    fn walks_match_the_model(t in prop_oneof![tables(false), tables(true)], iota_low in 0u64..0x400, off in 0u64..0x100_0000, pages in 1u64..600) {
        use super::walk::{walk_page, PageState, RangeWalker, Target};
        let mut mem = VecMemory::new(RAM as usize);
        t.write(&mut mem);
        let iota = RT | 0x804 | (iota_low & !0x804);
        let first = (t.boundary() - 0x80_0000 + off) >> 12;
        let mut got = Vec::new();
        let mut walker = RangeWalker::new();
        let res = walker.walk(&mem, iota, first, first + pages, |u| {
            for k in 0..u.pages {
                got.push(match u.target {
                    Target::Invalid => Page::Invalid,
                    Target::Mapped { gfn, perm } => Page::Mapped { gpa: (gfn + k) << 12, perm },
                });
            }
            std::ops::ControlFlow::Continue(())
        });
        for (k, page) in got.iter().enumerate() {
            let iova = (first + k as u64) << 12;
            prop_assert_eq!(*page, walk(&mem, iota, iova), "range walk, page {:#x}", iova);
            let single = match walk_page(&mem, iota, iova) {
                Ok(w) => match w.state {
                    PageState::Invalid => Page::Invalid,
                    PageState::Mapped { gpa, perm } => Page::Mapped { gpa, perm },
                },
                Err(f) => Page::Fault(f.code()),
            };
            prop_assert_eq!(*page, single, "page walk, page {:#x}", iova);
        }
        match res {
            Ok(_) => prop_assert_eq!(got.len() as u64, pages),
            Err(f) => {
                let iova = (first + got.len() as u64) << 12;
                prop_assert_eq!(f.iova(), Some(iova));
                prop_assert_eq!(Page::Fault(f.code()), walk(&mem, iota, iova));
            }
        }
    }
}

#[test]
fn models_agree_on_linux_tables() {
    let mut mem = VecMemory::new(RAM as usize);
    let mut t = LinuxTables::new(&mut mem, 0x1_0000);
    t.map(&mut mem, 0x1_0000_0000, 0x20_0000, 4, true);
    assert_eq!(
        walk(&mem, t.iota(), 0x1_0000_2000),
        Page::Mapped {
            gpa: 0x20_2000,
            perm: Perm::ReadWrite
        }
    );
    assert_eq!(walk(&mem, t.iota(), 0x1_0000_4000), Page::Invalid);
    assert_eq!(walk(&mem, t.iota(), 0x1_8000_0000), Page::Invalid);
    t.unmap(&mut mem, 0x1_0000_2000, 1);
    assert_eq!(walk(&mem, t.iota(), 0x1_0000_2000), Page::Invalid);
}

#[test]
fn container_refuses_what_type1v2_refuses() {
    let map = |iova, size| Event::Map {
        iova,
        gpa: iova,
        size,
        perm: Perm::ReadWrite,
    };
    let unmap = |iova, size| Event::Unmap { iova, size };
    let mut c = Container::new(Some(2));
    c.apply(&map(0x4000, 0x4000)).unwrap();
    assert!(c.apply(&map(0x6000, 0x1000)).is_err(), "overlap");
    assert!(c.apply(&map(0x2000, 0x4000)).is_err(), "misaligned");
    assert!(c.apply(&unmap(0x4000, 0x1000)).is_err(), "split at the end");
    assert!(
        c.apply(&unmap(0x6000, 0x2000)).is_err(),
        "split at the start"
    );
    c.apply(&map(0x1000, 0x1000)).unwrap();
    assert!(c.apply(&map(0x10000, 0x1000)).is_err(), "entry limit");
    c.apply(&unmap(0, 0x8000)).unwrap();
    assert_eq!(c.len(), 0);
    c.apply(&unmap(0, 0x8000)).unwrap();
}
