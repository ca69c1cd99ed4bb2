//! DMA address translation of zPCI functions: the I/O translation table
//! walk, the IOTLB, and RPCIT (Refresh PCI Translations).
//!
//! A zPCI function's DMA addresses (I/O addresses) are translated by tables
//! the guest builds in its memory: a region-third table, segment tables and
//! page tables, designated by the IOTA the guest registers with Modify PCI
//! Function Controls. The guest tells the firmware about changes with RPCIT
//! over a range of I/O addresses; only then may the firmware (here: QEMU)
//! use the new translations, and it must stop using the old ones.
//!
//! Layers, all without `unsafe`:
//! - [`guest_mem`]: guest memory behind a trait ([`GuestMemory`]); tests
//!   and benchmarks back it with a byte vector ([`VecMemory`]);
//! - [`walk`]: the table walk of QEMU 10.0.2 (`s390_guest_io_table_walk`),
//!   for one page and, reading each table once, for a range;
//! - [`iotlb`]: the per-function IOTLB (QEMU's `iommu->iotlb` hash table),
//!   a radix tree with one 8-byte slot per mapped page;
//! - [`rpcit`]: RPCIT range processing, the IOMMU notifier events it
//!   produces, and DMA entry accounting for VFIO containers;
//! - [`Iommu`]: one function's translation state: IOAT registration,
//!   RPCIT, and the translate callback of the DMA fast path;
//! - [`Translator`]: an [`Iommu`] as QEMU drives it, with its counters
//!   ([`Stats`]), a restart after an internal error, and translations
//!   widened to whole mappings.
//!
//! What differs from QEMU 10.0.2, and why, is listed in the documentation
//! of [`rpcit`] and [`Iommu`]; the answers the guest sees (condition codes,
//! status, error events) are QEMU's.

#![forbid(unsafe_code)]

mod function;
pub mod guest_mem;
pub mod iotlb;
pub mod rpcit;
mod translator;
pub mod walk;

#[cfg(test)]
mod model;

pub use function::{DmaLookup, TlbEntry};
pub use function::{FunctionDma, Ioat, IoatAnswer, IoatError, IoatMode, IoatRequest, Iommu};
pub use function::{MOD_STATUS_INSUF_RES, MOD_STATUS_SEQUENCE};
pub use guest_mem::{GuestMemory, GuestMemoryError, VecMemory};
pub use iotlb::{Extent, Iotlb, IotlbError, Translation};
pub use rpcit::{DmaBudget, Event, EventSink, Limits, RpcitAnswer, RpcitOutcome, RpcitStats};
pub use translator::{Stats, Translator};
pub use walk::{Level, PageState, PageWalk, RangeWalker, Target, Unit, WalkFault};

/// log2 of the I/O translation page size.
pub const PAGE_SHIFT: u32 = 12;
/// The I/O translation page size (4 KiB), QEMU's `TARGET_PAGE_SIZE`.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Number of 4 KiB pages in the 64-bit I/O address space; page numbers are
/// below this, so an exclusive end page number never overflows.
pub const PAGE_COUNT: u64 = 1 << (64 - PAGE_SHIFT);

/// The access a valid translation allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Perm {
    /// Protected: the device may only read (DMA out of guest memory).
    ReadOnly,
    /// The device may read and write.
    ReadWrite,
}

impl Perm {
    /// The permission that remains after an entry with the protection bit
    /// set (`protected`) or clear.
    #[must_use]
    pub const fn restrict(self, protected: bool) -> Self {
        if protected {
            Self::ReadOnly
        } else {
            self
        }
    }

    /// The same permission as an access mask.
    #[must_use]
    pub const fn access(self) -> Access {
        match self {
            Self::ReadOnly => Access::Read,
            Self::ReadWrite => Access::ReadWrite,
        }
    }

    /// Whether this permission allows every access in `access`.
    #[must_use]
    pub const fn allows(self, access: Access) -> bool {
        let have = self.access().iommu_flags();
        access.iommu_flags() & !have == 0
    }
}

/// A DMA access, with the values of QEMU's `IOMMUAccessFlags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// No access (`IOMMU_NONE`): a lookup that checks nothing.
    None,
    /// Read (`IOMMU_RO`).
    Read,
    /// Write (`IOMMU_WO`).
    Write,
    /// Read and write (`IOMMU_RW`).
    ReadWrite,
}

impl Access {
    /// QEMU's `IOMMUAccessFlags` value: bit 0 read, bit 1 write.
    #[must_use]
    pub const fn iommu_flags(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Read => 1,
            Self::Write => 2,
            Self::ReadWrite => 3,
        }
    }

    /// The access of an `IOMMUAccessFlags` value; bits above 1 are ignored.
    #[must_use]
    pub const fn from_iommu_flags(flags: u32) -> Self {
        match flags & 3 {
            0 => Self::None,
            1 => Self::Read,
            2 => Self::Write,
            _ => Self::ReadWrite,
        }
    }
}

/// The error event codes translation raises (the PEC of a PCI error event;
/// QEMU's `ERR_EVENT_*`).
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `ERR_EVENT_INVALAS`: no DMA address space is registered.
    InvalidAddressSpace = 0x1,
    /// `ERR_EVENT_OORANGE`: the address is outside the DMA range.
    OutOfRange = 0x2,
    /// `ERR_EVENT_TPROTE`: the access is not allowed by the translation.
    TranslationProtection = 0x4,
    /// `ERR_EVENT_INVALTE`: a table entry is zero (or not in guest RAM).
    InvalidTableEntry = 0x7,
    /// `ERR_EVENT_INVALTL`: a region-third entry has a table length other
    /// than 3 or a table offset other than 0.
    InvalidTableLength = 0x8,
    /// `ERR_EVENT_TT`: an entry designates no table of the expected type.
    TranslationType = 0x9,
}

impl ErrorCode {
    /// The PCI error event code.
    #[must_use]
    pub const fn pec(self) -> u16 {
        self as u16
    }
}

/// A PCI error event for the guest. When one is raised, the function also
/// enters the error state (QEMU: `pbdev->state = ZPCI_FS_ERROR` and
/// `s390_pci_generate_error_event(code, fh, fid, faddr, 0)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorEvent {
    /// What went wrong.
    pub code: ErrorCode,
    /// The failing PCI (I/O) address.
    pub faddr: u64,
}

/// The page number of an I/O or guest address.
#[must_use]
pub(crate) const fn page_of(addr: u64) -> u64 {
    addr >> PAGE_SHIFT
}

/// The address of a page number. Page numbers are below [`PAGE_COUNT`], so
/// the shift loses nothing.
#[must_use]
pub(crate) const fn addr_of(page: u64) -> u64 {
    page << PAGE_SHIFT
}
