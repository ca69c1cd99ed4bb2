//! CLP Query PCI Function and Query PCI Function Group answers written
//! through the C interface, as QEMU's CLP handler calls it, over fuzzed
//! function and group values and fuzzed response block lengths (empty,
//! shorter than the block, odd, longer than the block, up to 64 KiB).
//!
//! The answer must be the architected one: response code OK at offset 2,
//! every field at its offset in big-endian (the BAR words little-endian),
//! the guest's bytes elsewhere untouched; and nothing may be written past
//! the given length (a canary follows the block).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zpci_core::clp::{fn_off, grp_off, rc, QUERY_PCI_FNGRP_RSP_LEN, QUERY_PCI_FN_RSP_LEN};
use zpci_rs::clp::{
    zpci_rs_clp_query_pci_fn, zpci_rs_clp_query_pci_fngrp, ZpciRsFunctionGroup, ZpciRsPciFunction,
};
use zpci_rs::ZpciRsStatus;

/// Bytes after the response block that must never change.
const CANARY: usize = 64;
const CANARY_BYTE: u8 = 0xc5;

/// Takes `N` bytes from the front of `data`, zero-filled past its end.
fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    out[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    out
}

fn u64_of(b: [u8; 8]) -> u64 {
    u64::from_be_bytes(b)
}

fn u32_of(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

fn u16_of(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

/// The response length: mostly around the architected block sizes, where
/// the edges are, sometimes anything up to 64 KiB.
fn rsp_len(sel: [u8; 3]) -> usize {
    let n = usize::from(u16_of([sel[1], sel[2]]));
    match sel[0] % 4 {
        0 => n % 16,
        1 => n % (QUERY_PCI_FN_RSP_LEN + 32),
        2 => n % (QUERY_PCI_FNGRP_RSP_LEN + 16),
        _ => n,
    }
}

/// Checks `block[off..off + want.len()]` against `want`, clipped to `len`.
fn expect(block: &[u8], len: usize, off: usize, want: &[u8], what: &str) {
    for (i, &b) in want.iter().enumerate() {
        let at = off + i;
        if at < len {
            assert_eq!(
                block[at], b,
                "{what}: byte {i} at offset {at} (rsp_len {len})"
            );
        }
    }
}

/// Bytes outside the architected fields keep the guest's value.
fn expect_untouched(block: &[u8], guest: &[u8], written: &[bool], len: usize) {
    for i in 0..len {
        if !written.get(i).copied().unwrap_or(false) {
            assert_eq!(
                block[i], guest[i],
                "byte {i} not part of the answer changed"
            );
        }
    }
}

fn mark(written: &mut [bool], off: usize, n: usize) {
    for w in written.iter_mut().skip(off).take(n) {
        *w = true;
    }
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let which = take::<1>(&mut data)[0];
    let len = rsp_len(take::<3>(&mut data));
    let fill = take::<1>(&mut data)[0];
    let mut block = vec![fill; len + CANARY];
    for b in block.iter_mut().skip(len) {
        *b = CANARY_BYTE;
    }
    let guest = block.clone();

    if which & 1 == 0 {
        let mut bar = [0u32; 6];
        for b in &mut bar {
            *b = u32_of(take(&mut data));
        }
        let f = ZpciRsPciFunction {
            sdma: u64_of(take(&mut data)),
            edma: u64_of(take(&mut data)),
            fid: u32_of(take(&mut data)),
            uid: u32_of(take(&mut data)),
            bar,
            vfn: u16_of(take(&mut data)),
            pchid: u16_of(take(&mut data)),
            flags: take::<1>(&mut data)[0],
            pfgid: take::<1>(&mut data)[0],
            pft: take::<1>(&mut data)[0],
            fmbl: take::<1>(&mut data)[0],
            bar_size: take(&mut data),
            pfip: take(&mut data),
            util_str: take(&mut data),
        };
        // SAFETY: `f` is one valid value; `block` holds `len` bytes (and
        // the canary after them).
        let st = unsafe { zpci_rs_clp_query_pci_fn(&f, block.as_mut_ptr(), len) };
        assert_eq!(st, ZpciRsStatus::Ok);
        let mut written = vec![false; QUERY_PCI_FN_RSP_LEN];
        let mut put = |off: usize, want: &[u8], what: &str| {
            expect(&block, len, off, want, what);
            mark(&mut written, off, want.len());
        };
        put(fn_off::RSP, &rc::OK.to_be_bytes(), "response code");
        put(fn_off::VFN, &f.vfn.to_be_bytes(), "vfn");
        put(fn_off::FLAGS, &[f.flags], "flags");
        put(fn_off::PFGID, &[f.pfgid], "pfgid");
        put(fn_off::FID, &f.fid.to_be_bytes(), "fid");
        for i in 0..6 {
            put(fn_off::BAR_SIZE + i, &[f.bar_size[i]], "bar size");
            put(fn_off::BAR + 4 * i, &f.bar[i].to_le_bytes(), "bar");
        }
        put(fn_off::PCHID, &f.pchid.to_be_bytes(), "pchid");
        put(fn_off::PFIP, &f.pfip, "pfip");
        put(fn_off::FMBL, &[f.fmbl], "fmbl");
        put(fn_off::PFT, &[f.pft], "pft");
        put(fn_off::SDMA, &f.sdma.to_be_bytes(), "sdma");
        put(fn_off::EDMA, &f.edma.to_be_bytes(), "edma");
        put(fn_off::UID, &f.uid.to_be_bytes(), "uid");
        put(fn_off::UTIL_STR, &f.util_str, "util_str");
        expect_untouched(&block, &guest, &written, len);
    } else {
        let g = ZpciRsFunctionGroup {
            dasm: u64_of(take(&mut data)),
            msia: u64_of(take(&mut data)),
            noi: u16_of(take(&mut data)),
            maxstbl: u16_of(take(&mut data)),
            mui: u16_of(take(&mut data)),
            version: take::<1>(&mut data)[0],
            flags: take::<1>(&mut data)[0],
            dtsm: take::<1>(&mut data)[0],
        };
        // SAFETY: as above.
        let st = unsafe { zpci_rs_clp_query_pci_fngrp(&g, block.as_mut_ptr(), len) };
        assert_eq!(st, ZpciRsStatus::Ok);
        let mut written = vec![false; QUERY_PCI_FNGRP_RSP_LEN];
        let mut put = |off: usize, want: &[u8], what: &str| {
            expect(&block, len, off, want, what);
            mark(&mut written, off, want.len());
        };
        put(grp_off::RSP, &rc::OK.to_be_bytes(), "response code");
        put(
            grp_off::NOI,
            &(g.noi & 0x0fff).to_be_bytes(),
            "noi (12 bits)",
        );
        put(grp_off::VERSION, &[g.version], "version");
        put(grp_off::FLAGS, &[g.flags], "flags");
        put(
            grp_off::MAXSTBL,
            &(g.maxstbl & 0x1fff).to_be_bytes(),
            "maxstbl (13 bits)",
        );
        put(grp_off::MUI, &g.mui.to_be_bytes(), "mui");
        put(grp_off::DTSM, &[g.dtsm], "dtsm");
        put(grp_off::DASM, &g.dasm.to_be_bytes(), "dasm");
        put(grp_off::MSIA, &g.msia.to_be_bytes(), "msia");
        expect_untouched(&block, &guest, &written, len);
    }
    // Nothing past the given length.
    assert!(
        block[len..].iter().all(|&b| b == CANARY_BYTE),
        "write past rsp_len {len}"
    );
});
