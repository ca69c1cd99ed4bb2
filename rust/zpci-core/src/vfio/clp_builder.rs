//! The CLP answers of a passthrough function, built from what the host's
//! VFIO driver reported.
//!
//! [`build`] starts from the values of an emulated function
//! ([`defaults::pci_function`], group [`defaults::DEFAULT_FN_GROUP`]) and
//! applies the host's capabilities with the policies of QEMU 10.0.2's
//! `hw/s390x/s390-pci-vfio.c` (`s390_pci_get_clp_info` and the functions
//! it calls, in the same order: base, group, utility string, function
//! path). Line numbers below are in that file unless another is named.
//!
//! Policies, each with a test of the same name:
//! 1. `base_fields`: with the base capability, `sdma`, `edma`, `pchid`,
//!    `vfn` and `pfgid` are the host's (123-127); without it the defaults
//!    stay (116-119).
//! 2. `fmbl_and_pft_zero`: `fmbl` and `pft` are answered as 0 whatever the
//!    host says (128-130); the host's function type is kept apart, in
//!    [`ClpAnswers::host_pft`] (132).
//! 3. `ism_turns_relaxed_translation_off`: a function of type ISM (5) never
//!    has relaxed translation (138-140).
//! 4. `edma_shrunk_to_dma_limit`: without relaxed translation, the
//!    aperture is shrunk to the DMA limit: with `size = limit << 12` (the
//!    limit counts 4 KiB mappings), when `0 < size < end_dma - start_dma + 1`
//!    (64-bit wrapping arithmetic), `edma = start_dma + size - 1` (151-156).
//!    Only with the base capability: the default aperture is never shrunk.
//! 5. `dma_limit_from_dma_avail`: the limit is the container's
//!    `DMA_AVAIL` count, taken only by the function that starts the
//!    container's DMA count (`s390_pci_start_dma_count`, 86-91). A function
//!    joining a container whose count was already started has no limit
//!    (79-84), nor has any function when the capability is absent or the
//!    IOMMU info could not be read (75-77, `hw/vfio/container.c` 293-297):
//!    then QEMU keeps no count at all and RPCIT never reports exhaustion
//!    (`s390-pci-inst.c` 667, 744-748). Unlike QEMU's generic VFIO
//!    container code (`container.c` 528-530), no default of 65535 is used.
//! 6. `host_fh_from_base_v2`: the host function handle comes from a base
//!    capability of version 2 or later (168-176); without it an
//!    interpreted function cannot be plugged (`s390-pci-bus.c` 1035-1036),
//!    reported as [`BuildWarning::NoHostFh`].
//! 7. `default_group_without_group_cap` / `default_group_for_simulated_host_group`:
//!    without the group capability, or when the host's group id is 0xF0 or
//!    above (the host function is itself simulated; also the case without
//!    the base capability, whose default `pfgid` is 0xFF), the function is
//!    in the default group 0xFF (196-202).
//! 8. `intercepted_functions_share_simulated_groups`: an intercepted (not
//!    interpreted) function goes to the simulated group already made for
//!    its host group (211-216), else to a new simulated group, numbered up
//!    from 0xF0 (226-229; `s390-pci-bus.c` 883); `simulated_groups_run_out`:
//!    when the next number would be 0xFF, to the default group (218-224),
//!    so there are 15 simulated groups (0xF0-0xFE), never freed.
//! 9. `existing_group_is_shared`: a group that already exists keeps the
//!    values of the function that created it (235-237); later functions'
//!    capabilities and flags do not change it.
//! 10. `new_group_from_group_cap`: a new group takes `dasm`, `msia`, `mui`,
//!     `noi` and `version` from the capability (247-250, 256) and `dtsm`
//!     0x40 (257). Its flags start from zero (`s390_group_create` allocates
//!     zeroed, `s390-pci-bus.c` 792-802), so unlike the default group it
//!     has no REFRESH unless the host says so.
//! 11. `refresh_and_rtr_flags`: REFRESH when the capability's flags have
//!     `VFIO_DEVICE_INFO_ZPCI_FLAG_REFRESH` (244-246); RTR when relaxed
//!     translation is available (241-243): the `relaxed-translation`
//!     property (on by default, `s390-pci-bus.c` 1547; off for machines
//!     9.2 and older, `s390-virtio-ccw.c` 942) and not ISM.
//! 12. `maxstbl_or_imaxstbl`: an interpreted function whose group
//!     capability is version 2 or later gets `imaxstbl`, any other
//!     `maxstbl` (251-255).
//! 13. `util_string`: with the utility string capability the flag is set
//!     and the string copied (284-285); one whose size exceeds 64 bytes is
//!     ignored (278-282; the parser drops it).
//! 14. `function_path`: the function path is copied (311); one whose size
//!     exceeds 4 is ignored (305-309; the parser drops it).
//!
//! And one thing QEMU does not do:
//! 15. `aperture_clamped_to_usable_iova`: when the IOMMU info lists the
//!     container's usable IOVA ranges, the range containing `sdma` is
//!     found. If `edma` lies past its end, `edma` becomes its end and
//!     [`BuildWarning::ApertureClamped`] names both windows: DMA mappings
//!     past it would fail in the host. If no range contains `sdma`,
//!     nothing is changed and [`BuildWarning::ApertureOutsideUsable`] says
//!     so. This runs last, on the final aperture (defaulted, from the host,
//!     or shrunk).
//!
//! Every field of the answers carries its [`Provenance`].

#![forbid(unsafe_code)]

use thiserror::Error;

use crate::clp::{FunctionFlags, FunctionGroup, GroupFlags, PciFunction};
use crate::defaults::{self, DEFAULT_FN_GROUP, SIM_FN_GROUP_START};
use crate::provenance::{Field, Provenance, Provenances, FUNCTION_FIELDS, GROUP_FIELDS};
use crate::vfio::caps::{
    cap_id, IovaRange, ParsedDeviceCaps, ParsedIommuCaps, ZpciGroup, ZPCI_FLAG_REFRESH,
};

/// PCI function type of ISM devices (`ZPCI_PFT_ISM`).
pub const PFT_ISM: u8 = 5;
/// Shift from a count of DMA mappings to bytes (`TARGET_PAGE_BITS`).
pub const DMA_PAGE_SHIFT: u32 = 12;

/// Something the operator should know about an answer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BuildWarning {
    /// All simulated groups are taken.
    #[error(
        "no simulated function group left for an intercepted function of host group \
         {host_gid:#04x}: default group 0xff used"
    )]
    SimulatedGroupsExhausted {
        /// The host's group id.
        host_gid: u8,
    },
    /// An interpreted function without the host function handle.
    #[error(
        "interpreted function needs the host function handle (zPCI base capability v2 or \
         later), which the host did not report"
    )]
    NoHostFh,
    /// The aperture went past the usable IOVA range containing its start.
    #[error(
        "DMA aperture {aperture} is not inside the host's usable IOVA range {usable}: edma \
         clamped to {end:#x}",
        end = .usable.end
    )]
    ApertureClamped {
        /// The aperture before clamping.
        aperture: IovaRange,
        /// The usable range containing `sdma`.
        usable: IovaRange,
    },
    /// No usable IOVA range contains `sdma`.
    #[error(
        "DMA aperture {aperture} starts outside the host's usable IOVA ranges ({}): aperture \
         left as is",
        list(.usable)
    )]
    ApertureOutsideUsable {
        /// The aperture.
        aperture: IovaRange,
        /// The usable ranges.
        usable: Vec<IovaRange>,
    },
}

fn list(ranges: &[IovaRange]) -> String {
    if ranges.is_empty() {
        return "none".to_owned();
    }
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One function group, as QEMU's `S390PCIGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    /// The group id the guest sees.
    pub id: u8,
    /// The host's group id it was made for.
    pub host_id: u8,
    /// The Query PCI Function Group answer.
    pub group: FunctionGroup,
    /// Where the answer's fields came from.
    pub provenance: Provenances,
}

/// The function groups of one PCI host bridge, as QEMU's `zpci_groups`
/// list and `next_sim_grp`. Groups are only ever added, at most one per id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupTable {
    entries: Vec<GroupEntry>,
    next_simulated: u8,
}

impl Default for GroupTable {
    fn default() -> Self {
        Self::new()
    }
}

impl GroupTable {
    /// A table holding only the default group 0xFF.
    #[must_use]
    pub fn new() -> Self {
        Self {
            entries: vec![default_group_entry()],
            next_simulated: SIM_FN_GROUP_START,
        }
    }

    /// The group with id `id` (`s390_group_find`).
    #[must_use]
    pub fn find(&self, id: u8) -> Option<&GroupEntry> {
        self.entries.iter().find(|g| g.id == id)
    }

    /// The simulated group made for host group `host_id`
    /// (`s390_group_find_host_sim`).
    #[must_use]
    pub fn find_host_simulated(&self, host_id: u8) -> Option<&GroupEntry> {
        self.entries
            .iter()
            .find(|g| g.id >= SIM_FN_GROUP_START && g.host_id == host_id)
    }

    /// The id the next simulated group would get; 0xFF when none is left.
    #[must_use]
    pub fn next_simulated(&self) -> u8 {
        self.next_simulated
    }

    /// Every group, in creation order.
    #[must_use]
    pub fn entries(&self) -> &[GroupEntry] {
        &self.entries
    }

    /// Takes the next simulated group id, if one is left.
    fn take_simulated(&mut self) -> Option<u8> {
        let id = self.next_simulated;
        if id == DEFAULT_FN_GROUP {
            return None;
        }
        self.next_simulated = id.saturating_add(1);
        Some(id)
    }

    fn default_entry(&self) -> GroupEntry {
        self.find(DEFAULT_FN_GROUP)
            .cloned()
            .unwrap_or_else(default_group_entry)
    }
}

/// The default group 0xFF (`s390_pci_init_default_group`).
fn default_group_entry() -> GroupEntry {
    GroupEntry {
        id: DEFAULT_FN_GROUP,
        host_id: DEFAULT_FN_GROUP,
        group: defaults::function_group(),
        provenance: Provenances::all(&GROUP_FIELDS, Provenance::Default),
    }
}

/// What the host reported about one passthrough function, and how QEMU
/// runs it.
#[derive(Clone, Copy, Debug)]
pub struct HostFunction<'a> {
    /// Function id (the device's `fid` property).
    pub fid: u32,
    /// User-defined id (the device's `uid` property).
    pub uid: u16,
    /// The parsed `VFIO_DEVICE_GET_INFO` answer.
    pub device: &'a ParsedDeviceCaps,
    /// The parsed `VFIO_IOMMU_GET_INFO` answer of the function's container;
    /// `None` when it could not be read (or the container is not type1).
    pub iommu: Option<&'a ParsedIommuCaps>,
    /// The function runs interpreted (its final `interpret` setting, after
    /// QEMU fell back to intercepting where interpretation is missing).
    pub interpreted: bool,
    /// The `relaxed-translation` property.
    pub relaxed_translation: bool,
    /// This function starts its container's DMA count: no other plugged
    /// function shares the container (QEMU keys the count by container and
    /// drops it with its last user).
    pub first_on_container: bool,
}

/// The answers for one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClpAnswers {
    /// Query PCI Function values (BARs are filled in at query time).
    pub function: PciFunction,
    /// Query PCI Function Group values of `function.pfgid`.
    pub group: FunctionGroup,
    /// Whether this function created its group.
    pub group_created: bool,
    /// The host's function type (QEMU's `pbdev->pft`), 0 when unknown.
    pub host_pft: u8,
    /// Whether the guest may use relaxed translation.
    pub relaxed_translation: bool,
    /// The host function handle.
    pub host_fh: Option<u32>,
    /// DMA mappings available to the container; `None`: QEMU keeps no count.
    pub dma_avail: Option<u32>,
    /// Where every function and group field came from.
    pub provenance: Provenances,
    /// Things the operator should know.
    pub warnings: Vec<BuildWarning>,
}

/// The group a function ends up in.
struct GroupChoice {
    entry: GroupEntry,
    created: bool,
    why: Provenance,
}

const WHY_BASE_FMBL: Provenance =
    Provenance::Policy("0 until other measurement block formats are supported");
const WHY_BASE_PFT: Provenance = Provenance::Policy("0: the host's type is kept apart");
const WHY_SHRUNK: Provenance = Provenance::Policy("edma shrunk to the DMA limit");
const WHY_CLAMPED: Provenance = Provenance::Policy("edma clamped to the host's usable IOVA range");
const WHY_NO_GROUP_CAP: Provenance =
    Provenance::Policy("default group: no group capability from the host");
const WHY_HOST_SIM: Provenance =
    Provenance::Policy("default group: the host's group is simulated (0xf0 or above)");
const WHY_SIM_EXHAUSTED: Provenance =
    Provenance::Policy("default group: no simulated group left for an intercepted function");
const WHY_SIM_SHARED: Provenance =
    Provenance::Policy("simulated group of intercepted functions of the same host group");
const WHY_SIM_NEW: Provenance =
    Provenance::Policy("new simulated group for an intercepted function");
const WHY_RTR_ON: Provenance = Provenance::Policy("relaxed translation available");
const WHY_RTR_OFF: Provenance =
    Provenance::Policy("relaxed translation off (property, or ISM function)");
const WHY_IMAXSTBL: Provenance =
    Provenance::Policy("interpreted function: imaxstbl of the group capability");
const WHY_DTSM: Provenance = Provenance::Policy("QEMU's designation type mask");

/// Builds the CLP answers of the function `host` describes, adding its
/// group to `groups` when it is new.
#[must_use]
pub fn build(host: &HostFunction<'_>, groups: &mut GroupTable) -> ClpAnswers {
    let mut function = defaults::pci_function(host.fid, host.uid);
    let mut prov = Provenances::all(&FUNCTION_FIELDS, Provenance::Default);
    let mut warnings = Vec::new();
    let mut rtr = host.relaxed_translation;
    let dma_avail = host
        .iommu
        .and_then(|i| i.dma_avail.as_ref())
        .map(|d| d.avail);
    let dma_limit = if host.first_on_container {
        dma_avail
    } else {
        None
    };

    // s390_pci_read_base
    let mut host_pft = 0;
    if let Some(base) = &host.device.base {
        let src = Provenance::HostCap {
            id: cap_id::ZPCI_BASE,
            version: base.version,
        };
        function.sdma = base.start_dma;
        function.edma = base.end_dma;
        function.pchid = base.pchid;
        function.vfn = base.vfn;
        function.pfgid = base.gid;
        function.fmbl = 0;
        function.pft = 0;
        for f in [
            Field::Sdma,
            Field::Edma,
            Field::Pchid,
            Field::Vfn,
            Field::Pfgid,
        ] {
            prov.set(f, src);
        }
        prov.set(Field::Fmbl, WHY_BASE_FMBL);
        prov.set(Field::Pft, WHY_BASE_PFT);
        host_pft = base.pft;
        if host_pft == PFT_ISM {
            rtr = false;
        }
        if !rtr {
            if let Some(limit) = dma_limit {
                // QEMU's uint64_t arithmetic, wrapping included.
                let size = u64::from(limit) << DMA_PAGE_SHIFT;
                let aperture = base.end_dma.wrapping_sub(base.start_dma).wrapping_add(1);
                if size > 0 && size < aperture {
                    function.edma = base.start_dma.wrapping_add(size).wrapping_sub(1);
                    prov.set(Field::Edma, WHY_SHRUNK);
                }
            }
        }
    }
    let host_fh = host.device.base.as_ref().and_then(|b| b.fh);
    if host.interpreted && host_fh.is_none() {
        warnings.push(BuildWarning::NoHostFh);
    }

    // s390_pci_read_group
    let choice = choose_group(host, groups, function.pfgid, rtr, &mut warnings);
    function.pfgid = choice.entry.id;
    prov.set(Field::Pfgid, choice.why);

    // s390_pci_read_util
    if let Some(util) = &host.device.util {
        function.flags = FunctionFlags(function.flags.0 | FunctionFlags::UTIL_STR_AVAILABLE);
        function.util_str = util.util_str;
        prov.set(
            Field::UtilStr,
            Provenance::HostCap {
                id: cap_id::ZPCI_UTIL,
                version: util.version,
            },
        );
    }

    // s390_pci_read_pfip
    if let Some(pfip) = &host.device.pfip {
        function.pfip = pfip.pfip;
        prov.set(
            Field::Pfip,
            Provenance::HostCap {
                id: cap_id::ZPCI_PFIP,
                version: pfip.version,
            },
        );
    }

    // Not in QEMU: the aperture must be mappable in the host.
    if let Some(ranges) = host.iommu.and_then(|i| i.iova_ranges.as_ref()) {
        let aperture = IovaRange {
            start: function.sdma,
            end: function.edma,
        };
        match ranges.ranges.iter().find(|r| r.contains(function.sdma)) {
            Some(usable) if function.edma > usable.end => {
                warnings.push(BuildWarning::ApertureClamped {
                    aperture,
                    usable: *usable,
                });
                function.edma = usable.end;
                prov.set(Field::Edma, WHY_CLAMPED);
            }
            Some(_) => {}
            None => warnings.push(BuildWarning::ApertureOutsideUsable {
                aperture,
                usable: ranges.ranges.clone(),
            }),
        }
    }

    for &(f, p) in choice.entry.provenance.entries() {
        prov.set(f, p);
    }
    ClpAnswers {
        function,
        group: choice.entry.group,
        group_created: choice.created,
        host_pft,
        relaxed_translation: rtr,
        host_fh,
        dma_avail,
        provenance: prov,
        warnings,
    }
}

/// `s390_pci_read_group`: `pfgid` is the host's group id (or the default
/// when the base capability was missing).
fn choose_group(
    host: &HostFunction<'_>,
    groups: &mut GroupTable,
    pfgid: u8,
    rtr: bool,
    warnings: &mut Vec<BuildWarning>,
) -> GroupChoice {
    let default = |groups: &GroupTable, why| GroupChoice {
        entry: groups.default_entry(),
        created: false,
        why,
    };
    let Some(cap) = &host.device.group else {
        return default(groups, WHY_NO_GROUP_CAP);
    };
    if pfgid >= SIM_FN_GROUP_START {
        return default(groups, WHY_HOST_SIM);
    }
    let host_gid = pfgid;
    let (id, why) = if host.interpreted {
        let why = match &host.device.base {
            Some(b) => Provenance::HostCap {
                id: cap_id::ZPCI_BASE,
                version: b.version,
            },
            None => Provenance::Default,
        };
        (host_gid, why)
    } else {
        if let Some(entry) = groups.find_host_simulated(host_gid) {
            return GroupChoice {
                entry: entry.clone(),
                created: false,
                why: WHY_SIM_SHARED,
            };
        }
        match groups.take_simulated() {
            Some(id) => (id, WHY_SIM_NEW),
            None => {
                warnings.push(BuildWarning::SimulatedGroupsExhausted { host_gid });
                return default(groups, WHY_SIM_EXHAUSTED);
            }
        }
    };
    if let Some(entry) = groups.find(id) {
        return GroupChoice {
            entry: entry.clone(),
            created: false,
            why,
        };
    }
    let entry = new_group(id, host_gid, cap, host.interpreted, rtr);
    groups.entries.push(entry.clone());
    GroupChoice {
        entry,
        created: true,
        why,
    }
}

/// A group made from the host's group capability.
fn new_group(id: u8, host_id: u8, cap: &ZpciGroup, interpreted: bool, rtr: bool) -> GroupEntry {
    let src = Provenance::HostCap {
        id: cap_id::ZPCI_GROUP,
        version: cap.version,
    };
    let mut flags = 0;
    if rtr {
        flags |= GroupFlags::RTR;
    }
    if cap.flags & ZPCI_FLAG_REFRESH != 0 {
        flags |= GroupFlags::REFRESH;
    }
    let (maxstbl, maxstbl_why) = match cap.imaxstbl {
        Some(imaxstbl) if interpreted => (imaxstbl, WHY_IMAXSTBL),
        _ => (cap.maxstbl, src),
    };
    let mut provenance = Provenances::all(&GROUP_FIELDS, src);
    provenance.set(Field::Rtr, if rtr { WHY_RTR_ON } else { WHY_RTR_OFF });
    provenance.set(Field::Maxstbl, maxstbl_why);
    provenance.set(Field::Dtsm, WHY_DTSM);
    GroupEntry {
        id,
        host_id,
        group: FunctionGroup {
            noi: cap.noi,
            version: cap.pci_version,
            flags: GroupFlags(flags),
            maxstbl,
            mui: cap.mui,
            dtsm: defaults::DTSM,
            dasm: cap.dasm,
            msia: cap.msi_addr,
        },
        provenance,
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use crate::clp::{CLP_UTIL_STR_LEN, QUERY_PCI_FNGRP_RSP_LEN, QUERY_PCI_FN_RSP_LEN};
    use crate::vfio::caps::{
        parse_device_info, parse_iommu_info, DmaAvail, Endian, IovaRanges, ZpciPfip, ZpciUtil,
    };
    use crate::vfio::fixtures::{self as fx, Info};

    const BASE_V2: Provenance = Provenance::HostCap { id: 1, version: 2 };
    const GROUP_V2: Provenance = Provenance::HostCap { id: 2, version: 2 };

    fn util() -> ZpciUtil {
        let mut util_str = [0u8; CLP_UTIL_STR_LEN];
        util_str[..8].copy_from_slice(&fx::SAMPLE_UTIL);
        ZpciUtil {
            offset: 112,
            version: 1,
            util_str,
            size: 8,
        }
    }

    /// What an s390x host reports for a typical function.
    fn device() -> ParsedDeviceCaps {
        ParsedDeviceCaps {
            flags: 0x83,
            base: Some(fx::sample_base()),
            group: Some(fx::sample_group()),
            util: Some(util()),
            pfip: Some(ZpciPfip {
                offset: 192,
                version: 1,
                pfip: [1, 2, 3, 4],
                size: 4,
            }),
            ..ParsedDeviceCaps::default()
        }
    }

    fn iommu(avail: Option<u32>, ranges: Option<Vec<IovaRange>>) -> ParsedIommuCaps {
        ParsedIommuCaps {
            dma_avail: avail.map(|avail| DmaAvail {
                offset: 56,
                version: 1,
                avail,
            }),
            iova_ranges: ranges.map(|ranges| IovaRanges {
                offset: 72,
                version: 1,
                ranges,
            }),
            ..ParsedIommuCaps::default()
        }
    }

    fn host<'a>(d: &'a ParsedDeviceCaps, i: Option<&'a ParsedIommuCaps>) -> HostFunction<'a> {
        HostFunction {
            fid: 0x10,
            uid: 0x20,
            device: d,
            iommu: i,
            interpreted: true,
            relaxed_translation: true,
            first_on_container: true,
        }
    }

    fn intercepted<'a>(d: &'a ParsedDeviceCaps) -> HostFunction<'a> {
        HostFunction {
            interpreted: false,
            ..host(d, None)
        }
    }

    fn with_gid(gid: u8) -> ParsedDeviceCaps {
        let mut d = device();
        d.base.as_mut().unwrap().gid = gid;
        d
    }

    #[test]
    fn base_fields() {
        let d = device();
        let a = build(&host(&d, None), &mut GroupTable::new());
        let f = &a.function;
        assert_eq!((f.sdma, f.edma), (0x1_0000_0000, 0x1_ffff_ffff));
        assert_eq!((f.pchid, f.vfn, f.pfgid), (0x01c4, 3, 0x02));
        assert_eq!((f.fid, f.uid), (0x10, 0x20), "ids are the device's");
        for field in [
            Field::Sdma,
            Field::Edma,
            Field::Pchid,
            Field::Vfn,
            Field::Pfgid,
        ] {
            assert_eq!(a.provenance.of(field), Some(BASE_V2), "{field:?}");
        }

        let d = ParsedDeviceCaps {
            base: None,
            ..device()
        };
        let a = build(&host(&d, None), &mut GroupTable::new());
        let def = defaults::pci_function(0x10, 0x20);
        assert_eq!((a.function.sdma, a.function.edma), (def.sdma, def.edma));
        assert_eq!((a.function.pchid, a.function.vfn), (0, 0));
        assert_eq!(a.provenance.of(Field::Sdma), Some(Provenance::Default));
        assert_eq!(a.host_pft, 0);
    }

    #[test]
    fn fmbl_and_pft_zero() {
        let d = device(); // fmb_length 0x40, pft 0x0a
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!((a.function.fmbl, a.function.pft), (0, 0));
        assert_eq!(a.host_pft, 0x0a);
        assert_eq!(a.provenance.of(Field::Fmbl), Some(WHY_BASE_FMBL));
        assert_eq!(a.provenance.of(Field::Pft), Some(WHY_BASE_PFT));
    }

    #[test]
    fn ism_turns_relaxed_translation_off() {
        let mut d = device();
        d.base.as_mut().unwrap().pft = PFT_ISM;
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert!(!a.relaxed_translation);
        assert_eq!(a.group.flags.0 & GroupFlags::RTR, 0);
        assert_eq!(a.provenance.of(Field::Rtr), Some(WHY_RTR_OFF));
        assert_eq!(a.host_pft, 5);

        let a = build(&host(&device(), None), &mut GroupTable::new());
        assert!(a.relaxed_translation, "other types keep it");
    }

    #[test]
    fn edma_shrunk_to_dma_limit() {
        let d = device(); // aperture 4 GiB at 4 GiB
        let i = iommu(Some(65535), None);
        let no_rtr = HostFunction {
            relaxed_translation: false,
            ..host(&d, Some(&i))
        };
        let a = build(&no_rtr, &mut GroupTable::new());
        // 65535 pages of 4 KiB
        assert_eq!(a.function.edma, 0x1_0000_0000 + 0x0fff_f000 - 1);
        assert_eq!(a.provenance.of(Field::Edma), Some(WHY_SHRUNK));

        // relaxed translation available: the full aperture is advertised
        let a = build(&host(&d, Some(&i)), &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_ffff_ffff);

        // a limit at least as large as the aperture changes nothing
        for pages in [0x10_0000, 0x10_0001, u32::MAX] {
            let i = iommu(Some(pages), None);
            let a = build(
                &HostFunction {
                    iommu: Some(&i),
                    ..no_rtr
                },
                &mut GroupTable::new(),
            );
            assert_eq!(a.function.edma, 0x1_ffff_ffff, "{pages:#x}");
        }
        // one page less than the aperture shrinks it by one page
        let i = iommu(Some(0xf_ffff), None);
        let a = build(
            &HostFunction {
                iommu: Some(&i),
                ..no_rtr
            },
            &mut GroupTable::new(),
        );
        assert_eq!(a.function.edma, 0x1_ffff_efff);

        // a limit of 0 changes nothing
        let i = iommu(Some(0), None);
        let a = build(
            &HostFunction {
                iommu: Some(&i),
                ..no_rtr
            },
            &mut GroupTable::new(),
        );
        assert_eq!(a.function.edma, 0x1_ffff_ffff);

        // the whole 64-bit space: QEMU's size wraps to 0, nothing shrinks
        let mut full = device();
        let b = full.base.as_mut().unwrap();
        (b.start_dma, b.end_dma) = (0, u64::MAX);
        let a = build(
            &HostFunction {
                device: &full,
                ..no_rtr
            },
            &mut GroupTable::new(),
        );
        assert_eq!(a.function.edma, u64::MAX);

        // without the base capability the default aperture stays
        let nobase = ParsedDeviceCaps {
            base: None,
            ..device()
        };
        let a = build(
            &HostFunction {
                device: &nobase,
                ..no_rtr
            },
            &mut GroupTable::new(),
        );
        assert_eq!(a.function.edma, defaults::EDMA);
    }

    #[test]
    fn dma_limit_from_dma_avail() {
        let d = device();
        let i = iommu(Some(0x100), None);
        let no_rtr = HostFunction {
            relaxed_translation: false,
            ..host(&d, Some(&i))
        };
        let a = build(&no_rtr, &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_0000_0000 + 0x10_0000 - 1);
        assert_eq!(a.dma_avail, Some(0x100));

        // a function joining a container whose count is started: no limit
        let joined = HostFunction {
            first_on_container: false,
            ..no_rtr
        };
        let a = build(&joined, &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_ffff_ffff);
        assert_eq!(
            a.dma_avail,
            Some(0x100),
            "the count is still the container's"
        );

        // no DMA_AVAIL capability, or no IOMMU info: no count, no limit
        let none = iommu(None, None);
        for iommu in [Some(&none), None] {
            let a = build(&HostFunction { iommu, ..no_rtr }, &mut GroupTable::new());
            assert_eq!(a.function.edma, 0x1_ffff_ffff);
            assert_eq!(a.dma_avail, None);
        }
    }

    #[test]
    fn host_fh_from_base_v2() {
        let d = device();
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!(a.host_fh, Some(0x8000_0c07));
        assert_eq!(a.warnings, []);

        let mut v1 = device();
        let b = v1.base.as_mut().unwrap();
        (b.version, b.fh) = (1, None);
        let a = build(&host(&v1, None), &mut GroupTable::new());
        assert_eq!(a.host_fh, None);
        assert_eq!(a.warnings, [BuildWarning::NoHostFh]);
        assert_eq!(
            a.warnings[0].to_string(),
            "interpreted function needs the host function handle (zPCI base capability v2 or \
             later), which the host did not report"
        );
        let a = build(&intercepted(&v1), &mut GroupTable::new());
        assert_eq!(a.warnings, [], "intercepted functions do without");
    }

    #[test]
    fn default_group_without_group_cap() {
        let d = ParsedDeviceCaps {
            group: None,
            ..device()
        };
        let mut t = GroupTable::new();
        let a = build(&host(&d, None), &mut t);
        assert_eq!(a.function.pfgid, 0xff);
        assert_eq!(a.group, defaults::function_group());
        assert!(!a.group_created);
        assert_eq!(a.provenance.of(Field::Pfgid), Some(WHY_NO_GROUP_CAP));
        assert_eq!(a.provenance.of(Field::Noi), Some(Provenance::Default));
        assert_eq!(t.entries().len(), 1);
    }

    #[test]
    fn default_group_for_simulated_host_group() {
        for gid in [0xf0, 0xf7, 0xff] {
            let d = with_gid(gid);
            for h in [host(&d, None), intercepted(&d)] {
                let mut t = GroupTable::new();
                let a = build(&h, &mut t);
                assert_eq!(a.function.pfgid, 0xff);
                assert_eq!(a.provenance.of(Field::Pfgid), Some(WHY_HOST_SIM));
                assert_eq!(t.next_simulated(), 0xf0, "no simulated group used");
            }
        }
        let d = with_gid(0xef);
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!(a.function.pfgid, 0xef);

        // without the base capability pfgid is the default 0xff
        let d = ParsedDeviceCaps {
            base: None,
            ..device()
        };
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!(a.function.pfgid, 0xff);
        assert_eq!(a.provenance.of(Field::Pfgid), Some(WHY_HOST_SIM));
    }

    #[test]
    fn intercepted_functions_share_simulated_groups() {
        let mut t = GroupTable::new();
        let (d2, d3) = (with_gid(2), with_gid(3));
        let a = build(&intercepted(&d2), &mut t);
        assert_eq!(a.function.pfgid, 0xf0);
        assert!(a.group_created);
        assert_eq!(a.provenance.of(Field::Pfgid), Some(WHY_SIM_NEW));
        let b = build(&intercepted(&d2), &mut t);
        assert_eq!(
            b.function.pfgid, 0xf0,
            "same host group, same simulated group"
        );
        assert!(!b.group_created);
        assert_eq!(b.provenance.of(Field::Pfgid), Some(WHY_SIM_SHARED));
        let c = build(&intercepted(&d3), &mut t);
        assert_eq!(c.function.pfgid, 0xf1);
        assert_eq!(t.next_simulated(), 0xf2);
        let g = t.find(0xf1).unwrap();
        assert_eq!((g.id, g.host_id), (0xf1, 3));
        assert_eq!(t.find_host_simulated(3).unwrap().id, 0xf1);

        // an interpreted function of host group 2 gets group 2 itself
        let i = build(&host(&d2, None), &mut t);
        assert_eq!(i.function.pfgid, 2);
        assert!(i.group_created);
        assert_eq!(i.provenance.of(Field::Pfgid), Some(BASE_V2));
        assert_eq!(t.find_host_simulated(2).unwrap().id, 0xf0);
    }

    #[test]
    fn simulated_groups_run_out() {
        let mut t = GroupTable::new();
        for gid in 0..15u8 {
            let d = with_gid(gid);
            let a = build(&intercepted(&d), &mut t);
            assert_eq!(a.function.pfgid, 0xf0 + gid);
        }
        assert_eq!(t.next_simulated(), 0xff);
        let d = with_gid(15);
        let a = build(&intercepted(&d), &mut t);
        assert_eq!(a.function.pfgid, 0xff);
        assert_eq!(a.group, defaults::function_group());
        assert_eq!(a.provenance.of(Field::Pfgid), Some(WHY_SIM_EXHAUSTED));
        assert_eq!(
            a.warnings,
            [BuildWarning::SimulatedGroupsExhausted { host_gid: 15 }]
        );
        assert_eq!(
            a.warnings[0].to_string(),
            "no simulated function group left for an intercepted function of host group 0x0f: \
             default group 0xff used"
        );
        assert_eq!(t.next_simulated(), 0xff, "stays exhausted");
        assert_eq!(t.entries().len(), 16);
        // host groups that have one keep getting it
        let d = with_gid(7);
        assert_eq!(build(&intercepted(&d), &mut t).function.pfgid, 0xf7);
    }

    #[test]
    fn existing_group_is_shared() {
        let mut t = GroupTable::new();
        let first = build(&host(&device(), None), &mut t);
        assert!(first.group_created);
        let mut other = device();
        let g = other.group.as_mut().unwrap();
        (g.noi, g.flags, g.mui) = (1, 0, 7);
        let no_rtr = HostFunction {
            relaxed_translation: false,
            ..host(&other, None)
        };
        let second = build(&no_rtr, &mut t);
        assert!(!second.group_created);
        assert_eq!(second.function.pfgid, 2);
        assert_eq!(second.group, first.group, "the first function's values");
        assert_ne!(second.group.flags.0 & GroupFlags::RTR, 0);
        assert!(!second.relaxed_translation, "yet this function has none");
        assert_eq!(second.provenance.of(Field::Noi), Some(GROUP_V2));
        assert_eq!(t.entries().len(), 2);
    }

    #[test]
    fn new_group_from_group_cap() {
        let mut t = GroupTable::new();
        let a = build(&intercepted(&device()), &mut t);
        let g = &a.group;
        assert_eq!(g.dasm, 0x00ff_ffff_ffff_ffff);
        assert_eq!(g.msia, 0xfe00_0000_0000_0000);
        assert_eq!((g.mui, g.noi, g.version), (1000, 2040, 3));
        assert_eq!(g.dtsm, 0x40);
        assert_eq!(g.flags.0 & GroupFlags::FRAME, 0);
        assert_eq!(t.find(a.function.pfgid).unwrap().group, *g);
        for f in [
            Field::Dasm,
            Field::Msia,
            Field::Mui,
            Field::Noi,
            Field::Version,
            Field::Refresh,
        ] {
            assert_eq!(a.provenance.of(f), Some(GROUP_V2), "{f:?}");
        }
        assert_eq!(a.provenance.of(Field::Dtsm), Some(WHY_DTSM));
    }

    #[test]
    fn refresh_and_rtr_flags() {
        let cases = [
            // (host flags, relaxed-translation property, expected flags)
            (
                ZPCI_FLAG_REFRESH,
                true,
                GroupFlags::REFRESH | GroupFlags::RTR,
            ),
            (ZPCI_FLAG_REFRESH, false, GroupFlags::REFRESH),
            (0, true, GroupFlags::RTR),
            (0, false, 0),
            (!ZPCI_FLAG_REFRESH, false, 0),
        ];
        for (host_flags, prop, want) in cases {
            let mut d = device();
            d.group.as_mut().unwrap().flags = host_flags;
            let h = HostFunction {
                relaxed_translation: prop,
                ..host(&d, None)
            };
            let a = build(&h, &mut GroupTable::new());
            assert_eq!(a.group.flags, GroupFlags(want), "{host_flags:#x} {prop}");
            assert_eq!(a.relaxed_translation, prop);
        }
    }

    #[test]
    fn maxstbl_or_imaxstbl() {
        let d = device(); // v2: maxstbl 128, imaxstbl 0x800
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!(a.group.maxstbl, 0x800);
        assert_eq!(a.provenance.of(Field::Maxstbl), Some(WHY_IMAXSTBL));
        let a = build(&intercepted(&d), &mut GroupTable::new());
        assert_eq!(a.group.maxstbl, 128);
        assert_eq!(a.provenance.of(Field::Maxstbl), Some(GROUP_V2));

        let mut v1 = device();
        let g = v1.group.as_mut().unwrap();
        (g.version, g.imaxstbl) = (1, None);
        let a = build(&host(&v1, None), &mut GroupTable::new());
        assert_eq!(a.group.maxstbl, 128, "interpreted, but v1 has no imaxstbl");
    }

    #[test]
    fn util_string() {
        let a = build(&host(&device(), None), &mut GroupTable::new());
        assert_eq!(
            a.function.flags,
            FunctionFlags(FunctionFlags::UTIL_STR_AVAILABLE)
        );
        assert_eq!(a.function.util_str[..8], fx::SAMPLE_UTIL);
        assert_eq!(a.function.util_str[8..], [0; 56]);
        assert_eq!(
            a.provenance.of(Field::UtilStr),
            Some(Provenance::HostCap { id: 3, version: 1 })
        );

        // a string of 65 bytes or more: no string, no flag
        let e = Endian::Big;
        let buf = Info::device(e)
            .cap(fx::base(e, &fx::sample_base()))
            .cap(fx::string(e, 3, 65, &[0xc1; 65]))
            .build();
        let d = parse_device_info(&buf, e).unwrap();
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!(a.function.flags, FunctionFlags(0));
        assert_eq!(a.function.util_str, [0; 64]);
        assert_eq!(a.provenance.of(Field::UtilStr), Some(Provenance::Default));
    }

    #[test]
    fn function_path() {
        let a = build(&host(&device(), None), &mut GroupTable::new());
        assert_eq!(a.function.pfip, [1, 2, 3, 4]);
        let d = ParsedDeviceCaps {
            pfip: None,
            ..device()
        };
        let a = build(&host(&d, None), &mut GroupTable::new());
        assert_eq!(a.function.pfip, [0; 4]);
        assert_eq!(a.provenance.of(Field::Pfip), Some(Provenance::Default));
    }

    #[test]
    fn aperture_clamped_to_usable_iova() {
        let d = device(); // 0x1_0000_0000-0x1_ffff_ffff
        let usable = vec![
            IovaRange {
                start: 0,
                end: 0xfee0_0000 - 1,
            },
            IovaRange {
                start: 0xfef0_0000,
                end: 0x1_7fff_ffff,
            },
        ];
        let i = iommu(None, Some(usable.clone()));
        let a = build(&host(&d, Some(&i)), &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_7fff_ffff);
        assert_eq!(a.function.sdma, 0x1_0000_0000);
        assert_eq!(a.provenance.of(Field::Edma), Some(WHY_CLAMPED));
        assert_eq!(
            a.warnings[0].to_string(),
            "DMA aperture 0x100000000-0x1ffffffff is not inside the host's usable IOVA range \
             0xfef00000-0x17fffffff: edma clamped to 0x17fffffff"
        );

        // inside: nothing changes, nothing said
        let wide = iommu(
            None,
            Some(vec![IovaRange {
                start: 0,
                end: u64::MAX,
            }]),
        );
        let a = build(&host(&d, Some(&wide)), &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_ffff_ffff);
        assert_eq!(a.warnings, []);
        assert_eq!(a.provenance.of(Field::Edma), Some(BASE_V2));

        // sdma outside every range: left as is, said
        let low = iommu(None, Some(vec![usable[0]]));
        let a = build(&host(&d, Some(&low)), &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_ffff_ffff);
        assert_eq!(
            a.warnings[0].to_string(),
            "DMA aperture 0x100000000-0x1ffffffff starts outside the host's usable IOVA ranges \
             (0x0-0xfedfffff): aperture left as is"
        );
        let empty = iommu(None, Some(vec![]));
        let a = build(&host(&d, Some(&empty)), &mut GroupTable::new());
        assert!(a.warnings[0].to_string().contains("ranges (none)"));

        // applied after the DMA limit shrank edma: no clamp needed then
        let both = iommu(Some(0x100), Some(usable));
        let h = HostFunction {
            relaxed_translation: false,
            ..host(&d, Some(&both))
        };
        let a = build(&h, &mut GroupTable::new());
        assert_eq!(a.function.edma, 0x1_000f_ffff);
        assert_eq!(a.warnings, []);

        // the default aperture is checked too
        let nobase = ParsedDeviceCaps {
            base: None,
            ..device()
        };
        let i = iommu(
            None,
            Some(vec![IovaRange {
                start: 0,
                end: 0xffff_ffff_ffff,
            }]),
        );
        let a = build(&host(&nobase, Some(&i)), &mut GroupTable::new());
        assert_eq!(a.function.edma, 0xffff_ffff_ffff);
    }

    #[test]
    fn default_table_holds_the_default_group() {
        let t = GroupTable::default();
        assert_eq!(t.entries().len(), 1);
        let g = t.find(0xff).unwrap();
        assert_eq!(g.group, defaults::function_group());
        assert_eq!(g.host_id, 0xff);
        // As QEMU's s390_group_find_host_sim, whose test is `id >= 0xf0`:
        // the default group matches host id 0xff. Never asked: only host
        // groups below 0xf0 are looked up.
        assert_eq!(t.find_host_simulated(0xff).unwrap().id, 0xff);
        assert_eq!(t.find_host_simulated(0x02), None);
        assert_eq!(t.next_simulated(), 0xf0);
        assert_eq!(t.find(0xf0), None);
    }

    #[test]
    fn every_field_has_a_provenance() {
        let a = build(&host(&device(), None), &mut GroupTable::new());
        for f in FUNCTION_FIELDS.iter().chain(&GROUP_FIELDS) {
            assert!(a.provenance.of(*f).is_some(), "{f:?}");
        }
        assert_eq!(a.provenance.entries().len(), 18);
        assert_eq!(BASE_V2.to_string(), "host capability 1 v2");
        assert_eq!(Provenance::Default.to_string(), "default");
        assert_eq!(WHY_SHRUNK.to_string(), "edma shrunk to the DMA limit");
    }

    /// From the kernel's bytes, in either byte order, to the guest's CLP
    /// response blocks.
    #[test]
    fn kernel_bytes_to_clp_blocks() {
        for e in [Endian::Big, Endian::Little] {
            let mut util_str = [0x40u8; 64];
            util_str[..8].copy_from_slice(&fx::SAMPLE_UTIL);
            let dev = Info::device(e)
                .cap(fx::base(e, &fx::sample_base()))
                .cap(fx::group(e, &fx::sample_group()))
                .cap(fx::string(e, 3, 64, &util_str))
                .cap(fx::string(e, 4, 4, &[1, 2, 3, 4]))
                .build();
            let mmu = Info::iommu(e)
                .cap(fx::migration(e))
                .cap(fx::dma_avail(e, 65535))
                .cap(fx::iova(e, 1, &[(0x1_0000_0000, 0x1_ffff_ffff)]))
                .build();
            let d = parse_device_info(&dev, e).unwrap();
            let i = parse_iommu_info(&mmu, e).unwrap();
            let a = build(&host(&d, Some(&i)), &mut GroupTable::new());
            assert_eq!(a.warnings, []);
            let mut rsp = [0u8; QUERY_PCI_FN_RSP_LEN];
            a.function.encode(&mut rsp);
            assert_eq!(rsp[64..72], 0x1_0000_0000u64.to_be_bytes(), "sdma");
            assert_eq!(rsp[72..80], 0x1_ffff_ffffu64.to_be_bytes(), "edma");
            assert_eq!(rsp[30..32], 0x01c4u16.to_be_bytes(), "pchid");
            assert_eq!((rsp[18], rsp[19]), (0x01, 0x02), "util flag, pfgid");
            assert_eq!(rsp[56..60], [1, 2, 3, 4]);
            assert_eq!(rsp[128..192], util_str);
            let mut rsp = [0u8; QUERY_PCI_FNGRP_RSP_LEN];
            a.group.encode(&mut rsp);
            assert_eq!(rsp[16..18], 2040u16.to_be_bytes(), "noi");
            assert_eq!(rsp[19], 0x21, "rtr | refresh");
            assert_eq!(rsp[20..22], 0x800u16.to_be_bytes(), "imaxstbl");
        }
    }

    /// The base capability's own gid, when interpreted, never lands in a
    /// simulated id, whatever the inputs.
    #[test]
    fn group_ids_stay_in_their_ranges() {
        let mut t = GroupTable::new();
        for gid in 0..=255u8 {
            let d = with_gid(gid);
            for h in [host(&d, None), intercepted(&d)] {
                let a = build(&h, &mut t);
                let id = a.function.pfgid;
                if h.interpreted && gid < 0xf0 {
                    assert_eq!(id, gid);
                } else {
                    assert!(id >= 0xf0, "{gid:#x} -> {id:#x}");
                }
                assert!(t.find(id).is_some(), "every answered group can be queried");
            }
        }
        assert!(t.entries().len() <= 256);
    }
}
