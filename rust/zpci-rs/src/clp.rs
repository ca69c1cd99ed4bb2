//! The C interface of the CLP answers: default values and response blocks.

use crate::{arg, status, ZpciRsStatus};
use zpci_core::clp::{Bar, FunctionFlags, FunctionGroup, GroupFlags, PciFunction};
use zpci_core::clp::{CLP_PFIP_NR_SEGMENTS, CLP_UTIL_STR_LEN, PCI_BAR_COUNT};
use zpci_core::defaults;

/// The values of a Query PCI Function answer, in host byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsPciFunction {
    /// First address of the DMA aperture.
    pub sdma: u64,
    /// Last address of the DMA aperture.
    pub edma: u64,
    /// Function id.
    pub fid: u32,
    /// User-defined id.
    pub uid: u32,
    /// The six BAR register values, as in configuration space.
    pub bar: [u32; 6],
    /// Virtual function number.
    pub vfn: u16,
    /// Physical channel id.
    pub pchid: u16,
    /// Flags (0x01: utility string available).
    pub flags: u8,
    /// PCI function group id.
    pub pfgid: u8,
    /// PCI function type.
    pub pft: u8,
    /// Function measurement block length.
    pub fmbl: u8,
    /// log2 of each BAR's size; 0 for no BAR.
    pub bar_size: [u8; 6],
    /// PCI function internal path.
    pub pfip: [u8; 4],
    /// Utility string.
    pub util_str: [u8; 64],
}

/// The values of a Query PCI Function Group answer, in host byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsFunctionGroup {
    /// DMA address space mask.
    pub dasm: u64,
    /// MSI address.
    pub msia: u64,
    /// Number of interrupts (12 bits).
    pub noi: u16,
    /// Maximum store block size (13 bits).
    pub maxstbl: u16,
    /// Measurement update interval.
    pub mui: u16,
    /// Group version.
    pub version: u8,
    /// Flags (0x01 refresh, 0x02 frame, 0x20 relaxed translation).
    pub flags: u8,
    /// Supported designation type mask.
    pub dtsm: u8,
}

// The C structs spell their array lengths out; they must match the crate's.
const _: () = assert!(PCI_BAR_COUNT == 6 && CLP_PFIP_NR_SEGMENTS == 4 && CLP_UTIL_STR_LEN == 64);

impl From<&PciFunction> for ZpciRsPciFunction {
    fn from(f: &PciFunction) -> Self {
        Self {
            sdma: f.sdma,
            edma: f.edma,
            fid: f.fid,
            uid: f.uid,
            bar: f.bars.map(|b| b.value),
            vfn: f.vfn,
            pchid: f.pchid,
            flags: f.flags.0,
            pfgid: f.pfgid,
            pft: f.pft,
            fmbl: f.fmbl,
            bar_size: f.bars.map(|b| b.size_shift),
            pfip: f.pfip,
            util_str: f.util_str,
        }
    }
}

impl From<&ZpciRsPciFunction> for PciFunction {
    fn from(f: &ZpciRsPciFunction) -> Self {
        let mut bars = [Bar::default(); PCI_BAR_COUNT];
        for (bar, (&value, &size_shift)) in bars.iter_mut().zip(f.bar.iter().zip(&f.bar_size)) {
            *bar = Bar { value, size_shift };
        }
        Self {
            vfn: f.vfn,
            flags: FunctionFlags(f.flags),
            pfgid: f.pfgid,
            fid: f.fid,
            bars,
            pchid: f.pchid,
            pfip: f.pfip,
            fmbl: f.fmbl,
            pft: f.pft,
            sdma: f.sdma,
            edma: f.edma,
            uid: f.uid,
            util_str: f.util_str,
        }
    }
}

impl From<&FunctionGroup> for ZpciRsFunctionGroup {
    fn from(g: &FunctionGroup) -> Self {
        Self {
            dasm: g.dasm,
            msia: g.msia,
            noi: g.noi,
            maxstbl: g.maxstbl,
            mui: g.mui,
            version: g.version,
            flags: g.flags.0,
            dtsm: g.dtsm,
        }
    }
}

impl From<&ZpciRsFunctionGroup> for FunctionGroup {
    fn from(g: &ZpciRsFunctionGroup) -> Self {
        Self {
            noi: g.noi,
            version: g.version,
            flags: GroupFlags(g.flags),
            maxstbl: g.maxstbl,
            mui: g.mui,
            dtsm: g.dtsm,
            dasm: g.dasm,
            msia: g.msia,
        }
    }
}

/// Fills `out` with the values of the default function group (0xFF).
///
/// # Safety
/// `out` is null or points to writable memory for one `ZpciRsFunctionGroup`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_default_function_group(
    out: *mut ZpciRsFunctionGroup,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid for one write by the caller's contract.
        let out = unsafe { crate::out(out)? };
        out.write(ZpciRsFunctionGroup::from(&defaults::function_group()));
        Ok(())
    })
}

/// Fills `out` with the Query PCI Function values of an emulated function
/// with function id `fid` and user-defined id `uid` (BARs zero).
///
/// # Safety
/// `out` is null or points to writable memory for one `ZpciRsPciFunction`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_default_pci_function(
    fid: u32,
    uid: u16,
    out: *mut ZpciRsPciFunction,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid for one write by the caller's contract.
        let out = unsafe { crate::out(out)? };
        out.write(ZpciRsPciFunction::from(&defaults::pci_function(fid, uid)));
        Ok(())
    })
}

/// The response block of `rsp_len` bytes at `rsp`; null gives
/// [`ZpciRsStatus::NullArgument`].
///
/// # Safety
/// `rsp` is null or valid for reads and writes of `rsp_len` bytes, not
/// aliased for the lifetime `'a`.
unsafe fn response_block<'a>(rsp: *mut u8, rsp_len: usize) -> Result<&'a mut [u8], ZpciRsStatus> {
    if rsp.is_null() {
        return Err(ZpciRsStatus::NullArgument);
    }
    // SAFETY: non-null; the rest is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(rsp, rsp_len) })
}

/// Writes the answer to CLP Query PCI Function for `function` into the
/// response block at `rsp` (starting at its header), `rsp_len` bytes long:
/// the response code OK and every architected field; reserved bytes and the
/// header length are left as they are.
///
/// # Safety
/// `function` is null or points to one valid `ZpciRsPciFunction`; `rsp` is
/// null or valid for reads and writes of `rsp_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_clp_query_pci_fn(
    function: *const ZpciRsPciFunction,
    rsp: *mut u8,
    rsp_len: usize,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid for one read by the caller's contract.
        let value = PciFunction::from(unsafe { arg(function)? });
        // SAFETY: null or valid for `rsp_len` bytes by the caller's contract.
        value.encode(unsafe { response_block(rsp, rsp_len)? });
        Ok(())
    })
}

/// Writes the answer to CLP Query PCI Function Group for `group` into the
/// response block at `rsp`, `rsp_len` bytes long, as
/// `zpci_rs_clp_query_pci_fn` does.
///
/// # Safety
/// `group` is null or points to one valid `ZpciRsFunctionGroup`; `rsp` is
/// null or valid for reads and writes of `rsp_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_clp_query_pci_fngrp(
    group: *const ZpciRsFunctionGroup,
    rsp: *mut u8,
    rsp_len: usize,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid for one read by the caller's contract.
        let value = FunctionGroup::from(unsafe { arg(group)? });
        // SAFETY: null or valid for `rsp_len` bytes by the caller's contract.
        value.encode(unsafe { response_block(rsp, rsp_len)? });
        Ok(())
    })
}
