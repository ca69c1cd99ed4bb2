//! VFIO capability chains, parsed from exactly the bytes the kernel returned.
//!
//! `VFIO_DEVICE_GET_INFO` and `VFIO_IOMMU_GET_INFO` answer with a fixed info
//! structure followed by a chain of capabilities. Each capability starts with
//! `struct vfio_info_cap_header` (`id`, `version`, `next`); `next` is the
//! offset of the following capability from the start of the info structure,
//! 0 for the last one. Layouts are those of Linux 6.12
//! (`include/uapi/linux/vfio.h`, `include/uapi/linux/vfio_zdev.h`); the
//! producers are `drivers/vfio/pci/vfio_pci_zdev.c` (zPCI capabilities) and
//! `drivers/vfio/vfio_iommu_type1.c` (IOVA ranges, migration, DMA available).
//!
//! All fields are in the host's native byte order: big-endian on an s390x
//! host. The parser takes the byte order explicitly, so that a capture made
//! on one host parses the same on any other; [`Endian::native`] is the one
//! for live use.
//!
//! The kernel is not trusted to get this right. The rules:
//! - the chain is read within `min(argsz, buf.len())` bytes and nothing past;
//! - the first capability must start past the fixed fields of the info
//!   structure ([`INFO_FIXED_LEN`]);
//! - every `next` must point at or past the end of the current header, so
//!   the walk only moves forward; a capability header that `next` points to
//!   must fit; at most [`MAX_CAPS`] capabilities are visited;
//! - a capability must hold the bytes its version defines, before the next
//!   capability starts (else it overlaps it) and before the data ends (else
//!   it is truncated);
//! - version 0 is not defined for any capability; a version newer than the
//!   newest known one is read as the newest, its extra bytes ignored;
//! - the first capability with a given id counts (as in QEMU's
//!   `vfio_get_cap`); later ones are reported and ignored; unknown ids are
//!   skipped.
//!
//! A capability that breaks a rule is dropped, reported in `problems`, and
//! the walk goes on as long as its `next` link is sound, so one bad
//! capability never loses another. A broken link ends the walk; the
//! capability holding the link is still judged on its own bytes.

#![forbid(unsafe_code)]

use std::fmt;

use thiserror::Error;

use crate::clp::{CLP_PFIP_NR_SEGMENTS, CLP_UTIL_STR_LEN};

/// Size of `struct vfio_info_cap_header`.
pub const CAP_HDR_LEN: usize = 8;
/// Most capabilities visited in one chain.
pub const MAX_CAPS: usize = 64;
/// Bytes of the info structures the parser reads: `argsz`, `flags`, two
/// more 32-bit words (or `iova_pgsizes`) and `cap_offset`. Both structures
/// have this prefix; kernels whose `struct vfio_device_info` had no `pad`
/// field put the first device capability right here.
pub const INFO_FIXED_LEN: usize = 20;

/// `struct vfio_device_info` layout.
pub mod device_info {
    /// `argsz`: the bytes the answer needs.
    pub const ARGSZ: usize = 0;
    /// `flags`.
    pub const FLAGS: usize = 4;
    /// `num_regions`.
    pub const NUM_REGIONS: usize = 8;
    /// `num_irqs`.
    pub const NUM_IRQS: usize = 12;
    /// `cap_offset`: offset of the first capability.
    pub const CAP_OFFSET: usize = 16;
    /// `sizeof(struct vfio_device_info)` (Linux 6.12, with `pad`).
    pub const SIZE: usize = 24;
    /// `VFIO_DEVICE_FLAGS_CAPS`: the info has a capability chain.
    pub const FLAGS_CAPS: u32 = 1 << 7;
}

/// `struct vfio_iommu_type1_info` layout.
pub mod iommu_info {
    /// `argsz`.
    pub const ARGSZ: usize = 0;
    /// `flags`.
    pub const FLAGS: usize = 4;
    /// `iova_pgsizes`: the IOMMU page sizes.
    pub const IOVA_PGSIZES: usize = 8;
    /// `cap_offset`.
    pub const CAP_OFFSET: usize = 16;
    /// `sizeof(struct vfio_iommu_type1_info)`.
    pub const SIZE: usize = 24;
    /// `VFIO_IOMMU_INFO_PGSIZES`: `iova_pgsizes` is valid.
    pub const FLAGS_PGSIZES: u32 = 1 << 0;
    /// `VFIO_IOMMU_INFO_CAPS`: the info has a capability chain.
    pub const FLAGS_CAPS: u32 = 1 << 1;
}

/// Capability ids.
pub mod cap_id {
    /// `VFIO_DEVICE_INFO_CAP_ZPCI_BASE`.
    pub const ZPCI_BASE: u16 = 1;
    /// `VFIO_DEVICE_INFO_CAP_ZPCI_GROUP`.
    pub const ZPCI_GROUP: u16 = 2;
    /// `VFIO_DEVICE_INFO_CAP_ZPCI_UTIL`.
    pub const ZPCI_UTIL: u16 = 3;
    /// `VFIO_DEVICE_INFO_CAP_ZPCI_PFIP`.
    pub const ZPCI_PFIP: u16 = 4;
    /// `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`.
    pub const IOVA_RANGE: u16 = 1;
    /// `VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION`.
    pub const MIGRATION: u16 = 2;
    /// `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`.
    pub const DMA_AVAIL: u16 = 3;
}

/// `struct vfio_device_info_cap_zpci_base` layout.
pub mod base_off {
    /// `start_dma`.
    pub const START_DMA: usize = 8;
    /// `end_dma`.
    pub const END_DMA: usize = 16;
    /// `pchid`.
    pub const PCHID: usize = 24;
    /// `vfn`.
    pub const VFN: usize = 26;
    /// `fmb_length`.
    pub const FMB_LENGTH: usize = 28;
    /// `pft`.
    pub const PFT: usize = 30;
    /// `gid`.
    pub const GID: usize = 31;
    /// End of version 1.
    pub const V1_LEN: usize = 32;
    /// `fh`.
    pub const FH: usize = 32;
    /// End of version 2.
    pub const V2_LEN: usize = 36;
}

/// `struct vfio_device_info_cap_zpci_group` layout.
pub mod group_off {
    /// `dasm`.
    pub const DASM: usize = 8;
    /// `msi_addr`.
    pub const MSI_ADDR: usize = 16;
    /// `flags`.
    pub const FLAGS: usize = 24;
    /// `mui`.
    pub const MUI: usize = 32;
    /// `noi`.
    pub const NOI: usize = 34;
    /// `maxstbl`.
    pub const MAXSTBL: usize = 36;
    /// `version` (the PCI version, not the capability's).
    pub const VERSION: usize = 38;
    /// End of version 1.
    pub const V1_LEN: usize = 39;
    /// `imaxstbl`.
    pub const IMAXSTBL: usize = 40;
    /// End of version 2.
    pub const V2_LEN: usize = 42;
}

/// `struct vfio_device_info_cap_zpci_util` and `_pfip` layout.
pub mod string_off {
    /// `size`.
    pub const SIZE: usize = 8;
    /// `util_str[]` or `pfip[]`.
    pub const DATA: usize = 12;
}

/// `struct vfio_iommu_type1_info_cap_iova_range` layout.
pub mod iova_off {
    /// `nr_iovas`.
    pub const NR_IOVAS: usize = 8;
    /// `iova_ranges[]`.
    pub const RANGES: usize = 16;
    /// `sizeof(struct vfio_iova_range)`.
    pub const RANGE_LEN: usize = 16;
}

/// `struct vfio_iommu_type1_info_dma_avail` layout.
pub mod dma_avail_off {
    /// `avail`.
    pub const AVAIL: usize = 8;
    /// End of version 1.
    pub const V1_LEN: usize = 12;
}

/// `VFIO_DEVICE_INFO_ZPCI_FLAG_REFRESH`: the guest must refresh the IOTLB
/// (RPCIT) after every change to its translation tables.
pub const ZPCI_FLAG_REFRESH: u64 = 1;

/// Byte order of the info structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Most significant byte first (s390x hosts).
    Big,
    /// Least significant byte first (x86 hosts).
    Little,
}

impl Endian {
    /// The byte order of the machine this runs on: the one the kernel uses.
    #[must_use]
    pub const fn native() -> Self {
        if cfg!(target_endian = "big") {
            Self::Big
        } else {
            Self::Little
        }
    }

    /// The `N` bytes at `off` in `buf`, if they are all there.
    fn bytes_at<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
        buf.get(off..off.checked_add(N)?)?.try_into().ok()
    }

    /// The `u16` at `off` in `buf` in this byte order, if it is all there.
    #[must_use]
    pub fn u16_at(self, buf: &[u8], off: usize) -> Option<u16> {
        let b = Self::bytes_at(buf, off)?;
        Some(match self {
            Self::Big => u16::from_be_bytes(b),
            Self::Little => u16::from_le_bytes(b),
        })
    }

    /// The `u32` at `off` in `buf` in this byte order, if it is all there.
    #[must_use]
    pub fn u32_at(self, buf: &[u8], off: usize) -> Option<u32> {
        let b = Self::bytes_at(buf, off)?;
        Some(match self {
            Self::Big => u32::from_be_bytes(b),
            Self::Little => u32::from_le_bytes(b),
        })
    }

    /// The `u64` at `off` in `buf` in this byte order, if it is all there.
    #[must_use]
    pub fn u64_at(self, buf: &[u8], off: usize) -> Option<u64> {
        let b = Self::bytes_at(buf, off)?;
        Some(match self {
            Self::Big => u64::from_be_bytes(b),
            Self::Little => u64::from_le_bytes(b),
        })
    }
}

/// Which info structure a chain hangs off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chain {
    /// `VFIO_DEVICE_GET_INFO`.
    Device,
    /// `VFIO_IOMMU_GET_INFO` (type1).
    Iommu,
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Device => "VFIO device info",
            Self::Iommu => "VFIO IOMMU info",
        })
    }
}

/// The capabilities this parser knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapKind {
    /// zPCI base function information.
    ZpciBase,
    /// zPCI function group information.
    ZpciGroup,
    /// zPCI utility string.
    ZpciUtil,
    /// zPCI function internal path.
    ZpciPfip,
    /// Usable IOVA ranges of the container.
    IovaRange,
    /// Dirty page tracking support.
    Migration,
    /// DMA mappings still available in the container.
    DmaAvail,
    /// An id this parser does not know (skipped).
    Unknown,
}

impl CapKind {
    /// The kind of capability `id` in `chain`.
    #[must_use]
    pub fn of(chain: Chain, id: u16) -> Self {
        match (chain, id) {
            (Chain::Device, cap_id::ZPCI_BASE) => Self::ZpciBase,
            (Chain::Device, cap_id::ZPCI_GROUP) => Self::ZpciGroup,
            (Chain::Device, cap_id::ZPCI_UTIL) => Self::ZpciUtil,
            (Chain::Device, cap_id::ZPCI_PFIP) => Self::ZpciPfip,
            (Chain::Iommu, cap_id::IOVA_RANGE) => Self::IovaRange,
            (Chain::Iommu, cap_id::MIGRATION) => Self::Migration,
            (Chain::Iommu, cap_id::DMA_AVAIL) => Self::DmaAvail,
            _ => Self::Unknown,
        }
    }

    /// The name used in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::ZpciBase => "zPCI base",
            Self::ZpciGroup => "zPCI group",
            Self::ZpciUtil => "zPCI utility string",
            Self::ZpciPfip => "zPCI function path",
            Self::IovaRange => "IOVA range",
            Self::Migration => "migration",
            Self::DmaAvail => "DMA available",
            Self::Unknown => "unknown",
        }
    }

    /// What is used when the capability cannot be: the end of an operator
    /// message.
    #[must_use]
    pub fn fallback(self) -> &'static str {
        match self {
            Self::ZpciBase => "default function values used",
            Self::ZpciGroup => "default group used",
            Self::ZpciUtil => "no utility string",
            Self::ZpciPfip => "no function path",
            Self::IovaRange => "DMA aperture not checked against the host's IOVA ranges",
            Self::Migration | Self::Unknown => "ignored",
            Self::DmaAvail => "no DMA limit",
        }
    }
}

/// One capability as found in a chain: its header and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapAt {
    /// The chain it is in.
    pub chain: Chain,
    /// Its id.
    pub id: u16,
    /// Its version.
    pub version: u16,
    /// Its offset from the start of the info structure.
    pub offset: usize,
}

impl CapAt {
    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> CapKind {
        CapKind::of(self.chain, self.id)
    }

    /// What is used instead when it cannot be read.
    #[must_use]
    pub fn fallback(&self) -> &'static str {
        self.kind().fallback()
    }
}

impl fmt::Display for CapAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            CapKind::Unknown => write!(f, "{} capability id {}", self.chain, self.id)?,
            k => write!(f, "{} capability", k.name())?,
        }
        write!(f, " v{}", self.version)
    }
}

/// The info structure is too short to hold the fields every answer has.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InfoError {
    /// Fewer than [`INFO_FIXED_LEN`] bytes, counting by `min(argsz, buffer)`.
    #[error("{chain} too short ({len} < {need} bytes): no capabilities read")]
    TooShort {
        /// Which info.
        chain: Chain,
        /// The bytes there were.
        len: usize,
        /// The bytes needed.
        need: usize,
    },
}

/// A problem with one capability or with the chain; what could be read
/// around it is kept.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CapError {
    /// `argsz` asks for more bytes than were read: the kernel wanted a
    /// larger buffer.
    #[error(
        "{chain} needs {argsz} bytes but only {len} were read: capabilities past byte {len} ignored"
    )]
    Incomplete {
        /// Which info.
        chain: Chain,
        /// The size the kernel asked for.
        argsz: u32,
        /// The bytes read.
        len: usize,
    },
    /// `cap_offset` points into the fixed fields of the info structure.
    #[error(
        "{chain} capability chain starts at offset {offset:#x}, inside the first {fixed} bytes: \
         no capabilities read"
    )]
    StartInsideInfo {
        /// Which info.
        chain: Chain,
        /// The offset of the first capability.
        offset: usize,
        /// Length of the fixed fields.
        fixed: usize,
    },
    /// The first capability header does not fit.
    #[error(
        "{chain} capability chain starts at offset {offset:#x}, beyond the {limit} bytes \
         returned: no capabilities read"
    )]
    StartOutOfBounds {
        /// Which info.
        chain: Chain,
        /// The offset of the first capability.
        offset: usize,
        /// The bytes there are.
        limit: usize,
    },
    /// `next` points back, at itself or into its own header.
    #[error(
        "{cap} at offset {offset:#x} links to offset {next:#x}, not past its header (at least \
         {min:#x}): rest of the chain ignored",
        offset = .cap.offset
    )]
    NextNotForward {
        /// The capability holding the link.
        cap: CapAt,
        /// The link.
        next: usize,
        /// The smallest link allowed.
        min: usize,
    },
    /// `next` points to a header that does not fit in the data.
    #[error(
        "{cap} at offset {offset:#x} links to offset {next:#x}, beyond the {limit} bytes \
         returned: rest of the chain ignored",
        offset = .cap.offset
    )]
    NextOutOfBounds {
        /// The capability holding the link.
        cap: CapAt,
        /// The link.
        next: usize,
        /// The bytes there are.
        limit: usize,
    },
    /// More than [`MAX_CAPS`] capabilities.
    #[error(
        "{chain} capability chain longer than {max} capabilities (next at offset {offset:#x}): \
         rest ignored"
    )]
    TooManyCaps {
        /// Which info.
        chain: Chain,
        /// The step limit.
        max: usize,
        /// Where the next capability would have been.
        offset: usize,
    },
    /// The data ends before the capability does.
    #[error(
        "{cap} too short ({len} < {need} bytes) at offset {offset:#x}: {fallback}",
        offset = .cap.offset,
        fallback = .cap.fallback()
    )]
    TooShort {
        /// The capability.
        cap: CapAt,
        /// The bytes from its start to the end of the data.
        len: usize,
        /// The bytes its version (or size field) needs.
        need: usize,
    },
    /// The next capability starts before this one ends.
    #[error(
        "{cap} at offset {offset:#x} needs {need} bytes but the next capability starts at \
         {next:#x}: {fallback}",
        offset = .cap.offset,
        fallback = .cap.fallback()
    )]
    Overlaps {
        /// The capability.
        cap: CapAt,
        /// The bytes its version (or size field) needs.
        need: usize,
        /// Where the next capability starts.
        next: usize,
    },
    /// Version 0 is not defined.
    #[error(
        "{cap} at offset {offset:#x}: version 0 is not defined: {fallback}",
        offset = .cap.offset,
        fallback = .cap.fallback()
    )]
    BadVersion {
        /// The capability.
        cap: CapAt,
    },
    /// A `size` field above the CLP field it fills.
    #[error(
        "{cap} at offset {offset:#x} holds {size} bytes, more than {max}: {fallback}",
        offset = .cap.offset,
        fallback = .cap.fallback()
    )]
    SizeTooLarge {
        /// The capability.
        cap: CapAt,
        /// Its `size` field.
        size: u32,
        /// The largest size used.
        max: usize,
    },
    /// A second capability with the same id.
    #[error(
        "duplicate {cap} at offset {offset:#x}: ignored, the one at offset {first:#x} counts",
        offset = .cap.offset
    )]
    Duplicate {
        /// The duplicate.
        cap: CapAt,
        /// Offset of the first one.
        first: usize,
    },
    /// `nr_iovas` claims more ranges than there are bytes for.
    #[error(
        "{cap} at offset {offset:#x} claims {claimed} ranges but only {present} fit: those \
         {present} used",
        offset = .cap.offset
    )]
    IovaRangesTruncated {
        /// The capability.
        cap: CapAt,
        /// `nr_iovas`.
        claimed: u32,
        /// The ranges present.
        present: usize,
    },
    /// An IOVA range that ends before it starts.
    #[error(
        "{cap} at offset {offset:#x}: range {index} ({start:#x}-{end:#x}) ends before it \
         starts: range ignored",
        offset = .cap.offset
    )]
    IovaRangeInverted {
        /// The capability.
        cap: CapAt,
        /// Index of the range.
        index: usize,
        /// Its start.
        start: u64,
        /// Its end.
        end: u64,
    },
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_BASE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZpciBase {
    /// Offset of the capability.
    pub offset: usize,
    /// Capability version.
    pub version: u16,
    /// Start of the DMA aperture.
    pub start_dma: u64,
    /// End of the DMA aperture (inclusive).
    pub end_dma: u64,
    /// Physical channel id.
    pub pchid: u16,
    /// Virtual function number.
    pub vfn: u16,
    /// Function measurement block length.
    pub fmb_length: u16,
    /// PCI function type.
    pub pft: u8,
    /// Host function group id.
    pub gid: u8,
    /// Host function handle (version 2 and later).
    pub fh: Option<u32>,
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_GROUP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZpciGroup {
    /// Offset of the capability.
    pub offset: usize,
    /// Capability version.
    pub version: u16,
    /// DMA address space mask.
    pub dasm: u64,
    /// MSI address.
    pub msi_addr: u64,
    /// Flags ([`ZPCI_FLAG_REFRESH`]).
    pub flags: u64,
    /// Measurement update interval.
    pub mui: u16,
    /// Number of interrupts.
    pub noi: u16,
    /// Maximum store block length.
    pub maxstbl: u16,
    /// PCI version.
    pub pci_version: u8,
    /// Maximum interpreted store block length (version 2 and later).
    pub imaxstbl: Option<u16>,
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_UTIL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZpciUtil {
    /// Offset of the capability.
    pub offset: usize,
    /// Capability version.
    pub version: u16,
    /// The `size` bytes of the string, zero-padded.
    pub util_str: [u8; CLP_UTIL_STR_LEN],
    /// The string's length (at most [`CLP_UTIL_STR_LEN`]).
    pub size: usize,
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_PFIP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZpciPfip {
    /// Offset of the capability.
    pub offset: usize,
    /// Capability version.
    pub version: u16,
    /// The `size` path segments, zero-padded.
    pub pfip: [u8; CLP_PFIP_NR_SEGMENTS],
    /// The number of segments (at most [`CLP_PFIP_NR_SEGMENTS`]).
    pub size: usize,
}

/// What `VFIO_DEVICE_GET_INFO` said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedDeviceCaps {
    /// `argsz` as returned.
    pub argsz: u32,
    /// `flags`.
    pub flags: u32,
    /// `num_regions`.
    pub num_regions: u32,
    /// `num_irqs`.
    pub num_irqs: u32,
    /// The base capability, if present and sound.
    pub base: Option<ZpciBase>,
    /// The group capability, if present and sound.
    pub group: Option<ZpciGroup>,
    /// The utility string capability, if present and sound.
    pub util: Option<ZpciUtil>,
    /// The function path capability, if present and sound.
    pub pfip: Option<ZpciPfip>,
    /// Every problem found, in chain order.
    pub problems: Vec<CapError>,
}

/// One usable IOVA range, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IovaRange {
    /// First address.
    pub start: u64,
    /// Last address.
    pub end: u64,
}

impl IovaRange {
    /// Whether `addr` is in the range.
    #[must_use]
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr <= self.end
    }
}

impl fmt::Display for IovaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}-{:#x}", self.start, self.end)
    }
}

/// `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IovaRanges {
    /// Offset of the capability.
    pub offset: usize,
    /// Capability version.
    pub version: u16,
    /// The ranges present and well-formed, in the kernel's order.
    pub ranges: Vec<IovaRange>,
}

/// `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmaAvail {
    /// Offset of the capability.
    pub offset: usize,
    /// Capability version.
    pub version: u16,
    /// DMA mappings the container may still create.
    pub avail: u32,
}

/// What `VFIO_IOMMU_GET_INFO` said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedIommuCaps {
    /// `argsz` as returned.
    pub argsz: u32,
    /// `flags`.
    pub flags: u32,
    /// `iova_pgsizes`, when flagged valid.
    pub iova_pgsizes: Option<u64>,
    /// The IOVA range capability, if present and sound.
    pub iova_ranges: Option<IovaRanges>,
    /// The DMA available capability, if present and sound.
    pub dma_avail: Option<DmaAvail>,
    /// Whether the migration capability is present.
    pub migration: bool,
    /// Every problem found, in chain order.
    pub problems: Vec<CapError>,
}

/// Bounds-checked reads in a given byte order.
#[derive(Clone, Copy, Debug)]
struct Reader<'a> {
    buf: &'a [u8],
    endian: Endian,
}

impl<'a> Reader<'a> {
    fn u8(self, off: usize) -> Option<u8> {
        self.buf.get(off).copied()
    }

    fn u16(self, off: usize) -> Option<u16> {
        self.endian.u16_at(self.buf, off)
    }

    fn u32(self, off: usize) -> Option<u32> {
        self.endian.u32_at(self.buf, off)
    }

    fn u64(self, off: usize) -> Option<u64> {
        self.endian.u64_at(self.buf, off)
    }

    /// The bytes from `start` to `end`; empty when out of range.
    fn range(self, start: usize, end: usize) -> Reader<'a> {
        Reader {
            buf: self.buf.get(start..end).unwrap_or_default(),
            endian: self.endian,
        }
    }
}

/// One capability's bytes: from its header up to the next capability (or
/// the end of the data). Reads cannot go past them.
struct CapBody<'a> {
    at: CapAt,
    r: Reader<'a>,
    /// Bytes from the header to the end of the data, to tell a capability
    /// overlapping the next from one cut short.
    data_len: usize,
}

impl CapBody<'_> {
    /// The bytes before the next capability.
    fn room(&self) -> usize {
        self.r.buf.len()
    }

    /// Checks that the capability has `need` bytes.
    fn require(&self, need: usize) -> Result<(), CapError> {
        if need <= self.room() {
            Ok(())
        } else if need <= self.data_len {
            Err(CapError::Overlaps {
                cap: self.at,
                need,
                next: self.at.offset.saturating_add(self.room()),
            })
        } else {
            Err(CapError::TooShort {
                cap: self.at,
                len: self.data_len,
                need,
            })
        }
    }

    /// The error for a field read that fails; unreachable after
    /// [`Self::require`] covered the field, and reported rather than
    /// trusted.
    fn short(&self, off: usize, len: usize) -> CapError {
        CapError::TooShort {
            cap: self.at,
            len: self.room(),
            need: off.saturating_add(len),
        }
    }

    fn u8(&self, off: usize) -> Result<u8, CapError> {
        self.r.u8(off).ok_or_else(|| self.short(off, 1))
    }

    fn u16(&self, off: usize) -> Result<u16, CapError> {
        self.r.u16(off).ok_or_else(|| self.short(off, 2))
    }

    fn u32(&self, off: usize) -> Result<u32, CapError> {
        self.r.u32(off).ok_or_else(|| self.short(off, 4))
    }

    fn u64(&self, off: usize) -> Result<u64, CapError> {
        self.r.u64(off).ok_or_else(|| self.short(off, 8))
    }

    fn bytes(&self, off: usize, len: usize) -> Result<&[u8], CapError> {
        off.checked_add(len)
            .and_then(|end| self.r.buf.get(off..end))
            .ok_or_else(|| self.short(off, len))
    }

    /// Version 0 is not defined for any capability.
    fn require_version(&self) -> Result<(), CapError> {
        if self.at.version == 0 {
            Err(CapError::BadVersion { cap: self.at })
        } else {
            Ok(())
        }
    }
}

fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// One capability header, as the chain walk finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapHeader {
    /// Where it is and what it says it is.
    pub at: CapAt,
    /// Its `next` field: the offset of the next capability, 0 for none.
    pub next: usize,
    /// Where its room ends: the next capability, or the end of the usable
    /// bytes for the last one (and for one whose link is broken).
    pub end: usize,
}

impl CapHeader {
    /// Its room, from the header up to [`CapHeader::end`].
    #[must_use]
    pub const fn size(&self) -> usize {
        self.end.saturating_sub(self.at.offset)
    }
}

/// The capability headers of one chain, in chain order: the walk every
/// reader of a chain uses (the parsers here and the inspector of
/// `zpci-tools`). A broken link or start is an `Err` item, after the
/// header it was read from, and ends the walk; so does the
/// [`MAX_CAPS`]-th capability. Made by [`cap_headers`].
#[derive(Clone, Debug)]
pub struct CapHeaders<'a> {
    r: Reader<'a>,
    chain: Chain,
    /// The offset of the next header to read; `None` once the walk ended.
    off: Option<usize>,
    /// A broken link, handed out after its header.
    broken: Option<CapError>,
    visited: usize,
}

/// Walks the chain starting at `cap_offset` within `buf` (already cut to
/// the usable bytes, `argsz` or the buffer, whichever is shorter).
#[must_use]
pub fn cap_headers(buf: &[u8], endian: Endian, chain: Chain, cap_offset: u32) -> CapHeaders<'_> {
    let off = to_usize(cap_offset);
    CapHeaders {
        r: Reader { buf, endian },
        chain,
        off: (off != 0).then_some(off),
        broken: None,
        visited: 0,
    }
}

impl CapHeaders<'_> {
    fn end_with(&mut self, e: CapError) -> Option<Result<CapHeader, CapError>> {
        self.off = None;
        Some(Err(e))
    }
}

impl Iterator for CapHeaders<'_> {
    type Item = Result<CapHeader, CapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.broken.take() {
            return Some(Err(e));
        }
        let off = self.off?;
        let (chain, limit) = (self.chain, self.r.buf.len());
        if self.visited == 0 && off < INFO_FIXED_LEN {
            return self.end_with(CapError::StartInsideInfo {
                chain,
                offset: off,
                fixed: INFO_FIXED_LEN,
            });
        }
        if self.visited >= MAX_CAPS {
            return self.end_with(CapError::TooManyCaps {
                chain,
                max: MAX_CAPS,
                offset: off,
            });
        }
        // The first header is checked here; every later one was checked
        // when it was linked to.
        let hdr = (
            self.r.u16(off),
            self.r.u16(off.saturating_add(2)),
            self.r.u32(off.saturating_add(4)),
        );
        let (Some(id), Some(version), Some(next)) = hdr else {
            return self.end_with(CapError::StartOutOfBounds {
                chain,
                offset: off,
                limit,
            });
        };
        self.visited += 1;
        let at = CapAt {
            chain,
            id,
            version,
            offset: off,
        };
        let hdr_end = off.saturating_add(CAP_HDR_LEN);
        let next = to_usize(next);
        self.off = None;
        let mut end = limit;
        if next == 0 {
        } else if next < hdr_end {
            self.broken = Some(CapError::NextNotForward {
                cap: at,
                next,
                min: hdr_end,
            });
        } else if next.checked_add(CAP_HDR_LEN).is_none_or(|e| e > limit) {
            self.broken = Some(CapError::NextOutOfBounds {
                cap: at,
                next,
                limit,
            });
        } else {
            end = next;
            self.off = Some(next);
        }
        Some(Ok(CapHeader { at, next, end }))
    }
}

/// Walks the chain starting at `cap_offset` within `r` (already cut to
/// the usable bytes), handing each capability to `visit`.
fn walk<'a>(
    r: Reader<'a>,
    chain: Chain,
    cap_offset: u32,
    problems: &mut Vec<CapError>,
    mut visit: impl FnMut(CapBody<'a>, &mut Vec<CapError>),
) {
    let limit = r.buf.len();
    for item in cap_headers(r.buf, r.endian, chain, cap_offset) {
        match item {
            Ok(h) => visit(
                CapBody {
                    at: h.at,
                    r: r.range(h.at.offset, h.end),
                    data_len: limit.saturating_sub(h.at.offset),
                },
                problems,
            ),
            Err(e) => problems.push(e),
        }
    }
}

/// The fixed fields shared by both info structures.
struct InfoHeader<'a> {
    r: Reader<'a>,
    argsz: u32,
    flags: u32,
    cap_offset: u32,
}

fn info_header<'a>(
    buf: &'a [u8],
    endian: Endian,
    chain: Chain,
    problems: &mut Vec<CapError>,
) -> Result<InfoHeader<'a>, InfoError> {
    let whole = Reader { buf, endian };
    let too_short = |len| InfoError::TooShort {
        chain,
        len,
        need: INFO_FIXED_LEN,
    };
    let argsz = whole.u32(device_info::ARGSZ).ok_or(too_short(buf.len()))?;
    let limit = to_usize(argsz).min(buf.len());
    let r = Reader {
        buf: buf.get(..limit).unwrap_or_default(),
        endian,
    };
    if limit < INFO_FIXED_LEN {
        return Err(too_short(limit));
    }
    // Same offsets in both structures.
    let (Some(flags), Some(cap_offset)) =
        (r.u32(device_info::FLAGS), r.u32(device_info::CAP_OFFSET))
    else {
        return Err(too_short(limit));
    };
    if to_usize(argsz) > buf.len() {
        problems.push(CapError::Incomplete {
            chain,
            argsz,
            len: buf.len(),
        });
    }
    Ok(InfoHeader {
        r,
        argsz,
        flags,
        cap_offset,
    })
}

/// Remembers the first capability of each kind.
#[derive(Default)]
struct Seen(Vec<(CapKind, usize)>);

impl Seen {
    /// Records `b`; a duplicate of an earlier one is an error.
    fn first(&mut self, b: &CapBody<'_>) -> Result<(), CapError> {
        let kind = b.at.kind();
        if let Some(&(_, first)) = self.0.iter().find(|(k, _)| *k == kind) {
            return Err(CapError::Duplicate { cap: b.at, first });
        }
        self.0.push((kind, b.at.offset));
        Ok(())
    }
}

/// Parses the answer of `VFIO_DEVICE_GET_INFO`: `buf` is the buffer the
/// ioctl filled, in the byte order `endian`.
///
/// # Errors
///
/// [`InfoError::TooShort`] when the fixed fields do not fit. Problems with
/// the chain are not errors: they are listed in
/// [`ParsedDeviceCaps::problems`].
pub fn parse_device_info(buf: &[u8], endian: Endian) -> Result<ParsedDeviceCaps, InfoError> {
    let mut problems = Vec::new();
    let h = info_header(buf, endian, Chain::Device, &mut problems)?;
    let mut caps = ParsedDeviceCaps {
        argsz: h.argsz,
        flags: h.flags,
        num_regions: h.r.u32(device_info::NUM_REGIONS).unwrap_or_default(),
        num_irqs: h.r.u32(device_info::NUM_IRQS).unwrap_or_default(),
        ..ParsedDeviceCaps::default()
    };
    if h.flags & device_info::FLAGS_CAPS != 0 {
        let mut seen = Seen::default();
        walk(
            h.r,
            Chain::Device,
            h.cap_offset,
            &mut problems,
            |b, problems| {
                if let Err(e) = visit_device(&mut caps, &mut seen, &b) {
                    problems.push(e);
                }
            },
        );
    }
    caps.problems = problems;
    Ok(caps)
}

fn visit_device(
    caps: &mut ParsedDeviceCaps,
    seen: &mut Seen,
    b: &CapBody<'_>,
) -> Result<(), CapError> {
    let kind = b.at.kind();
    if kind == CapKind::Unknown {
        return Ok(());
    }
    seen.first(b)?;
    b.require_version()?;
    match kind {
        CapKind::ZpciBase => caps.base = Some(read_base(b)?),
        CapKind::ZpciGroup => caps.group = Some(read_group(b)?),
        CapKind::ZpciUtil => {
            let mut util_str = [0u8; CLP_UTIL_STR_LEN];
            let size = read_string(b, &mut util_str)?;
            caps.util = Some(ZpciUtil {
                offset: b.at.offset,
                version: b.at.version,
                util_str,
                size,
            });
        }
        CapKind::ZpciPfip => {
            let mut pfip = [0u8; CLP_PFIP_NR_SEGMENTS];
            let size = read_string(b, &mut pfip)?;
            caps.pfip = Some(ZpciPfip {
                offset: b.at.offset,
                version: b.at.version,
                pfip,
                size,
            });
        }
        _ => {}
    }
    Ok(())
}

fn read_base(b: &CapBody<'_>) -> Result<ZpciBase, CapError> {
    let v2 = b.at.version >= 2;
    b.require(if v2 {
        base_off::V2_LEN
    } else {
        base_off::V1_LEN
    })?;
    Ok(ZpciBase {
        offset: b.at.offset,
        version: b.at.version,
        start_dma: b.u64(base_off::START_DMA)?,
        end_dma: b.u64(base_off::END_DMA)?,
        pchid: b.u16(base_off::PCHID)?,
        vfn: b.u16(base_off::VFN)?,
        fmb_length: b.u16(base_off::FMB_LENGTH)?,
        pft: b.u8(base_off::PFT)?,
        gid: b.u8(base_off::GID)?,
        fh: if v2 { Some(b.u32(base_off::FH)?) } else { None },
    })
}

fn read_group(b: &CapBody<'_>) -> Result<ZpciGroup, CapError> {
    let v2 = b.at.version >= 2;
    b.require(if v2 {
        group_off::V2_LEN
    } else {
        group_off::V1_LEN
    })?;
    Ok(ZpciGroup {
        offset: b.at.offset,
        version: b.at.version,
        dasm: b.u64(group_off::DASM)?,
        msi_addr: b.u64(group_off::MSI_ADDR)?,
        flags: b.u64(group_off::FLAGS)?,
        mui: b.u16(group_off::MUI)?,
        noi: b.u16(group_off::NOI)?,
        maxstbl: b.u16(group_off::MAXSTBL)?,
        pci_version: b.u8(group_off::VERSION)?,
        imaxstbl: if v2 {
            Some(b.u16(group_off::IMAXSTBL)?)
        } else {
            None
        },
    })
}

/// Reads a `size`-prefixed byte string into `out` (zero-padded) and
/// returns its size; a size above `out.len()` is an error.
fn read_string(b: &CapBody<'_>, out: &mut [u8]) -> Result<usize, CapError> {
    b.require(string_off::DATA)?;
    let size = b.u32(string_off::SIZE)?;
    let len = to_usize(size);
    if len > out.len() {
        return Err(CapError::SizeTooLarge {
            cap: b.at,
            size,
            max: out.len(),
        });
    }
    b.require(string_off::DATA.saturating_add(len))?;
    let src = b.bytes(string_off::DATA, len)?;
    if let Some(dst) = out.get_mut(..len) {
        dst.copy_from_slice(src);
    }
    Ok(len)
}

/// Parses the answer of `VFIO_IOMMU_GET_INFO` (type1): `buf` is the buffer
/// the ioctl filled, in the byte order `endian`.
///
/// # Errors
///
/// [`InfoError::TooShort`] when the fixed fields do not fit. Problems with
/// the chain are listed in [`ParsedIommuCaps::problems`].
pub fn parse_iommu_info(buf: &[u8], endian: Endian) -> Result<ParsedIommuCaps, InfoError> {
    let mut problems = Vec::new();
    let h = info_header(buf, endian, Chain::Iommu, &mut problems)?;
    let mut caps = ParsedIommuCaps {
        argsz: h.argsz,
        flags: h.flags,
        iova_pgsizes: if h.flags & iommu_info::FLAGS_PGSIZES != 0 {
            h.r.u64(iommu_info::IOVA_PGSIZES)
        } else {
            None
        },
        ..ParsedIommuCaps::default()
    };
    if h.flags & iommu_info::FLAGS_CAPS != 0 {
        let mut seen = Seen::default();
        walk(
            h.r,
            Chain::Iommu,
            h.cap_offset,
            &mut problems,
            |b, problems| {
                if let Err(e) = visit_iommu(&mut caps, &mut seen, &b, problems) {
                    problems.push(e);
                }
            },
        );
    }
    caps.problems = problems;
    Ok(caps)
}

fn visit_iommu(
    caps: &mut ParsedIommuCaps,
    seen: &mut Seen,
    b: &CapBody<'_>,
    problems: &mut Vec<CapError>,
) -> Result<(), CapError> {
    let kind = b.at.kind();
    if kind == CapKind::Unknown {
        return Ok(());
    }
    seen.first(b)?;
    b.require_version()?;
    match kind {
        CapKind::IovaRange => caps.iova_ranges = Some(read_iova_ranges(b, problems)?),
        CapKind::DmaAvail => {
            b.require(dma_avail_off::V1_LEN)?;
            caps.dma_avail = Some(DmaAvail {
                offset: b.at.offset,
                version: b.at.version,
                avail: b.u32(dma_avail_off::AVAIL)?,
            });
        }
        CapKind::Migration => caps.migration = true,
        _ => {}
    }
    Ok(())
}

/// Reads the ranges that are present: `nr_iovas` is believed only as far
/// as the bytes before the next capability go.
fn read_iova_ranges(b: &CapBody<'_>, problems: &mut Vec<CapError>) -> Result<IovaRanges, CapError> {
    b.require(iova_off::RANGES)?;
    let claimed = b.u32(iova_off::NR_IOVAS)?;
    let fit = b.room().saturating_sub(iova_off::RANGES) / iova_off::RANGE_LEN;
    let present = to_usize(claimed).min(fit);
    if present < to_usize(claimed) {
        problems.push(CapError::IovaRangesTruncated {
            cap: b.at,
            claimed,
            present,
        });
    }
    let mut ranges = Vec::with_capacity(present);
    for index in 0..present {
        let off = index
            .checked_mul(iova_off::RANGE_LEN)
            .and_then(|o| o.checked_add(iova_off::RANGES))
            .ok_or_else(|| b.short(usize::MAX, 0))?;
        let start = b.u64(off)?;
        let end = b.u64(off.saturating_add(8))?;
        if start > end {
            problems.push(CapError::IovaRangeInverted {
                cap: b.at,
                index,
                start,
                end,
            });
        } else {
            ranges.push(IovaRange { start, end });
        }
    }
    Ok(IovaRanges {
        offset: b.at.offset,
        version: b.at.version,
        ranges,
    })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use crate::vfio::fixtures::{self as fx, Info};

    const BOTH: [Endian; 2] = [Endian::Big, Endian::Little];

    fn sample_util() -> [u8; 64] {
        let mut s = [0x40u8; 64]; // EBCDIC blanks
        s[..8].copy_from_slice(&fx::SAMPLE_UTIL);
        s
    }

    /// The chain `vfio_pci_zdev.c` builds: base v2, group v2, util, pfip.
    fn kernel_device_info(e: Endian) -> Info {
        Info::device(e)
            .cap(fx::base(e, &fx::sample_base()))
            .cap(fx::group(e, &fx::sample_group()))
            .cap(fx::string(e, cap_id::ZPCI_UTIL, 64, &sample_util()))
            .cap(fx::string(e, cap_id::ZPCI_PFIP, 4, &[1, 2, 3, 4]))
    }

    /// The chain `vfio_iommu_type1.c` builds: migration, DMA available, IOVA.
    fn kernel_iommu_info(e: Endian) -> Info {
        Info::iommu(e)
            .cap(fx::migration(e))
            .cap(fx::dma_avail(e, 65535))
            .cap(fx::iova(e, 1, &[(0x1_0000_0000, 0x1_ffff_ffff)]))
    }

    fn device(buf: &[u8], e: Endian) -> ParsedDeviceCaps {
        parse_device_info(buf, e).unwrap()
    }

    /// Offsets of the C structures, computed from the field sizes and
    /// natural alignment in `vfio.h` and `vfio_zdev.h`.
    #[test]
    fn layouts_are_pinned() {
        assert_eq!(
            [
                device_info::ARGSZ,
                device_info::FLAGS,
                device_info::NUM_REGIONS
            ],
            [0, 4, 8]
        );
        assert_eq!([device_info::NUM_IRQS, device_info::CAP_OFFSET], [12, 16]);
        assert_eq!(device_info::SIZE, 24);
        assert_eq!(device_info::FLAGS_CAPS, 0x80);
        assert_eq!([iommu_info::IOVA_PGSIZES, iommu_info::CAP_OFFSET], [8, 16]);
        assert_eq!([iommu_info::FLAGS_PGSIZES, iommu_info::FLAGS_CAPS], [1, 2]);
        assert_eq!(iommu_info::SIZE, 24);
        // header(8) start_dma end_dma pchid vfn fmb_length pft gid | fh
        assert_eq!(
            [
                base_off::START_DMA,
                base_off::END_DMA,
                base_off::PCHID,
                base_off::VFN,
                base_off::FMB_LENGTH,
                base_off::PFT,
                base_off::GID,
                base_off::V1_LEN,
                base_off::FH,
                base_off::V2_LEN
            ],
            [8, 16, 24, 26, 28, 30, 31, 32, 32, 36]
        );
        // header(8) dasm msi_addr flags mui noi maxstbl version | reserved imaxstbl
        assert_eq!(
            [
                group_off::DASM,
                group_off::MSI_ADDR,
                group_off::FLAGS,
                group_off::MUI,
                group_off::NOI,
                group_off::MAXSTBL,
                group_off::VERSION,
                group_off::V1_LEN,
                group_off::IMAXSTBL,
                group_off::V2_LEN
            ],
            [8, 16, 24, 32, 34, 36, 38, 39, 40, 42]
        );
        assert_eq!([string_off::SIZE, string_off::DATA], [8, 12]);
        assert_eq!(
            [iova_off::NR_IOVAS, iova_off::RANGES, iova_off::RANGE_LEN],
            [8, 16, 16]
        );
        assert_eq!([dma_avail_off::AVAIL, dma_avail_off::V1_LEN], [8, 12]);
        assert_eq!(
            [
                cap_id::ZPCI_BASE,
                cap_id::ZPCI_GROUP,
                cap_id::ZPCI_UTIL,
                cap_id::ZPCI_PFIP
            ],
            [1, 2, 3, 4]
        );
        assert_eq!(
            [cap_id::IOVA_RANGE, cap_id::MIGRATION, cap_id::DMA_AVAIL],
            [1, 2, 3]
        );
    }

    #[test]
    fn kernel_device_chain_parses_in_both_byte_orders() {
        for e in BOTH {
            let info = kernel_device_info(e);
            let offs = info.offsets();
            assert_eq!(offs, [24, 64, 112, 192], "kernel layout: 40, 48, 80 bytes");
            let p = device(&info.build(), e);
            assert_eq!(p.problems, []);
            assert_eq!(p.flags, 0x83);
            assert_eq!((p.num_regions, p.num_irqs), (9, 5));
            assert_eq!(p.argsz, 208);
            let want = ZpciBase {
                offset: 24,
                ..fx::sample_base()
            };
            assert_eq!(p.base, Some(want));
            let want = ZpciGroup {
                offset: 64,
                ..fx::sample_group()
            };
            assert_eq!(p.group, Some(want));
            let util = p.util.unwrap();
            assert_eq!((util.offset, util.version, util.size), (112, 1, 64));
            assert_eq!(util.util_str, sample_util());
            let pfip = p.pfip.unwrap();
            assert_eq!((pfip.offset, pfip.size, pfip.pfip), (192, 4, [1, 2, 3, 4]));
        }
    }

    #[test]
    fn a_big_endian_capture_read_as_little_endian_fails_cleanly() {
        let buf = kernel_device_info(Endian::Big).build();
        let p = device(&buf, Endian::Little);
        assert_eq!(p.base, None);
        assert_eq!(p.group, None);
        // flags 0x83 read backwards has no CAPS bit: no chain at all; the
        // byte-swapped argsz shows in the one problem reported
        assert_eq!(p.flags, 0x8300_0000);
        assert_eq!(
            p.problems,
            [CapError::Incomplete {
                chain: Chain::Device,
                argsz: 0xd000_0000,
                len: 208
            }]
        );
    }

    #[test]
    fn kernel_iommu_chain_parses_in_both_byte_orders() {
        for e in BOTH {
            let info = kernel_iommu_info(e);
            assert_eq!(info.offsets(), [24, 56, 72]);
            let p = parse_iommu_info(&info.build(), e).unwrap();
            assert_eq!(p.problems, []);
            assert!(p.migration);
            assert_eq!(p.iova_pgsizes, Some(0x10_1000));
            let d = p.dma_avail.unwrap();
            assert_eq!((d.offset, d.version, d.avail), (56, 1, 65535));
            let r = p.iova_ranges.unwrap();
            assert_eq!(r.offset, 72);
            assert_eq!(
                r.ranges,
                [IovaRange {
                    start: 0x1_0000_0000,
                    end: 0x1_ffff_ffff
                }]
            );
        }
    }

    #[test]
    fn iommu_page_sizes_only_when_flagged() {
        let e = Endian::Little;
        let mut buf = kernel_iommu_info(e).build();
        fx::put_u32(&mut buf, iommu_info::FLAGS, e, iommu_info::FLAGS_CAPS);
        let p = parse_iommu_info(&buf, e).unwrap();
        assert_eq!(p.iova_pgsizes, None);
        assert!(p.dma_avail.is_some());
    }

    #[test]
    fn no_chain_without_the_caps_flag() {
        let e = Endian::Big;
        let mut buf = kernel_device_info(e).build();
        fx::put_u32(&mut buf, device_info::FLAGS, e, 0x3);
        let p = device(&buf, e);
        assert_eq!((p.base, p.group, p.util, p.pfip), (None, None, None, None));
        assert_eq!(p.problems, []);
    }

    #[test]
    fn caps_flag_with_zero_offset_is_an_empty_chain() {
        let e = Endian::Big;
        let mut buf = kernel_device_info(e).build();
        fx::put_u32(&mut buf, device_info::CAP_OFFSET, e, 0);
        let p = device(&buf, e);
        assert_eq!(p.base, None);
        assert_eq!(p.problems, []);
    }

    #[test]
    fn info_shorter_than_its_fixed_fields_is_an_error() {
        for e in BOTH {
            let buf = kernel_device_info(e).build();
            for len in [0, 3, 4, 19] {
                let err = parse_device_info(&buf[..len], e).unwrap_err();
                assert_eq!(
                    err,
                    InfoError::TooShort {
                        chain: Chain::Device,
                        len,
                        need: 20
                    }
                );
            }
            // argsz itself says 16
            let mut short = buf.clone();
            fx::put_u32(&mut short, 0, e, 16);
            let err = parse_iommu_info(&short, e).unwrap_err();
            assert_eq!(
                err.to_string(),
                "VFIO IOMMU info too short (16 < 20 bytes): no capabilities read"
            );
        }
    }

    #[test]
    fn argsz_larger_than_the_buffer_is_reported_and_the_rest_read() {
        let e = Endian::Big;
        let buf = kernel_device_info(e).build();
        // Cut inside the utility string capability.
        let p = device(&buf[..150], e);
        assert!(p.base.is_some() && p.group.is_some());
        assert_eq!(p.util, None);
        assert_eq!(
            p.problems[0],
            CapError::Incomplete {
                chain: Chain::Device,
                argsz: 208,
                len: 150
            }
        );
        assert_eq!(
            p.problems[0].to_string(),
            "VFIO device info needs 208 bytes but only 150 were read: capabilities past byte \
             150 ignored"
        );
        assert!(matches!(
            p.problems[1],
            CapError::TooShort { cap, len: 38, need: 76 } if cap.offset == 112
        ));
        assert!(matches!(
            p.problems[2],
            CapError::NextOutOfBounds {
                next: 192,
                limit: 150,
                ..
            }
        ));
        assert_eq!(p.problems.len(), 3);
    }

    #[test]
    fn bytes_past_argsz_are_not_read() {
        let e = Endian::Little;
        let mut buf = kernel_device_info(e).build();
        // argsz ends the data right after the group capability: the util
        // capability it links to lies outside.
        fx::put_u32(&mut buf, 0, e, 112);
        let p = device(&buf, e);
        assert!(p.group.is_some());
        assert_eq!(p.util, None);
        assert_eq!(
            p.problems,
            [CapError::NextOutOfBounds {
                cap: CapAt {
                    chain: Chain::Device,
                    id: 2,
                    version: 2,
                    offset: 64
                },
                next: 112,
                limit: 112
            }]
        );
    }

    #[test]
    fn chain_starting_inside_the_info_is_rejected() {
        let e = Endian::Big;
        let mut buf = kernel_device_info(e).build();
        for off in [4u32, 16, 19] {
            fx::put_u32(&mut buf, device_info::CAP_OFFSET, e, off);
            let p = device(&buf, e);
            assert_eq!(p.base, None);
            assert_eq!(
                p.problems,
                [CapError::StartInsideInfo {
                    chain: Chain::Device,
                    offset: off as usize,
                    fixed: 20
                }]
            );
        }
    }

    #[test]
    fn chain_may_start_right_after_the_fixed_fields() {
        // Kernels without `pad` in vfio_device_info put the first cap at 20.
        let e = Endian::Big;
        let buf = kernel_device_info(e).build();
        let mut old = buf[..20].to_vec();
        old.extend_from_slice(&buf[24..64]); // base, next patched below
        fx::put_u32(&mut old, 0, e, 60);
        fx::put_u32(&mut old, device_info::CAP_OFFSET, e, 20);
        fx::put_u32(&mut old, 24, e, 0);
        let p = device(&old, e);
        assert_eq!(p.problems, []);
        assert_eq!(p.base.unwrap().offset, 20);
    }

    #[test]
    fn chain_starting_past_the_end_is_rejected() {
        let e = Endian::Big;
        let mut buf = kernel_device_info(e).build();
        for off in [204u32, 208, 0xffff_fff0, u32::MAX] {
            fx::put_u32(&mut buf, device_info::CAP_OFFSET, e, off);
            let p = device(&buf, e);
            assert_eq!(
                p.problems,
                [CapError::StartOutOfBounds {
                    chain: Chain::Device,
                    offset: off as usize,
                    limit: 208
                }]
            );
        }
    }

    #[test]
    fn looping_chain_stops_and_keeps_what_it_read() {
        for e in BOTH {
            let info = kernel_device_info(e);
            let mut buf = info.build();
            // util's next points back to the base capability
            fx::put_u32(&mut buf, 112 + 4, e, 24);
            let p = device(&buf, e);
            assert!(p.base.is_some() && p.group.is_some() && p.util.is_some());
            assert_eq!(p.pfip, None);
            let err = CapError::NextNotForward {
                cap: CapAt {
                    chain: Chain::Device,
                    id: 3,
                    version: 1,
                    offset: 112,
                },
                next: 24,
                min: 120,
            };
            assert_eq!(p.problems, std::slice::from_ref(&err));
            assert_eq!(
                err.to_string(),
                "zPCI utility string capability v1 at offset 0x70 links to offset 0x18, not past \
                 its header (at least 0x78): rest of the chain ignored"
            );
        }
    }

    #[test]
    fn self_pointing_and_header_pointing_links_are_rejected() {
        let e = Endian::Big;
        for next in [24u32, 25, 31] {
            let mut buf = kernel_device_info(e).build();
            fx::put_u32(&mut buf, 24 + 4, e, next);
            let p = device(&buf, e);
            // The base capability is sound; its link is not.
            assert!(p.base.is_some());
            assert_eq!(p.group, None);
            assert!(matches!(
                p.problems[..],
                [CapError::NextNotForward { next: n, min: 32, .. }] if n == next as usize
            ));
        }
    }

    #[test]
    fn link_right_after_the_header_is_allowed_and_overlaps() {
        // next == offset + 8: the walk moves forward, but the base
        // capability has no room for its fields.
        let e = Endian::Big;
        let mut buf = kernel_device_info(e).build();
        fx::put_u32(&mut buf, 24 + 4, e, 32);
        let p = device(&buf, e);
        assert_eq!(p.base, None);
        assert!(matches!(
            p.problems[0],
            CapError::Overlaps {
                need: 36,
                next: 32,
                ..
            }
        ));
        // offset 32 is inside the base capability's data: read as a header
        // with id = low half of start_dma, which is garbage and skipped or
        // rejected, never a panic.
    }

    #[test]
    fn link_beyond_the_data_is_rejected() {
        let e = Endian::Little;
        let mut buf = kernel_device_info(e).build();
        for next in [204u32, 208, 4096, u32::MAX] {
            fx::put_u32(&mut buf, 64 + 4, e, next);
            let p = device(&buf, e);
            assert!(p.base.is_some() && p.group.is_some());
            assert_eq!(p.util, None);
            assert!(matches!(
                p.problems[..],
                [CapError::NextOutOfBounds { next: n, limit: 208, .. }] if n == next as usize
            ));
        }
    }

    #[test]
    fn truncated_last_capability_keeps_the_ones_before() {
        for e in BOTH {
            let info = Info::device(e)
                .cap(fx::base(e, &fx::sample_base()))
                .cap(fx::group(e, &fx::sample_group()));
            let buf = info.build();
            let cut = &buf[..64 + 20];
            let p = parse_device_info(cut, e).unwrap();
            assert!(p.base.is_some());
            assert_eq!(p.group, None);
            let last = p.problems.last().unwrap();
            assert_eq!(
                last.to_string(),
                "zPCI group capability v2 too short (20 < 42 bytes) at offset 0x40: default \
                 group used"
            );
        }
    }

    #[test]
    fn header_cut_in_the_middle_is_out_of_bounds() {
        let e = Endian::Big;
        let buf = kernel_device_info(e).build();
        let p = device(&buf[..64 + 6], e);
        assert!(p.base.is_some());
        assert!(matches!(
            p.problems[..],
            [
                CapError::Incomplete { .. },
                CapError::NextOutOfBounds {
                    next: 64,
                    limit: 70,
                    ..
                }
            ]
        ));
    }

    #[test]
    fn overlapping_capability_is_dropped_and_the_next_read() {
        for e in BOTH {
            let mut buf = kernel_device_info(e).build();
            // base v2 (needs 36 bytes) links to offset 24 + 32: the group
            // capability would start inside it. Move the group there.
            let group = buf[64..112].to_vec();
            buf[56..104].copy_from_slice(&group);
            fx::put_u32(&mut buf, 24 + 4, e, 56);
            fx::put_u32(&mut buf, 56 + 4, e, 112);
            let p = device(&buf, e);
            assert_eq!(p.base, None);
            assert_eq!(p.group.as_ref().unwrap().offset, 56);
            assert!(p.util.is_some() && p.pfip.is_some());
            assert_eq!(
                p.problems[0].to_string(),
                "zPCI base capability v2 at offset 0x18 needs 36 bytes but the next capability \
                 starts at 0x38: default function values used"
            );
            assert_eq!(p.problems.len(), 1);
        }
    }

    #[test]
    fn base_versions() {
        for e in BOTH {
            let v1 = ZpciBase {
                version: 1,
                fh: None,
                ..fx::sample_base()
            };
            let p = device(&Info::device(e).cap(fx::base(e, &v1)).build(), e);
            assert_eq!(p.base.unwrap().fh, None, "v1 has no fh");

            let p = device(&kernel_device_info(e).build(), e);
            assert_eq!(p.base.unwrap().fh, Some(0x8000_0c07));

            // v3: a longer structure, read as v2, extra bytes ignored
            let mut c = fx::base(e, &fx::sample_base());
            c.version = 3;
            c.body.extend([0xaa; 12]);
            let p = device(&Info::device(e).cap(c).build(), e);
            let b = p.base.unwrap();
            assert_eq!((b.version, b.fh), (3, Some(0x8000_0c07)));
            assert_eq!(p.problems, []);

            // v2 header but only v1 bytes, last in the chain
            let mut c = fx::base(e, &v1);
            c.version = 2;
            let mut info = Info::device(e).cap(c);
            info.align = 1;
            let p = device(&info.build(), e);
            assert_eq!(p.base, None);
            assert_eq!(
                p.problems[0].to_string(),
                "zPCI base capability v2 too short (32 < 36 bytes) at offset 0x18: default \
                 function values used"
            );
        }
    }

    #[test]
    fn version_zero_is_rejected() {
        let e = Endian::Big;
        let mut c = fx::base(e, &fx::sample_base());
        c.version = 0;
        let p = device(&Info::device(e).cap(c).build(), e);
        assert_eq!(p.base, None);
        assert_eq!(
            p.problems[0].to_string(),
            "zPCI base capability v0 at offset 0x18: version 0 is not defined: default function \
             values used"
        );
        // In the middle of a kernel chain: only that capability is lost.
        let mut buf = kernel_device_info(e).build();
        fx::put_u16(&mut buf, 64 + 2, e, 0);
        let p = device(&buf, e);
        assert_eq!(p.group, None);
        assert!(p.base.is_some() && p.util.is_some() && p.pfip.is_some());
        assert!(matches!(p.problems[..], [CapError::BadVersion { cap }] if cap.id == 2));
    }

    #[test]
    fn v1_base_needs_no_padding() {
        let e = Endian::Big;
        let v1 = ZpciBase {
            version: 1,
            fh: None,
            ..fx::sample_base()
        };
        let mut info = Info::device(e)
            .cap(fx::base(e, &v1))
            .cap(fx::group(e, &fx::sample_group()));
        info.align = 4;
        assert_eq!(info.offsets(), [24, 56], "32 bytes exactly");
        let p = device(&info.build(), e);
        assert_eq!(p.problems, []);
        assert!(p.base.is_some() && p.group.is_some());
    }

    #[test]
    fn group_versions() {
        for e in BOTH {
            let v1 = ZpciGroup {
                version: 1,
                imaxstbl: None,
                ..fx::sample_group()
            };
            let p = device(&Info::device(e).cap(fx::group(e, &v1)).build(), e);
            assert_eq!(p.group.unwrap(), ZpciGroup { offset: 24, ..v1 });

            let mut c = fx::group(e, &fx::sample_group());
            c.version = 7;
            c.body.extend([0x55; 30]);
            let p = device(&Info::device(e).cap(c).build(), e);
            let g = p.group.unwrap();
            assert_eq!((g.version, g.imaxstbl), (7, Some(0x800)));

            // v1 is 39 bytes: 38 is one short
            let mut c = fx::group(e, &v1);
            c.body.pop();
            let mut info = Info::device(e).cap(c);
            info.align = 1;
            let p = device(&info.build(), e);
            assert!(matches!(
                p.problems[..],
                [CapError::TooShort {
                    len: 38,
                    need: 39,
                    ..
                }]
            ));
        }
    }

    #[test]
    fn utility_string_sizes() {
        for e in BOTH {
            // size 0: an empty string, still a string
            let p = device(
                &Info::device(e)
                    .cap(fx::string(e, cap_id::ZPCI_UTIL, 0, &[]))
                    .build(),
                e,
            );
            assert_eq!(p.util.unwrap().size, 0);

            // size 8: the rest is zero
            let p = device(
                &Info::device(e)
                    .cap(fx::string(e, cap_id::ZPCI_UTIL, 8, &fx::SAMPLE_UTIL))
                    .build(),
                e,
            );
            let u = p.util.unwrap();
            assert_eq!(u.util_str[..8], fx::SAMPLE_UTIL);
            assert_eq!(u.util_str[8..], [0; 56]);

            // size 65..: dropped, the rest of the chain read
            let info = Info::device(e)
                .cap(fx::string(e, cap_id::ZPCI_UTIL, 80, &[0xc1; 80]))
                .cap(fx::string(e, cap_id::ZPCI_PFIP, 4, &[9, 9, 9, 9]));
            let p = device(&info.build(), e);
            assert_eq!(p.util, None);
            assert!(p.pfip.is_some());
            assert_eq!(
                p.problems[0].to_string(),
                "zPCI utility string capability v1 at offset 0x18 holds 80 bytes, more than 64: \
                 no utility string"
            );

            // a huge size is not trusted for anything
            let p = device(
                &Info::device(e)
                    .cap(fx::string(e, cap_id::ZPCI_UTIL, u32::MAX, &[]))
                    .build(),
                e,
            );
            assert!(matches!(
                p.problems[..],
                [CapError::SizeTooLarge {
                    size: u32::MAX,
                    max: 64,
                    ..
                }]
            ));

            // size 64 claimed but only 10 bytes follow
            let mut info = Info::device(e).cap(fx::string(e, cap_id::ZPCI_UTIL, 64, &[1; 10]));
            info.align = 1;
            let p = device(&info.build(), e);
            assert!(matches!(
                p.problems[..],
                [CapError::TooShort {
                    len: 22,
                    need: 76,
                    ..
                }]
            ));
        }
    }

    #[test]
    fn function_path_sizes() {
        let e = Endian::Big;
        let p = device(
            &Info::device(e)
                .cap(fx::string(e, cap_id::ZPCI_PFIP, 2, &[7, 8]))
                .build(),
            e,
        );
        let f = p.pfip.unwrap();
        assert_eq!((f.size, f.pfip), (2, [7, 8, 0, 0]));
        let p = device(
            &Info::device(e)
                .cap(fx::string(e, cap_id::ZPCI_PFIP, 5, &[1; 5]))
                .build(),
            e,
        );
        assert_eq!(p.pfip, None);
        assert_eq!(
            p.problems[0].to_string(),
            "zPCI function path capability v1 at offset 0x18 holds 5 bytes, more than 4: no \
             function path"
        );
    }

    #[test]
    fn first_of_two_capabilities_with_one_id_counts() {
        let e = Endian::Big;
        let other = ZpciBase {
            gid: 0x44,
            ..fx::sample_base()
        };
        let info = Info::device(e)
            .cap(fx::base(e, &fx::sample_base()))
            .cap(fx::base(e, &other));
        let p = device(&info.build(), e);
        assert_eq!(p.base.unwrap().gid, 0x02);
        assert_eq!(
            p.problems[0].to_string(),
            "duplicate zPCI base capability v2 at offset 0x40: ignored, the one at offset 0x18 \
             counts"
        );
    }

    #[test]
    fn a_dropped_first_capability_still_counts_as_first() {
        // As in QEMU's vfio_get_cap, the first capability with an id is
        // the one; a bad one is not replaced by a later one.
        let e = Endian::Big;
        let mut bad = fx::base(e, &fx::sample_base());
        bad.version = 0;
        let info = Info::device(e)
            .cap(bad)
            .cap(fx::base(e, &fx::sample_base()));
        let p = device(&info.build(), e);
        assert_eq!(p.base, None);
        assert!(matches!(
            p.problems[..],
            [
                CapError::BadVersion { .. },
                CapError::Duplicate { first: 24, .. }
            ]
        ));
    }

    #[test]
    fn unknown_capabilities_are_skipped() {
        let e = Endian::Little;
        let atomic = fx::Cap {
            id: 5, // VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP
            version: 1,
            body: vec![7, 0, 0, 0, 0, 0, 0, 0],
        };
        let odd = fx::Cap {
            id: 0xbeef,
            version: 0,
            body: vec![],
        };
        let info = Info::device(e)
            .cap(atomic)
            .cap(odd)
            .cap(fx::base(e, &fx::sample_base()));
        let p = device(&info.build(), e);
        assert_eq!(p.problems, []);
        assert!(p.base.is_some());
    }

    #[test]
    fn chain_longer_than_the_step_limit_is_cut() {
        let e = Endian::Big;
        let mut info = Info::device(e);
        for _ in 0..MAX_CAPS {
            info = info.cap(fx::Cap {
                id: 0x7777,
                version: 1,
                body: vec![],
            });
        }
        let info = info.cap(fx::base(e, &fx::sample_base()));
        let p = device(&info.build(), e);
        assert_eq!(p.base, None);
        let offset = 24 + 8 * MAX_CAPS;
        assert_eq!(
            p.problems,
            [CapError::TooManyCaps {
                chain: Chain::Device,
                max: 64,
                offset
            }]
        );
        assert_eq!(
            p.problems[0].to_string(),
            "VFIO device info capability chain longer than 64 capabilities (next at offset \
             0x218): rest ignored"
        );
    }

    #[test]
    fn iova_ranges_are_bounded_by_the_bytes_present() {
        for e in BOTH {
            let info = Info::iommu(e)
                .cap(fx::iova(e, u32::MAX, &[(0, 0xfff), (0x2000, 0x2fff)]))
                .cap(fx::dma_avail(e, 9));
            let p = parse_iommu_info(&info.build(), e).unwrap();
            assert_eq!(p.iova_ranges.unwrap().ranges.len(), 2);
            assert_eq!(p.dma_avail.unwrap().avail, 9, "the next cap is still read");
            assert_eq!(
                p.problems[0].to_string(),
                "IOVA range capability v1 at offset 0x18 claims 4294967295 ranges but only 2 fit: \
                 those 2 used"
            );
        }
    }

    #[test]
    fn inverted_iova_range_is_dropped() {
        let e = Endian::Big;
        let info = Info::iommu(e).cap(fx::iova(e, 3, &[(0, 9), (0x20, 0x10), (0x40, 0x40)]));
        let p = parse_iommu_info(&info.build(), e).unwrap();
        assert_eq!(
            p.iova_ranges.unwrap().ranges,
            [
                IovaRange { start: 0, end: 9 },
                IovaRange {
                    start: 0x40,
                    end: 0x40
                }
            ]
        );
        assert_eq!(
            p.problems[0].to_string(),
            "IOVA range capability v1 at offset 0x18: range 1 (0x20-0x10) ends before it starts: \
             range ignored"
        );
    }

    #[test]
    fn dma_avail_too_short() {
        let e = Endian::Little;
        let mut c = fx::dma_avail(e, 5);
        c.body.truncate(2);
        let mut info = Info::iommu(e).cap(c);
        info.align = 1;
        let p = parse_iommu_info(&info.build(), e).unwrap();
        assert_eq!(p.dma_avail, None);
        assert_eq!(
            p.problems[0].to_string(),
            "DMA available capability v1 too short (10 < 12 bytes) at offset 0x18: no DMA limit"
        );
    }

    #[test]
    fn capability_messages_name_unknown_ids() {
        let at = CapAt {
            chain: Chain::Iommu,
            id: 9,
            version: 1,
            offset: 0x30,
        };
        let e = CapError::NextNotForward {
            cap: at,
            next: 0x30,
            min: 0x38,
        };
        assert_eq!(
            e.to_string(),
            "VFIO IOMMU info capability id 9 v1 at offset 0x30 links to offset 0x30, not past its \
             header (at least 0x38): rest of the chain ignored"
        );
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        fn endian() -> impl Strategy<Value = Endian> {
            prop_oneof![Just(Endian::Big), Just(Endian::Little)]
        }

        /// Parses `buf` both ways; neither may panic.
        fn parse_both(
            buf: &[u8],
            e: Endian,
        ) -> (
            Result<ParsedDeviceCaps, InfoError>,
            Result<ParsedIommuCaps, InfoError>,
        ) {
            (parse_device_info(buf, e), parse_iommu_info(buf, e))
        }

        /// Every offset a problem names lies inside the data it was
        /// allowed to read, or is a link/offset value it refused.
        fn offsets_in_bounds(problems: &[CapError], limit: usize) -> bool {
            problems.iter().all(|p| match p {
                CapError::TooShort { cap, .. }
                | CapError::Overlaps { cap, .. }
                | CapError::BadVersion { cap }
                | CapError::SizeTooLarge { cap, .. }
                | CapError::Duplicate { cap, .. }
                | CapError::IovaRangesTruncated { cap, .. }
                | CapError::IovaRangeInverted { cap, .. }
                | CapError::NextNotForward { cap, .. }
                | CapError::NextOutOfBounds { cap, .. } => cap.offset + CAP_HDR_LEN <= limit,
                _ => true,
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_bytes_parse_or_fail_cleanly(
                mut buf in proptest::collection::vec(any::<u8>(), 0..400),
                argsz in any::<u32>(),
                flags in any::<u32>(),
                cap_offset in prop_oneof![any::<u32>(), 0u32..400],
                e in endian(),
            ) {
                if buf.len() >= 20 {
                    fx::put_u32(&mut buf, 0, e, argsz);
                    fx::put_u32(&mut buf, 4, e, flags);
                    fx::put_u32(&mut buf, 16, e, cap_offset);
                }
                let limit = buf.len().min(argsz as usize);
                let (d, i) = parse_both(&buf, e);
                if buf.len() >= 20 && limit >= 20 {
                    let d = d.unwrap();
                    let i = i.unwrap();
                    prop_assert!(offsets_in_bounds(&d.problems, limit));
                    prop_assert!(offsets_in_bounds(&i.problems, limit));
                    prop_assert!(d.problems.len() <= MAX_CAPS * 2 + 2);
                } else {
                    prop_assert!(d.is_err() && i.is_err());
                }
            }

            /// Nothing past `min(argsz, len)` is looked at: appending bytes
            /// to a buffer whose argsz fits changes nothing, and cutting it
            /// at argsz changes nothing.
            #[test]
            fn bytes_past_argsz_change_nothing(
                mut buf in proptest::collection::vec(any::<u8>(), 20..300),
                argsz in 20u32..300,
                cap_offset in 0u32..300,
                tail in proptest::collection::vec(any::<u8>(), 0..64),
                e in endian(),
            ) {
                let argsz = argsz.min(buf.len() as u32);
                fx::put_u32(&mut buf, 0, e, argsz);
                fx::put_u32(&mut buf, 4, e, 0x83);
                fx::put_u32(&mut buf, 16, e, cap_offset);
                let base = parse_both(&buf, e);
                let mut longer = buf.clone();
                longer.extend(&tail);
                prop_assert_eq!(&parse_both(&longer, e), &base);
                prop_assert_eq!(&parse_both(&buf[..argsz as usize], e), &base);
            }

            /// A valid chain with bytes flipped never panics, and the caps
            /// it reports come from inside the data.
            #[test]
            fn corrupted_kernel_chains_fail_cleanly(
                flips in proptest::collection::vec((0usize..208, any::<u8>()), 1..8),
                cut in 0usize..=208,
                e in endian(),
            ) {
                let mut buf = kernel_device_info(e).build();
                for (at, x) in flips {
                    buf[at] ^= x;
                }
                let buf = &buf[..cut];
                if let Ok(p) = parse_device_info(buf, e) {
                    let limit = buf.len().min(p.argsz as usize);
                    prop_assert!(offsets_in_bounds(&p.problems, limit));
                    if let Some(b) = p.base {
                        prop_assert!(b.offset + base_off::V1_LEN <= limit);
                    }
                    if let Some(u) = p.util {
                        prop_assert!(u.size <= 64);
                        prop_assert!(u.offset + string_off::DATA + u.size <= limit);
                    }
                }
                let mut ibuf = kernel_iommu_info(e).build();
                for (at, x) in [(cut % ibuf.len(), 0x5a), ((cut * 7) % ibuf.len(), 0xff)] {
                    ibuf[at] ^= x;
                }
                let _ = parse_iommu_info(&ibuf, e);
            }

            /// Reference model: whatever caps the fixture builder lays out,
            /// in whatever order, come back exactly.
            #[test]
            fn built_chains_round_trip(
                e in endian(),
                start_dma in any::<u64>(),
                end_dma in any::<u64>(),
                gid in any::<u8>(),
                base_version in 1u16..4,
                group_version in 1u16..4,
                noi in any::<u16>(),
                imaxstbl in any::<u16>(),
                util in proptest::collection::vec(any::<u8>(), 0..=64),
                pfip in proptest::collection::vec(any::<u8>(), 0..=4),
                order in Just([0usize, 1, 2, 3]).prop_shuffle(),
                ranges in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..6),
                avail in any::<u32>(),
            ) {
                let base = ZpciBase {
                    version: base_version,
                    start_dma,
                    end_dma,
                    gid,
                    fh: (base_version >= 2).then_some(0x1234_5678),
                    ..fx::sample_base()
                };
                let group = ZpciGroup {
                    version: group_version,
                    noi,
                    imaxstbl: (group_version >= 2).then_some(imaxstbl),
                    ..fx::sample_group()
                };
                let caps = [
                    fx::base(e, &base),
                    fx::group(e, &group),
                    fx::string(e, cap_id::ZPCI_UTIL, util.len() as u32, &util),
                    fx::string(e, cap_id::ZPCI_PFIP, pfip.len() as u32, &pfip),
                ];
                let mut info = Info::device(e);
                for i in order {
                    info = info.cap(caps[i].clone());
                }
                let offs = info.offsets();
                let at = |i: usize| offs[order.iter().position(|&o| o == i).unwrap()];
                let p = device(&info.build(), e);
                prop_assert_eq!(&p.problems, &vec![]);
                prop_assert_eq!(p.base, Some(ZpciBase { offset: at(0), ..base }));
                prop_assert_eq!(p.group, Some(ZpciGroup { offset: at(1), ..group }));
                let u = p.util.unwrap();
                prop_assert_eq!(&u.util_str[..u.size], &util[..]);
                prop_assert!(u.util_str[u.size..].iter().all(|&b| b == 0));
                let f = p.pfip.unwrap();
                prop_assert_eq!(&f.pfip[..f.size], &pfip[..]);

                let flat: Vec<(u64, u64)> =
                    ranges.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
                let info = Info::iommu(e)
                    .cap(fx::iova(e, flat.len() as u32, &flat))
                    .cap(fx::dma_avail(e, avail));
                let p = parse_iommu_info(&info.build(), e).unwrap();
                prop_assert_eq!(&p.problems, &vec![]);
                let got: Vec<(u64, u64)> =
                    p.iova_ranges.unwrap().ranges.iter().map(|r| (r.start, r.end)).collect();
                prop_assert_eq!(got, flat);
                prop_assert_eq!(p.dma_avail.unwrap().avail, avail);
            }
        }
    }
}
