//! One PCI host bridge's view of its host functions: the function groups
//! and DMA counts it keeps, and how a function backed by a host (a live
//! vfio-pci device, or a replayed [`HostProfile`]) is plugged.
//!
//! This is what QEMU 10.0.2 does at plug time in `s390_pcihost_plug`
//! (`hw/s390x/s390-pci-bus.c` 1142-1164) with `s390_pci_start_dma_count`
//! and `s390_pci_get_clp_info` (`hw/s390x/s390-pci-vfio.c`), in one step:
//! 1. the container's `VFIO_IOMMU_GET_INFO` decides the DMA count: none
//!    when the answer or its `DMA_AVAIL` capability is missing (75-77);
//!    the container's existing count, one user more, when the container
//!    already has one (79-84); else a new count of `DMA_AVAIL` mappings,
//!    whose function is the first on the container (86-92);
//! 2. the device's `VFIO_DEVICE_GET_INFO` and the IOMMU answer go to
//!    [`clp_builder::build`], which keeps the group table.
//!
//! The bridge owns QEMU's `zpci_groups` (as a [`GroupTable`]) and the
//! membership of `zpci_dma_limit` (which container has a count, how many
//! functions use it); QEMU keeps the counters RPCIT decrements. A count
//! is keyed by the container's file descriptor, as in QEMU; a replayed
//! function is alone in a container of its own, keyed by a negative id
//! that no file descriptor has.
//!
//! Nothing the host says stops a plug: what cannot be read or used is
//! replaced by QEMU's defaults and reported in [`HostAnswer::warnings`].
//!
//! The bridge also remembers, per plugged function and per group, what
//! the answers were built from and where each value came from, so that
//! QEMU can say what the guest was shown and why ([`HostBridge::attribution`],
//! [`HostBridge::group_attribution`]); [`HostBridge::unplug`] forgets a
//! function when QEMU unplugs it.

#![forbid(unsafe_code)]

use std::error::Error;

use crate::clp::{FunctionGroup, PciFunction};
use crate::provenance::{Attribution, Source};
use crate::vfio::caps::ParsedIommuCaps;
use crate::vfio::caps::{parse_device_info, parse_iommu_info, Chain, ParsedDeviceCaps};
use crate::vfio::clp_builder::{self, ClpAnswers, GroupTable, HostFunction};
use crate::vfio::info::{read_info, VfioInfoSource};
use crate::vfio::profile::HostProfile;

/// What QEMU knows about the function being plugged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionRequest {
    /// Function id.
    pub fid: u32,
    /// User-defined id.
    pub uid: u16,
    /// The function runs interpreted (after QEMU's fallback).
    pub interpreted: bool,
    /// The `relaxed-translation` property (false for emulated functions).
    pub relaxed_translation: bool,
}

/// What the plug does to the DMA counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaCount {
    /// No count: the host sets no DMA limit (or it could not be read).
    None,
    /// A new count for container `id`, starting at `avail` mappings; the
    /// function is its first user.
    Start {
        /// The container's key.
        id: i32,
        /// DMA mappings available.
        avail: u32,
    },
    /// The existing count of container `id`, now with `users` users.
    Join {
        /// The container's key.
        id: i32,
        /// Its users, this function included.
        users: u32,
    },
}

/// The result of plugging one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAnswer {
    /// The CLP answers.
    pub answers: ClpAnswers,
    /// The host group id the function's group was made for
    /// (`S390PCIGroup.host_id`).
    pub group_host_id: u8,
    /// The DMA count.
    pub dma_count: DmaCount,
    /// The id the next simulated group would get (`next_sim_grp`).
    pub next_simulated: u8,
    /// Messages for the operator.
    pub warnings: Vec<String>,
}

/// One DMA count's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CountUsers {
    id: i32,
    users: u32,
}

/// What one plugged function's answers were built from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FunctionRecord {
    fid: u32,
    source: Source,
    function: PciFunction,
    provenance: crate::provenance::Provenances,
}

/// The host-side state of one PCI host bridge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostBridge {
    groups: GroupTable,
    counts: Vec<CountUsers>,
    replays: u32,
    /// One per plugged host function, at most one per fid.
    functions: Vec<FunctionRecord>,
    /// What made each group other than the default one: at most one per
    /// group id, so at most 256.
    group_sources: Vec<(u8, Source)>,
}

/// `error`, then each of its sources, joined by ": ".
#[must_use]
pub fn error_chain(error: &dyn Error) -> String {
    let mut s = error.to_string();
    let mut next = error.source();
    // Bounded: error chains here are two or three long.
    for _ in 0..8 {
        let Some(e) = next else { break };
        s.push_str(": ");
        s.push_str(&e.to_string());
        next = e.source();
    }
    s
}

impl HostBridge {
    /// A bridge with only the default group and no DMA counts.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The function groups.
    #[must_use]
    pub fn groups(&self) -> &GroupTable {
        &self.groups
    }

    /// The users of container `id`'s DMA count; 0 when it has none.
    #[must_use]
    pub fn dma_count_users(&self, id: i32) -> u32 {
        self.counts
            .iter()
            .find(|c| c.id == id)
            .map_or(0, |c| c.users)
    }

    /// Plugs a vfio-pci function: `device` answers `VFIO_DEVICE_GET_INFO`;
    /// `container`, when the function has a type1 container, answers
    /// `VFIO_IOMMU_GET_INFO` and is keyed by its file descriptor.
    pub fn plug_vfio(
        &mut self,
        device: &dyn VfioInfoSource,
        container: Option<(&dyn VfioInfoSource, i32)>,
        request: &FunctionRequest,
    ) -> HostAnswer {
        let mut warnings = Vec::new();
        let dev = read_device(device, &mut warnings);
        let iommu = container.and_then(|(c, _)| read_iommu(c, &mut warnings));
        let key = container.map(|(_, id)| id);
        self.plug(&dev, iommu.as_ref(), key, request, warnings, Source::Vfio)
    }

    /// Plugs a function that replays `profile` (from the file `name`):
    /// its answers as a vfio-pci function with those answers would get,
    /// in a container of its own.
    pub fn plug_replay(
        &mut self,
        profile: &HostProfile,
        name: &str,
        request: &FunctionRequest,
    ) -> HostAnswer {
        let kernel = profile.kernel(&format!("host profile {name}"));
        let mut warnings = Vec::new();
        let dev = read_device(&kernel, &mut warnings);
        let iommu = profile
            .iommu_info
            .as_ref()
            .and_then(|_| read_iommu(&kernel, &mut warnings));
        let key = match iommu.as_ref().and_then(|i| i.dma_avail.as_ref()) {
            Some(_) => self.next_replay_key(&mut warnings),
            None => None,
        };
        let source = Source::Profile(name.to_owned());
        self.plug(&dev, iommu.as_ref(), key, request, warnings, source)
    }

    /// What zpci-rs answered for function `fid`, if it was plugged from a
    /// host (vfio-pci or a replayed profile) and not unplugged since.
    #[must_use]
    pub fn attribution(&self, fid: u32) -> Option<Attribution<'_, PciFunction>> {
        self.functions
            .iter()
            .find(|r| r.fid == fid)
            .map(|r| Attribution {
                values: &r.function,
                provenance: &r.provenance,
                source: &r.source,
            })
    }

    /// Group `id` as zpci-rs made it, with what the function that created
    /// it was built from; the default group is QEMU's own.
    #[must_use]
    pub fn group_attribution(&self, id: u8) -> Option<Attribution<'_, FunctionGroup>> {
        let entry = self.groups.find(id)?;
        let source = self
            .group_sources
            .iter()
            .find(|(g, _)| *g == id)
            .map(|(_, s)| s)?;
        Some(Attribution {
            values: &entry.group,
            provenance: &entry.provenance,
            source,
        })
    }

    /// Forgets function `fid` (QEMU unplugged it). Its group and DMA count
    /// stay, as in QEMU: groups are never freed, and the count ends with
    /// [`Self::end_dma_count`].
    pub fn unplug(&mut self, fid: u32) {
        self.functions.retain(|r| r.fid != fid);
    }

    /// A container key for a replayed function: -1, -2, ...
    fn next_replay_key(&mut self, warnings: &mut Vec<String>) -> Option<i32> {
        let n = self.replays.checked_add(1)?;
        match i32::try_from(n) {
            Ok(n) => {
                self.replays = n.unsigned_abs();
                Some(-n)
            }
            Err(_) => {
                warnings.push("too many replayed functions: no DMA limit".into());
                None
            }
        }
    }

    fn plug(
        &mut self,
        dev: &ParsedDeviceCaps,
        iommu: Option<&ParsedIommuCaps>,
        key: Option<i32>,
        request: &FunctionRequest,
        mut warnings: Vec<String>,
        source: Source,
    ) -> HostAnswer {
        let avail = iommu.and_then(|i| i.dma_avail.as_ref()).map(|d| d.avail);
        let dma_count = match (avail, key) {
            (Some(avail), Some(id)) => self.start_or_join(id, avail),
            _ => DmaCount::None,
        };
        let host = HostFunction {
            fid: request.fid,
            uid: request.uid,
            device: dev,
            iommu,
            interpreted: request.interpreted,
            relaxed_translation: request.relaxed_translation,
            first_on_container: matches!(dma_count, DmaCount::Start { .. }),
        };
        let answers = clp_builder::build(&host, &mut self.groups);
        warnings.extend(answers.warnings.iter().map(ToString::to_string));
        let group_host_id = self
            .groups
            .find(answers.function.pfgid)
            .map_or(answers.function.pfgid, |g| g.host_id);
        if answers.group_created {
            let id = answers.function.pfgid;
            self.group_sources.retain(|(g, _)| *g != id);
            self.group_sources.push((id, source.clone()));
        }
        self.unplug(request.fid);
        self.functions.push(FunctionRecord {
            fid: request.fid,
            source,
            function: answers.function.clone(),
            provenance: answers.provenance.clone(),
        });
        HostAnswer {
            answers,
            group_host_id,
            dma_count,
            next_simulated: self.groups.next_simulated(),
            warnings,
        }
    }

    fn start_or_join(&mut self, id: i32, avail: u32) -> DmaCount {
        if let Some(c) = self.counts.iter_mut().find(|c| c.id == id) {
            c.users = c.users.saturating_add(1);
            return DmaCount::Join { id, users: c.users };
        }
        self.counts.push(CountUsers { id, users: 1 });
        DmaCount::Start { id, avail }
    }

    /// One user of container `id`'s DMA count is gone
    /// (`s390_pci_end_dma_count`); the count ends with its last user.
    /// Returns the users left (0 also for a container without a count).
    pub fn end_dma_count(&mut self, id: i32) -> u32 {
        let Some(pos) = self.counts.iter().position(|c| c.id == id) else {
            return 0;
        };
        let left = self
            .counts
            .get(pos)
            .map_or(0, |c| c.users.saturating_sub(1));
        if left == 0 {
            self.counts.remove(pos);
        } else if let Some(c) = self.counts.get_mut(pos) {
            c.users = left;
        }
        left
    }
}

/// The parsed device answer; no capabilities (QEMU's defaults) when it
/// cannot be read.
fn read_device(src: &dyn VfioInfoSource, warnings: &mut Vec<String>) -> ParsedDeviceCaps {
    let bytes = match read_info(src, Chain::Device) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!("{}: default function values used", error_chain(&e)));
            return ParsedDeviceCaps::default();
        }
    };
    match parse_device_info(&bytes, src.endian()) {
        Ok(d) => {
            let name = src.describe();
            warnings.extend(d.problems.iter().map(|p| format!("{name}: {p}")));
            d
        }
        Err(e) => {
            warnings.push(format!(
                "{}: {e}: default function values used",
                src.describe()
            ));
            ParsedDeviceCaps::default()
        }
    }
}

/// The parsed IOMMU answer, or `None` when it cannot be read.
fn read_iommu(src: &dyn VfioInfoSource, warnings: &mut Vec<String>) -> Option<ParsedIommuCaps> {
    const FALLBACK: &str =
        "no DMA limit, and the DMA aperture not checked against the host's usable IOVA ranges";
    let bytes = match read_info(src, Chain::Iommu) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!("{}: {FALLBACK}", error_chain(&e)));
            return None;
        }
    };
    match parse_iommu_info(&bytes, src.endian()) {
        Ok(i) => {
            let name = src.describe();
            warnings.extend(i.problems.iter().map(|p| format!("{name}: {p}")));
            Some(i)
        }
        Err(e) => {
            warnings.push(format!("{}: {e}: {FALLBACK}", src.describe()));
            None
        }
    }
}

/// The host function handle from a device's base capability (version 2
/// or later), as `s390_pci_get_host_fh`; `None` when it cannot be read.
#[must_use]
pub fn host_fh(device: &dyn VfioInfoSource) -> Option<u32> {
    let bytes = read_info(device, Chain::Device).ok()?;
    parse_device_info(&bytes, device.endian()).ok()?.base?.fh
}

/// The DMA mappings a container still has, as `s390_pci_update_dma_avail`;
/// `None` when the container sets no limit or cannot be read.
#[must_use]
pub fn dma_avail(container: &dyn VfioInfoSource) -> Option<u32> {
    let bytes = read_info(container, Chain::Iommu).ok()?;
    Some(
        parse_iommu_info(&bytes, container.endian())
            .ok()?
            .dma_avail?
            .avail,
    )
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use crate::clp::GroupFlags;
    use crate::defaults;
    use crate::vfio::caps::{cap_id, Endian, ZpciBase, ZpciGroup};
    use crate::vfio::fixtures::BadFd as VfioFd;
    use crate::vfio::fixtures::{self as fx, Info};
    use crate::vfio::info::RecordedKernel;

    const E: Endian = Endian::Big;

    fn device(gid: u8) -> Vec<u8> {
        Info::device(E)
            .cap(fx::base(
                E,
                &ZpciBase {
                    gid,
                    ..fx::sample_base()
                },
            ))
            .cap(fx::group(E, &fx::sample_group()))
            .cap(fx::string(E, cap_id::ZPCI_PFIP, 4, &[1, 2, 3, 4]))
            .build()
    }

    fn container(avail: Option<u32>) -> Vec<u8> {
        let mut i = Info::iommu(E).cap(fx::migration(E));
        if let Some(a) = avail {
            i = i.cap(fx::dma_avail(E, a));
        }
        i.cap(fx::iova(E, 1, &[(0, u64::MAX)])).build()
    }

    fn kernel(dev: Vec<u8>, mmu: Option<Vec<u8>>) -> RecordedKernel {
        RecordedKernel::new("fake fd", E, Some(dev), mmu)
    }

    fn intercepted(fid: u32) -> FunctionRequest {
        FunctionRequest {
            fid,
            uid: 1,
            interpreted: false,
            relaxed_translation: false,
        }
    }

    #[test]
    fn functions_on_one_container_share_its_count() {
        let mut b = HostBridge::new();
        let k = kernel(device(2), Some(container(Some(0x100))));
        let p1 = b.plug_vfio(&k, Some((&k, 40)), &intercepted(1));
        assert_eq!(
            p1.dma_count,
            DmaCount::Start {
                id: 40,
                avail: 0x100
            }
        );
        assert_eq!(
            p1.answers.function.edma, 0x1_000f_ffff,
            "shrunk by the first"
        );
        assert_eq!(p1.warnings, Vec::<String>::new());
        let p2 = b.plug_vfio(&k, Some((&k, 40)), &intercepted(2));
        assert_eq!(p2.dma_count, DmaCount::Join { id: 40, users: 2 });
        assert_eq!(p2.answers.function.edma, 0x1_ffff_ffff, "not by later ones");
        // one simulated group for both, made for host group 2
        assert_eq!(p1.answers.function.pfgid, 0xf0);
        assert!(p1.answers.group_created);
        assert_eq!(p2.answers.function.pfgid, 0xf0);
        assert!(!p2.answers.group_created);
        assert_eq!((p1.group_host_id, p2.group_host_id), (2, 2));
        assert_eq!(p2.next_simulated, 0xf1);

        // another container starts its own count
        let p3 = b.plug_vfio(&k, Some((&k, 41)), &intercepted(3));
        assert_eq!(
            p3.dma_count,
            DmaCount::Start {
                id: 41,
                avail: 0x100
            }
        );

        assert_eq!(b.dma_count_users(40), 2);
        assert_eq!(b.end_dma_count(40), 1);
        assert_eq!(b.end_dma_count(40), 0);
        assert_eq!(b.dma_count_users(40), 0);
        assert_eq!(b.end_dma_count(40), 0, "already gone");
        // a new function on the container starts it again
        let p4 = b.plug_vfio(&k, Some((&k, 40)), &intercepted(4));
        assert!(matches!(p4.dma_count, DmaCount::Start { id: 40, .. }));
    }

    #[test]
    fn no_dma_avail_no_count() {
        let mut b = HostBridge::new();
        let k = kernel(device(2), Some(container(None)));
        let p = b.plug_vfio(&k, Some((&k, 40)), &intercepted(1));
        assert_eq!(p.dma_count, DmaCount::None);
        assert_eq!(p.answers.dma_avail, None);
        assert_eq!(b.dma_count_users(40), 0);
        // without a container (iommufd) neither
        let p = b.plug_vfio(&k, None, &intercepted(1));
        assert_eq!(p.dma_count, DmaCount::None);
        assert_eq!(p.warnings, Vec::<String>::new());
    }

    #[test]
    fn what_cannot_be_read_is_reported_and_defaulted() {
        let mut b = HostBridge::new();
        let bad = VfioFd::new(-1);
        let p = b.plug_vfio(&bad, Some((&bad, -1)), &intercepted(7));
        assert_eq!(p.answers.function, defaults::pci_function(7, 1));
        assert_eq!(p.answers.group, defaults::function_group());
        assert_eq!(p.dma_count, DmaCount::None);
        assert_eq!(
            p.warnings,
            [
                "VFIO_DEVICE_GET_INFO on fd -1 failed: Bad file descriptor (os error 9): \
                 default function values used",
                "VFIO_IOMMU_GET_INFO on fd -1 failed: Bad file descriptor (os error 9): no DMA \
                 limit, and the DMA aperture not checked against the host's usable IOVA ranges"
            ]
        );

        // a chain problem names its source
        let mut bad_group = fx::group(E, &fx::sample_group());
        bad_group.body.truncate(10);
        let mut info = Info::device(E)
            .cap(fx::base(E, &fx::sample_base()))
            .cap(bad_group);
        info.align = 1;
        let k = kernel(info.build(), None);
        let p = b.plug_vfio(&k, None, &intercepted(8));
        assert_eq!(p.answers.function.pfgid, 0xff);
        assert_eq!(
            p.warnings,
            [
                "fake fd: zPCI group capability v2 too short (18 < 42 bytes) at offset 0x3c: \
              default group used"
            ]
        );

        // an answer too short to hold the fixed fields
        let k = RecordedKernel::new("short", Endian::Little, Some(vec![0; 16]), None);
        let p = b.plug_vfio(&k, None, &intercepted(9));
        assert_eq!(p.answers.function, defaults::pci_function(9, 1));
        assert_eq!(
            p.warnings,
            [
                "short: VFIO device info too short (0 < 20 bytes): no capabilities read: default \
              function values used"
            ]
        );
    }

    #[test]
    fn replayed_functions_each_have_a_container() {
        let mut b = HostBridge::new();
        let profile = HostProfile::new(E, device(0x12), Some(container(Some(0x800))));
        let p1 = b.plug_replay(&profile, "p", &intercepted(1));
        let p2 = b.plug_replay(&profile, "p", &intercepted(2));
        assert_eq!(
            p1.dma_count,
            DmaCount::Start {
                id: -1,
                avail: 0x800
            }
        );
        assert_eq!(
            p2.dma_count,
            DmaCount::Start {
                id: -2,
                avail: 0x800
            }
        );
        // both shrunk: both are first on their container
        assert_eq!(p1.answers.function.edma, 0x1_007f_ffff);
        assert_eq!(p2.answers.function.edma, 0x1_007f_ffff);
        // one simulated group for host group 0x12
        assert_eq!(p1.answers.function.pfgid, 0xf0);
        assert_eq!(p2.answers.function.pfgid, 0xf0);
        assert_eq!(p1.group_host_id, 0x12);
        assert_eq!(p1.answers.group.flags, GroupFlags(GroupFlags::REFRESH));
        assert_eq!(b.end_dma_count(-1), 0);

        // a profile without DMA_AVAIL takes no key
        let profile = HostProfile::new(E, device(0x12), Some(container(None)));
        let p = b.plug_replay(&profile, "p", &intercepted(3));
        assert_eq!(p.dma_count, DmaCount::None);
        let p = b.plug_replay(
            &HostProfile::new(E, device(0x12), None),
            "p",
            &intercepted(3),
        );
        assert_eq!(p.dma_count, DmaCount::None);
        assert_eq!(p.warnings, Vec::<String>::new());
        let profile = HostProfile::new(E, device(0x12), Some(container(Some(1))));
        let p = b.plug_replay(&profile, "p", &intercepted(4));
        assert_eq!(p.dma_count, DmaCount::Start { id: -3, avail: 1 });
    }

    #[test]
    fn the_bridge_remembers_what_each_answer_came_from() {
        let mut b = HostBridge::new();
        let profile = HostProfile::new(E, device(0x12), Some(container(Some(0x800))));
        let p = b.plug_replay(&profile, "/p/a.zpcihost", &intercepted(1));
        let live = kernel(device(0x13), Some(container(None)));
        b.plug_vfio(&live, Some((&live, 9)), &intercepted(2));

        let a = b.attribution(1).unwrap();
        assert_eq!(a.source, &Source::Profile("/p/a.zpcihost".into()));
        assert_eq!(a.values, &p.answers.function);
        let words = crate::describe::function(a.values, Some(a));
        let edma = words.iter().find(|d| d.name == "edma").unwrap();
        assert_eq!(edma.provenance, "edma shrunk to the DMA limit");
        let pchid = words.iter().find(|d| d.name == "pchid").unwrap();
        assert_eq!(
            pchid.provenance,
            "host zPCI base capability (id 1) v2, replayed from /p/a.zpcihost"
        );
        assert_eq!(b.attribution(2).unwrap().source, &Source::Vfio);
        assert!(b.attribution(3).is_none());

        // the simulated group 0xf0 was made by the replayed function
        let g = b.group_attribution(0xf0).unwrap();
        assert_eq!(g.source, &Source::Profile("/p/a.zpcihost".into()));
        assert_eq!(g.values, &p.answers.group);
        // the default group is QEMU's own
        assert!(b.group_attribution(0xff).is_none());

        // a replug replaces, an unplug forgets
        b.plug_vfio(&live, Some((&live, 9)), &intercepted(1));
        assert_eq!(b.attribution(1).unwrap().source, &Source::Vfio);
        b.unplug(1);
        assert!(b.attribution(1).is_none());
        assert!(b.attribution(2).is_some());
    }

    #[test]
    fn replayed_and_live_answers_agree() {
        let dev = device(3);
        let mmu = container(Some(0x40));
        let live = kernel(dev.clone(), Some(mmu.clone()));
        let profile = HostProfile::new(E, dev, Some(mmu));
        let req = FunctionRequest {
            fid: 5,
            uid: 6,
            interpreted: true,
            relaxed_translation: true,
        };
        let a = HostBridge::new().plug_vfio(&live, Some((&live, 3)), &req);
        let b = HostBridge::new().plug_replay(&profile, "p", &req);
        assert_eq!(a.answers, b.answers);
        assert_eq!(a.answers.function.pfgid, 3);
        assert!(a.answers.relaxed_translation);
    }

    #[test]
    fn host_fh_and_dma_avail() {
        let k = kernel(device(2), Some(container(Some(9))));
        assert_eq!(host_fh(&k), Some(0x8000_0c07));
        assert_eq!(dma_avail(&k), Some(9));
        let k = kernel(device(2), Some(container(None)));
        assert_eq!(dma_avail(&k), None);
        assert_eq!(host_fh(&VfioFd::new(-1)), None);
        assert_eq!(dma_avail(&VfioFd::new(-1)), None);
        let v1 = Info::device(E)
            .cap(fx::base(
                E,
                &ZpciBase {
                    version: 1,
                    fh: None,
                    ..fx::sample_base()
                },
            ))
            .build();
        assert_eq!(host_fh(&kernel(v1, None)), None);
        let _ = ZpciGroup {
            ..fx::sample_group()
        };
    }

    #[test]
    fn error_chains_are_joined() {
        let e = std::io::Error::other("inner");
        assert_eq!(error_chain(&e), "inner");
    }
}
