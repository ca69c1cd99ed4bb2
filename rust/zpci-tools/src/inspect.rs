//! The capability inspector of `zpci-caps`: what a host's two VFIO answers
//! hold, capability by capability, and the CLP answers a guest receives
//! for a function backed by them.
//!
//! A [`Capture`] holds the two answers: from a host profile, from two files
//! of raw answers, or read from a live device ([`crate::live`]).
//! [`inspect`] checks and decodes them and plugs the function on a fresh
//! [`HostBridge`], as QEMU does:
//! - a host profile is replayed on an emulated function
//!   ([`HostBridge::plug_replay`], `-device zpci,...,host-profile=FILE`);
//! - raw answers and a live device are a vfio-pci function, first on its
//!   container ([`HostBridge::plug_vfio`]).
//!
//! The CLP values and the words saying where each came from are
//! [`describe`]'s, the ones QEMU's `x-query-zpci` prints.
//!
//! What a capture must be to be inspected: the fixed fields of each answer
//! must fit, and each capability chain must be sound (starting past the
//! fixed fields, every link forward and inside the answer, at most
//! [`MAX_CAPS`] long, and no shorter than its `argsz`). QEMU would go on
//! with the defaults; an inspector that did would show answers the host
//! never meant, so the capture is refused with what is wrong. A capability
//! that is ill-formed on its own is listed with its problem, as dropped,
//! and the answers are built without it, as QEMU builds them.
//!
//! [`Report::text`] and [`Report::json`] render the result. JSON keys are
//! lowercase words joined by dashes; numbers are JSON numbers, written as
//! exact integers whatever their size (a `u64` above 2^53 included).

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use thiserror::Error;

use crate::live::LiveAnswers;
use serde_json::{json, Map, Value};
use zpci_core::describe::{self, Described, Value as Shown};
use zpci_core::provenance::{Attribution, Source};
use zpci_core::vfio::caps::{
    cap_headers, iova_off, parse_device_info, parse_iommu_info, CapError, CapHeader, CapKind,
    Chain, Endian, InfoError, ParsedDeviceCaps, ParsedIommuCaps,
};
use zpci_core::vfio::host::{DmaCount, FunctionRequest, HostAnswer, HostBridge};
use zpci_core::vfio::info::{RecordedKernel, INFO_MIN_LEN, MAX_INFO_LEN, VFIO_TYPE1V2_IOMMU};
use zpci_core::vfio::profile::HostProfile;

// ---------------------------------------------------------------- inputs

/// Where a capture's answers came from, which decides how QEMU plugs the
/// function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A host profile: replayed on an emulated function.
    Profile,
    /// Files holding the raw answers: a vfio-pci function whose kernel
    /// gave them.
    RawAnswers,
    /// A live device: a vfio-pci function.
    Live,
}

impl Origin {
    /// The origin's name in JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Profile => "host-profile",
            Self::RawAnswers => "vfio-answers",
            Self::Live => "live",
        }
    }
}

/// The two answers of one function, and what is known about them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The name used in messages and in the output: the file or address.
    pub name: String,
    /// Where the answers came from.
    pub origin: Origin,
    /// Their byte order.
    pub endian: Endian,
    /// The `VFIO_DEVICE_GET_INFO` answer.
    pub device_info: Vec<u8>,
    /// The `VFIO_IOMMU_GET_INFO` answer, when there is one.
    pub iommu_info: Option<Vec<u8>>,
    /// Why there is no IOMMU answer, when that is known.
    pub iommu_missing: Option<String>,
    /// The container's key for the DMA count (a live container's fd).
    pub container_key: i32,
    /// What else is known: (key, text) pairs, keys lowercase with dashes.
    pub metadata: Vec<(&'static str, String)>,
}

impl Capture {
    /// The capture of a host profile read from `name`.
    #[must_use]
    pub fn from_profile(name: &str, p: &HostProfile) -> Self {
        let mut metadata = Vec::new();
        if let Some(k) = &p.kernel_release {
            metadata.push(("kernel-release", k.clone()));
        }
        if let Some(a) = &p.pci_address {
            metadata.push(("pci-address", a.clone()));
        }
        if let Some(ids) = &p.pci_ids {
            metadata.push(("pci-ids", format!("{:04x}:{:04x}", ids.vendor, ids.device)));
        }
        if let Some(o) = &p.origin {
            metadata.push(("origin", o.clone()));
        }
        Self {
            name: name.to_owned(),
            origin: Origin::Profile,
            endian: p.endian,
            device_info: p.device_info.clone(),
            iommu_info: p.iommu_info.clone(),
            iommu_missing: p
                .iommu_info
                .is_none()
                .then(|| "not recorded in the profile".to_owned()),
            container_key: 0,
            metadata,
        }
    }
}

impl Capture {
    /// The capture of the raw answers in the files `device` and `iommu`,
    /// in byte order `endian`.
    ///
    /// # Errors
    /// A file cannot be read, or its length is outside 16 to
    /// [`MAX_INFO_LEN`].
    pub fn from_answer_files(
        device: &Path,
        iommu: Option<&Path>,
        endian: Endian,
    ) -> Result<Self, InspectError> {
        let device_info = read_answer_file(device, "the VFIO_DEVICE_GET_INFO answer")?;
        let iommu_info = match iommu {
            Some(i) => Some(read_answer_file(i, "the VFIO_IOMMU_GET_INFO answer")?),
            None => None,
        };
        let mut metadata = Vec::new();
        if let Some(i) = iommu {
            metadata.push(("iommu-info-file", i.to_string_lossy().into_owned()));
        }
        Ok(Self {
            name: device.to_string_lossy().into_owned(),
            origin: Origin::RawAnswers,
            endian,
            iommu_missing: iommu_info
                .is_none()
                .then(|| "no --iommu-info given".to_owned()),
            device_info,
            iommu_info,
            container_key: 0,
            metadata,
        })
    }

    /// The capture of a live function's answers; `kernel_release` is this
    /// host's, when known.
    #[must_use]
    pub fn from_live(a: LiveAnswers, kernel_release: Option<&str>) -> Self {
        let iommu_type = if a.iommu_type == VFIO_TYPE1V2_IOMMU {
            "type1v2"
        } else {
            "type1"
        };
        let mut metadata = vec![
            ("pci-address", a.address.clone()),
            ("iommu-group", a.group),
            ("iommu-type", iommu_type.to_owned()),
        ];
        if let Some(r) = kernel_release {
            metadata.push(("kernel-release", r.to_owned()));
        }
        let (iommu_info, iommu_missing) = match a.iommu_info {
            Ok(i) => (Some(i), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            name: a.address,
            origin: Origin::Live,
            endian: a.endian,
            device_info: a.device_info,
            iommu_info,
            iommu_missing,
            container_key: a.container_fd,
            metadata,
        }
    }
}

/// Why a capture cannot be inspected. Every message names the capture.
#[derive(Debug, Error)]
pub enum InspectError {
    /// A file could not be read.
    #[error("{}: cannot read {what}: {error}", .path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What it was to hold.
        what: &'static str,
        /// Why.
        error: io::Error,
    },
    /// A raw answer of a length no kernel gives.
    #[error("{}: {what} is {len} bytes long, not {INFO_MIN_LEN} to {MAX_INFO_LEN}", .path.display())]
    AnswerLength {
        /// The file.
        path: std::path::PathBuf,
        /// What it holds.
        what: &'static str,
        /// Its length (or more: reading stops past the limit).
        len: usize,
    },
    /// The fixed fields of an answer do not fit.
    #[error("{name}: {error}")]
    TooShort {
        /// The capture.
        name: String,
        /// What is wrong.
        error: InfoError,
    },
    /// A capability chain that cannot be followed.
    #[error("{name}: broken {chain} capability chain: {problem}")]
    BrokenChain {
        /// The capture.
        name: String,
        /// Which answer.
        chain: Chain,
        /// What is wrong.
        problem: CapError,
    },
}

/// Reads a file holding one raw answer (`what`, for messages).
///
/// # Errors
/// It cannot be read, or its length is outside 16 to [`MAX_INFO_LEN`].
pub fn read_answer_file(path: &Path, what: &'static str) -> Result<Vec<u8>, InspectError> {
    let read = |error| InspectError::Read {
        path: path.to_owned(),
        what,
        error,
    };
    let file = File::open(path).map_err(read)?;
    let limit = u64::try_from(MAX_INFO_LEN)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).map_err(read)?;
    if !(INFO_MIN_LEN..=MAX_INFO_LEN).contains(&bytes.len()) {
        return Err(InspectError::AnswerLength {
            path: path.to_owned(),
            what,
            len: bytes.len(),
        });
    }
    Ok(bytes)
}

// ---------------------------------------------------------------- report

/// A decoded field of a capability or an info structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// A number, shown in hex.
    Number(u64),
    /// A count or a size, shown in decimal.
    Count(u64),
    /// Bytes, shown as hex.
    Bytes(Vec<u8>),
    /// Text.
    Text(String),
    /// IOVA ranges, inclusive.
    Ranges(Vec<(u64, u64)>),
}

/// What became of a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapStatus {
    /// Read and used.
    Used,
    /// An id QEMU does not know: skipped.
    Skipped,
    /// Ill-formed, or a duplicate: not used.
    Dropped,
}

impl CapStatus {
    /// The status in words.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Used => "used",
            Self::Skipped => "skipped",
            Self::Dropped => "dropped",
        }
    }
}

/// One capability of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapReport {
    /// Offset from the start of the answer.
    pub offset: usize,
    /// Capability id.
    pub id: u16,
    /// Capability version.
    pub version: u16,
    /// The `next` link (0: the last).
    pub next: usize,
    /// Bytes up to the next capability or the end of the answer.
    pub size: usize,
    /// Its name; "unknown" for an id QEMU does not know.
    pub name: &'static str,
    /// What became of it.
    pub status: CapStatus,
    /// The decoded fields, for a capability that was used.
    pub fields: Vec<(&'static str, FieldValue)>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

/// One answer: its fixed fields and its capabilities, in chain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoReport {
    /// Which answer.
    pub chain: Chain,
    /// Its length.
    pub len: usize,
    /// Its fixed fields.
    pub fields: Vec<(&'static str, FieldValue)>,
    /// Its capabilities.
    pub caps: Vec<CapReport>,
}

/// The CLP answers a guest receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClpReport {
    /// What they were built from.
    pub source: Source,
    /// Query PCI Function values, with provenance.
    pub function: Vec<Described>,
    /// The function group id.
    pub group_id: u8,
    /// Query PCI Function Group values, with provenance.
    pub group: Vec<Described>,
    /// The host's function type.
    pub host_pft: u8,
    /// Whether the guest may use relaxed translation.
    pub relaxed_translation: bool,
    /// The host function handle.
    pub host_fh: Option<u32>,
    /// The DMA limit (mappings) QEMU counts down, if any.
    pub dma_limit: Option<u32>,
}

/// Everything `zpci-caps` shows about one capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The capture's name.
    pub name: String,
    /// Where it came from.
    pub origin: Origin,
    /// Byte order of its answers.
    pub endian: Endian,
    /// Its metadata.
    pub metadata: Vec<(&'static str, String)>,
    /// The device answer.
    pub device: InfoReport,
    /// The IOMMU answer.
    pub iommu: Option<InfoReport>,
    /// Why there is no IOMMU answer.
    pub iommu_missing: Option<String>,
    /// The plug request.
    pub request: FunctionRequest,
    /// The CLP answers.
    pub clp: ClpReport,
    /// What QEMU warns the operator about when it plugs the function.
    pub warnings: Vec<String>,
}

// ---------------------------------------------------------------- decoding

fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Whether `p` is about the chain rather than one capability.
fn is_chain_problem(p: &CapError) -> bool {
    matches!(
        p,
        CapError::Incomplete { .. }
            | CapError::StartInsideInfo { .. }
            | CapError::StartOutOfBounds { .. }
            | CapError::NextNotForward { .. }
            | CapError::NextOutOfBounds { .. }
            | CapError::TooManyCaps { .. }
    )
}

/// The offset of the capability `p` is about.
fn problem_offset(p: &CapError) -> Option<usize> {
    match p {
        CapError::TooShort { cap, .. }
        | CapError::Overlaps { cap, .. }
        | CapError::BadVersion { cap }
        | CapError::SizeTooLarge { cap, .. }
        | CapError::Duplicate { cap, .. }
        | CapError::IovaRangesTruncated { cap, .. }
        | CapError::IovaRangeInverted { cap, .. } => Some(cap.offset),
        _ => None,
    }
}

/// Refuses a capture whose answer has a chain problem.
fn check_chain(name: &str, chain: Chain, problems: &[CapError]) -> Result<(), InspectError> {
    match problems.iter().find(|p| is_chain_problem(p)) {
        Some(p) => Err(InspectError::BrokenChain {
            name: name.to_owned(),
            chain,
            problem: p.clone(),
        }),
        None => Ok(()),
    }
}

/// EBCDIC (code page 037) letters, digits and common punctuation as
/// ASCII; anything else as `.`. Trailing blanks are dropped.
#[must_use]
pub fn ebcdic_text(bytes: &[u8]) -> String {
    let ascii = |b: u8| -> char {
        let range = |first: u8, base: u8| char::from(base.saturating_add(b.saturating_sub(first)));
        match b {
            0x81..=0x89 => range(0x81, b'a'),
            0x91..=0x99 => range(0x91, b'j'),
            0xa2..=0xa9 => range(0xa2, b's'),
            0xc1..=0xc9 => range(0xc1, b'A'),
            0xd1..=0xd9 => range(0xd1, b'J'),
            0xe2..=0xe9 => range(0xe2, b'S'),
            0xf0..=0xf9 => range(0xf0, b'0'),
            0x40 => ' ',
            0x4b => '.',
            0x4d => '(',
            0x5d => ')',
            0x4e => '+',
            0x60 => '-',
            0x61 => '/',
            0x6b => ',',
            0x6d => '_',
            0x7a => ':',
            0x7e => '=',
            _ => '.',
        }
    };
    let s: String = bytes.iter().map(|&b| ascii(b)).collect();
    s.trim_end_matches(' ').to_owned()
}

fn n(v: impl Into<u64>) -> FieldValue {
    FieldValue::Number(v.into())
}

fn count(v: impl TryInto<u64>) -> FieldValue {
    FieldValue::Count(v.try_into().unwrap_or(u64::MAX))
}

/// The fields of the device capability at `h`, if the parser used it.
fn device_fields(d: &ParsedDeviceCaps, h: &CapHeader) -> Option<Vec<(&'static str, FieldValue)>> {
    let at = |o: usize| o == h.at.offset;
    if let Some(b) = d.base.as_ref().filter(|b| at(b.offset)) {
        let mut f = vec![
            ("start-dma", n(b.start_dma)),
            ("end-dma", n(b.end_dma)),
            ("pchid", n(b.pchid)),
            ("vfn", n(b.vfn)),
            ("fmb-length", n(b.fmb_length)),
            ("pft", n(b.pft)),
            ("gid", n(b.gid)),
        ];
        if let Some(fh) = b.fh {
            f.push(("fh", n(fh)));
        }
        return Some(f);
    }
    if let Some(g) = d.group.as_ref().filter(|g| at(g.offset)) {
        let mut f = vec![
            ("dasm", n(g.dasm)),
            ("msi-addr", n(g.msi_addr)),
            ("flags", n(g.flags)),
            ("mui", n(g.mui)),
            ("noi", n(g.noi)),
            ("maxstbl", n(g.maxstbl)),
            ("pci-version", n(g.pci_version)),
        ];
        if let Some(i) = g.imaxstbl {
            f.push(("imaxstbl", n(i)));
        }
        return Some(f);
    }
    if let Some(u) = d.util.as_ref().filter(|u| at(u.offset)) {
        let bytes = u.util_str.get(..u.size).unwrap_or_default();
        return Some(vec![
            ("size", count(u.size)),
            ("util-str", FieldValue::Bytes(bytes.to_vec())),
            ("util-str-ebcdic", FieldValue::Text(ebcdic_text(bytes))),
        ]);
    }
    if let Some(p) = d.pfip.as_ref().filter(|p| at(p.offset)) {
        let bytes = p.pfip.get(..p.size).unwrap_or_default();
        return Some(vec![
            ("size", count(p.size)),
            ("pfip", FieldValue::Bytes(bytes.to_vec())),
        ]);
    }
    None
}

/// Offsets in `struct vfio_iommu_type1_info_cap_migration`.
mod migration_off {
    pub const FLAGS: usize = 8;
    pub const PGSIZE_BITMAP: usize = 16;
    pub const MAX_DIRTY_BITMAP_SIZE: usize = 24;
}

/// The fields of the IOMMU capability at `h`, if the parser used it;
/// `cap` is its bytes up to the next capability.
fn iommu_fields(
    i: &ParsedIommuCaps,
    h: &CapHeader,
    cap: &[u8],
    e: Endian,
    dropped: bool,
) -> Option<Vec<(&'static str, FieldValue)>> {
    let at = |o: usize| o == h.at.offset;
    if let Some(r) = i.iova_ranges.as_ref().filter(|r| at(r.offset)) {
        let mut f = Vec::new();
        if let Some(nr) = e.u32_at(cap, iova_off::NR_IOVAS) {
            f.push(("nr-iovas", count(nr)));
        }
        f.push((
            "ranges",
            FieldValue::Ranges(r.ranges.iter().map(|r| (r.start, r.end)).collect()),
        ));
        return Some(f);
    }
    if let Some(d) = i.dma_avail.as_ref().filter(|d| at(d.offset)) {
        return Some(vec![("avail", count(d.avail))]);
    }
    if CapKind::of(Chain::Iommu, h.at.id) == CapKind::Migration && i.migration && !dropped {
        let mut f = Vec::new();
        if let Some(v) = e.u32_at(cap, migration_off::FLAGS) {
            f.push(("flags", n(v)));
        }
        if let Some(v) = e.u64_at(cap, migration_off::PGSIZE_BITMAP) {
            f.push(("pgsize-bitmap", n(v)));
        }
        if let Some(v) = e.u64_at(cap, migration_off::MAX_DIRTY_BITMAP_SIZE) {
            f.push(("max-dirty-bitmap-size", n(v)));
        }
        return Some(f);
    }
    None
}

/// The usable bytes of an answer (`min(argsz, len)`) and its `argsz`,
/// `flags` and `cap_offset`; the parser has checked they fit.
fn usable(buf: &[u8], e: Endian) -> (&[u8], u32, u32, u32) {
    let argsz = e.u32_at(buf, 0).unwrap_or(0);
    let limit = to_usize(argsz).min(buf.len());
    let r = buf.get(..limit).unwrap_or_default();
    (
        r,
        argsz,
        e.u32_at(r, 4).unwrap_or(0),
        e.u32_at(r, 16).unwrap_or(0),
    )
}

fn cap_reports(
    name: &str,
    chain: Chain,
    buf: &[u8],
    e: Endian,
    problems: &[CapError],
    mut fields: impl FnMut(&CapHeader, &[u8], bool) -> Option<Vec<(&'static str, FieldValue)>>,
) -> Result<Vec<CapReport>, InspectError> {
    let (r, _, flags, cap_offset) = usable(buf, e);
    // Both structures have their CAPS flag in bit 7 (device) or 1
    // (IOMMU); the parser read the chain only with it.
    let caps_flag = match chain {
        Chain::Device => zpci_core::vfio::caps::device_info::FLAGS_CAPS,
        Chain::Iommu => zpci_core::vfio::caps::iommu_info::FLAGS_CAPS,
    };
    if flags & caps_flag == 0 {
        return Ok(Vec::new());
    }
    let broken = |problem| InspectError::BrokenChain {
        name: name.to_owned(),
        chain,
        problem,
    };
    let hs = cap_headers(r, e, chain, cap_offset)
        .collect::<Result<Vec<_>, _>>()
        .map_err(broken)?;
    Ok(hs
        .iter()
        .map(|h| {
            let kind = CapKind::of(chain, h.at.id);
            let mine: Vec<String> = problems
                .iter()
                .filter(|p| problem_offset(p) == Some(h.at.offset))
                .map(ToString::to_string)
                .collect();
            let dropping = problems.iter().any(|p| {
                problem_offset(p) == Some(h.at.offset)
                    && !matches!(
                        p,
                        CapError::IovaRangesTruncated { .. } | CapError::IovaRangeInverted { .. }
                    )
            });
            let end = h.at.offset.saturating_add(h.size());
            let cap = r.get(h.at.offset..end).unwrap_or_default();
            let decoded = if kind == CapKind::Unknown {
                None
            } else {
                fields(h, cap, dropping)
            };
            let status = match (kind, &decoded) {
                (CapKind::Unknown, _) => CapStatus::Skipped,
                (_, Some(_)) => CapStatus::Used,
                (_, None) => CapStatus::Dropped,
            };
            CapReport {
                offset: h.at.offset,
                id: h.at.id,
                version: h.at.version,
                next: h.next,
                size: h.size(),
                name: kind.name(),
                status,
                fields: decoded.unwrap_or_default(),
                problems: mine,
            }
        })
        .collect())
}

fn device_report(name: &str, buf: &[u8], e: Endian) -> Result<InfoReport, InspectError> {
    let d = parse_device_info(buf, e).map_err(|error| InspectError::TooShort {
        name: name.to_owned(),
        error,
    })?;
    check_chain(name, Chain::Device, &d.problems)?;
    let (_, argsz, flags, cap_offset) = usable(buf, e);
    let caps = cap_reports(name, Chain::Device, buf, e, &d.problems, |h, _, _| {
        device_fields(&d, h)
    })?;
    Ok(InfoReport {
        chain: Chain::Device,
        len: buf.len(),
        fields: vec![
            ("argsz", count(argsz)),
            ("flags", n(flags)),
            ("num-regions", count(d.num_regions)),
            ("num-irqs", count(d.num_irqs)),
            ("cap-offset", n(cap_offset)),
        ],
        caps,
    })
}

fn iommu_report(name: &str, buf: &[u8], e: Endian) -> Result<InfoReport, InspectError> {
    let i = parse_iommu_info(buf, e).map_err(|error| InspectError::TooShort {
        name: name.to_owned(),
        error,
    })?;
    check_chain(name, Chain::Iommu, &i.problems)?;
    let (_, argsz, flags, cap_offset) = usable(buf, e);
    let caps = cap_reports(
        name,
        Chain::Iommu,
        buf,
        e,
        &i.problems,
        |h, cap, dropped| iommu_fields(&i, h, cap, e, dropped),
    )?;
    let mut fields = vec![("argsz", count(argsz)), ("flags", n(flags))];
    if let Some(p) = i.iova_pgsizes {
        fields.push(("iova-pgsizes", n(p)));
    }
    fields.push(("cap-offset", n(cap_offset)));
    Ok(InfoReport {
        chain: Chain::Iommu,
        len: buf.len(),
        fields,
        caps,
    })
}

/// Checks and decodes `capture`, and plugs its function with `request`
/// on a fresh host bridge (a replayed profile always intercepted and
/// without relaxed translation, whatever `request` says).
///
/// # Errors
/// The capture cannot be inspected: an answer too short for its fixed
/// fields, or a broken capability chain.
pub fn inspect(capture: &Capture, request: &FunctionRequest) -> Result<Report, InspectError> {
    let e = capture.endian;
    // An emulated function is never interpreted and never has relaxed
    // translation (`s390_pcihost_plug`).
    let request = &match capture.origin {
        Origin::Profile => FunctionRequest {
            interpreted: false,
            relaxed_translation: false,
            ..*request
        },
        Origin::RawAnswers | Origin::Live => *request,
    };
    let device = device_report(&capture.name, &capture.device_info, e)?;
    let iommu = match &capture.iommu_info {
        Some(b) => Some(iommu_report(&capture.name, b, e)?),
        None => None,
    };

    let mut bridge = HostBridge::new();
    let kernel = RecordedKernel::new(
        &capture.name,
        e,
        Some(capture.device_info.clone()),
        capture.iommu_info.clone(),
    );
    let (plugged, source): (HostAnswer, Source) = match capture.origin {
        Origin::Profile => {
            let p = HostProfile::new(e, capture.device_info.clone(), capture.iommu_info.clone());
            (
                bridge.plug_replay(&p, &capture.name, request),
                Source::Profile(capture.name.clone()),
            )
        }
        Origin::RawAnswers | Origin::Live => {
            let container = capture.iommu_info.as_ref().map(|_| {
                (
                    &kernel as &dyn zpci_core::vfio::info::VfioInfoSource,
                    capture.container_key,
                )
            });
            (bridge.plug_vfio(&kernel, container, request), Source::Vfio)
        }
    };
    let a = &plugged.answers;
    let function = describe::function(
        &a.function,
        Some(Attribution {
            values: &a.function,
            provenance: &a.provenance,
            source: &source,
        }),
    );
    let group = describe::group(
        &a.group,
        Some(Attribution {
            values: &a.group,
            provenance: &a.provenance,
            source: &source,
        }),
    );
    let dma_limit = match plugged.dma_count {
        DmaCount::Start { avail, .. } => Some(avail),
        DmaCount::None | DmaCount::Join { .. } => None,
    };
    Ok(Report {
        name: capture.name.clone(),
        origin: capture.origin,
        endian: e,
        metadata: capture.metadata.clone(),
        device,
        iommu,
        iommu_missing: capture.iommu_missing.clone(),
        request: *request,
        clp: ClpReport {
            source,
            function,
            group_id: a.function.pfgid,
            group,
            host_pft: a.host_pft,
            relaxed_translation: a.relaxed_translation,
            host_fh: a.host_fh,
            dma_limit,
        },
        warnings: plugged.warnings.clone(),
    })
}

// ---------------------------------------------------------------- text

fn ioctl_of(chain: Chain) -> &'static str {
    zpci_core::vfio::info::ioctl_name(chain)
}

fn endian_name(e: Endian) -> &'static str {
    match e {
        Endian::Big => "big",
        Endian::Little => "little",
    }
}

fn field_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Number(x) => format!("{x:#x}"),
        FieldValue::Count(x) => x.to_string(),
        FieldValue::Bytes(b) => describe::hex(b),
        FieldValue::Text(t) => Value::from(t.as_str()).to_string(),
        FieldValue::Ranges(r) if r.is_empty() => "none".to_owned(),
        FieldValue::Ranges(r) => r
            .iter()
            .map(|(s, e)| format!("{s:#x}-{e:#x}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn described_text(out: &mut String, values: &[Described]) {
    // Long values (strings) do not widen the column.
    let width = values
        .iter()
        .map(|d| d.value.to_string().len())
        .filter(|&l| l <= 18)
        .max()
        .unwrap_or(0);
    for d in values {
        let v = match &d.value {
            Shown::Hex(h) if h.is_empty() => "-".to_owned(),
            v => v.to_string(),
        };
        let _ = writeln!(out, "    {:<9} {v:<width$}  {}", d.name, d.provenance);
    }
}

fn info_text(out: &mut String, info: &InfoReport) {
    let _ = writeln!(out, "{} answer, {} bytes:", ioctl_of(info.chain), info.len);
    let fixed: Vec<String> = info
        .fields
        .iter()
        .map(|(k, v)| format!("{k} {}", field_text(v)))
        .collect();
    let _ = writeln!(out, "  {}", fixed.join(", "));
    if info.caps.is_empty() {
        let _ = writeln!(out, "  no capabilities");
    }
    for c in &info.caps {
        let _ = writeln!(
            out,
            "  capability id {} at {:#x} ({} bytes): {} v{}: {}",
            c.id,
            c.offset,
            c.size,
            c.name,
            c.version,
            c.status.name()
        );
        for (k, v) in &c.fields {
            let _ = writeln!(out, "    {k:<22} {}", field_text(v));
        }
        for p in &c.problems {
            let _ = writeln!(out, "    problem: {p}");
        }
    }
}

impl Report {
    /// How the function was plugged, in words.
    #[must_use]
    pub fn plugged_as(&self) -> String {
        let how = match self.origin {
            Origin::Profile => "replayed on an emulated function (host-profile=FILE)",
            Origin::RawAnswers | Origin::Live => "as a vfio-pci function, first on its container",
        };
        format!(
            "{how}, {}, relaxed-translation={}",
            if self.request.interpreted {
                "interpreted"
            } else {
                "intercepted"
            },
            if self.request.relaxed_translation {
                "on"
            } else {
                "off"
            }
        )
    }

    /// The report for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {}, VFIO answers {}-endian",
            self.name,
            self.origin.name(),
            endian_name(self.endian)
        );
        for (k, v) in &self.metadata {
            let _ = writeln!(out, "  {k}: {v}");
        }
        info_text(&mut out, &self.device);
        match (&self.iommu, &self.iommu_missing) {
            (Some(i), _) => info_text(&mut out, i),
            (None, why) => {
                let _ = writeln!(
                    out,
                    "{} answer: none ({})",
                    ioctl_of(Chain::Iommu),
                    why.as_deref().unwrap_or("not given")
                );
            }
        }
        let c = &self.clp;
        let _ = writeln!(
            out,
            "CLP answers for fid {:#x} uid {:#x}, {}:",
            self.request.fid,
            self.request.uid,
            self.plugged_as()
        );
        let _ = writeln!(out, "  Query PCI Function:");
        described_text(&mut out, &c.function);
        let _ = writeln!(out, "  Query PCI Function Group {:#04x}:", c.group_id);
        described_text(&mut out, &c.group);
        let _ = writeln!(
            out,
            "  host function type {:#x}, relaxed translation {}, host function handle {}, DMA \
             limit {}",
            c.host_pft,
            if c.relaxed_translation { "on" } else { "off" },
            c.host_fh.map_or("none".to_owned(), |f| format!("{f:#x}")),
            c.dma_limit
                .map_or("none".to_owned(), |l| format!("{l} mappings")),
        );
        if self.warnings.is_empty() {
            let _ = writeln!(out, "warnings: none");
        } else {
            let _ = writeln!(out, "warnings:");
            for w in &self.warnings {
                let _ = writeln!(out, "  {w}");
            }
        }
        out
    }

    /// The report as a JSON object.
    #[must_use]
    pub fn json(&self) -> Value {
        let c = &self.clp;
        let described = |values: &[Described]| {
            values
                .iter()
                .map(|d| {
                    let value = match &d.value {
                        Shown::Number(x) => json!(x),
                        Shown::Hex(h) => json!(h),
                    };
                    (
                        d.name.to_owned(),
                        json!({"value": value, "provenance": d.provenance}),
                    )
                })
                .collect::<Map<_, _>>()
        };
        json!({
            "name": self.name,
            "kind": self.origin.name(),
            "byte-order": endian_name(self.endian),
            "metadata": self.metadata.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<Map<_, _>>(),
            "device-info": info_json(&self.device),
            "iommu-info": self.iommu.as_ref().map(info_json),
            "iommu-info-missing": self.iommu_missing,
            "clp": {
                "source": c.source.kind(),
                "plugged-as": self.plugged_as(),
                "function": described(&c.function),
                "group-id": c.group_id,
                "group": described(&c.group),
                "host-pft": c.host_pft,
                "interpreted": self.request.interpreted,
                "relaxed-translation": c.relaxed_translation,
                "host-fh": c.host_fh,
                "dma-limit": c.dma_limit,
            },
            "warnings": self.warnings,
        })
    }
}

fn field_json(v: &FieldValue) -> Value {
    match v {
        FieldValue::Number(x) | FieldValue::Count(x) => json!(x),
        FieldValue::Bytes(b) => json!(describe::hex(b)),
        FieldValue::Text(t) => json!(t),
        FieldValue::Ranges(r) => r
            .iter()
            .map(|&(start, end)| json!({"start": start, "end": end}))
            .collect(),
    }
}

fn fields_json(fields: &[(&'static str, FieldValue)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), field_json(v)))
            .collect(),
    )
}

fn info_json(info: &InfoReport) -> Value {
    let caps: Vec<Value> = info
        .caps
        .iter()
        .map(|c| {
            json!({
                "offset": c.offset,
                "id": c.id,
                "name": c.name,
                "version": c.version,
                "next": c.next,
                "size": c.size,
                "status": c.status.name(),
                "fields": fields_json(&c.fields),
                "problems": c.problems,
            })
        })
        .collect();
    json!({
        "bytes": info.len,
        "fields": fields_json(&info.fields),
        "capabilities": caps,
    })
}

/// The JSON document of several reports, `{"captures": [...]}`, two
/// spaces an indent, with a final newline.
#[must_use]
pub fn json_document(reports: &[Report]) -> String {
    let doc = json!({"captures": reports.iter().map(Report::json).collect::<Vec<_>>()});
    // Serializing a Value to a String cannot fail.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use zpci_core::vfio::caps::{cap_id, ZpciBase};
    use zpci_core::vfio::fixtures::{
        base, dma_avail, group, sample_base, sample_group, string, Info,
    };

    const E: Endian = Endian::Big;

    fn request() -> FunctionRequest {
        FunctionRequest {
            fid: 7,
            uid: 9,
            interpreted: false,
            relaxed_translation: false,
        }
    }

    fn capture(dev: Vec<u8>, mmu: Option<Vec<u8>>, origin: Origin) -> Capture {
        Capture {
            name: "/x/a.zpcihost".into(),
            origin,
            endian: E,
            device_info: dev,
            iommu_info: mmu,
            iommu_missing: None,
            container_key: 3,
            metadata: Vec::new(),
        }
    }

    fn sample_device() -> Info {
        Info::device(E)
            .cap(base(E, &sample_base()))
            .cap(group(E, &sample_group()))
            .cap(string(E, cap_id::ZPCI_PFIP, 4, &[1, 2, 3, 4]))
    }

    /// A string as the JSON output writes it.
    fn json_string(s: &str) -> String {
        Value::from(s).to_string()
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_string("\n\t\r\u{8}\u{c}"), r#""\n\t\r\b\f""#);
        assert_eq!(
            json_string("\u{1}\u{1f}\u{7f}é"),
            "\"\\u0001\\u001f\u{7f}é\""
        );
        assert_eq!(json_string(""), "\"\"");
    }

    #[test]
    fn json_numbers_are_exact() {
        let j = json!({
            "big": 0xfe00_0000_0000_0000_u64,
            "max": u64::MAX,
            "none": null,
            "list": [true, []],
            "empty": {},
        });
        assert_eq!(
            serde_json::to_string_pretty(&j).unwrap() + "\n",
            "{\n  \"big\": 18302628885633695744,\n  \"max\": 18446744073709551615,\n  \"none\": null,\n  \"list\": [\n    true,\n    []\n  ],\n  \"empty\": {}\n}\n"
        );
    }

    #[test]
    fn ebcdic_is_decoded() {
        let b = [
            0xa9, 0x97, 0x83, 0x89, 0x60, 0x99, 0xa2, 0x40, 0xc1, 0xf0, 0xf9, 0x00, 0x40, 0x40,
        ];
        assert_eq!(ebcdic_text(&b), "zpci-rs A09.");
    }

    #[test]
    fn a_sound_capture_is_decoded_in_chain_order() {
        let dev = sample_device()
            .cap(string(E, 0x77, 4, &[9, 9, 9, 9]))
            .build();
        let mmu = Info::iommu(E).cap(dma_avail(E, 0x10)).build();
        let c = capture(dev, Some(mmu), Origin::Profile);
        let r = inspect(&c, &request()).unwrap();
        let ids: Vec<u16> = r.device.caps.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 2, 4, 0x77]);
        let names: Vec<&str> = r.device.caps.iter().map(|c| c.status.name()).collect();
        assert_eq!(names, ["used", "used", "used", "skipped"]);
        assert_eq!(r.device.caps[3].name, "unknown");
        let b = &r.device.caps[0];
        let pchid = b.fields.iter().find(|(k, _)| *k == "pchid").unwrap();
        assert_eq!(pchid.1, FieldValue::Number(sample_base().pchid.into()));
        // the DMA limit of 0x10 mappings shrinks the aperture
        let edma = r.clp.function.iter().find(|d| d.name == "edma").unwrap();
        assert_eq!(
            edma.value,
            Shown::Number(sample_base().start_dma + 0x10 * 4096 - 1)
        );
        assert_eq!(edma.provenance, "edma shrunk to the DMA limit");
        let sdma = r.clp.function.iter().find(|d| d.name == "sdma").unwrap();
        assert_eq!(
            sdma.provenance,
            "host zPCI base capability (id 1) v2, replayed from /x/a.zpcihost"
        );
        assert_eq!(r.clp.dma_limit, Some(0x10));
        assert_eq!(r.warnings, Vec::<String>::new());
        // an emulated function, whatever the request says
        let vfio_like = FunctionRequest {
            interpreted: true,
            relaxed_translation: true,
            ..request()
        };
        assert_eq!(inspect(&c, &vfio_like).unwrap(), r);
        let t = r.text();
        assert!(t.contains("capability id 119 at "), "{t}");
        assert!(t.contains(": unknown v1: skipped"), "{t}");
    }

    #[test]
    fn raw_answers_are_a_vfio_function() {
        let dev = sample_device().build();
        let mmu = Info::iommu(E).cap(dma_avail(E, 0x10)).build();
        let r = inspect(&capture(dev, Some(mmu), Origin::RawAnswers), &request()).unwrap();
        let sdma = r.clp.function.iter().find(|d| d.name == "sdma").unwrap();
        assert_eq!(sdma.provenance, "host zPCI base capability (id 1) v2");
        assert_eq!(r.clp.source, Source::Vfio);
        assert_eq!(r.clp.dma_limit, Some(0x10));
        assert!(r
            .plugged_as()
            .contains("intercepted, relaxed-translation=off"));
    }

    #[test]
    fn an_ill_formed_capability_is_listed_and_dropped() {
        // a base capability v1 cut to 16 bytes, then a sound group
        let short = base(
            E,
            &ZpciBase {
                version: 1,
                ..sample_base()
            },
        );
        let mut short = short;
        short.body.truncate(8);
        let dev = Info::device(E)
            .cap(short)
            .cap(group(E, &sample_group()))
            .build();
        let r = inspect(&capture(dev, None, Origin::Profile), &request()).unwrap();
        let c = &r.device.caps[0];
        assert_eq!(c.status, CapStatus::Dropped);
        assert!(c.fields.is_empty());
        assert_eq!(c.problems.len(), 1);
        assert!(
            c.problems[0].contains("zPCI base capability v1 at offset 0x18 needs 32"),
            "{:?}",
            c.problems
        );
        assert_eq!(r.device.caps[1].status, CapStatus::Used);
        let sdma = r.clp.function.iter().find(|d| d.name == "sdma").unwrap();
        assert_eq!(sdma.provenance, "default");
        assert!(r
            .warnings
            .iter()
            .any(|w| w.contains("default function values used")));
        let j = json_document(std::slice::from_ref(&r));
        assert!(j.contains("\"status\": \"dropped\""), "{j}");
    }

    #[test]
    fn broken_chains_are_refused() {
        // next pointing back at the first capability: a loop
        let mut dev = sample_device().build();
        let first = 24;
        let second = 24 + 40;
        dev[second + 4..second + 8].copy_from_slice(&(first as u32).to_be_bytes());
        let e = inspect(&capture(dev, None, Origin::Profile), &request()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("/x/a.zpcihost: broken VFIO device info capability chain: zPCI group"),
            "{msg}"
        );
        assert!(msg.contains("not past its header"), "{msg}");

        // next past the end
        let mut dev = sample_device().build();
        dev[first + 4..first + 8].copy_from_slice(&4000u32.to_be_bytes());
        let e = inspect(&capture(dev, None, Origin::Profile), &request()).unwrap_err();
        assert!(e.to_string().contains("beyond the"), "{e}");

        // cap_offset inside the fixed fields, in the IOMMU answer
        let mut mmu = Info::iommu(E).cap(dma_avail(E, 1)).build();
        mmu[16..20].copy_from_slice(&8u32.to_be_bytes());
        let dev = sample_device().build();
        let e = inspect(&capture(dev, Some(mmu), Origin::Profile), &request()).unwrap_err();
        assert!(
            e.to_string()
                .contains("broken VFIO IOMMU info capability chain"),
            "{e}"
        );

        // argsz larger than the answer: cut short
        let mut dev = sample_device().build();
        let len = dev.len() as u32;
        dev[0..4].copy_from_slice(&(len + 8).to_be_bytes());
        let e = inspect(&capture(dev, None, Origin::Profile), &request()).unwrap_err();
        assert!(e.to_string().contains("only"), "{e}");

        // too short for the fixed fields
        let e = inspect(
            &capture(
                vec![0, 0, 0, 16, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0],
                None,
                Origin::Profile,
            ),
            &request(),
        )
        .unwrap_err();
        assert!(matches!(e, InspectError::TooShort { .. }), "{e}");
    }

    #[test]
    fn the_walk_and_the_parser_agree() {
        // Every capability the parser used is one the walk lists as used.
        let dev = sample_device().build();
        let d = parse_device_info(&dev, E).unwrap();
        let r = device_report("x", &dev, E).unwrap();
        for off in [
            d.base.unwrap().offset,
            d.group.unwrap().offset,
            d.pfip.unwrap().offset,
        ] {
            let c = r.device_cap(off).unwrap();
            assert_eq!(c.status, CapStatus::Used);
        }
    }

    impl InfoReport {
        fn device_cap(&self, off: usize) -> Option<&CapReport> {
            self.caps.iter().find(|c| c.offset == off)
        }
    }

    /// Every byte of both answers of the sample profile flipped, and
    /// every length cut: an error or a report, never a panic, and a
    /// report renders.
    #[test]
    fn damaged_answers_never_panic() {
        let p = HostProfile::parse(include_bytes!(
            "../../../tests/fixtures/replay-sample.zpcihost"
        ))
        .unwrap();
        let mmu = p.iommu_info.clone().unwrap();
        let (mut reports, mut errors) = (0, 0);
        let mut check = |dev: Vec<u8>, mmu: Vec<u8>| {
            // The inspector refuses exactly what the parser finds broken.
            let sound = |r: Result<Vec<CapError>, InfoError>| {
                r.is_ok_and(|p| !p.iter().any(is_chain_problem))
            };
            let usable = sound(parse_device_info(&dev, E).map(|d| d.problems))
                && sound(parse_iommu_info(&mmu, E).map(|i| i.problems));
            for origin in [Origin::Profile, Origin::RawAnswers] {
                match inspect(&capture(dev.clone(), Some(mmu.clone()), origin), &request()) {
                    Ok(r) => {
                        assert!(usable);
                        assert!(!r.text().is_empty());
                        assert!(!json_document(std::slice::from_ref(&r)).is_empty());
                        reports += 1;
                    }
                    Err(e) => {
                        assert!(!usable, "{e}");
                        assert!(e.to_string().starts_with("/x/a.zpcihost: "), "{e}");
                        errors += 1;
                    }
                }
            }
        };
        for i in 0..p.device_info.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut d = p.device_info.clone();
                d[i] ^= x;
                check(d, mmu.clone());
            }
            check(p.device_info[..i].to_vec(), mmu.clone());
        }
        for i in 0..mmu.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut m = mmu.clone();
                m[i] ^= x;
                check(p.device_info.clone(), m);
            }
            check(p.device_info.clone(), mmu[..i].to_vec());
        }
        // both outcomes were reached
        assert!(reports > 100 && errors > 100, "{reports} {errors}");
    }

    #[test]
    fn a_live_function_is_a_vfio_function() {
        let live = LiveAnswers {
            address: "0005:00:00.0".into(),
            group: "2".into(),
            iommu_type: VFIO_TYPE1V2_IOMMU,
            device_info: sample_device().build(),
            iommu_info: Err("VFIO_IOMMU_GET_INFO on fd 4 failed: bad".into()),
            container_fd: 4,
            endian: E,
        };
        let c = Capture::from_live(live, Some("6.12"));
        assert_eq!(c.origin, Origin::Live);
        assert_eq!(
            c.metadata,
            [
                ("pci-address", "0005:00:00.0".to_owned()),
                ("iommu-group", "2".to_owned()),
                ("iommu-type", "type1v2".to_owned()),
                ("kernel-release", "6.12".to_owned()),
            ]
        );
        let r = inspect(&c, &request()).unwrap();
        assert_eq!(r.clp.source, Source::Vfio);
        assert_eq!(r.clp.dma_limit, None);
        let t = r.text();
        assert!(
            t.contains(
                "VFIO_IOMMU_GET_INFO answer: none (VFIO_IOMMU_GET_INFO on fd 4 failed: bad)"
            ),
            "{t}"
        );
        assert!(
            t.starts_with("0005:00:00.0: live, VFIO answers big-endian\n"),
            "{t}"
        );
    }

    #[test]
    fn answer_files_outside_the_limits_are_refused() {
        let dir = std::env::temp_dir().join(format!("zpci-inspect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("short.bin");
        std::fs::write(&f, [0u8; 15]).unwrap();
        let e = read_answer_file(&f, "the device info").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: the device info is 15 bytes long, not 16 to 65536",
                f.display()
            )
        );
        let e = read_answer_file(&dir.join("none"), "the device info").unwrap_err();
        assert!(e.to_string().contains("cannot read the device info"), "{e}");
        std::fs::write(&f, [0u8; 16]).unwrap();
        assert_eq!(read_answer_file(&f, "x").unwrap().len(), 16);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
