//! RPCIT (Refresh PCI Translations) over a range of I/O addresses, and the
//! IOMMU notifier events it produces.
//!
//! Source: `hw/s390x/s390-pci-inst.c` of QEMU 10.0.2 (`rpcit_service_call`,
//! `s390_pci_update_iotlb`, `s390_pci_batch_unmap`); the notifier consumer
//! is QEMU's VFIO (`vfio_iommu_map_notify`), over Linux's VFIO type1v2.
//!
//! # The answers, as QEMU 10.0.2 gives them
//!
//! - no IOTA registered, or an IOTA of zero: error event "invalid address
//!   space" (`ERR_EVENT_INVALAS`) at the start address;
//! - `start + len` (wrapping, as in C) below the DMA range's base, or
//!   `start` above its limit: error event "out of range"
//!   (`ERR_EVENT_OORANGE`) at the start address;
//! - a table walk error: the event the walk gives ([`WalkFault::code`]),
//!   at the failing address. Pages before it have been refreshed;
//! - each error answers CC 1 with status 8 ("function in error") and puts
//!   the function in the error state;
//! - otherwise CC 0, unless the DMA entries of the VFIO container are all
//!   used when RPCIT ends: then CC 1 with status 16 ("insufficient
//!   resources"). Linux answers that with an RPCIT over its whole aperture,
//!   which lets the hypervisor see what the guest unmapped lazily.
//!
//! A page whose mapping cannot be made for want of DMA entries stays
//! unmapped. QEMU then makes a second pass over the range if entries were
//! freed by unmaps later in it; so does this code, at most once (QEMU's
//! `goto retry` loops until a pass needs no retry, which with tables that
//! do not change under it is also after the second pass). New maps wait in
//! a pending run, so unmaps met shortly after often free the entries before
//! the run is sent and no second pass is needed.
//!
//! # The events
//!
//! Each [`Event`] is one `IOMMUTLBEntry` notification: a power-of-two size,
//! at least 4 KiB, with the I/O address (and for a map the guest address)
//! a multiple of the size, so `addr_mask = size - 1`. A map is one VFIO
//! `MAP_DMA`, that is one DMA entry of the container, whatever its size; an
//! unmap covers whole mappings only, never part of one (type1v2 refuses to
//! split a mapping).
//!
//! Consecutive pages that map consecutive guest frames with the same
//! permission, inside one block of guest RAM, become one map event when
//! naturally aligned (and otherwise the fewest aligned power-of-two
//! blocks). The IOTLB records, for each page, the mapping it belongs to.
//! When a refresh changes or removes any page of a mapping, the whole
//! mapping is unmapped and its unchanged pages are mapped again: the ones
//! before the change and outside the refreshed range right away, the ones
//! further on in the range as the walk reaches them, merged with their new
//! neighbours. Consecutive unmaps are coalesced as QEMU does.
//!
//! DMA entries are counted per mapping: a map takes one, an unmapped
//! mapping gives one back. Tearing a mapping down to change one page costs
//! entries: the unchanged rest takes up to `order` mappings. If none is
//! free, pages of the rest are left unmapped and the answer is CC 1 status
//! 16 (which makes Linux refresh its whole aperture). Unchanged pages that
//! a second pass would not reach (outside the range, or after where the
//! pass stopped) are retried once the pass has sent all its unmaps.
//!
//! # What differs from QEMU 10.0.2
//!
//! - Pages are mapped in coalesced blocks (QEMU: one event and one DMA
//!   entry per 4 KiB page).
//! - Only the part of the range inside the DMA range (`pba ..= pal`) is
//!   refreshed. QEMU walks and maps the rest too, though its translate
//!   refuses any DMA there, and a coalesced unmap that crosses `pal` fails
//!   the range assertion in `memory_region_notify_iommu_one`.
//! - An invalid region-third or segment entry unmaps what was mapped under
//!   it. QEMU drops those pages from its IOTLB and counts their DMA entries
//!   as free, but sends no unmap event (only page-level unmaps are sent), so
//!   VFIO keeps the mappings.
//! - A page whose translation changes costs no DMA entry net (QEMU counts
//!   one more on every change).
//! - The walk steps to the next table entry boundary. QEMU steps by the
//!   frame size from the start address, so after a 1 MiB or 2 GiB entry
//!   met in its middle it skips the first pages of the next one and gives
//!   them the previous entry's translation.
//! - Work is bounded ([`Limits::max_work`]); a range that needs more ends
//!   with CC 1 status 16 after refreshing a prefix, and so does every
//!   repetition of it (a refresh re-checks the pages it already did). QEMU
//!   visits every 4 KiB page of the range, up to 2^52 of them.
//!
//! # Work bound
//!
//! A unit of work is one table entry decoded, one page compared with the
//! IOTLB, or one page of a mapping torn down. A pass stops before it would
//! exceed [`Limits::max_work`] units, at a page boundary, with the IOTLB and
//! the events consistent. Finishing the pass (emitting what is pending,
//! mapping again what was torn down beyond the stop) costs at most the
//! pages already counted plus one mapping of `2^max_order` pages. There are
//! at most two passes. Memory reads are one per table span (16 KiB at
//! most), at most one per unit of work.
//!
//! Measured (`benches/iommu.rs`, release build): a refresh costs about
//! 5 ns per unit, 10 ns per mapped 4 KiB page when nothing changed; the
//! hostile worst case, a range of page tables that all alias one table,
//! spends the default 2^27 units in about 0.9 s per pass. The default lets
//! one RPCIT re-check 256 GiB of I/O space mapped page by page; Linux's
//! largest RPCIT covers its aperture, by default the size of guest RAM.

#![forbid(unsafe_code)]

use std::ops::{ControlFlow, Range};

use super::guest_mem::GuestMemory;
use super::iotlb::{Iotlb, PageExtent};
use super::walk::{RangeWalker, Target, Unit, WalkFault};
use super::{addr_of, page_of, ErrorCode, ErrorEvent, Perm, PAGE_SIZE};

/// One IOMMU notifier event (`IOMMUTLBEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// `IOMMU_NOTIFIER_MAP`: map `size` bytes at `iova` to guest `gpa`.
    Map {
        /// I/O address, a multiple of `size`.
        iova: u64,
        /// Guest absolute address, a multiple of `size`.
        gpa: u64,
        /// A power of two, at least 4 KiB.
        size: u64,
        /// What the device may do.
        perm: Perm,
    },
    /// `IOMMU_NOTIFIER_UNMAP` (`perm` `IOMMU_NONE`): unmap every mapping in
    /// `size` bytes at `iova`; none extends outside.
    Unmap {
        /// I/O address, a multiple of `size`.
        iova: u64,
        /// A power of two, at least 4 KiB.
        size: u64,
    },
}

impl Event {
    /// The I/O address.
    #[must_use]
    pub const fn iova(&self) -> u64 {
        match self {
            Self::Map { iova, .. } | Self::Unmap { iova, .. } => *iova,
        }
    }

    /// The size in bytes.
    #[must_use]
    pub const fn size(&self) -> u64 {
        match self {
            Self::Map { size, .. } | Self::Unmap { size, .. } => *size,
        }
    }

    /// The `IOMMUTLBEntry` `addr_mask`: size - 1.
    #[must_use]
    pub const fn addr_mask(&self) -> u64 {
        self.size().wrapping_sub(1)
    }
}

/// Where RPCIT sends its events: the IOMMU notifiers.
pub trait EventSink {
    /// Delivers one event. Events arrive in the order they must be applied.
    fn notify(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    fn notify(&mut self, event: Event) {
        self.push(event);
    }
}

/// The DMA entries still free in a VFIO container (its `dma_avail`; QEMU's
/// `S390PCIDMACount.avail`), shared by the functions attached to it. For a
/// function not backed by VFIO there is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DmaBudget {
    avail: Option<u32>,
}

impl DmaBudget {
    /// No limit.
    #[must_use]
    pub const fn unlimited() -> Self {
        Self { avail: None }
    }

    /// `avail` DMA entries free.
    #[must_use]
    pub const fn limited(avail: u32) -> Self {
        Self { avail: Some(avail) }
    }

    /// The entries free, or `None` for no limit.
    #[must_use]
    pub const fn avail(&self) -> Option<u32> {
        self.avail
    }

    /// Whether a limit is set and no entry is free.
    #[must_use]
    pub const fn is_exhausted(&self) -> bool {
        matches!(self.avail, Some(0))
    }

    /// Takes one entry for a new mapping, if one is free.
    fn take(&mut self) -> bool {
        match &mut self.avail {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }

    /// Gives back `n` entries of removed mappings.
    pub(crate) fn give(&mut self, n: u64) {
        if let Some(avail) = &mut self.avail {
            *avail = avail.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
}

/// Default of [`Limits::max_work`]: 2^27 units, enough to refresh 256 GiB
/// of I/O space mapped page by page (one entry decoded and one page
/// compared per page) in one RPCIT, in about 0.7 s.
pub const DEFAULT_MAX_WORK: u64 = 1 << 27;
/// Default of [`Limits::max_order`]: mappings of at most 1 GiB.
pub const DEFAULT_MAX_ORDER: u8 = 18;
/// Retained pieces queued before the pending unmaps are sent.
const MAX_PENDING_PIECES: usize = 64;

/// Bounds on the work of one RPCIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Units of work per pass (see the module documentation).
    pub max_work: u64,
    /// log2 of the pages of the largest mapping made. Tearing a mapping
    /// down costs its pages, so this bounds the work one changed page can
    /// cause; 1 GiB mappings keep it at 2^18 slot writes.
    pub max_order: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_work: DEFAULT_MAX_WORK,
            max_order: DEFAULT_MAX_ORDER,
        }
    }
}

/// The guest-visible answer to RPCIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RpcitAnswer {
    /// CC 0: the range is refreshed.
    Done,
    /// CC 1, status 16 (`ZPCI_RPCIT_ST_INSUFF_RES`): the VFIO container has
    /// no DMA entry left (some pages may be left unmapped), or the range
    /// needed more work than allowed (a prefix of it was refreshed).
    InsufficientResources,
    /// CC 1, status 8 (`ZPCI_PCI_ST_FUNC_IN_ERR`): the function enters the
    /// error state and the error event is raised.
    Error(ErrorEvent),
}

/// Status of CC 1 "function in error" (`ZPCI_PCI_ST_FUNC_IN_ERR`).
pub const STATUS_FUNC_IN_ERR: u8 = 8;
/// Status of CC 1 "insufficient resources" (`ZPCI_RPCIT_ST_INSUFF_RES`).
pub const STATUS_INSUFF_RES: u8 = 16;

impl RpcitAnswer {
    /// The condition code.
    #[must_use]
    pub const fn cc(&self) -> u8 {
        match self {
            Self::Done => 0,
            Self::InsufficientResources | Self::Error(_) => 1,
        }
    }

    /// The status for the high byte of the function handle register, with
    /// CC 1.
    #[must_use]
    pub const fn status(&self) -> Option<u8> {
        match self {
            Self::Done => None,
            Self::InsufficientResources => Some(STATUS_INSUFF_RES),
            Self::Error(_) => Some(STATUS_FUNC_IN_ERR),
        }
    }

    /// The error event, if the function enters the error state.
    #[must_use]
    pub const fn error(&self) -> Option<ErrorEvent> {
        match self {
            Self::Error(e) => Some(*e),
            Self::Done | Self::InsufficientResources => None,
        }
    }
}

/// What one RPCIT did, for tracing and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RpcitStats {
    /// Passes over the range (0 when nothing was walked, at most 2).
    pub passes: u32,
    /// Units of work.
    pub work: u64,
    /// Guest memory reads.
    pub table_reads: u64,
    /// Map events sent.
    pub map_events: u64,
    /// Unmap events sent.
    pub unmap_events: u64,
    /// Pages mapped (again, for the unchanged pages of a torn-down mapping).
    pub mapped_pages: u64,
    /// Pages of torn-down mappings.
    pub unmapped_pages: u64,
    /// Pages left unmapped for want of DMA entries.
    pub refused_pages: u64,
    /// Whether the work bound cut the range short.
    pub work_exhausted: bool,
}

/// The full result of RPCIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RpcitOutcome {
    /// What the guest is told.
    pub answer: RpcitAnswer,
    /// What was done.
    pub stats: RpcitStats,
}

/// The registered translation an RPCIT works on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Space {
    pub(crate) iota: u64,
    pub(crate) pba: u64,
    pub(crate) pal: u64,
    /// Whether the IOTLB and notifiers are used (translation mode); in
    /// direct-mapping mode RPCIT only walks, for the answer.
    pub(crate) translated: bool,
}

/// Everything one RPCIT touches.
pub(crate) struct Ctx<'a, M: ?Sized, S: ?Sized> {
    pub(crate) walker: &'a mut RangeWalker,
    pub(crate) iotlb: &'a mut Iotlb,
    pub(crate) mem: &'a M,
    pub(crate) budget: &'a mut DmaBudget,
    pub(crate) sink: &'a mut S,
    pub(crate) limits: Limits,
}

fn error(code: ErrorCode, faddr: u64, stats: RpcitStats) -> RpcitOutcome {
    RpcitOutcome {
        answer: RpcitAnswer::Error(ErrorEvent { code, faddr }),
        stats,
    }
}

/// RPCIT over `start .. start + len` on `space` (`None`: no IOTA).
pub(crate) fn rpcit<M, S>(
    mut ctx: Ctx<'_, M, S>,
    space: Option<Space>,
    start: u64,
    len: u64,
) -> RpcitOutcome
where
    M: GuestMemory + ?Sized,
    S: EventSink + ?Sized,
{
    let mut stats = RpcitStats::default();
    let Some(space) = space.filter(|s| s.iota != 0) else {
        return error(ErrorCode::InvalidAddressSpace, start, stats);
    };
    // As QEMU: the end wraps, and a range ending exactly at pba passes.
    let end = start.wrapping_add(len);
    if end < space.pba || start > space.pal {
        return error(ErrorCode::OutOfRange, start, stats);
    }
    let mut fault = None;
    if start < end {
        // The pages that overlap start .. end, inside pba ..= pal.
        let first = page_of(start).max(page_of(space.pba));
        let last = page_of(end - 1).min(page_of(space.pal));
        if first <= last {
            fault = refresh(&mut ctx, space, first..last + 1, &mut stats);
        }
    }
    let answer = match fault {
        Some(f) => RpcitAnswer::Error(ErrorEvent {
            code: f.code(),
            faddr: f
                .iova()
                .map_or(start, |iova| iova | (start & (PAGE_SIZE - 1))),
        }),
        None if stats.work_exhausted || ctx.budget.is_exhausted() => {
            RpcitAnswer::InsufficientResources
        }
        None => RpcitAnswer::Done,
    };
    RpcitOutcome { answer, stats }
}

/// Walks `pages` once, and a second time if mappings were refused while
/// entries are free again (QEMU's `if (again && dma_avail > 0) goto
/// retry`). Returns the fault of the last pass.
fn refresh<M, S>(
    ctx: &mut Ctx<'_, M, S>,
    space: Space,
    pages: Range<u64>,
    stats: &mut RpcitStats,
) -> Option<WalkFault>
where
    M: GuestMemory + ?Sized,
    S: EventSink + ?Sized,
{
    let reads_before = ctx.walker.reads();
    let mut fault = None;
    let mut retained = Vec::new();
    for _ in 0..2 {
        stats.passes += 1;
        let mut pass = Pass {
            mem: ctx.mem,
            iotlb: &mut *ctx.iotlb,
            budget: &mut *ctx.budget,
            sink: &mut *ctx.sink,
            max_order: ctx.limits.max_order.min(super::iotlb::MAX_ORDER),
            start: pages.start,
            end: pages.end,
            work_left: ctx.limits.max_work,
            position: pages.start,
            translated: space.translated,
            unmap: None,
            retained: std::mem::take(&mut retained),
            retry: Vec::new(),
            map: None,
            ahead: None,
            ram: None,
            refused: false,
            exhausted: false,
            stats: &mut *stats,
        };
        let walked = ctx
            .walker
            .walk(ctx.mem, space.iota, pages.start, pages.end, |u| {
                pass.unit(u)
            });
        let stop = match walked {
            Ok(ControlFlow::Continue(())) => {
                fault = None;
                None
            }
            Ok(ControlFlow::Break(())) => {
                fault = None;
                Some(pass.position)
            }
            Err(f) => {
                fault = Some(f);
                Some(pass.position)
            }
        };
        pass.finish(stop);
        let (refused, exhausted) = (pass.refused, pass.exhausted);
        let work = ctx.limits.max_work - pass.work_left;
        retained = pass.retained;
        stats.work = stats.work.saturating_add(work);
        if exhausted {
            stats.work_exhausted = true;
            break;
        }
        if !refused || ctx.budget.is_exhausted() {
            break;
        }
    }
    stats.table_reads = ctx.walker.reads() - reads_before;
    fault
}

/// A run of consecutive pages mapping consecutive frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    first: u64,
    pages: u64,
    gfn: u64,
    perm: Perm,
}

impl Piece {
    const fn end(&self) -> u64 {
        self.first + self.pages
    }

    /// The part of this piece before page `end`.
    fn until(&self, end: u64) -> Option<Self> {
        (self.first < end).then(|| Self {
            pages: self.pages.min(end - self.first),
            ..*self
        })
    }

    /// The part of this piece from page `from` on.
    fn from(&self, from: u64) -> Option<Self> {
        let first = self.first.max(from);
        (first < self.end()).then(|| Self {
            first,
            pages: self.end() - first,
            gfn: self.gfn + (first - self.first),
            perm: self.perm,
        })
    }
}

/// Consecutive torn-down mappings, not yet announced.
#[derive(Clone, Copy, Debug)]
struct UnmapRun {
    first: u64,
    end: u64,
    mappings: u64,
}

/// New pages to map, not yet announced; `ram_end` is the first frame past
/// the RAM block of the first one.
#[derive(Clone, Copy, Debug)]
struct MapRun {
    piece: Piece,
    ram_end: u64,
}

/// One pass over the range.
struct Pass<'a, M: ?Sized, S: ?Sized> {
    mem: &'a M,
    iotlb: &'a mut Iotlb,
    budget: &'a mut DmaBudget,
    sink: &'a mut S,
    max_order: u8,
    /// First page of the refreshed range.
    start: u64,
    /// End page of the refreshed range.
    end: u64,
    work_left: u64,
    /// First page not yet processed.
    position: u64,
    translated: bool,
    unmap: Option<UnmapRun>,
    /// Unchanged pages of torn-down mappings, to map again once the unmaps
    /// are sent, and whether they lie outside what the walk covers.
    retained: Vec<(Piece, Outside)>,
    /// Retained pages outside the walk that found no DMA entry: tried once
    /// more when the pass has sent all its unmaps.
    retry: Vec<Piece>,
    map: Option<MapRun>,
    /// The pages of the last torn-down mapping inside the range from the
    /// walk position on: the walk maps them again as it reaches them, and
    /// if the pass stops first they are mapped again as they were.
    ahead: Option<Piece>,
    /// The last RAM block looked up, in frames.
    ram: Option<Range<u64>>,
    refused: bool,
    exhausted: bool,
    stats: &'a mut RpcitStats,
}

/// Whether a piece lies where this pass does not walk (outside the range,
/// or past the page it stopped at): such pages get no second chance from a
/// second pass, so a refused one is retried at the end of the pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outside(bool);

/// The order of the largest naturally aligned block at page `first` and
/// frame `gfn` with at most `left` (> 0) pages.
fn block_order(first: u64, gfn: u64, left: u64, max_order: u8) -> u8 {
    let align = (first | gfn).trailing_zeros();
    let fit = left.checked_ilog2().unwrap_or(0);
    let order = align.min(fit).min(u32::from(max_order));
    u8::try_from(order).unwrap_or(0)
}

impl<M, S> Pass<'_, M, S>
where
    M: GuestMemory + ?Sized,
    S: EventSink + ?Sized,
{
    fn charge(&mut self, units: u64) -> bool {
        if units > self.work_left {
            self.exhausted = true;
            return false;
        }
        self.work_left -= units;
        true
    }

    fn unit(&mut self, u: Unit) -> ControlFlow<()> {
        if !self.charge(u.entries) {
            return ControlFlow::Break(());
        }
        if !self.translated {
            self.position = u.first_page + u.pages;
            return ControlFlow::Continue(());
        }
        match u.target {
            Target::Invalid => self.invalid(u.first_page, u.first_page + u.pages)?,
            Target::Mapped { gfn, perm } => {
                for k in 0..u.pages {
                    self.page(u.first_page + k, gfn + k, perm)?;
                }
            }
        }
        self.position = u.first_page + u.pages;
        ControlFlow::Continue(())
    }

    /// Pages `first .. end` translate to nothing: tear down every mapping
    /// with a page there.
    fn invalid(&mut self, first: u64, end: u64) -> ControlFlow<()> {
        let mut from = first;
        // Each iteration removes one mapping and moves past it.
        while let Some(page) = self.iotlb.next_mapped(from, end) {
            let Some(e) = self.iotlb.page_extent(page) else {
                break;
            };
            if !self.charge(e.pages()) {
                self.position = page;
                return ControlFlow::Break(());
            }
            // Pages of e before `first` were walked already and unchanged.
            self.tear_down(e, first);
            from = e.end();
        }
        ControlFlow::Continue(())
    }

    /// Page `page` translates to frame `gfn` with `perm`.
    fn page(&mut self, page: u64, gfn: u64, perm: Perm) -> ControlFlow<()> {
        if !self.charge(1) {
            self.position = page;
            return ControlFlow::Break(());
        }
        match self.iotlb.page_mapping(page) {
            Some(now) if now == (gfn, perm) => {
                self.position = page + 1;
                return ControlFlow::Continue(());
            }
            Some(_) => {
                if let Some(e) = self.iotlb.page_extent(page) {
                    if !self.charge(e.pages()) {
                        self.position = page;
                        return ControlFlow::Break(());
                    }
                    self.tear_down(e, page);
                }
            }
            None => {}
        }
        self.add_map(page, gfn, perm);
        self.position = page + 1;
        ControlFlow::Continue(())
    }

    /// Removes mapping `e`, a page of which at or after `cur` changes.
    fn tear_down(&mut self, e: PageExtent, cur: u64) {
        self.iotlb.remove_pages(e);
        self.stats.unmapped_pages = self.stats.unmapped_pages.saturating_add(e.pages());
        match self.unmap.as_mut() {
            Some(run) if run.end == e.first => {
                run.end = e.end();
                run.mappings += 1;
            }
            _ => {
                self.flush_unmaps();
                self.unmap = Some(UnmapRun {
                    first: e.first,
                    end: e.end(),
                    mappings: 1,
                });
            }
        }
        let whole = Piece {
            first: e.first,
            pages: e.pages(),
            gfn: e.gfn,
            perm: e.perm,
        };
        // Before cur: unchanged (walked, or before the range).
        if e.first < cur {
            let behind = Piece {
                pages: cur.min(e.end()) - e.first,
                ..whole
            };
            let inside = behind.from(self.start);
            if let Some(before) = behind.until(self.start) {
                self.retained.push((before, Outside(true)));
            }
            if let Some(inside) = inside {
                self.retained.push((inside, Outside(false)));
            }
        }
        // From cur to the end of the range: the walk decides.
        self.ahead = whole.from(cur).map(|p| Piece {
            pages: p.pages.min(self.end.saturating_sub(p.first)),
            ..p
        });
        // Past the range: not refreshed, keeps its translation.
        if let Some(beyond) = whole.from(self.end) {
            self.retained.push((beyond, Outside(true)));
        }
        if self.retained.len() >= MAX_PENDING_PIECES {
            self.flush_unmaps();
        }
    }

    /// The first frame past the RAM block holding frame `gfn` (`gfn + 1`
    /// when it is not RAM: such a page is mapped alone, as QEMU would).
    fn ram_end(&mut self, gfn: u64) -> u64 {
        if let Some(r) = self.ram.as_ref().filter(|r| r.contains(&gfn)) {
            return r.end;
        }
        let block = self
            .mem
            .ram_block(addr_of(gfn))
            .map(|r| page_of(r.start.saturating_add(PAGE_SIZE - 1))..page_of(r.end));
        match block.filter(|r| r.contains(&gfn)) {
            Some(r) => {
                let end = r.end;
                self.ram = Some(r);
                end
            }
            None => gfn + 1,
        }
    }

    fn add_map(&mut self, page: u64, gfn: u64, perm: Perm) {
        if let Some(run) = self.map.as_mut() {
            let p = &mut run.piece;
            if p.end() == page && p.gfn + p.pages == gfn && p.perm == perm && gfn < run.ram_end {
                p.pages += 1;
                return;
            }
        }
        self.flush_map();
        let ram_end = self.ram_end(gfn);
        self.map = Some(MapRun {
            piece: Piece {
                first: page,
                pages: 1,
                gfn,
                perm,
            },
            ram_end,
        });
    }

    fn flush_map(&mut self) {
        if let Some(run) = self.map.take() {
            // The pages may be in a torn-down mapping not yet unmapped.
            self.flush_unmaps();
            self.map_piece(run.piece, Outside(false));
        }
    }

    /// Sends the pending unmaps, then maps the retained pieces again.
    fn flush_unmaps(&mut self) {
        if let Some(run) = self.unmap.take() {
            let mut first = run.first;
            // Each iteration covers at least one page.
            while first < run.end {
                let order = block_order(first, 0, run.end - first, 63);
                let pages = 1u64 << order;
                self.sink.notify(Event::Unmap {
                    iova: addr_of(first),
                    size: addr_of(pages),
                });
                self.stats.unmap_events += 1;
                first += pages;
            }
            self.budget.give(run.mappings);
        }
        let pieces = std::mem::take(&mut self.retained);
        for (piece, outside) in &pieces {
            self.map_piece(*piece, *outside);
        }
        self.retained = pieces;
        self.retained.clear();
    }

    /// Maps a piece in naturally aligned blocks, one DMA entry each. A
    /// block refused for want of entries stays unmapped: inside the walk the
    /// second pass tries it again, outside it goes to `retry`.
    fn map_piece(&mut self, piece: Piece, outside: Outside) {
        let (mut first, mut gfn, mut left) = (piece.first, piece.gfn, piece.pages);
        // Each iteration covers at least one page.
        while left > 0 {
            let order = block_order(first, gfn, left, self.max_order);
            let pages = 1u64 << order;
            if self.budget.take() {
                self.iotlb.insert_pages(PageExtent {
                    first,
                    gfn,
                    order,
                    perm: piece.perm,
                });
                self.sink.notify(Event::Map {
                    iova: addr_of(first),
                    gpa: addr_of(gfn),
                    size: addr_of(pages),
                    perm: piece.perm,
                });
                self.stats.map_events += 1;
                self.stats.mapped_pages = self.stats.mapped_pages.saturating_add(pages);
            } else if outside.0 {
                self.retry.push(Piece {
                    first,
                    pages,
                    gfn,
                    perm: piece.perm,
                });
            } else {
                self.refused = true;
                self.stats.refused_pages = self.stats.refused_pages.saturating_add(pages);
            }
            first += pages;
            gfn += pages;
            left -= pages;
        }
    }

    /// Ends the pass. `stop`: the first page not processed, if the pass
    /// ended early; the pages of a torn-down mapping from there on keep
    /// their translation.
    fn finish(&mut self, stop: Option<u64>) {
        if let Some(rest) = stop.and_then(|s| self.ahead.take().and_then(|a| a.from(s))) {
            self.retained.push((rest, Outside(true)));
        }
        self.ahead = None;
        self.flush_map();
        self.flush_unmaps();
        // Every unmap of the pass is sent: entries freed after a retained
        // piece was refused can take it now. A piece refused again stays
        // unmapped; no entry is free then, so the answer is CC 1 status 16.
        let retry = std::mem::take(&mut self.retry);
        for piece in retry {
            self.map_piece(piece, Outside(false));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::iommu::model::{check_rpcit, Call, Container, LinuxTables};
    use crate::iommu::{FunctionDma, IoatRequest, Iommu, VecMemory};

    /// Start of the DMA range (Linux: `zdev->start_dma`, QEMU's sdma).
    const BASE: u64 = 0x1_0000_0000;
    /// Guest data frames live at 4 MiB .. 8 MiB.
    const DATA: u64 = 0x40_0000;
    const RW: Perm = Perm::ReadWrite;
    const RO: Perm = Perm::ReadOnly;

    struct Fx {
        mem: VecMemory,
        t: LinuxTables,
        iommu: Iommu,
        budget: DmaBudget,
        container: Container,
        limit: Option<u32>,
    }

    fn dma() -> FunctionDma {
        FunctionDma {
            sdma: BASE,
            edma: 0x01ff_ffff_ffff_ffff,
            relaxed_translation: true,
        }
    }

    impl Fx {
        fn with_limits(limit: Option<u32>, limits: Limits) -> Self {
            let mut mem = VecMemory::new(0x80_0000);
            let t = LinuxTables::new(&mut mem, 0x1_0000);
            let mut iommu = Iommu::with_limits(limits);
            let req = IoatRequest {
                iota: t.iota(),
                pba: BASE,
                pal: BASE + (1 << 30) - 1,
            };
            iommu.register_ioat(req, &dma()).unwrap();
            Self {
                mem,
                t,
                iommu,
                budget: limit.map_or(DmaBudget::unlimited(), DmaBudget::limited),
                container: Container::new(limit),
                limit,
            }
        }

        fn new(limit: Option<u32>) -> Self {
            Self::with_limits(limit, Limits::default())
        }

        fn map(&mut self, page: u64, frame: u64, pages: u64, perm: Perm) {
            self.t.map(
                &mut self.mem,
                BASE + page * 0x1000,
                DATA + frame * 0x1000,
                pages,
                perm == RW,
            );
        }

        fn unmap(&mut self, page: u64, pages: u64) {
            self.t.unmap(&mut self.mem, BASE + page * 0x1000, pages);
        }

        /// RPCIT over pages `page .. page + pages`, checked by the models.
        fn rpcit(&mut self, page: u64, pages: u64) -> (RpcitOutcome, Vec<Event>) {
            self.rpcit_raw(BASE + page * 0x1000, pages * 0x1000)
        }

        fn rpcit_raw(&mut self, start: u64, len: u64) -> (RpcitOutcome, Vec<Event>) {
            let mut events = Vec::new();
            let out = self
                .iommu
                .rpcit(&self.mem, start, len, &mut self.budget, &mut events);
            let call = Call {
                start,
                len,
                limit: self.limit,
            };
            check_rpcit(
                &mut self.container,
                &self.iommu,
                &self.mem,
                &call,
                self.budget,
                &out,
                &events,
            )
            .unwrap_or_else(|e| panic!("RPCIT {start:#x} + {len:#x}: {e}\n{events:#x?}"));
            (out, events)
        }

        fn page(&self, page: u64) -> Option<(u64, Perm)> {
            self.container.page(BASE + page * 0x1000)
        }
    }

    fn map(page: u64, frame: u64, pages: u64, perm: Perm) -> Event {
        Event::Map {
            iova: BASE + page * 0x1000,
            gpa: DATA + frame * 0x1000,
            size: pages * 0x1000,
            perm,
        }
    }

    fn unmap(page: u64, pages: u64) -> Event {
        Event::Unmap {
            iova: BASE + page * 0x1000,
            size: pages * 0x1000,
        }
    }

    #[test]
    fn answers_are_qemus() {
        assert_eq!(
            (RpcitAnswer::Done.cc(), RpcitAnswer::Done.status()),
            (0, None)
        );
        let ir = RpcitAnswer::InsufficientResources;
        assert_eq!((ir.cc(), ir.status(), ir.error()), (1, Some(16), None));
        let e = ErrorEvent {
            code: ErrorCode::OutOfRange,
            faddr: 5,
        };
        let err = RpcitAnswer::Error(e);
        assert_eq!((err.cc(), err.status(), err.error()), (1, Some(8), Some(e)));
    }

    #[test]
    fn no_address_space() {
        let mut fx = Fx::new(None);
        fx.iommu.deregister_ioat(&mut fx.budget).unwrap();
        let (out, ev) = fx.rpcit_raw(BASE + 0x123, 0x1000);
        let want = ErrorEvent {
            code: ErrorCode::InvalidAddressSpace,
            faddr: BASE + 0x123,
        };
        assert_eq!((out.answer, ev.len()), (RpcitAnswer::Error(want), 0));
        // direct mapping registered with an IOTA of 0, as Linux does
        let req = IoatRequest {
            iota: 0,
            pba: BASE,
            pal: BASE + 0xfff,
        };
        fx.iommu.register_ioat(req, &dma()).unwrap();
        assert_eq!(
            fx.rpcit_raw(BASE, 0x1000).0.answer.error().unwrap().code,
            ErrorCode::InvalidAddressSpace
        );
    }

    #[test]
    fn out_of_range_is_qemus_coarse_check() {
        let mut fx = Fx::new(None);
        fx.map(0, 0, 1, RW);
        let pal = BASE + (1 << 30) - 1;
        let oor = |start| {
            RpcitAnswer::Error(ErrorEvent {
                code: ErrorCode::OutOfRange,
                faddr: start,
            })
        };
        assert_eq!(
            fx.rpcit_raw(BASE - 0x2000, 0x1000).0.answer,
            oor(BASE - 0x2000)
        );
        assert_eq!(fx.rpcit_raw(pal + 1, 0x1000).0.answer, oor(pal + 1));
        // end == pba passes the check, and refreshes nothing
        let (out, ev) = fx.rpcit_raw(BASE - 0x1000, 0x1000);
        assert_eq!(
            (out.answer, ev.len(), out.stats.passes),
            (RpcitAnswer::Done, 0, 0)
        );
        // a wrapping end below pba
        assert_eq!(fx.rpcit_raw(BASE, u64::MAX).0.answer, oor(BASE));
        // a range reaching past both ends refreshes the DMA range only
        let (out, ev) = fx.rpcit_raw(0, u64::MAX);
        assert_eq!(
            (out.answer, ev),
            (RpcitAnswer::Done, vec![map(0, 0, 1, RW)])
        );
        // length 0 inside the range: nothing to do
        let (out, ev) = fx.rpcit_raw(BASE, 0);
        assert_eq!((out.answer, ev.len()), (RpcitAnswer::Done, 0));
    }

    #[test]
    fn contiguous_maps_coalesce() {
        let mut fx = Fx::new(Some(100));
        fx.map(16, 16, 16, RW); // aligned in both: one 64 KiB mapping
        let (out, ev) = fx.rpcit(16, 16);
        assert_eq!(ev, vec![map(16, 16, 16, RW)]);
        assert_eq!(
            (out.answer, fx.budget.avail()),
            (RpcitAnswer::Done, Some(99))
        );
        // guest frames aligned differently: the fewest aligned blocks
        fx.map(64, 66, 7, RW);
        let (_, ev) = fx.rpcit(64, 7);
        assert_eq!(
            ev,
            vec![
                map(64, 66, 2, RW),
                map(66, 68, 2, RW),
                map(68, 70, 2, RW),
                map(70, 72, 1, RW)
            ]
        );
        // of odd parity: page by page
        fx.map(80, 81, 3, RW);
        assert_eq!(fx.rpcit(80, 3).1.len(), 3);
        // a change of permission or a gap in the frames ends a mapping
        fx.map(128, 128, 2, RW);
        fx.map(130, 130, 2, RO);
        fx.map(132, 140, 4, RW);
        let (_, ev) = fx.rpcit(128, 8);
        assert_eq!(
            ev,
            vec![
                map(128, 128, 2, RW),
                map(130, 130, 2, RO),
                map(132, 140, 4, RW)
            ]
        );
        assert_eq!(fx.iommu.iotlb().extents(), 1 + 4 + 3 + 3);
    }

    #[test]
    fn mapping_stays_in_one_ram_block() {
        let mut fx = Fx::new(None);
        // frames 0x7fc000 .. 0x804000 straddle the end of guest RAM (8 MiB)
        fx.t.map(&mut fx.mem, BASE + 0x8_0000, 0x7f_8000, 16, true);
        let (_, ev) = fx.rpcit(0x80, 16);
        let sizes: Vec<u64> = ev.iter().map(Event::size).collect();
        assert_eq!(
            sizes,
            [0x8000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000]
        );
        assert_eq!(ev[1].iova(), BASE + 0x8_8000);
    }

    #[test]
    fn largest_mapping_is_bounded() {
        let mut fx = Fx::with_limits(
            None,
            Limits {
                max_order: 2,
                ..Limits::default()
            },
        );
        fx.map(0, 0, 16, RW);
        let (_, ev) = fx.rpcit(0, 16);
        assert_eq!(
            ev,
            vec![
                map(0, 0, 4, RW),
                map(4, 4, 4, RW),
                map(8, 8, 4, RW),
                map(12, 12, 4, RW)
            ]
        );
    }

    #[test]
    fn unmaps_coalesce_and_give_entries_back() {
        let mut fx = Fx::new(Some(10));
        fx.map(0, 0, 1, RW);
        fx.map(1, 5, 1, RW);
        fx.map(2, 10, 2, RW);
        fx.rpcit(0, 4);
        assert_eq!(fx.budget.avail(), Some(7));
        fx.unmap(0, 4);
        let (out, ev) = fx.rpcit(0, 4);
        assert_eq!(ev, vec![unmap(0, 4)], "three mappings, one event");
        assert_eq!(
            (out.answer, fx.budget.avail()),
            (RpcitAnswer::Done, Some(10))
        );
        // nothing mapped, nothing sent
        assert_eq!(fx.rpcit(0, 4).1, vec![]);
    }

    /// Linux unmaps one page of a buffer that was mapped as one mapping.
    #[test]
    fn partial_unmap_of_a_coalesced_mapping() {
        let mut fx = Fx::new(Some(20));
        fx.map(16, 16, 16, RW);
        fx.rpcit(16, 16);
        assert_eq!(fx.budget.avail(), Some(19));
        fx.unmap(21, 1);
        let (out, ev) = fx.rpcit(21, 1);
        assert_eq!(
            ev,
            vec![
                unmap(16, 16),
                map(16, 16, 4, RW),
                map(20, 20, 1, RW),
                map(22, 22, 2, RW),
                map(24, 24, 8, RW),
            ]
        );
        assert_eq!(out.answer, RpcitAnswer::Done);
        assert_eq!(fx.budget.avail(), Some(16), "4 mappings now");
        assert_eq!(fx.page(21), None);
        assert_eq!(fx.page(31), Some((DATA + 31 * 0x1000, RW)));
    }

    /// A refresh over the whole buffer unmaps it with one event, whichever
    /// page the walk meets first.
    #[test]
    fn whole_unmap_of_a_coalesced_mapping() {
        let mut fx = Fx::new(Some(20));
        fx.map(64, 64, 64, RW);
        fx.rpcit(64, 64);
        fx.unmap(64, 64);
        let (_, ev) = fx.rpcit(64, 64);
        assert_eq!(ev, vec![unmap(64, 64)]);
        assert_eq!(fx.budget.avail(), Some(20));
    }

    /// A page in the middle changes frame: the mapping is rebuilt around it.
    #[test]
    fn changed_page_inside_a_mapping() {
        let mut fx = Fx::new(None);
        fx.map(0, 0, 8, RW);
        fx.rpcit(0, 8);
        fx.map(3, 100, 1, RO);
        let (_, ev) = fx.rpcit(0, 8);
        assert_eq!(
            ev,
            vec![
                unmap(0, 8),
                map(0, 0, 2, RW),
                map(2, 2, 1, RW),
                map(3, 100, 1, RO),
                map(4, 4, 4, RW),
            ]
        );
    }

    #[test]
    fn refresh_of_unchanged_tables_sends_nothing() {
        let mut fx = Fx::new(Some(100));
        fx.map(0, 0, 64, RW);
        fx.map(100, 7, 3, RO);
        fx.rpcit(0, 256);
        let (out, ev) = fx.rpcit(0, 1 << 18); // the whole DMA range
        assert_eq!((out.answer, ev.len()), (RpcitAnswer::Done, 0));
        // 1 region-third entry, the 1024 segment entries of 1 GiB, one page
        // table of 256 entries, and the 67 mapped pages compared
        assert_eq!(out.stats.work, 1 + 1024 + 256 + 67);
        assert_eq!(out.stats.table_reads, 3);
    }

    /// QEMU 10.0.2 drops these from its IOTLB without an unmap event.
    #[test]
    fn invalid_segment_and_region_entries_unmap() {
        let mut fx = Fx::new(Some(100));
        fx.map(0, 0, 4, RW);
        fx.map(256, 0, 4, RW); // the next segment
        fx.rpcit(0, 512);
        // invalidate segment 0 of region 2 (BASE is 4 GiB)
        let rte = fx.mem.read_u64(fx.t.rto + 2 * 8).unwrap();
        let sto = rte & !0x3fff;
        fx.mem.write_u64(sto, 0x20).unwrap();
        let (_, ev) = fx.rpcit(0, 512);
        assert_eq!(ev, vec![unmap(0, 4)]);
        fx.mem.write_u64(fx.t.rto + 2 * 8, 0x20).unwrap();
        let (_, ev) = fx.rpcit(0, 1 << 19);
        assert_eq!(ev, vec![unmap(256, 4)]);
        assert_eq!(fx.budget.avail(), Some(100));
    }

    #[test]
    fn segment_frames_coalesce_across_segments() {
        let mut fx = Fx::new(None);
        fx.map(0, 0, 1, RW); // allocates the segment table
        let rte = fx.mem.read_u64(fx.t.rto + 2 * 8).unwrap();
        let sto = rte & !0x3fff;
        // segments 2 and 3: 1 MiB frames at 2 MiB and 3 MiB
        fx.mem.write_u64(sto + 2 * 8, 0x20_0000 | 0x400).unwrap();
        fx.mem.write_u64(sto + 3 * 8, 0x30_0000 | 0x400).unwrap();
        let (_, ev) = fx.rpcit(512, 512);
        assert_eq!(
            ev,
            vec![Event::Map {
                iova: BASE + 0x20_0000,
                gpa: 0x20_0000,
                size: 0x20_0000,
                perm: RW
            }]
        );
    }

    #[test]
    fn exhausted_entries_answer_insufficient_resources() {
        let mut fx = Fx::new(Some(2));
        fx.map(0, 0, 1, RW);
        fx.map(2, 10, 1, RW);
        fx.map(4, 20, 1, RW);
        let (out, ev) = fx.rpcit(0, 5);
        assert_eq!(ev, vec![map(0, 0, 1, RW), map(2, 10, 1, RW)]);
        assert_eq!(out.answer, RpcitAnswer::InsufficientResources);
        assert_eq!(out.stats.refused_pages, 1);
        assert_eq!(fx.page(4), None);
        // Linux frees one and refreshes everything (zpci_refresh_all)
        fx.unmap(0, 1);
        let (out, ev) = fx.rpcit(0, 1 << 18);
        assert_eq!(ev, vec![unmap(0, 1), map(4, 20, 1, RW)]);
        // QEMU: the last entry used up is "insufficient resources" too
        assert_eq!(out.answer, RpcitAnswer::InsufficientResources);
        fx.unmap(2, 1);
        let (out, _) = fx.rpcit(0, 5);
        assert_eq!(out.answer, RpcitAnswer::Done);
    }

    /// Entries freed by unmaps further on in the range are used by a second
    /// pass for the maps refused before them.
    #[test]
    fn second_pass() {
        let mut fx = Fx::new(Some(3));
        fx.map(8, 8, 1, RW);
        fx.map(10, 30, 1, RW);
        fx.map(12, 40, 1, RW);
        fx.rpcit(8, 5);
        assert_eq!(fx.budget.avail(), Some(0));
        fx.map(0, 0, 1, RW);
        fx.map(1, 7, 1, RW);
        fx.unmap(8, 1);
        fx.unmap(10, 1);
        fx.unmap(12, 1);
        let (out, ev) = fx.rpcit(0, 16);
        assert_eq!(out.stats.passes, 2);
        // page 0 is refused before any unmap; page 1 is still pending when
        // the unmaps are sent; the second pass maps page 0
        assert_eq!(
            ev,
            vec![
                unmap(8, 1),
                unmap(10, 1),
                unmap(12, 1),
                map(1, 7, 1, RW),
                map(0, 0, 1, RW)
            ]
        );
        assert_eq!(out.answer, RpcitAnswer::Done);
        assert_eq!(out.stats.refused_pages, 1, "refused in the first pass");
        assert_eq!(fx.budget.avail(), Some(1));
    }

    /// The same with no entry left at the end: QEMU's answer.
    #[test]
    fn second_pass_that_uses_the_last_entry() {
        let mut fx = Fx::new(Some(2));
        fx.map(8, 8, 1, RW);
        fx.map(10, 30, 1, RW);
        fx.rpcit(8, 3);
        fx.map(0, 0, 1, RW);
        fx.map(1, 7, 1, RW);
        fx.unmap(8, 1);
        fx.unmap(10, 1);
        let (out, _) = fx.rpcit(0, 16);
        assert_eq!(out.stats.passes, 2);
        assert_eq!(out.answer, RpcitAnswer::InsufficientResources);
        assert!(fx.page(0).is_some() && fx.page(1).is_some());
    }

    /// A mapping is torn down to change one page, and no entry is left to
    /// map its other pages again: they stay unmapped and the answer says so.
    #[test]
    fn exhausted_while_rebuilding_a_mapping() {
        let mut fx = Fx::new(Some(1));
        fx.map(0, 0, 16, RW);
        fx.rpcit(0, 16);
        fx.map(5, 100, 1, RW);
        let (out, ev) = fx.rpcit(5, 1);
        assert_eq!(ev[0], unmap(0, 16));
        assert_eq!(out.answer, RpcitAnswer::InsufficientResources);
        assert_eq!(fx.iommu.iotlb().extents(), 1);
        // a global refresh once entries are free again restores the rest
        fx.budget = DmaBudget::limited(20);
        fx.limit = Some(21);
        fx.container = {
            let mut c = Container::new(Some(21));
            for e in &ev {
                let _ = c.apply(e);
            }
            c
        };
        let (out, _) = fx.rpcit(0, 16);
        assert_eq!(out.answer, RpcitAnswer::Done);
        for p in 0..16 {
            assert!(fx.page(p).is_some());
        }
    }

    /// A walk error halfway: the pages before it are refreshed, the pages
    /// of a torn-down mapping after it keep their old translation.
    #[test]
    fn fault_inside_a_torn_down_mapping() {
        let mut fx = Fx::new(Some(100));
        fx.map(0, 0, 16, RW);
        fx.rpcit(0, 16);
        fx.map(2, 50, 1, RW);
        // page entry 8 becomes 0: an invalid table entry
        let pte8 = {
            let rte = fx.mem.read_u64(fx.t.rto + 2 * 8).unwrap();
            let ste = fx.mem.read_u64(rte & !0x3fff).unwrap();
            (ste & !0x7ff) + 8 * 8
        };
        fx.mem.write_u64(pte8, 0).unwrap();
        let (out, _) = fx.rpcit_raw(BASE + 0x10, 16 * 0x1000);
        assert_eq!(
            out.answer,
            RpcitAnswer::Error(ErrorEvent {
                code: ErrorCode::InvalidTableEntry,
                faddr: BASE + 8 * 0x1000 + 0x10
            })
        );
        assert_eq!(fx.page(2), Some((DATA + 50 * 0x1000, RW)));
        for p in 8..16 {
            assert_eq!(fx.page(p), Some((DATA + p * 0x1000, RW)), "page {p}");
        }
    }

    #[test]
    fn work_is_bounded() {
        let mut fx = Fx::with_limits(
            Some(1000),
            Limits {
                max_work: 300,
                ..Limits::default()
            },
        );
        fx.map(0, 0, 512, RW);
        let (out, _) = fx.rpcit(0, 512);
        assert_eq!(out.answer, RpcitAnswer::InsufficientResources);
        assert!(out.stats.work_exhausted);
        assert!(out.stats.work <= 300);
        // the first page table's 256 entries are decoded and charged first
        assert_eq!(fx.iommu.iotlb().mapped_pages(), 300 - 258);
        // the same range needs the same work every time: it never completes
        assert_eq!(
            fx.rpcit(0, 512).0.answer,
            RpcitAnswer::InsufficientResources
        );
        // smaller ranges do
        assert_eq!(fx.rpcit(0, 16).0.answer, RpcitAnswer::Done);
        assert_eq!(fx.iommu.iotlb().mapped_pages(), 42);
    }

    /// The largest range over the largest DMA range, with every region-third
    /// entry aliasing one table of 1 MiB frames: QEMU would visit 2^45 pages.
    #[test]
    fn hostile_maximum_range() {
        let mut mem = VecMemory::new(0x10_0000);
        let (rt, st) = (0x4000u64, 0x8000u64);
        for k in 0..2048 {
            mem.write_u64(rt + k * 8, st | 0x7).unwrap();
            mem.write_u64(st + k * 8, 0x400 | ((k + 1) << 20)).unwrap(); // frames outside RAM
        }
        let mut iommu = Iommu::with_limits(Limits {
            max_work: 1 << 16,
            ..Limits::default()
        });
        let req = IoatRequest {
            iota: rt | 0x804,
            pba: 0,
            pal: u64::MAX,
        };
        let whole = FunctionDma {
            sdma: 0,
            edma: u64::MAX,
            relaxed_translation: false,
        };
        iommu.register_ioat(req, &whole).unwrap();
        let mut budget = DmaBudget::unlimited();
        let mut events = Vec::new();
        let out = iommu.rpcit(&mem, 0, u64::MAX, &mut budget, &mut events);
        assert_eq!(out.answer, RpcitAnswer::InsufficientResources);
        assert!(out.stats.work <= 1 << 16);
        assert!(out.stats.table_reads <= 1 + 1 + (1 << 16) / 256);
        // frames outside RAM are mapped page by page, as QEMU does
        assert!(events.iter().all(|e| e.size() == 0x1000));
    }

    #[test]
    fn direct_mapping_walks_for_the_answer_only() {
        let mut fx = Fx::new(Some(5));
        fx.map(0, 0, 4, RW);
        fx.iommu.deregister_ioat(&mut fx.budget).unwrap();
        let req = IoatRequest {
            iota: fx.t.iota() & !0x800, // translation off: relaxed translation
            pba: BASE,
            pal: BASE + (1 << 30) - 1,
        };
        assert_eq!(
            fx.iommu.register_ioat(req, &dma()).unwrap().mode,
            crate::iommu::IoatMode::Direct { sdma: BASE }
        );
        let mut events = Vec::new();
        let out = fx
            .iommu
            .rpcit(&fx.mem, BASE, 0x4000, &mut fx.budget, &mut events);
        assert_eq!(
            (out.answer, events.len(), fx.budget.avail()),
            (RpcitAnswer::Done, 0, Some(5))
        );
        fx.mem.write_u64(fx.t.rto + 2 * 8, 0).unwrap();
        let out = fx
            .iommu
            .rpcit(&fx.mem, BASE, 0x4000, &mut fx.budget, &mut events);
        assert_eq!(
            out.answer.error().unwrap().code,
            ErrorCode::InvalidTableEntry
        );
        assert_eq!(fx.iommu.iotlb().mapped_pages(), 0);
    }

    /// Linux's DMA API traffic: buffers of random sizes mapped and unmapped,
    /// an RPCIT after each map (`iotlb_sync_map`), unmaps refreshed in
    /// batches (`iotlb_sync`), a global refresh on "insufficient resources".
    /// Counts the DMA entries QEMU 10.0.2 would use (one per page).
    #[test]
    fn linux_dma_api_traffic() {
        let mut fx = Fx::new(Some(256));
        let mut live: Vec<(u64, u64)> = Vec::new();
        let mut next_iova = 0u64;
        let mut next_frame = 0u64;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut max_qemu_entries = 0u64;
        let mut max_entries = 0usize;
        let mut pending_unmaps: Vec<(u64, u64)> = Vec::new();
        for _ in 0..400 {
            if live.len() < 24 && rand(3) != 0 {
                let pages = 1 << rand(5);
                // IOVAs aligned to the size, as Linux's IOVA allocator does
                let iova = next_iova.next_multiple_of(pages);
                next_iova = (iova + pages) % 4096;
                if live.iter().any(|&(i, n)| iova < i + n && i < iova + pages) {
                    continue;
                }
                let frame = next_frame.next_multiple_of(pages) % 512;
                next_frame = frame + pages;
                fx.map(iova, frame, pages, if rand(4) == 0 { RO } else { RW });
                live.push((iova, pages));
                if fx.rpcit(iova, pages).0.answer == RpcitAnswer::InsufficientResources {
                    fx.rpcit(0, 1 << 18);
                }
            } else if !live.is_empty() {
                let (iova, pages) =
                    live.swap_remove(usize::try_from(rand(live.len() as u64)).unwrap());
                fx.unmap(iova, pages);
                pending_unmaps.push((iova, pages));
                if pending_unmaps.len() >= 4 {
                    let lo = pending_unmaps.iter().map(|u| u.0).min().unwrap();
                    let hi = pending_unmaps.iter().map(|u| u.0 + u.1).max().unwrap();
                    fx.rpcit(lo, hi - lo);
                    pending_unmaps.clear();
                }
            }
            let pages: u64 = live.iter().map(|l| l.1).sum();
            max_qemu_entries = max_qemu_entries.max(pages);
            max_entries = max_entries.max(fx.container.len());
        }
        // Buffers aligned in both address spaces are one mapping each (plus
        // the unmapped ones not refreshed yet); QEMU takes one per page.
        assert!(max_entries <= 24 + 4, "{max_entries}");
        assert!(
            max_qemu_entries > 4 * max_entries as u64,
            "{max_qemu_entries} vs {max_entries}"
        );
    }
}
