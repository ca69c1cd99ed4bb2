//! The I/O translation table walk, as QEMU 10.0.2 does it.
//!
//! Source: `hw/s390x/s390-pci-bus.c` (`s390_guest_io_table_walk`,
//! `table_translate` and helpers) and `include/hw/s390x/s390-pci-bus.h`
//! (`ZPCI_*` masks); the guest side is Linux's
//! `arch/s390/include/asm/pci_dma.h` and `drivers/iommu/s390-iommu.c`.
//!
//! What QEMU supports, and so what this walk does:
//! - one designation: the IOTA designates a region-third table
//!   (`reg_ioat` refuses a translating IOTA of any other designation type).
//!   The table origin is the IOTA with bits `0x804` (translation enable and
//!   designation type 1) cleared, nothing else: QEMU's
//!   `s390_pci_get_table_origin`. The IOTA's protection bit `0x200` makes
//!   every translation read-only, and, as it stays in the origin, also
//!   moves the table 512 bytes on (so do the other low bits);
//! - three levels: region-third (2 GiB per entry, index = I/O address bits
//!   31..41), segment (1 MiB per entry, bits 20..30) and page (4 KiB, bits
//!   12..19). Address bits 42 and up are ignored: addresses 4 TiB apart
//!   share the same entries;
//! - at each level, in this order: an entry of zero is an invalid table
//!   entry (`ERR_EVENT_INVALTE`); an entry with its invalid bit set (`0x20`
//!   in region and segment entries, `0x400` in page entries) translates
//!   nothing, with no error; a region-third entry must have table length 3
//!   and offset 0 (`ERR_EVENT_INVALTL`); an entry whose type does not match
//!   its level, or whose next-table or frame address is zero, is a
//!   translation-type error (`ERR_EVENT_TT`); the protection bit `0x200`
//!   makes the translation read-only;
//! - a segment entry with format control `0x400` maps a 1 MiB frame;
//! - an entry outside guest RAM reads as zero in QEMU, so it is an invalid
//!   table entry too.
//!
//! A range walk ([`RangeWalker`]) reads each table once: one read per
//! region-third table span, per segment table and per page table touched,
//! of just the entries the range needs.

#![forbid(unsafe_code)]

use std::fmt;
use std::ops::ControlFlow;

use thiserror::Error;

use super::guest_mem::GuestMemory;
use super::{addr_of, page_of, ErrorCode, Perm, PAGE_COUNT};

/// IOTA bit: translation enabled (QEMU `ZPCI_IOTA_IOT_ENABLED`, "t").
pub const IOTA_TRANSLATION: u64 = 0x800;
/// The IOTA bits QEMU clears to get the table origin
/// (`~ZPCI_IOTA_RTTO_FLAG`, with the storage key 0).
pub const IOTA_ORIGIN_CLEARED: u64 = 0x804;
/// Designation type of a region-third table (`ZPCI_IOTA_RTTO`), the only
/// one QEMU translates with.
pub const DT_REGION_THIRD: u8 = 1;

/// Invalid bit of region and segment entries (`ZPCI_TABLE_INVALID`).
pub const TABLE_INVALID: u64 = 0x20;
/// Protection bit of every entry and of the IOTA (`ZPCI_TABLE_PROTECTED`).
pub const TABLE_PROTECTED: u64 = 0x200;
/// Table type field of region and segment entries.
pub const TABLE_TYPE_MASK: u64 = 0xc;
/// Table type of a region-third entry (`ZPCI_TABLE_TYPE_RTX`).
pub const TABLE_TYPE_RTX: u64 = 0x4;
/// Table type of a segment entry (`ZPCI_TABLE_TYPE_SX`).
pub const TABLE_TYPE_SX: u64 = 0x0;
/// Table length field of a region-third entry; 3 is the only one allowed.
pub const TABLE_LEN_MASK: u64 = 0x3;
/// Table offset field of a region-third entry; must be zero.
pub const TABLE_OFFSET_MASK: u64 = 0xc0;
/// Format control of a segment entry: it maps a 1 MiB frame
/// (`ZPCI_TABLE_FC`).
pub const SEGMENT_FC: u64 = 0x400;
/// Invalid bit of page entries (`ZPCI_PTE_INVALID`).
pub const PTE_INVALID: u64 = 0x400;
/// Segment table origin in a region-third entry (`ZPCI_RTE_ADDR_MASK`).
pub const RTE_ADDR_MASK: u64 = !0x3fff;
/// Page table origin in a segment entry (`ZPCI_STE_ADDR_MASK`).
pub const STE_ADDR_MASK: u64 = !0x7ff;
/// Frame address in a page entry (`ZPCI_PTE_ADDR_MASK`).
pub const PTE_ADDR_MASK: u64 = !0xfff;
/// 1 MiB frame address in a segment entry (`ZPCI_SFAA_MASK`).
pub const SFAA_MASK: u64 = !0xf_ffff;

/// Pages per page table (`ZPCI_PT_ENTRIES`).
pub const PAGES_PER_SEGMENT: u64 = 256;
/// Pages per region-third entry: 2 GiB.
pub const PAGES_PER_REGION: u64 = 1 << 19;
/// Entries of a region-third or segment table (`ZPCI_TABLE_ENTRIES`).
pub const TABLE_ENTRIES: u64 = 2048;
/// Pages one region-third table maps: 4 TiB; the table repeats above.
pub const PAGES_PER_REGION_TABLE: u64 = PAGES_PER_REGION * TABLE_ENTRIES;
/// Size of a table entry in bytes.
const ENTRY_SIZE: u64 = 8;

/// A level of the translation tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// The region-third table the IOTA designates (2 GiB per entry).
    RegionThird,
    /// A segment table (1 MiB per entry).
    Segment,
    /// A page table (4 KiB per entry).
    Page,
}

impl Level {
    /// The index of the entry that translates page number `page`.
    #[must_use]
    pub const fn index(self, page: u64) -> u64 {
        match self {
            Self::RegionThird => (page >> 19) & 0x7ff,
            Self::Segment => (page >> 8) & 0x7ff,
            Self::Page => page & 0xff,
        }
    }

    /// Pages one entry of this level covers (QEMU's `get_frame_size`).
    #[must_use]
    pub const fn pages_per_entry(self) -> u64 {
        match self {
            Self::RegionThird => PAGES_PER_REGION,
            Self::Segment => PAGES_PER_SEGMENT,
            Self::Page => 1,
        }
    }

    /// The first page after the entry of this level that covers `page`.
    #[must_use]
    const fn entry_end(self, page: u64) -> u64 {
        let per = self.pages_per_entry();
        (page / per + 1) * per
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RegionThird => "region-third",
            Self::Segment => "segment",
            Self::Page => "page",
        })
    }
}

/// Why a walk stopped with an error event for the guest.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum WalkFault {
    /// The IOTA's table origin is zero. QEMU's walk loop does not run at all
    /// then and leaves the frame size uninitialized; here it is an invalid
    /// address space, the answer for a zero IOTA.
    #[error("IOTA {iota:#x} designates no region-third table (origin 0)")]
    NoTable {
        /// The registered IOTA.
        iota: u64,
    },
    /// The entry is zero: QEMU's `ERR_EVENT_INVALTE`.
    #[error("{level} table entry at {entry_addr:#x} (I/O address {iova:#x}) is zero")]
    ZeroEntry {
        /// Level of the entry.
        level: Level,
        /// The page-aligned I/O address being translated.
        iova: u64,
        /// Guest absolute address of the entry.
        entry_addr: u64,
    },
    /// The entry is not in guest RAM. QEMU reads it as zero, so this is an
    /// invalid table entry too.
    #[error("{level} table entry at {entry_addr:#x} (I/O address {iova:#x}) is not in guest RAM")]
    EntryNotInRam {
        /// Level of the entry.
        level: Level,
        /// The page-aligned I/O address being translated.
        iova: u64,
        /// Guest absolute address of the entry.
        entry_addr: u64,
    },
    /// A region-third entry with table length other than 3 or a nonzero
    /// table offset: QEMU's `ERR_EVENT_INVALTL`.
    #[error(
        "region-third entry {entry:#x} at {entry_addr:#x} (I/O address {iova:#x}) \
         has table length {} and offset {}; only length 3, offset 0 is supported",
        entry & TABLE_LEN_MASK,
        (entry & TABLE_OFFSET_MASK) >> 6
    )]
    TableLength {
        /// The page-aligned I/O address being translated.
        iova: u64,
        /// Guest absolute address of the entry.
        entry_addr: u64,
        /// The entry.
        entry: u64,
    },
    /// The entry's type does not match its level, or its next-table or
    /// frame address is zero: QEMU's `ERR_EVENT_TT`.
    #[error(
        "{level} table entry {entry:#x} at {entry_addr:#x} (I/O address {iova:#x}) \
         has the wrong table type or a zero address"
    )]
    TranslationType {
        /// Level of the entry.
        level: Level,
        /// The page-aligned I/O address being translated.
        iova: u64,
        /// Guest absolute address of the entry.
        entry_addr: u64,
        /// The entry.
        entry: u64,
    },
}

impl WalkFault {
    /// The error event code the guest gets.
    #[must_use]
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::NoTable { .. } => ErrorCode::InvalidAddressSpace,
            Self::ZeroEntry { .. } | Self::EntryNotInRam { .. } => ErrorCode::InvalidTableEntry,
            Self::TableLength { .. } => ErrorCode::InvalidTableLength,
            Self::TranslationType { .. } => ErrorCode::TranslationType,
        }
    }

    /// The page-aligned I/O address whose translation failed; `None` when
    /// the IOTA itself is unusable.
    #[must_use]
    pub const fn iova(&self) -> Option<u64> {
        match self {
            Self::NoTable { .. } => None,
            Self::ZeroEntry { iova, .. }
            | Self::EntryNotInRam { iova, .. }
            | Self::TableLength { iova, .. }
            | Self::TranslationType { iova, .. } => Some(*iova),
        }
    }
}

/// The meaning of one valid, well-formed entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decoded {
    /// The invalid bit is set: nothing is mapped under this entry.
    Invalid,
    /// The entry designates a table of the next level.
    Table { origin: u64, protected: bool },
    /// The entry maps a frame (a page, or a 1 MiB segment frame).
    Frame { addr: u64, protected: bool },
}

/// Why an entry cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BadEntry {
    Zero,
    TableLength,
    TranslationType,
}

/// Decodes one entry as QEMU's `table_translate` does, checks in its order.
fn decode(level: Level, entry: u64) -> Result<Decoded, BadEntry> {
    if entry == 0 {
        return Err(BadEntry::Zero);
    }
    let invalid = match level {
        Level::Page => entry & PTE_INVALID != 0,
        Level::RegionThird | Level::Segment => entry & TABLE_INVALID != 0,
    };
    if invalid {
        return Ok(Decoded::Invalid);
    }
    if level == Level::RegionThird
        && (entry & TABLE_LEN_MASK != TABLE_LEN_MASK || entry & TABLE_OFFSET_MASK != 0)
    {
        return Err(BadEntry::TableLength);
    }
    let typed = |ty: u64, mask: u64| {
        if entry & TABLE_TYPE_MASK == ty {
            entry & mask
        } else {
            0
        }
    };
    let next = match level {
        Level::RegionThird => typed(TABLE_TYPE_RTX, RTE_ADDR_MASK),
        Level::Segment => typed(TABLE_TYPE_SX, STE_ADDR_MASK),
        Level::Page => entry & PTE_ADDR_MASK,
    };
    if next == 0 {
        return Err(BadEntry::TranslationType);
    }
    let protected = entry & TABLE_PROTECTED != 0;
    Ok(match level {
        Level::RegionThird => Decoded::Table {
            origin: next,
            protected,
        },
        Level::Segment if entry & SEGMENT_FC != 0 => Decoded::Frame {
            addr: entry & SFAA_MASK,
            protected,
        },
        Level::Segment => Decoded::Table {
            origin: next,
            protected,
        },
        Level::Page => Decoded::Frame {
            addr: next,
            protected,
        },
    })
}

fn fault(level: Level, page: u64, entry_addr: u64, entry: u64, bad: BadEntry) -> WalkFault {
    let iova = addr_of(page);
    match bad {
        BadEntry::Zero => WalkFault::ZeroEntry {
            level,
            iova,
            entry_addr,
        },
        BadEntry::TableLength => WalkFault::TableLength {
            iova,
            entry_addr,
            entry,
        },
        BadEntry::TranslationType => WalkFault::TranslationType {
            level,
            iova,
            entry_addr,
            entry,
        },
    }
}

/// Guest absolute address of entry `index` of the table at `origin`. QEMU
/// computes it in `hwaddr` arithmetic, which wraps; so does this.
const fn entry_addr(origin: u64, index: u64) -> u64 {
    origin.wrapping_add(index.wrapping_mul(ENTRY_SIZE))
}

/// The table origin an IOTA designates (QEMU's `s390_pci_get_table_origin`).
#[must_use]
pub const fn iota_table_origin(iota: u64) -> u64 {
    iota & !IOTA_ORIGIN_CLEARED
}

/// What a page translates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageState {
    /// Nothing: an entry on the way has its invalid bit set.
    Invalid,
    /// A guest frame.
    Mapped {
        /// Guest absolute address of the page's frame.
        gpa: u64,
        /// What the device may do there.
        perm: Perm,
    },
}

/// The result of walking one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageWalk {
    /// What the page translates to.
    pub state: PageState,
    /// The level of the entry that decided (QEMU's frame size: 2 GiB,
    /// 1 MiB or 4 KiB).
    pub level: Level,
}

/// Walks the tables for the page containing `iova`, one entry read per
/// level: QEMU's `s390_guest_io_table_walk`.
///
/// # Errors
///
/// A [`WalkFault`] with the error event the guest gets.
pub fn walk_page<M: GuestMemory + ?Sized>(
    mem: &M,
    iota: u64,
    iova: u64,
) -> Result<PageWalk, WalkFault> {
    let page = page_of(iova);
    let mut origin = iota_table_origin(iota);
    if origin == 0 {
        return Err(WalkFault::NoTable { iota });
    }
    let mut perm = Perm::ReadWrite.restrict(iota & TABLE_PROTECTED != 0);
    for level in [Level::RegionThird, Level::Segment, Level::Page] {
        let addr = entry_addr(origin, level.index(page));
        let mut raw = [0u8; 8];
        if mem.read(addr, &mut raw).is_err() {
            return Err(WalkFault::EntryNotInRam {
                level,
                iova: addr_of(page),
                entry_addr: addr,
            });
        }
        let entry = u64::from_be_bytes(raw);
        match decode(level, entry).map_err(|bad| fault(level, page, addr, entry, bad))? {
            Decoded::Invalid => {
                return Ok(PageWalk {
                    state: PageState::Invalid,
                    level,
                })
            }
            Decoded::Table {
                origin: next,
                protected,
            } => {
                perm = perm.restrict(protected);
                origin = next;
            }
            Decoded::Frame { addr, protected } => {
                // A segment frame maps the page at its offset in the 1 MiB.
                let gpa = match level {
                    Level::Segment => addr | (addr_of(page) & !SFAA_MASK),
                    Level::RegionThird | Level::Page => addr,
                };
                return Ok(PageWalk {
                    state: PageState::Mapped {
                        gpa,
                        perm: perm.restrict(protected),
                    },
                    level,
                });
            }
        }
    }
    // The page level always ends the walk; this is never reached.
    Ok(PageWalk {
        state: PageState::Invalid,
        level: Level::Page,
    })
}

/// What a run of pages translates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Nothing.
    Invalid,
    /// Consecutive guest frames, starting at frame number `gfn`.
    Mapped {
        /// Guest frame number (guest absolute address / 4 KiB) of the
        /// first page.
        gfn: u64,
        /// What the device may do there.
        perm: Perm,
    },
}

/// A run of consecutive pages with one kind of translation, as the range
/// walk delivers them in ascending order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Unit {
    /// First I/O page number.
    pub first_page: u64,
    /// Number of pages (at least 1).
    pub pages: u64,
    /// What they translate to.
    pub target: Target,
    /// Table entries decoded since the previous unit (a measure of work).
    pub entries: u64,
}

/// Walks ranges of pages, reading each table span once. Keeps its buffers
/// between walks, so a walk allocates nothing once warm.
#[derive(Clone, Debug, Default)]
pub struct RangeWalker {
    region: Vec<u8>,
    segment: Vec<u8>,
    page: Vec<u8>,
    reads: u64,
    entries: u64,
}

/// A pending run of pages in a page table, merged before delivery.
#[derive(Clone, Copy)]
struct Run {
    first: u64,
    pages: u64,
    target: Target,
}

impl Run {
    fn extends(&self, page: u64, target: Target) -> bool {
        if self.first.checked_add(self.pages) != Some(page) {
            return false;
        }
        match (self.target, target) {
            (Target::Invalid, Target::Invalid) => true,
            (Target::Mapped { gfn: a, perm: p }, Target::Mapped { gfn: b, perm: q }) => {
                p == q && a.checked_add(self.pages) == Some(b)
            }
            _ => false,
        }
    }
}

/// Reads `count` entries from entry `first` of the table at `origin` into
/// `buf`, with one read. If some entry is not guest RAM, reads entry by
/// entry, as QEMU does, up to the first unreadable one. Returns how many
/// leading entries are valid data.
fn read_span<M: GuestMemory + ?Sized>(
    mem: &M,
    origin: u64,
    first: u64,
    count: u64,
    buf: &mut Vec<u8>,
    reads: &mut u64,
) -> u64 {
    // count <= TABLE_ENTRIES, so the byte length is at most 16 KiB.
    let len = usize::try_from(count.saturating_mul(ENTRY_SIZE)).unwrap_or(0);
    buf.clear();
    buf.resize(len, 0);
    *reads = reads.saturating_add(1);
    if mem.read(entry_addr(origin, first), buf).is_ok() {
        return count;
    }
    let mut readable = 0;
    for chunk in buf.chunks_exact_mut(8) {
        *reads = reads.saturating_add(1);
        let addr = entry_addr(origin, first.wrapping_add(readable));
        if mem.read(addr, chunk).is_err() {
            break;
        }
        readable += 1;
    }
    readable
}

/// Entry `k` of a span read by [`read_span`].
fn span_entry(buf: &[u8], k: u64) -> u64 {
    let Some(start) = usize::try_from(k).ok().and_then(|k| k.checked_mul(8)) else {
        return 0;
    };
    buf.get(start..start.saturating_add(8))
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

impl RangeWalker {
    /// A walker with empty buffers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of guest memory reads so far.
    #[must_use]
    pub const fn reads(&self) -> u64 {
        self.reads
    }

    /// Walks pages `first_page .. end_page` (page numbers) under `iota`,
    /// calling `f` with each run of pages in ascending order. Page entries
    /// next to each other are merged into one run when both are invalid, or
    /// both map consecutive frames with the same permission.
    ///
    /// Returns `Ok(Break)` as soon as `f` does. On a fault, every page
    /// before the faulting one has been delivered.
    ///
    /// # Errors
    ///
    /// The first [`WalkFault`] met, as [`walk_page`] would report it for
    /// the same page.
    pub fn walk<M, F>(
        &mut self,
        mem: &M,
        iota: u64,
        first_page: u64,
        end_page: u64,
        mut f: F,
    ) -> Result<ControlFlow<()>, WalkFault>
    where
        M: GuestMemory + ?Sized,
        F: FnMut(Unit) -> ControlFlow<()>,
    {
        let end_page = end_page.min(PAGE_COUNT);
        if first_page >= end_page {
            return Ok(ControlFlow::Continue(()));
        }
        let origin = iota_table_origin(iota);
        if origin == 0 {
            return Err(WalkFault::NoTable { iota });
        }
        let perm = Perm::ReadWrite.restrict(iota & TABLE_PROTECTED != 0);
        self.entries = 0;
        let mut page = first_page;
        // One pass per 4 TiB window: the region-third table maps the
        // address bits 31..41 only, so it repeats every 4 TiB.
        while page < end_page {
            let window_end = (page / PAGES_PER_REGION_TABLE + 1)
                .saturating_mul(PAGES_PER_REGION_TABLE)
                .min(end_page);
            let level = Level::RegionThird;
            let first = level.index(page);
            let count = level.index(window_end - 1) - first + 1;
            let readable = read_span(mem, origin, first, count, &mut self.region, &mut self.reads);
            for k in 0..count {
                let unit_end = level.entry_end(page).min(window_end);
                let addr = entry_addr(origin, first + k);
                if k >= readable {
                    return Err(WalkFault::EntryNotInRam {
                        level,
                        iova: addr_of(page),
                        entry_addr: addr,
                    });
                }
                let entry = span_entry(&self.region, k);
                self.entries += 1;
                match decode(level, entry).map_err(|bad| fault(level, page, addr, entry, bad))? {
                    Decoded::Invalid => {
                        let unit = self.unit(page, unit_end, Target::Invalid);
                        if f(unit).is_break() {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    Decoded::Table { origin, protected } => {
                        let perm = perm.restrict(protected);
                        if self
                            .segments(mem, origin, perm, page, unit_end, &mut f)?
                            .is_break()
                        {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    // decode() never makes a frame of a region-third entry
                    Decoded::Frame { .. } => {
                        return Err(fault(level, page, addr, entry, BadEntry::TranslationType))
                    }
                }
                page = unit_end;
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn unit(&mut self, first: u64, end: u64, target: Target) -> Unit {
        let entries = std::mem::take(&mut self.entries);
        Unit {
            first_page: first,
            pages: end - first,
            target,
            entries,
        }
    }

    /// Pages `page .. end` (inside one region-third entry) of the segment
    /// table at `origin`.
    fn segments<M, F>(
        &mut self,
        mem: &M,
        origin: u64,
        perm: Perm,
        mut page: u64,
        end: u64,
        f: &mut F,
    ) -> Result<ControlFlow<()>, WalkFault>
    where
        M: GuestMemory + ?Sized,
        F: FnMut(Unit) -> ControlFlow<()>,
    {
        let level = Level::Segment;
        let first = level.index(page);
        let count = level.index(end - 1) - first + 1;
        let readable = read_span(
            mem,
            origin,
            first,
            count,
            &mut self.segment,
            &mut self.reads,
        );
        for k in 0..count {
            let unit_end = level.entry_end(page).min(end);
            let addr = entry_addr(origin, first + k);
            if k >= readable {
                return Err(WalkFault::EntryNotInRam {
                    level,
                    iova: addr_of(page),
                    entry_addr: addr,
                });
            }
            let entry = span_entry(&self.segment, k);
            self.entries += 1;
            let flow =
                match decode(level, entry).map_err(|bad| fault(level, page, addr, entry, bad))? {
                    Decoded::Invalid => f(self.unit(page, unit_end, Target::Invalid)),
                    Decoded::Frame { addr, protected } => {
                        let gfn = page_of(addr) | Level::Page.index(page);
                        let perm = perm.restrict(protected);
                        f(self.unit(page, unit_end, Target::Mapped { gfn, perm }))
                    }
                    Decoded::Table { origin, protected } => {
                        self.pages(mem, origin, perm.restrict(protected), page, unit_end, f)?
                    }
                };
            if flow.is_break() {
                return Ok(ControlFlow::Break(()));
            }
            page = unit_end;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Pages `page .. end` (inside one segment) of the page table at
    /// `origin`.
    fn pages<M, F>(
        &mut self,
        mem: &M,
        origin: u64,
        perm: Perm,
        page: u64,
        end: u64,
        f: &mut F,
    ) -> Result<ControlFlow<()>, WalkFault>
    where
        M: GuestMemory + ?Sized,
        F: FnMut(Unit) -> ControlFlow<()>,
    {
        let level = Level::Page;
        let first = level.index(page);
        let count = end - page;
        let readable = read_span(mem, origin, first, count, &mut self.page, &mut self.reads);
        let mut run: Option<Run> = None;
        for k in 0..count {
            let p = page + k;
            let addr = entry_addr(origin, first + k);
            let decoded = if k < readable {
                let entry = span_entry(&self.page, k);
                decode(level, entry).map_err(|bad| fault(level, p, addr, entry, bad))
            } else {
                Err(WalkFault::EntryNotInRam {
                    level,
                    iova: addr_of(p),
                    entry_addr: addr,
                })
            };
            let target = match decoded {
                Ok(Decoded::Invalid) => Target::Invalid,
                Ok(Decoded::Frame { addr, protected }) => Target::Mapped {
                    gfn: page_of(addr),
                    perm: perm.restrict(protected),
                },
                // decode() never makes a table of a page entry
                Ok(Decoded::Table { .. }) => Target::Invalid,
                Err(e) => {
                    // Deliver what came before the faulting page first.
                    if let Some(r) = run.take() {
                        if f(self.unit(r.first, r.first + r.pages, r.target)).is_break() {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    return Err(e);
                }
            };
            match run.as_mut() {
                Some(r) if r.extends(p, target) => r.pages += 1,
                _ => {
                    if let Some(r) = run.take() {
                        if f(self.unit(r.first, r.first + r.pages, r.target)).is_break() {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    run = Some(Run {
                        first: p,
                        pages: 1,
                        target,
                    });
                }
            }
            self.entries += 1;
        }
        if let Some(r) = run {
            if f(self.unit(r.first, r.first + r.pages, r.target)).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::iommu::VecMemory;

    const RT: u64 = 0x4000;
    const ST: u64 = 0x8000;
    const PT: u64 = 0xc000;
    const IOTA: u64 = RT | 0x804;
    /// Region-third index 2, segment index 0, page index 0.
    const IOVA: u64 = 0x1_0000_0000;

    /// A region-third table, a segment table and a page table, all
    /// invalid, and the path to IOVA's first page valid.
    fn fixture() -> VecMemory {
        let mut mem = VecMemory::new(0x40_0000);
        for k in 0..2048 {
            mem.write_u64(RT + k * 8, 0x20).unwrap();
            mem.write_u64(ST + k * 8, 0x20).unwrap();
        }
        for k in 0..256 {
            mem.write_u64(PT + k * 8, 0x400).unwrap();
        }
        mem.write_u64(RT + 2 * 8, ST | 0x7).unwrap();
        mem.write_u64(ST, PT).unwrap();
        mem.write_u64(PT, 0x2_3000).unwrap();
        mem
    }

    fn state(mem: &VecMemory, iota: u64, iova: u64) -> Result<PageState, WalkFault> {
        walk_page(mem, iota, iova).map(|w| w.state)
    }

    fn mapped(gpa: u64, perm: Perm) -> Result<PageState, WalkFault> {
        Ok(PageState::Mapped { gpa, perm })
    }

    fn code(mem: &VecMemory, iota: u64, iova: u64) -> ErrorCode {
        walk_page(mem, iota, iova).unwrap_err().code()
    }

    #[test]
    fn masks_are_qemus() {
        // include/hw/s390x/s390-pci-bus.h of QEMU 10.0.2
        assert_eq!(IOTA_ORIGIN_CLEARED, 0x800 | (1 << 2)); // ZPCI_IOTA_RTTO_FLAG, key 0
        assert_eq!(RTE_ADDR_MASK, !0x3fff);
        assert_eq!(STE_ADDR_MASK, !0x7ff);
        assert_eq!(PTE_ADDR_MASK, !0xfff);
        assert_eq!(SFAA_MASK, !((1 << 20) - 1));
        assert_eq!(
            (TABLE_INVALID, PTE_INVALID, TABLE_PROTECTED, SEGMENT_FC),
            (0x20, 0x400, 0x200, 0x400)
        );
        assert_eq!(
            (
                TABLE_TYPE_MASK,
                TABLE_TYPE_RTX,
                TABLE_LEN_MASK,
                TABLE_OFFSET_MASK
            ),
            (0xc, 0x4, 0x3, 0xc0)
        );
        assert_eq!(
            [
                ErrorCode::InvalidAddressSpace,
                ErrorCode::OutOfRange,
                ErrorCode::TranslationProtection
            ]
            .map(ErrorCode::pec),
            [0x1, 0x2, 0x4]
        );
        assert_eq!(
            [
                ErrorCode::InvalidTableEntry,
                ErrorCode::InvalidTableLength,
                ErrorCode::TranslationType
            ]
            .map(ErrorCode::pec),
            [0x7, 0x8, 0x9]
        );
    }

    #[test]
    fn indexes_are_linuxs() {
        // calc_rtx / calc_sx / calc_px of arch/s390/include/asm/pci_dma.h
        let iova = 0x0000_0123_4567_8000u64;
        assert_eq!(Level::RegionThird.index(iova >> 12), (iova >> 31) & 0x7ff);
        assert_eq!(Level::Segment.index(iova >> 12), (iova >> 20) & 0x7ff);
        assert_eq!(Level::Page.index(iova >> 12), (iova >> 12) & 0xff);
    }

    #[test]
    fn page_walk() {
        let mem = fixture();
        let w = walk_page(&mem, IOTA, IOVA + 0x123).unwrap();
        assert_eq!(
            w.state,
            PageState::Mapped {
                gpa: 0x2_3000,
                perm: Perm::ReadWrite
            }
        );
        assert_eq!(w.level, Level::Page);
        let w = walk_page(&mem, IOTA, IOVA + 0x1000).unwrap();
        assert_eq!(
            w,
            PageWalk {
                state: PageState::Invalid,
                level: Level::Page
            }
        );
        let w = walk_page(&mem, IOTA, IOVA + 0x10_0000).unwrap();
        assert_eq!(
            w,
            PageWalk {
                state: PageState::Invalid,
                level: Level::Segment
            }
        );
        let w = walk_page(&mem, IOTA, IOVA + 0x8000_0000).unwrap();
        assert_eq!(
            w,
            PageWalk {
                state: PageState::Invalid,
                level: Level::RegionThird
            }
        );
    }

    #[test]
    fn protection_at_every_level() {
        let ro = mapped(0x2_3000, Perm::ReadOnly);
        // QEMU keeps the IOTA's protection bit in the table origin too: the
        // region-third table is read 0x200 bytes further on.
        let mut mem = fixture();
        mem.write_u64(RT + 0x200 + 16, ST | 0x7).unwrap();
        assert_eq!(state(&mem, IOTA | 0x200, IOVA), ro, "IOTA");
        for (addr, value) in [(RT + 16, ST | 0x207), (ST, PT | 0x200), (PT, 0x2_3200)] {
            let mut mem = fixture();
            mem.write_u64(addr, value).unwrap();
            assert_eq!(state(&mem, IOTA, IOVA), ro, "entry at {addr:#x}");
        }
    }

    #[test]
    fn segment_frames() {
        let mut mem = fixture();
        mem.write_u64(ST, 0x30_0000 | 0x400 | 0x200).unwrap();
        let w = walk_page(&mem, IOTA, IOVA + 0xf_f000).unwrap();
        assert_eq!(
            w.state,
            PageState::Mapped {
                gpa: 0x3f_f000,
                perm: Perm::ReadOnly
            }
        );
        assert_eq!(w.level, Level::Segment);
        // the 0x800 (and any other) bits below the frame are ignored
        mem.write_u64(ST, 0x30_0000 | 0x400 | 0x800).unwrap();
        assert_eq!(
            state(&mem, IOTA, IOVA + 0x1000),
            mapped(0x30_1000, Perm::ReadWrite)
        );
    }

    #[test]
    fn zero_entries_are_invalid_table_entries() {
        for addr in [RT + 16, ST, PT] {
            let mut mem = fixture();
            mem.write_u64(addr, 0).unwrap();
            let f = walk_page(&mem, IOTA, IOVA).unwrap_err();
            assert_eq!(f.code(), ErrorCode::InvalidTableEntry, "{f}");
            assert!(
                matches!(f, WalkFault::ZeroEntry { entry_addr, iova: IOVA, .. } if entry_addr == addr)
            );
        }
    }

    #[test]
    fn invalid_bit_comes_before_the_format_checks() {
        let mut mem = fixture();
        mem.write_u64(RT + 16, 0x20 | 0x40 | 0x8).unwrap();
        assert_eq!(state(&mem, IOTA, IOVA), Ok(PageState::Invalid));
        mem.write_u64(RT + 16, ST | 0x7).unwrap();
        mem.write_u64(PT, 0x400 | 0x200).unwrap();
        assert_eq!(state(&mem, IOTA, IOVA), Ok(PageState::Invalid));
    }

    #[test]
    fn region_third_length_and_offset() {
        for rte in [
            ST | 0x4,
            ST | 0x5,
            ST | 0x6,
            ST | 0x7 | 0x40,
            ST | 0x7 | 0x80,
        ] {
            let mut mem = fixture();
            mem.write_u64(RT + 16, rte).unwrap();
            assert_eq!(
                code(&mem, IOTA, IOVA),
                ErrorCode::InvalidTableLength,
                "{rte:#x}"
            );
        }
        // segment entries have no length check
        let mut mem = fixture();
        mem.write_u64(ST, PT | 0x3 | 0xc0).unwrap();
        assert!(walk_page(&mem, IOTA, IOVA).is_ok());
    }

    #[test]
    fn translation_type_errors() {
        let cases = [
            (RT + 16, ST | 0x3), // region entry typed as a segment entry
            (RT + 16, ST | 0xb), // region-second type
            (RT + 16, 0x7),      // no segment table address
            (ST, PT | 0x4),      // segment entry typed as a region entry
            (ST, 0x400),         // frame without address bits above 0x7ff
            (ST, 0x200),         // no page table address
            (PT, 0x200),         // page frame 0
            (PT, 0x800),         // page frame 0
        ];
        for (addr, value) in cases {
            let mut mem = fixture();
            mem.write_u64(addr, value).unwrap();
            assert_eq!(
                code(&mem, IOTA, IOVA),
                ErrorCode::TranslationType,
                "{value:#x} at {addr:#x}"
            );
        }
    }

    #[test]
    fn entries_outside_ram() {
        let mut mem = fixture();
        mem.write_u64(RT + 16, 0x4000_0000 | 0x7).unwrap();
        let f = walk_page(&mem, IOTA, IOVA).unwrap_err();
        assert_eq!(
            f,
            WalkFault::EntryNotInRam {
                level: Level::Segment,
                iova: IOVA,
                entry_addr: 0x4000_0000
            }
        );
        assert_eq!(f.code(), ErrorCode::InvalidTableEntry);
        // a frame outside RAM is a translation like any other
        let mut mem = fixture();
        mem.write_u64(PT, 0x7000_0000).unwrap();
        assert_eq!(
            state(&mem, IOTA, IOVA),
            mapped(0x7000_0000, Perm::ReadWrite)
        );
    }

    #[test]
    fn iota_origin_is_qemus() {
        let mem = fixture();
        // bits other than 0x804 stay in the origin: 0x3 moves the table by 3 bytes
        let mut odd = fixture();
        odd.write_u64(RT + 3 + 16, ST | 0x7).unwrap();
        assert_eq!(
            state(&odd, IOTA | 0x3, IOVA),
            mapped(0x2_3000, Perm::ReadWrite)
        );
        assert_eq!(
            state(&mem, IOTA | 0x100, IOVA),
            Ok(PageState::Invalid),
            "entry 34 of RT"
        );
        assert_eq!(
            walk_page(&mem, 0x804, IOVA),
            Err(WalkFault::NoTable { iota: 0x804 })
        );
        assert_eq!(code(&mem, 0x804, IOVA), ErrorCode::InvalidAddressSpace);
    }

    #[test]
    fn entry_addresses_wrap_as_in_qemu() {
        // origin 0xffff_ffff_ffff_f7fb (and protected): entry 257 is at 0x3
        // after the wrap
        let iota = u64::MAX;
        let mut mem = fixture();
        mem.write_u64(0x3, ST | 0x7).unwrap();
        let iova = 257u64 << 31;
        assert_eq!(state(&mem, iota, iova), mapped(0x2_3000, Perm::ReadOnly));
        let f = walk_page(&mem, iota, 256 << 31).unwrap_err();
        assert!(matches!(
            f,
            WalkFault::EntryNotInRam {
                entry_addr: 0xffff_ffff_ffff_fffb,
                ..
            }
        ));
        // and the range walk agrees
        let mut w = RangeWalker::new();
        let mut units = Vec::new();
        let r = w.walk(&mem, iota, 257 << 19, (257 << 19) + 4, |u| {
            units.push(u);
            ControlFlow::Continue(())
        });
        assert_eq!(r, Ok(ControlFlow::Continue(())));
        assert_eq!(units.len(), 2, "one valid page, three invalid ones");
        assert_eq!(units[1].target, Target::Invalid);
    }

    #[test]
    fn addresses_4_tib_apart_share_entries() {
        let mem = fixture();
        for k in [1u64, 2, 0x3ff] {
            assert_eq!(
                state(&mem, IOTA, IOVA + (k << 42)),
                mapped(0x2_3000, Perm::ReadWrite)
            );
        }
    }

    fn units(
        mem: &VecMemory,
        iota: u64,
        first: u64,
        end: u64,
    ) -> (Result<ControlFlow<()>, WalkFault>, Vec<Unit>, u64) {
        let mut w = RangeWalker::new();
        let mut out = Vec::new();
        let before = mem.reads();
        let r = w.walk(mem, iota, first, end, |u| {
            out.push(u);
            ControlFlow::Continue(())
        });
        assert_eq!(w.reads(), mem.reads() - before);
        (r, out, mem.reads() - before)
    }

    #[test]
    fn range_walk_reads_each_table_once() {
        let mut mem = fixture();
        // three page tables under segments 0..2, all pages valid
        for s in 0..3u64 {
            let pt = PT + s * 0x800;
            mem.write_u64(ST + s * 8, pt).unwrap();
            for k in 0..256u64 {
                mem.write_u64(pt + k * 8, 0x10_0000 + (s * 256 + k) * 0x1000)
                    .unwrap();
            }
        }
        let first = IOVA >> 12;
        let (r, got, reads) = units(&mem, IOTA, first, first + 3 * 256);
        assert_eq!(r, Ok(ControlFlow::Continue(())));
        assert_eq!(
            reads,
            1 + 1 + 3,
            "region span, segment span, three page tables"
        );
        // consecutive frames: one run per page table
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1],
            Unit {
                first_page: first + 256,
                pages: 256,
                target: Target::Mapped {
                    gfn: 0x200,
                    perm: Perm::ReadWrite
                },
                entries: 256 + 1,
            }
        );
        assert_eq!(got.iter().map(|u| u.entries).sum::<u64>(), 1 + 3 + 3 * 256);
    }

    #[test]
    fn range_walk_over_regions() {
        let mem = fixture();
        // region-third entries 1..=3: invalid, valid, invalid
        let first = (1u64 << 31) >> 12;
        let end = (4u64 << 31) >> 12;
        let (r, got, reads) = units(&mem, IOTA, first, end);
        assert_eq!(r, Ok(ControlFlow::Continue(())));
        assert_eq!(reads, 1 + 1 + 1);
        assert_eq!(got[0].target, Target::Invalid);
        assert_eq!(got[0].pages, PAGES_PER_REGION);
        assert_eq!(got.last().unwrap().pages, PAGES_PER_REGION);
        let pages: u64 = got.iter().map(|u| u.pages).sum();
        assert_eq!(pages, end - first);
        // across the 4 TiB boundary: the region table is read again
        let first = ((4u64 << 40) - (1 << 31)) >> 12;
        let (_, got, reads) = units(&mem, IOTA, first, first + 2 * PAGES_PER_REGION);
        assert_eq!(reads, 2, "one region-table span per 4 TiB window");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn range_walk_stops_at_the_first_unreadable_entry() {
        // a segment table whose entries from 512 on are past the end of RAM
        let st = 0xf_c000u64;
        let mut mem = VecMemory::new(0xf_d000);
        for k in 0..2048 {
            mem.write_u64(RT + k * 8, 0x20).unwrap();
        }
        mem.write_u64(RT + 16, st | 0x7).unwrap();
        for k in 0..512u64 {
            mem.write_u64(st + k * 8, 0x20).unwrap();
        }
        let first = IOVA >> 12;
        let (r, got, _) = units(&mem, IOTA, first, first + 600 * 256);
        let f = r.unwrap_err();
        assert_eq!(
            f,
            WalkFault::EntryNotInRam {
                level: Level::Segment,
                iova: IOVA + (512 << 20),
                entry_addr: 0xf_d000,
            }
        );
        assert_eq!(got.iter().map(|u| u.pages).sum::<u64>(), 512 * 256);
    }

    #[test]
    fn range_walk_stops_when_asked() {
        let mem = fixture();
        let mut w = RangeWalker::new();
        let mut n = 0;
        let r = w.walk(&mem, IOTA, IOVA >> 12, (IOVA >> 12) + 1000, |_| {
            n += 1;
            ControlFlow::Break(())
        });
        assert_eq!((r, n), (Ok(ControlFlow::Break(())), 1));
    }

    #[test]
    fn range_walk_of_nothing() {
        let mem = fixture();
        let (r, got, reads) = units(&mem, IOTA, 5, 5);
        assert_eq!((r, got.len(), reads), (Ok(ControlFlow::Continue(())), 0, 0));
        let (r, _, _) = units(&mem, 0x804, 5, 6);
        assert_eq!(r, Err(WalkFault::NoTable { iota: 0x804 }));
        // the top of the address space
        let (r, got, _) = units(&mem, IOTA, PAGE_COUNT - 2, u64::MAX);
        assert!(r.is_ok());
        assert_eq!(got.iter().map(|u| u.pages).sum::<u64>(), 2);
    }

    #[test]
    fn fault_messages_say_what_and_where() {
        let mut mem = fixture();
        mem.write_u64(RT + 16, ST | 0x5).unwrap();
        let msg = walk_page(&mem, IOTA, IOVA).unwrap_err().to_string();
        assert_eq!(
            msg,
            "region-third entry 0x8005 at 0x4010 (I/O address 0x100000000) has table length 1 \
             and offset 0; only length 3, offset 0 is supported"
        );
    }
}
