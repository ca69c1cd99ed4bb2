//! The round trip: CLP answers QEMU presented to a Linux 6.12 s390x guest,
//! what that guest's vfio-pci then reported about the function (captured
//! live with `tests/vfio-capture/`), and the answers zpci-rs builds back
//! from the capture, compared field by field.
//!
//! The guest kernel does not hand the CLP values through unchanged. What
//! it changes, with the line that changes it (Linux 6.12:
//! `arch/s390/pci/pci_clp.c`, `drivers/iommu/s390-iommu.c`,
//! `drivers/vfio/pci/vfio_pci_zdev.c`, `drivers/vfio/vfio_iommu_type1.c`),
//! is each in [`Adjustment`]; a check says which one it expects. Not
//! compared: the function id, user-defined id and function handle (not in
//! the capabilities; the guest's `fh` is its enabled handle), the BARs
//! (read from configuration space, not from the answers), and what no
//! capability carries: the group's relaxed-translation flag and
//! designation type mask, and QEMU's DMA limit, which reaches the guest
//! only as the shrunk DMA aperture (the capture's `DMA_AVAIL` is the
//! guest's own type1 limit).
//!
//! Rebuilding needs one step back through QEMU's own policy: an
//! intercepted function's group id is the simulated id QEMU gave it
//! (0xF0 up), which the guest reports as the function's host group id;
//! re-presented as it is, QEMU would put it in the default group
//! (`s390-pci-vfio.c` 196). The rebuild therefore gives the capture the
//! host group id the presented group was made for (recorded with the
//! presented answer), and rebuilds the functions of one bridge in plug
//! order in one group table, as QEMU did.

#![forbid(unsafe_code)]

use std::fmt;

use zpci_core::clp::{FunctionGroup, GroupFlags, PciFunction, MAXSTBL_MASK, NOI_MASK};
use zpci_core::defaults::{self, DEFAULT_FN_GROUP, SIM_FN_GROUP_START};
use zpci_core::vfio::caps::{parse_device_info, parse_iommu_info, ParsedDeviceCaps};
use zpci_core::vfio::clp_builder::{self, GroupTable, HostFunction};
use zpci_core::vfio::host::HostAnswer;
use zpci_core::vfio::profile::HostProfile;

/// `ZPCI_TABLE_SIZE_RT`: the I/O address space the guest's IOMMU covers.
pub const TABLE_SIZE_RT: u64 = 1 << 42;
/// `ZPCI_MAX_WRITE_SIZE`: what the guest reports as `maxstbl`.
pub const MAX_WRITE_SIZE: u16 = 128;
/// The guest's `vfio_iommu_type1.dma_entry_limit` default (`U16_MAX`).
pub const GUEST_DMA_ENTRY_LIMIT: u32 = 65535;
/// The guest's page size.
pub const GUEST_PAGE_SIZE: u64 = 4096;

/// What the guest kernel does to a value on its way from CLP to VFIO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// `start_dma = PAGE_ALIGN(sdma)`: `s390-iommu.c` 787.
    StartDmaPageAligned,
    /// `end_dma = start_dma + min(s390_iommu_aperture, ZPCI_TABLE_SIZE_RT -
    /// start_dma, edma - start_dma + 1) - 1` (`start_dma` aligned), the
    /// aperture being the guest's memory size: `s390-iommu.c` 788-791 (`zpci_init_iommu`), 833-837
    /// (`s390_iommu_aperture`), and 533-534 (`s390_iommu_probe_device`).
    EndDmaCut,
    /// `fmb_length = sizeof(u32) * fmb_len`: `pci_clp.c` 166.
    FmbLengthInBytes,
    /// Group flags: always `VFIO_DEVICE_INFO_ZPCI_FLAG_REFRESH`, whatever
    /// the group said: `vfio_pci_zdev.c` 51.
    RefreshAlways,
    /// `maxstbl = ZPCI_MAX_WRITE_SIZE` (128); the presented `maxstbl` is
    /// reported as `imaxstbl`: `vfio_pci_zdev.c` 54 and 57 (`pci_clp.c`
    /// 109).
    MaxstblConstant,
    /// `noi` is a 12-bit field of the response block and `maxstbl` a
    /// 13-bit one: `pci_clp.h` (`u16 noi : 12`, `u16 maxstbl : 13`),
    /// `pci_clp.c` 106, 109.
    FieldWidth,
    /// The function path capability is always there, 4 segments:
    /// `vfio_pci_zdev.c` 103, 139.
    PfipAlways,
    /// The utility string capability only with the flag, 64 bytes:
    /// `vfio_pci_zdev.c` 78, 133 (`pci_clp.c` 176-180).
    UtilOnlyWithFlag,
    /// Capability versions are the kernel's: base 2, group 2, strings 1:
    /// `vfio_pci_zdev.c` 27, 47, 77, 102.
    CapVersions,
    /// The usable IOVA range is the aperture, the rest reserved:
    /// `s390-iommu.c` 502-516 (`s390_iommu_get_resv_regions`).
    IovaRangeIsAperture,
    /// `DMA_AVAIL` is the guest's own type1 limit, `dma_entry_limit`
    /// (65535): `vfio_iommu_type1.c` 58, 2565.
    GuestDmaLimit,
    /// Re-presented, a simulated group id would go to the default group
    /// (QEMU's `s390-pci-vfio.c` 196); rebuilt with the host group id the
    /// presented group was made for.
    SimulatedGroupRebuilt,
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartDmaPageAligned => "page-aligned by the guest (s390-iommu.c 787)",
            Self::EndDmaCut => {
                "cut to the guest's memory and the 4 TiB table (s390-iommu.c 788-791, 533-534)"
            }
            Self::FmbLengthInBytes => "4 bytes per fmb_len unit (pci_clp.c 166)",
            Self::RefreshAlways => "always REFRESH in the capability (vfio_pci_zdev.c 51)",
            Self::MaxstblConstant => "ZPCI_MAX_WRITE_SIZE in the capability (vfio_pci_zdev.c 54)",
            Self::FieldWidth => "field width of the response block (pci_clp.h noi:12, maxstbl:13)",
            Self::PfipAlways => "always reported, 4 segments (vfio_pci_zdev.c 103, 139)",
            Self::UtilOnlyWithFlag => "only with the flag, 64 bytes (vfio_pci_zdev.c 78, 133)",
            Self::CapVersions => "the kernel's capability version (vfio_pci_zdev.c 27, 47, 77)",
            Self::IovaRangeIsAperture => "the aperture, the rest reserved (s390-iommu.c 502-516)",
            Self::GuestDmaLimit => "the guest's own type1 limit (vfio_iommu_type1.c 58, 2565)",
            Self::SimulatedGroupRebuilt => {
                "simulated group rebuilt from its host group (s390-pci-vfio.c 196, 226-229)"
            }
        })
    }
}

/// The guest, as far as its adjustments depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestKernel {
    /// `s390_iommu_aperture`: the guest's memory size (`high_memory`)
    /// times the `s390_iommu_aperture=` factor (1 by default).
    pub iommu_aperture: u64,
}

/// What QEMU presented for one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// Query PCI Function values.
    pub function: PciFunction,
    /// Query PCI Function Group values.
    pub group: FunctionGroup,
    /// The host group id the group was made for.
    pub group_host_id: u8,
    /// Whether relaxed translation was offered.
    pub relaxed_translation: bool,
}

impl Presented {
    /// An emulated function without a profile: QEMU's defaults.
    #[must_use]
    pub fn default_function(fid: u32, uid: u16) -> Self {
        Self {
            function: defaults::pci_function(fid, uid),
            group: defaults::function_group(),
            group_host_id: DEFAULT_FN_GROUP,
            relaxed_translation: false,
        }
    }

    /// The answers of a plugged function.
    #[must_use]
    pub fn from_host(p: &HostAnswer) -> Self {
        Self {
            function: p.answers.function.clone(),
            group: p.answers.group.clone(),
            group_host_id: p.group_host_id,
            relaxed_translation: p.answers.relaxed_translation,
        }
    }
}

/// One comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What is compared.
    pub name: String,
    /// The presented value.
    pub presented: String,
    /// The value expected back (the presented one, adjusted).
    pub want: String,
    /// The value found.
    pub got: String,
    /// The adjustment that makes `want` differ from `presented`.
    pub adjustment: Option<Adjustment>,
}

impl Check {
    /// Whether the value found is the one expected.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.want == self.got
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.ok() { "ok  " } else { "FAIL" };
        write!(f, "{verdict} {} {}", self.name, self.got)?;
        if !self.ok() {
            write!(f, " (want {})", self.want)?;
        }
        match self.adjustment {
            Some(a) if self.presented == "-" => write!(f, " [{a}]")?,
            Some(a) if self.want != self.presented => {
                write!(f, " [presented {}: {a}]", self.presented)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Collects checks.
struct Checks {
    prefix: String,
    list: Vec<Check>,
}

impl Checks {
    fn add(
        &mut self,
        name: &str,
        presented: impl fmt::Display,
        want: impl fmt::Display,
        got: impl fmt::Display,
        adjustment: Option<Adjustment>,
    ) {
        self.list.push(Check {
            name: format!("{} {name}", self.prefix),
            presented: presented.to_string(),
            want: want.to_string(),
            got: got.to_string(),
            adjustment,
        });
    }

    /// A value the guest hands through unchanged.
    fn same(&mut self, name: &str, presented: impl fmt::Display, got: impl fmt::Display) {
        let p = presented.to_string();
        self.add(name, &p, &p, got, None);
    }
}

fn hex(v: impl fmt::LowerHex) -> String {
    format!("{v:#x}")
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// What the guest makes of the presented aperture.
#[must_use]
pub fn guest_aperture(sdma: u64, edma: u64, guest: &GuestKernel) -> (u64, u64) {
    // The kernel's unsigned long arithmetic, wrapping included.
    let start = sdma.wrapping_add(GUEST_PAGE_SIZE - 1) & !(GUEST_PAGE_SIZE - 1);
    let size = guest
        .iommu_aperture
        .min(TABLE_SIZE_RT.saturating_sub(start))
        .min(edma.wrapping_sub(start).wrapping_add(1));
    (start, start.wrapping_add(size).wrapping_sub(1))
}

/// Rebuilds the answers of the functions of one host bridge from their
/// captures, in plug order, and compares them with what was presented.
#[derive(Clone, Debug, Default)]
pub struct RoundTrip {
    groups: GroupTable,
}

impl RoundTrip {
    /// A round trip over a bridge with only the default group.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The checks of one function, named `name` in them: `presented` is
    /// what QEMU presented, `captured` what the guest's vfio-pci said.
    ///
    /// # Errors
    /// The capture's device info has not even the fixed fields.
    pub fn function(
        &mut self,
        name: &str,
        presented: &Presented,
        captured: &HostProfile,
        guest: &GuestKernel,
    ) -> Result<Vec<Check>, String> {
        let dev = parse_device_info(&captured.device_info, captured.endian)
            .map_err(|e| format!("{name}: {e}"))?;
        let iommu = captured
            .iommu_info
            .as_ref()
            .map(|i| parse_iommu_info(i, captured.endian))
            .transpose()
            .map_err(|e| format!("{name}: {e}"))?;
        let mut c = Checks {
            prefix: name.to_owned(),
            list: Vec::new(),
        };
        for p in dev
            .problems
            .iter()
            .chain(iommu.iter().flat_map(|i| &i.problems))
        {
            c.add("capability problem", "none", "none", p, None);
        }
        capability_checks(&mut c, presented, &dev, guest);
        if let Some(i) = &iommu {
            let (start, end) =
                guest_aperture(presented.function.sdma, presented.function.edma, guest);
            let ranges: Vec<String> = i
                .iova_ranges
                .iter()
                .flat_map(|r| &r.ranges)
                .map(ToString::to_string)
                .collect();
            c.add(
                "iommu iova_ranges",
                "-",
                format!("{}", zpci_core::vfio::caps::IovaRange { start, end }),
                ranges.join(","),
                Some(Adjustment::IovaRangeIsAperture),
            );
            c.add(
                "iommu dma_avail",
                "-",
                GUEST_DMA_ENTRY_LIMIT,
                opt(i.dma_avail.as_ref().map(|d| d.avail)),
                Some(Adjustment::GuestDmaLimit),
            );
        } else {
            c.add("iommu info", "-", "present", "none", None);
        }

        // The rebuild, with the simulated group's host id put back.
        let mut rebuilt_dev = dev.clone();
        let pfgid = presented.function.pfgid;
        let simulated = (SIM_FN_GROUP_START..DEFAULT_FN_GROUP).contains(&pfgid);
        if simulated {
            if let Some(b) = rebuilt_dev.base.as_mut() {
                b.gid = presented.group_host_id;
            }
        }
        let host = HostFunction {
            fid: presented.function.fid,
            uid: u16::try_from(presented.function.uid).unwrap_or(u16::MAX),
            device: &rebuilt_dev,
            iommu: iommu.as_ref(),
            interpreted: false,
            relaxed_translation: presented.relaxed_translation,
            first_on_container: false,
        };
        let a = clp_builder::build(&host, &mut self.groups);
        for w in &a.warnings {
            c.add("rebuild warning", "none", "none", w, None);
        }
        answer_checks(&mut c, presented, &a.function, &a.group, guest, simulated);
        Ok(c.list)
    }
}

/// The capabilities against the presented values, adjusted.
fn capability_checks(c: &mut Checks, p: &Presented, dev: &ParsedDeviceCaps, guest: &GuestKernel) {
    let f = &p.function;
    let g = &p.group;
    let (start, end) = guest_aperture(f.sdma, f.edma, guest);
    match &dev.base {
        Some(b) => {
            c.add(
                "base version",
                "-",
                2,
                b.version,
                Some(Adjustment::CapVersions),
            );
            c.same("base gid", hex(f.pfgid), hex(b.gid));
            c.same("base pft", hex(f.pft), hex(b.pft));
            c.add(
                "base fmb_length",
                f.fmbl,
                u32::from(f.fmbl) * 4,
                b.fmb_length,
                Some(Adjustment::FmbLengthInBytes),
            );
            c.add(
                "base end_dma",
                hex(f.edma),
                hex(end),
                hex(b.end_dma),
                Some(Adjustment::EndDmaCut),
            );
            c.add(
                "base start_dma",
                hex(f.sdma),
                hex(start),
                hex(b.start_dma),
                Some(Adjustment::StartDmaPageAligned),
            );
        }
        None => c.add("base capability", "-", "present", "none", None),
    }
    match &dev.group {
        Some(cap) => {
            c.add(
                "group version",
                "-",
                2,
                cap.version,
                Some(Adjustment::CapVersions),
            );
            c.add(
                "group imaxstbl",
                hex(g.maxstbl),
                hex(g.maxstbl & MAXSTBL_MASK),
                opt(cap.imaxstbl.map(hex)),
                Some(Adjustment::MaxstblConstant),
            );
        }
        None => c.add("group capability", "-", "present", "none", None),
    }
    let util_flag = f.flags.0 & zpci_core::clp::FunctionFlags::UTIL_STR_AVAILABLE != 0;
    c.add(
        "util capability",
        util_flag,
        util_flag,
        dev.util.is_some(),
        Some(Adjustment::UtilOnlyWithFlag),
    );
    c.add(
        "pfip capability size",
        "-",
        4,
        opt(dev.pfip.as_ref().map(|p| p.size)),
        Some(Adjustment::PfipAlways),
    );
}

/// The rebuilt answers against the presented ones, adjusted.
fn answer_checks(
    c: &mut Checks,
    p: &Presented,
    f: &PciFunction,
    g: &FunctionGroup,
    guest: &GuestKernel,
    simulated: bool,
) {
    let pf = &p.function;
    let pg = &p.group;
    let (start, end) = guest_aperture(pf.sdma, pf.edma, guest);
    c.add(
        "function sdma",
        hex(pf.sdma),
        hex(start),
        hex(f.sdma),
        Some(Adjustment::StartDmaPageAligned),
    );
    c.add(
        "function edma",
        hex(pf.edma),
        hex(end),
        hex(f.edma),
        Some(Adjustment::EndDmaCut),
    );
    c.same("function pchid", hex(pf.pchid), hex(f.pchid));
    c.same("function vfn", hex(pf.vfn), hex(f.vfn));
    let gid_adj = simulated.then_some(Adjustment::SimulatedGroupRebuilt);
    c.add(
        "function pfgid",
        hex(pf.pfgid),
        hex(pf.pfgid),
        hex(f.pfgid),
        gid_adj,
    );
    c.same("function flags", hex(pf.flags.0), hex(f.flags.0));
    c.same("function pft", hex(pf.pft), hex(f.pft));
    c.same("function fmbl", hex(pf.fmbl), hex(f.fmbl));
    c.same("function pfip", hex_bytes(&pf.pfip), hex_bytes(&f.pfip));
    c.same(
        "function util_str",
        hex_bytes(&pf.util_str),
        hex_bytes(&f.util_str),
    );

    // The default group is answered from QEMU's own values, not the
    // capability: nothing of the guest's shows in it.
    let from_cap = f.pfgid != DEFAULT_FN_GROUP;
    let adj = |a| from_cap.then_some(a);
    let refresh = if from_cap {
        (pg.flags.0 & !GroupFlags::REFRESH) | GroupFlags::REFRESH
    } else {
        pg.flags.0
    };
    c.add(
        "group flags",
        hex(pg.flags.0),
        hex(refresh),
        hex(g.flags.0),
        adj(Adjustment::RefreshAlways),
    );
    c.add(
        "group noi",
        pg.noi,
        if from_cap { pg.noi & NOI_MASK } else { pg.noi },
        g.noi,
        adj(Adjustment::FieldWidth),
    );
    c.add(
        "group maxstbl",
        hex(pg.maxstbl),
        hex(if from_cap { MAX_WRITE_SIZE } else { pg.maxstbl }),
        hex(g.maxstbl),
        adj(Adjustment::MaxstblConstant),
    );
    c.same("group mui", pg.mui, g.mui);
    c.same("group version", pg.version, g.version);
    c.same("group dtsm", hex(pg.dtsm), hex(g.dtsm));
    c.same("group dasm", hex(pg.dasm), hex(g.dasm));
    c.same("group msia", hex(pg.msia), hex(g.msia));
}

/// The checks of the guest's sysfs attributes of a function (the
/// `pci ADDRESS ATTRIBUTE VALUE` lines of the guest's report) against
/// what was presented (`arch/s390/pci/pci_sysfs.c` formats).
#[must_use]
pub fn sysfs_checks(name: &str, presented: &Presented, attrs: &[(String, String)]) -> Vec<Check> {
    let f = &presented.function;
    let get = |a: &str| {
        attrs
            .iter()
            .find(|(k, _)| k == a)
            .map_or_else(|| "missing".to_owned(), |(_, v)| v.clone())
    };
    let mut c = Checks {
        prefix: format!("{name} sysfs"),
        list: Vec::new(),
    };
    c.same("uid", format!("{:#x}", f.uid), get("uid"));
    c.same(
        "function_id",
        format!("{:#010x}", f.fid),
        get("function_id"),
    );
    c.same("pfgid", format!("{:#04x}", f.pfgid), get("pfgid"));
    c.same("pchid", format!("{:#06x}", f.pchid), get("pchid"));
    c.same("vfn", format!("{:#06x}", f.vfn), get("vfn"));
    c.same("pft", format!("{:#04x}", f.pft), get("pft"));
    for (i, s) in f.pfip.iter().enumerate() {
        let attr = format!("pfip/segment{i}");
        c.same(&attr, format!("{s:#04x}"), get(&attr));
    }
    c.same(
        "util_string_hex",
        hex_bytes(&f.util_str),
        get("util_string_hex"),
    );
    c.list
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use zpci_core::vfio::host::{FunctionRequest, HostBridge};

    const GUEST: GuestKernel = GuestKernel {
        iommu_aperture: 1 << 30,
    };

    #[test]
    fn the_guest_cuts_the_aperture() {
        assert_eq!(
            guest_aperture(0x1_0000_0000, 0x01ff_ffff_ffff_ffff, &GUEST),
            (0x1_0000_0000, 0x1_3fff_ffff)
        );
        assert_eq!(
            guest_aperture(0x2_0000_0000, 0x2_007f_ffff, &GUEST),
            (0x2_0000_0000, 0x2_007f_ffff)
        );
        // the size is counted from the aligned start (s390-iommu.c 790)
        assert_eq!(guest_aperture(0x1001, 0x2000, &GUEST), (0x2000, 0x2000));
        // near the end of the table
        let g = GuestKernel {
            iommu_aperture: u64::MAX,
        };
        assert_eq!(
            guest_aperture(TABLE_SIZE_RT - 0x2000, u64::MAX, &g),
            (TABLE_SIZE_RT - 0x2000, TABLE_SIZE_RT - 1)
        );
    }

    /// The default function's capture, checked against QEMU's defaults.
    #[test]
    fn the_default_function_round_trips() {
        let captured = HostProfile::parse(include_bytes!(
            "../../../tests/fixtures/guest612-default-virtio-blk.zpcihost"
        ))
        .unwrap();
        let p = Presented::default_function(0, 5);
        let checks = RoundTrip::new()
            .function("0005:00:00.0", &p, &captured, &GUEST)
            .unwrap();
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.ok())
            .map(ToString::to_string)
            .collect();
        assert_eq!(failed, Vec::<String>::new());
        assert!(checks.len() > 20);
        let edma = checks
            .iter()
            .find(|c| c.name.ends_with("function edma"))
            .unwrap();
        assert_eq!(
            edma.to_string(),
            "ok   0005:00:00.0 function edma 0x13fffffff [presented 0x1ffffffffffffff: cut to the \
             guest's memory and the 4 TiB table (s390-iommu.c 788-791, 533-534)]"
        );
    }

    /// The crafted profile's two functions, presented by QEMU and
    /// captured in the guest, round trip.
    #[test]
    fn replayed_functions_round_trip() {
        let profile = HostProfile::parse(include_bytes!(
            "../../../tests/fixtures/replay-sample.zpcihost"
        ))
        .unwrap();
        let mut bridge = HostBridge::new();
        let mut rt = RoundTrip::new();
        for (uid, file) in [
            (
                0x20,
                &include_bytes!("../../../tests/fixtures/guest612-replay-sample-0020.zpcihost")[..],
            ),
            (
                0x21,
                &include_bytes!("../../../tests/fixtures/guest612-replay-sample-0021.zpcihost")[..],
            ),
        ] {
            let req = FunctionRequest {
                fid: uid,
                uid: uid as u16,
                interpreted: false,
                relaxed_translation: false,
            };
            let p = Presented::from_host(&bridge.plug_replay(&profile, "sample", &req));
            assert_eq!(p.function.pfgid, 0xf0);
            let captured = HostProfile::parse(file).unwrap();
            let checks = rt.function("f", &p, &captured, &GUEST).unwrap();
            let failed: Vec<String> = checks
                .iter()
                .filter(|c| !c.ok())
                .map(ToString::to_string)
                .collect();
            assert_eq!(failed, Vec::<String>::new());
            let maxstbl = checks.iter().find(|c| c.name == "f group maxstbl").unwrap();
            assert_eq!(
                maxstbl.to_string(),
                "ok   f group maxstbl 0x80 [presented 0x200: ZPCI_MAX_WRITE_SIZE in the \
                 capability (vfio_pci_zdev.c 54)]"
            );
        }
    }

    #[test]
    fn a_wrong_value_fails_its_check() {
        let captured = HostProfile::parse(include_bytes!(
            "../../../tests/fixtures/guest612-default-virtio-blk.zpcihost"
        ))
        .unwrap();
        let mut p = Presented::default_function(0, 5);
        p.function.pchid = 7;
        let checks = RoundTrip::new()
            .function("x", &p, &captured, &GUEST)
            .unwrap();
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.ok())
            .map(ToString::to_string)
            .collect();
        assert_eq!(failed, ["FAIL x function pchid 0x0 (want 0x7)"]);
    }

    #[test]
    fn sysfs_values_are_compared_in_the_kernels_format() {
        let p = Presented::default_function(12, 0xa);
        let attrs: Vec<(String, String)> = [
            ("uid", "0xa"),
            ("function_id", "0x0000000c"),
            ("pfgid", "0xff"),
            ("pchid", "0x0000"),
            ("vfn", "0x0000"),
            ("pft", "0x00"),
            ("pfip/segment0", "0x00"),
            ("pfip/segment1", "0x00"),
            ("pfip/segment2", "0x00"),
            ("pfip/segment3", "0x00"),
            ("util_string_hex", &"00".repeat(64)),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        let checks = sysfs_checks("000a:00:00.0", &p, &attrs);
        assert_eq!(checks.len(), 11);
        assert!(checks.iter().all(Check::ok), "{checks:?}");
        let checks = sysfs_checks("000a:00:00.0", &p, &attrs[1..]);
        assert_eq!(
            checks[0].to_string(),
            "FAIL 000a:00:00.0 sysfs uid missing (want 0xa)"
        );
    }
}
