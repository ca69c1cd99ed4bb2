//! The CLP values QEMU 10.0.2 presents for an emulated PCI function.
//!
//! Source: `hw/s390x/s390-pci-bus.c` (`s390_pci_init_default_group`,
//! `set_pbdev_info`) and `include/hw/s390x/s390-pci-bus.h` of QEMU 10.0.2.
//! Every emulated function is in the default function group 0xFF; passthrough
//! functions start from the same values and then take the host's.

#![forbid(unsafe_code)]

use crate::clp::{Bar, FunctionFlags, FunctionGroup, GroupFlags, PciFunction};
use crate::clp::{CLP_PFIP_NR_SEGMENTS, CLP_UTIL_STR_LEN, PCI_BAR_COUNT};

/// The function group of emulated functions (`ZPCI_DEFAULT_FN_GRP`).
pub const DEFAULT_FN_GROUP: u8 = 0xff;
/// First id of the groups simulated for intercepted passthrough functions
/// (`ZPCI_SIM_GRP_START`).
pub const SIM_FN_GROUP_START: u8 = 0xf0;
/// MSI address (`ZPCI_MSI_ADDR`).
pub const MSI_ADDR: u64 = 0xfe00_0000_0000_0000;
/// Start of the default DMA aperture (`ZPCI_SDMA_ADDR`): 4 GiB.
pub const SDMA: u64 = 0x1_0000_0000;
/// End of the default DMA aperture (`ZPCI_EDMA_ADDR`).
pub const EDMA: u64 = 0x01ff_ffff_ffff_ffff;
/// Measurement update interval in milliseconds (`DEFAULT_MUI`).
pub const MUI: u16 = 4000;
/// Number of interrupts of the default group.
pub const NOI: u16 = 128;
/// Maximum store block size of the default group.
pub const MAXSTBL: u16 = 128;
/// Supported designation types (`ZPCI_DTSM`): 0x40 is the DT for
/// "region-third table origin and below".
pub const DTSM: u8 = 0x40;

/// The default function group 0xFF.
#[must_use]
pub fn function_group() -> FunctionGroup {
    FunctionGroup {
        noi: NOI,
        version: 0,
        flags: GroupFlags(GroupFlags::REFRESH),
        maxstbl: MAXSTBL,
        mui: MUI,
        dtsm: DTSM,
        dasm: 0,
        msia: MSI_ADDR,
    }
}

/// The Query PCI Function values of an emulated function with the given
/// function id and user-defined id. BARs are filled in at query time from
/// the device's configuration space.
#[must_use]
pub fn pci_function(fid: u32, uid: u16) -> PciFunction {
    PciFunction {
        vfn: 0,
        flags: FunctionFlags(0),
        pfgid: DEFAULT_FN_GROUP,
        fid,
        bars: [Bar::default(); PCI_BAR_COUNT],
        pchid: 0,
        pfip: [0; CLP_PFIP_NR_SEGMENTS],
        fmbl: 0,
        pft: 0,
        sdma: SDMA,
        edma: EDMA,
        uid: u32::from(uid),
        util_str: [0; CLP_UTIL_STR_LEN],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value below is read off QEMU 10.0.2's source (file and
    /// line in the comment); a change here changes what guests see.
    #[test]
    fn default_group_is_qemu_10_0_2s() {
        let g = function_group();
        // s390-pci-bus.c s390_pci_init_default_group()
        assert_eq!(g.flags, GroupFlags(1)); // resgrp->fr = 1
        assert_eq!(g.dasm, 0); // resgrp->dasm = 0
        assert_eq!(g.msia, 0xfe00_0000_0000_0000); // ZPCI_MSI_ADDR
        assert_eq!(g.mui, 4000); // DEFAULT_MUI
        assert_eq!(g.noi, 128); // resgrp->i = 128
        assert_eq!(g.maxstbl, 128); // resgrp->maxstbl = 128
        assert_eq!(g.version, 0); // resgrp->version = 0
        assert_eq!(g.dtsm, 0x40); // ZPCI_DTSM
        assert_eq!(DEFAULT_FN_GROUP, 0xff); // ZPCI_DEFAULT_FN_GRP
        assert_eq!(SIM_FN_GROUP_START, 0xf0); // ZPCI_SIM_GRP_START
    }

    #[test]
    fn default_function_is_qemu_10_0_2s() {
        let f = pci_function(12, 0xa);
        // s390-pci-bus.c set_pbdev_info()
        assert_eq!(f.sdma, 0x1_0000_0000); // ZPCI_SDMA_ADDR
        assert_eq!(f.edma, 0x01ff_ffff_ffff_ffff); // ZPCI_EDMA_ADDR
        assert_eq!(f.pchid, 0);
        assert_eq!(f.pfgid, 0xff);
        assert_eq!(f.fid, 12);
        assert_eq!(f.uid, 0xa);
        // the rest of zpci_fn is zero (the device is zero-allocated)
        assert_eq!(f.vfn, 0);
        assert_eq!(f.flags, FunctionFlags(0));
        assert_eq!(f.pft, 0);
        assert_eq!(f.fmbl, 0);
        assert_eq!(f.pfip, [0; 4]);
        assert_eq!(f.util_str, [0; 64]);
        assert_eq!(f.bars, [Bar::default(); 6]);
    }

    #[test]
    fn uid_is_widened_not_truncated() {
        assert_eq!(pci_function(0, 0xffff).uid, 0xffff);
        assert_eq!(pci_function(u32::MAX, 1).fid, u32::MAX);
    }
}
