//! CLP (Call Logical Processor) response blocks, as the guest reads them.
//!
//! A CLP request block is followed in guest memory by its response block.
//! Every response block starts with a 16-byte header (length, response code,
//! format, reserved). The bodies below follow at fixed offsets; each offset
//! and bit position is the one Linux reads in
//! `arch/s390/include/asm/pci_clp.h` (`struct clp_rsp_query_pci`,
//! `struct clp_rsp_query_pci_grp`). All multi-byte fields are big-endian,
//! except the BAR words of Query PCI Function, which are little-endian
//! (`__le32 bar[6]`, read with `le32_to_cpu`).
//!
//! Encoding writes only the architected fields and the response code: the
//! header length, the format and every reserved byte keep whatever the guest
//! put there, as QEMU does. A response block shorter than the answer receives
//! the bytes of the answer that fit in it, as QEMU does.

#![forbid(unsafe_code)]

/// Size of a CLP request or response block header.
pub const CLP_HDR_LEN: usize = 16;
/// Length of the Query PCI Function response block, up to and including the
/// utility string (the last field the guest reads).
pub const QUERY_PCI_FN_RSP_LEN: usize = 192;
/// Length of the Query PCI Function Group response block.
pub const QUERY_PCI_FNGRP_RSP_LEN: usize = 64;
/// Number of BARs a PCI function has.
pub const PCI_BAR_COUNT: usize = 6;
/// Length of the utility string.
pub const CLP_UTIL_STR_LEN: usize = 64;
/// Number of PCI function internal path segments.
pub const CLP_PFIP_NR_SEGMENTS: usize = 4;

/// CLP response codes (the `rsp` field of the response header).
pub mod rc {
    /// Command completed successfully.
    pub const OK: u16 = 0x0010;
    /// Command code not recognized.
    pub const CMD: u16 = 0x0020;
    /// Invalid command request length.
    pub const LEN: u16 = 0x0050;
    /// Invalid PCI function handle.
    pub const SETPCIFN_FH: u16 = 0x0101;
    /// Unrecognized PCI function group id.
    pub const QUERYPCIFG_PFGID: u16 = 0x010b;
}

/// CLP command codes (the `cmd` field of the request header).
pub mod cmd {
    /// List PCI functions.
    pub const LIST_PCI: u16 = 0x0002;
    /// Query PCI function.
    pub const QUERY_PCI_FN: u16 = 0x0003;
    /// Query PCI function group.
    pub const QUERY_PCI_FNGRP: u16 = 0x0004;
    /// Set PCI function (enable, disable).
    pub const SET_PCI_FN: u16 = 0x0005;
}

/// Byte offsets inside the Query PCI Function response block.
pub mod fn_off {
    /// Response code.
    pub const RSP: usize = 2;
    /// Virtual function number.
    pub const VFN: usize = 16;
    /// Flags: bit 0x01 is "utility string available".
    pub const FLAGS: usize = 18;
    /// PCI function group id.
    pub const PFGID: usize = 19;
    /// Function id.
    pub const FID: usize = 20;
    /// Six BAR sizes, as log2 of the size in bytes (0: no BAR).
    pub const BAR_SIZE: usize = 24;
    /// Physical channel id.
    pub const PCHID: usize = 30;
    /// Six BAR words, little-endian.
    pub const BAR: usize = 32;
    /// PCI function internal path, four segments.
    pub const PFIP: usize = 56;
    /// Function measurement block length.
    pub const FMBL: usize = 62;
    /// PCI function type.
    pub const PFT: usize = 63;
    /// Start of the DMA address space.
    pub const SDMA: usize = 64;
    /// End of the DMA address space.
    pub const EDMA: usize = 72;
    /// User-defined id.
    pub const UID: usize = 124;
    /// Utility string.
    pub const UTIL_STR: usize = 128;
}

/// Byte offsets inside the Query PCI Function Group response block.
pub mod grp_off {
    /// Response code.
    pub const RSP: usize = 2;
    /// Number of interrupts (low 12 bits).
    pub const NOI: usize = 16;
    /// Group version.
    pub const VERSION: usize = 18;
    /// Flags: refresh 0x01, frame 0x02, relaxed translation 0x20.
    pub const FLAGS: usize = 19;
    /// Maximum store block size (low 13 bits).
    pub const MAXSTBL: usize = 20;
    /// Measurement update interval.
    pub const MUI: usize = 22;
    /// Supported designation type mask.
    pub const DTSM: usize = 24;
    /// DMA address space mask.
    pub const DASM: usize = 32;
    /// MSI address.
    pub const MSIA: usize = 40;
}

/// Flags of a Query PCI Function answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FunctionFlags(pub u8);

impl FunctionFlags {
    /// The utility string is valid.
    pub const UTIL_STR_AVAILABLE: u8 = 0x01;
}

/// Flags of a Query PCI Function Group answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupFlags(pub u8);

impl GroupFlags {
    /// RPCIT is required after every change to the translation tables,
    /// including invalid-to-valid (the guest must not cache invalid entries).
    pub const REFRESH: u8 = 0x01;
    /// Frame (MIO) support.
    pub const FRAME: u8 = 0x02;
    /// Relaxed translation: the guest may use larger DMA windows.
    pub const RTR: u8 = 0x20;
}

/// One BAR as presented in Query PCI Function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bar {
    /// The BAR register value (type bits and address), as in config space.
    pub value: u32,
    /// log2 of the BAR size in bytes; 0 when the BAR is not implemented.
    pub size_shift: u8,
}

impl Bar {
    /// The BAR entry for a region of `size` bytes (a power of two, or 0).
    #[must_use]
    pub fn new(value: u32, size: u64) -> Self {
        let size_shift = if size == 0 {
            0
        } else {
            // trailing_zeros of a non-zero u64 is at most 63
            u8::try_from(size.trailing_zeros()).unwrap_or(u8::MAX)
        };
        Self { value, size_shift }
    }
}

/// The values of a Query PCI Function answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciFunction {
    /// Virtual function number (0 for a physical function).
    pub vfn: u16,
    /// Flags.
    pub flags: FunctionFlags,
    /// PCI function group id.
    pub pfgid: u8,
    /// Function id.
    pub fid: u32,
    /// The six BARs.
    pub bars: [Bar; PCI_BAR_COUNT],
    /// Physical channel id.
    pub pchid: u16,
    /// PCI function internal path.
    pub pfip: [u8; CLP_PFIP_NR_SEGMENTS],
    /// Function measurement block length.
    pub fmbl: u8,
    /// PCI function type.
    pub pft: u8,
    /// First address of the DMA aperture.
    pub sdma: u64,
    /// Last address of the DMA aperture.
    pub edma: u64,
    /// User-defined id.
    pub uid: u32,
    /// Utility string (EBCDIC on real machines), valid when flagged.
    pub util_str: [u8; CLP_UTIL_STR_LEN],
}

/// The values of a Query PCI Function Group answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionGroup {
    /// Number of interrupts (12 bits).
    pub noi: u16,
    /// Group version.
    pub version: u8,
    /// Flags.
    pub flags: GroupFlags,
    /// Maximum store block size (13 bits).
    pub maxstbl: u16,
    /// Measurement update interval, in milliseconds.
    pub mui: u16,
    /// Supported designation type mask.
    pub dtsm: u8,
    /// DMA address space mask.
    pub dasm: u64,
    /// MSI address.
    pub msia: u64,
}

/// Mask of the number-of-interrupts field.
pub const NOI_MASK: u16 = 0x0fff;
/// Mask of the maximum-store-block-size field.
pub const MAXSTBL_MASK: u16 = 0x1fff;

/// A response block image: the guest's bytes, with fields written in.
struct Block<const N: usize> {
    image: [u8; N],
}

impl<const N: usize> Block<N> {
    fn from_guest(rsp: &[u8]) -> Self {
        let mut image = [0u8; N];
        let n = rsp.len().min(N);
        if let (Some(dst), Some(src)) = (image.get_mut(..n), rsp.get(..n)) {
            dst.copy_from_slice(src);
        }
        Self { image }
    }

    /// Writes `bytes` at `off`. Offsets are the constants above, all inside
    /// the block by construction; an offset that did not fit would be a bug
    /// caught by the offset tests, and is skipped rather than panicking.
    fn put(&mut self, off: usize, bytes: &[u8]) {
        if let Some(dst) = off
            .checked_add(bytes.len())
            .and_then(|end| self.image.get_mut(off..end))
        {
            dst.copy_from_slice(bytes);
        }
    }

    fn finish(self, rsp: &mut [u8]) {
        let n = rsp.len().min(N);
        if let (Some(dst), Some(src)) = (rsp.get_mut(..n), self.image.get(..n)) {
            dst.copy_from_slice(src);
        }
    }
}

impl PciFunction {
    /// Writes this answer, with response code OK, into the response block
    /// `rsp` (the bytes starting at the response header).
    pub fn encode(&self, rsp: &mut [u8]) {
        let mut b = Block::<QUERY_PCI_FN_RSP_LEN>::from_guest(rsp);
        b.put(fn_off::RSP, &rc::OK.to_be_bytes());
        b.put(fn_off::VFN, &self.vfn.to_be_bytes());
        b.put(fn_off::FLAGS, &[self.flags.0]);
        b.put(fn_off::PFGID, &[self.pfgid]);
        b.put(fn_off::FID, &self.fid.to_be_bytes());
        for (i, bar) in self.bars.iter().enumerate() {
            b.put(fn_off::BAR_SIZE + i, &[bar.size_shift]);
            b.put(fn_off::BAR + 4 * i, &bar.value.to_le_bytes());
        }
        b.put(fn_off::PCHID, &self.pchid.to_be_bytes());
        b.put(fn_off::PFIP, &self.pfip);
        b.put(fn_off::FMBL, &[self.fmbl]);
        b.put(fn_off::PFT, &[self.pft]);
        b.put(fn_off::SDMA, &self.sdma.to_be_bytes());
        b.put(fn_off::EDMA, &self.edma.to_be_bytes());
        b.put(fn_off::UID, &self.uid.to_be_bytes());
        b.put(fn_off::UTIL_STR, &self.util_str);
        b.finish(rsp);
    }
}

impl FunctionGroup {
    /// Writes this answer, with response code OK, into the response block
    /// `rsp`. The bits above the 12-bit `noi` and the 13-bit `maxstbl` are
    /// reserved and written as zero.
    pub fn encode(&self, rsp: &mut [u8]) {
        let mut b = Block::<QUERY_PCI_FNGRP_RSP_LEN>::from_guest(rsp);
        b.put(grp_off::RSP, &rc::OK.to_be_bytes());
        b.put(grp_off::NOI, &(self.noi & NOI_MASK).to_be_bytes());
        b.put(grp_off::VERSION, &[self.version]);
        b.put(grp_off::FLAGS, &[self.flags.0]);
        b.put(
            grp_off::MAXSTBL,
            &(self.maxstbl & MAXSTBL_MASK).to_be_bytes(),
        );
        b.put(grp_off::MUI, &self.mui.to_be_bytes());
        b.put(grp_off::DTSM, &[self.dtsm]);
        b.put(grp_off::DASM, &self.dasm.to_be_bytes());
        b.put(grp_off::MSIA, &self.msia.to_be_bytes());
        b.finish(rsp);
    }
}

/// Writes only a response code into a response block (for errors).
pub fn encode_rc(rsp: &mut [u8], code: u16) {
    if let Some(dst) = rsp.get_mut(2..4) {
        dst.copy_from_slice(&code.to_be_bytes());
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

    /// A function whose every field has distinct, recognizable bytes.
    fn sample_function() -> PciFunction {
        let mut bars = [Bar::default(); PCI_BAR_COUNT];
        for (i, bar) in bars.iter_mut().enumerate() {
            *bar = Bar {
                value: 0xa0b0_c0d0 + i as u32,
                size_shift: 0x30 + i as u8,
            };
        }
        let mut util_str = [0u8; CLP_UTIL_STR_LEN];
        for (i, c) in util_str.iter_mut().enumerate() {
            *c = 0x80 + i as u8;
        }
        PciFunction {
            vfn: 0x1122,
            flags: FunctionFlags(FunctionFlags::UTIL_STR_AVAILABLE),
            pfgid: 0x33,
            fid: 0x4455_6677,
            bars,
            pchid: 0x8899,
            pfip: [0xe1, 0xe2, 0xe3, 0xe4],
            fmbl: 0x5a,
            pft: 0x05,
            sdma: 0x0102_0304_0506_0708,
            edma: 0x1112_1314_1516_1718,
            uid: 0x2122_2324,
            util_str,
        }
    }

    /// The Query PCI Function response block written out by hand from
    /// Linux's `struct clp_rsp_query_pci` (6.12), field by field.
    fn reference_fn_block(f: &PciFunction) -> Vec<u8> {
        let mut v = vec![0u8; 16]; // hdr: len, rsp, fmt, reserved
        v[2..4].copy_from_slice(&0x0010u16.to_be_bytes());
        v.extend(f.vfn.to_be_bytes()); // 16: u16 vfn
        v.push(f.flags.0); // 18: 2 bits, tid, rid, physfn, rsvd, mio, util
        v.push(f.pfgid); // 19: pfgid
        v.extend(f.fid.to_be_bytes()); // 20: fid
        v.extend(f.bars.map(|b| b.size_shift)); // 24: bar_size[6]
        v.extend(f.pchid.to_be_bytes()); // 30: pchid
        for b in f.bars {
            v.extend(b.value.to_le_bytes()); // 32: __le32 bar[6]
        }
        v.extend(f.pfip); // 56: pfip[4]
        v.extend([0, 0]); // 60: 12 bits reserved, port
        v.push(f.fmbl); // 62: fmb_len
        v.push(f.pft); // 63: pft
        v.extend(f.sdma.to_be_bytes()); // 64: sdma
        v.extend(f.edma.to_be_bytes()); // 72: edma
        v.extend([0; 2 + 4 + 2 + 36]); // 80: rid, reserved0, tid, reserved[9]
        v.extend(f.uid.to_be_bytes()); // 124: uid
        v.extend(f.util_str); // 128: util_str[64]
        assert_eq!(v.len(), QUERY_PCI_FN_RSP_LEN);
        v
    }

    #[test]
    fn query_pci_fn_matches_linux_layout() {
        let f = sample_function();
        let mut rsp = [0u8; QUERY_PCI_FN_RSP_LEN];
        f.encode(&mut rsp);
        assert_eq!(rsp.to_vec(), reference_fn_block(&f));
    }

    #[test]
    fn query_pci_fn_offsets_are_pinned() {
        assert_eq!(
            [
                fn_off::VFN,
                fn_off::FLAGS,
                fn_off::PFGID,
                fn_off::FID,
                fn_off::BAR_SIZE,
                fn_off::PCHID,
                fn_off::BAR,
                fn_off::PFIP,
                fn_off::FMBL,
                fn_off::PFT,
                fn_off::SDMA,
                fn_off::EDMA,
                fn_off::UID,
                fn_off::UTIL_STR
            ],
            [16, 18, 19, 20, 24, 30, 32, 56, 62, 63, 64, 72, 124, 128]
        );
    }

    #[test]
    fn bar_words_are_little_endian() {
        let mut f = sample_function();
        f.bars[0].value = 0x0000_000c; // 64-bit prefetchable memory BAR
        let mut rsp = [0u8; QUERY_PCI_FN_RSP_LEN];
        f.encode(&mut rsp);
        assert_eq!(rsp[32..36], [0x0c, 0, 0, 0]);
    }

    #[test]
    fn encode_keeps_header_and_reserved_bytes() {
        let mut rsp = [0xeeu8; QUERY_PCI_FN_RSP_LEN];
        sample_function().encode(&mut rsp);
        assert_eq!(rsp[0..2], [0xee, 0xee], "length is the guest's");
        assert_eq!(
            rsp[4..16],
            [0xee; 12],
            "format and reserved are the guest's"
        );
        assert_eq!(rsp[60..62], [0xee; 2]);
        assert_eq!(rsp[80..124], [0xee; 44]);
    }

    #[test]
    fn short_response_block_gets_the_prefix() {
        let f = sample_function();
        let full = reference_fn_block(&f);
        for len in [8usize, 16, 24, 63, 100, 191] {
            let mut rsp = vec![0u8; len];
            f.encode(&mut rsp);
            assert_eq!(rsp, full[..len], "len {len}");
        }
        let mut long = vec![0u8; 400];
        long[192..].fill(0x77);
        f.encode(&mut long);
        assert_eq!(long[..192], full[..]);
        assert!(
            long[192..].iter().all(|&b| b == 0x77),
            "nothing past the answer"
        );
    }

    #[test]
    fn empty_response_block_is_left_alone() {
        sample_function().encode(&mut []);
        FunctionGroup::default_for_tests().encode(&mut []);
    }

    impl FunctionGroup {
        fn default_for_tests() -> Self {
            FunctionGroup {
                noi: 0x0abc,
                version: 0x12,
                flags: GroupFlags(GroupFlags::REFRESH | GroupFlags::RTR),
                maxstbl: 0x1def,
                mui: 0x3456,
                dtsm: 0x78,
                dasm: 0x8182_8384_8586_8788,
                msia: 0x9192_9394_9596_9798,
            }
        }
    }

    /// Linux's `struct clp_rsp_query_pci_grp` (6.12), field by field.
    fn reference_grp_block(g: &FunctionGroup) -> Vec<u8> {
        let mut v = vec![0u8; 16];
        v[2..4].copy_from_slice(&0x0010u16.to_be_bytes());
        v.extend((g.noi & 0x0fff).to_be_bytes()); // 16: 4 rsvd, noi:12
        v.push(g.version); // 18
        v.push(g.flags.0); // 19: 6 bits (QEMU: rtr 0x20), frame, refresh
        v.extend((g.maxstbl & 0x1fff).to_be_bytes()); // 20: 3 rsvd, maxstbl:13
        v.extend(g.mui.to_be_bytes()); // 22
        v.push(g.dtsm); // 24
        v.extend([0; 7]); // 25: reserved3, maxfaal, dnoi, maxcpu
        v.extend(g.dasm.to_be_bytes()); // 32
        v.extend(g.msia.to_be_bytes()); // 40
        v.extend([0; 16]); // 48: reserved4, reserved5
        assert_eq!(v.len(), QUERY_PCI_FNGRP_RSP_LEN);
        v
    }

    #[test]
    fn query_pci_fngrp_matches_linux_layout() {
        let g = FunctionGroup::default_for_tests();
        let mut rsp = [0u8; QUERY_PCI_FNGRP_RSP_LEN];
        g.encode(&mut rsp);
        assert_eq!(rsp.to_vec(), reference_grp_block(&g));
    }

    #[test]
    fn query_pci_fngrp_masks_reserved_bits() {
        let mut g = FunctionGroup::default_for_tests();
        g.noi = 0xffff;
        g.maxstbl = 0xffff;
        let mut rsp = [0u8; QUERY_PCI_FNGRP_RSP_LEN];
        g.encode(&mut rsp);
        assert_eq!(rsp[16..18], [0x0f, 0xff]);
        assert_eq!(rsp[20..22], [0x1f, 0xff]);
    }

    #[test]
    fn query_pci_fngrp_offsets_are_pinned() {
        assert_eq!(
            [
                grp_off::NOI,
                grp_off::VERSION,
                grp_off::FLAGS,
                grp_off::MAXSTBL,
                grp_off::MUI,
                grp_off::DTSM,
                grp_off::DASM,
                grp_off::MSIA
            ],
            [16, 18, 19, 20, 22, 24, 32, 40]
        );
    }

    #[test]
    fn bar_size_is_log2() {
        assert_eq!(Bar::new(0, 0).size_shift, 0);
        assert_eq!(Bar::new(0, 0x1000).size_shift, 12);
        assert_eq!(Bar::new(0, 1 << 40).size_shift, 40);
        assert_eq!(Bar::new(0, 1 << 63).size_shift, 63);
    }

    #[test]
    fn error_code_only_touches_rsp() {
        let mut rsp = [0x55u8; 8];
        encode_rc(&mut rsp, rc::QUERYPCIFG_PFGID);
        assert_eq!(rsp, [0x55, 0x55, 0x01, 0x0b, 0x55, 0x55, 0x55, 0x55]);
        encode_rc(&mut rsp[..3], rc::OK);
        assert_eq!(
            rsp[2], 0x01,
            "a block too short for the code is not written"
        );
    }
}
