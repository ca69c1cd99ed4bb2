//! Byte-built VFIO info answers for tests, laid out the way the kernel
//! lays them out (`vfio_info_cap_add`, `vfio_info_cap_shift`): the info
//! structure, then each capability padded to 8 bytes, linked in order.

#![forbid(unsafe_code)]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)]

use super::caps::{cap_id, device_info, iommu_info, Endian, ZpciBase, ZpciGroup, CAP_HDR_LEN};

/// Appends fields in one byte order.
pub struct W {
    e: Endian,
    pub v: Vec<u8>,
}

impl W {
    pub fn new(e: Endian) -> Self {
        Self { e, v: Vec::new() }
    }
    pub fn u8(mut self, x: u8) -> Self {
        self.v.push(x);
        self
    }
    pub fn u16(mut self, x: u16) -> Self {
        self.v.extend(match self.e {
            Endian::Big => x.to_be_bytes(),
            Endian::Little => x.to_le_bytes(),
        });
        self
    }
    pub fn u32(mut self, x: u32) -> Self {
        self.v.extend(match self.e {
            Endian::Big => x.to_be_bytes(),
            Endian::Little => x.to_le_bytes(),
        });
        self
    }
    pub fn u64(mut self, x: u64) -> Self {
        self.v.extend(match self.e {
            Endian::Big => x.to_be_bytes(),
            Endian::Little => x.to_le_bytes(),
        });
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.v.extend_from_slice(b);
        self
    }
}

/// Overwrites a 16-bit field.
pub fn put_u16(buf: &mut [u8], off: usize, e: Endian, x: u16) {
    buf[off..off + 2].copy_from_slice(&W::new(e).u16(x).v);
}

/// Overwrites a 32-bit field.
pub fn put_u32(buf: &mut [u8], off: usize, e: Endian, x: u32) {
    buf[off..off + 4].copy_from_slice(&W::new(e).u32(x).v);
}

/// One capability: header fields and the bytes after the header.
#[derive(Clone, Debug)]
pub struct Cap {
    pub id: u16,
    pub version: u16,
    pub body: Vec<u8>,
}

/// An info answer under construction.
pub struct Info {
    pub e: Endian,
    iommu: bool,
    pub caps: Vec<Cap>,
    /// Padding of each capability (the kernel's is 8).
    pub align: usize,
}

impl Info {
    pub fn device(e: Endian) -> Self {
        Self {
            e,
            iommu: false,
            caps: Vec::new(),
            align: 8,
        }
    }

    pub fn iommu(e: Endian) -> Self {
        Self {
            iommu: true,
            ..Self::device(e)
        }
    }

    pub fn cap(mut self, c: Cap) -> Self {
        self.caps.push(c);
        self
    }

    fn header_len(&self) -> usize {
        if self.iommu {
            iommu_info::SIZE
        } else {
            device_info::SIZE
        }
    }

    /// Where each capability starts.
    pub fn offsets(&self) -> Vec<usize> {
        let mut off = self.header_len();
        let mut v = Vec::new();
        for c in &self.caps {
            v.push(off);
            off += (CAP_HDR_LEN + c.body.len()).next_multiple_of(self.align);
        }
        v
    }

    pub fn build(&self) -> Vec<u8> {
        let offs = self.offsets();
        let mut chain = Vec::new();
        for (i, c) in self.caps.iter().enumerate() {
            let next = offs.get(i + 1).copied().unwrap_or(0) as u32;
            let mut bytes = W::new(self.e)
                .u16(c.id)
                .u16(c.version)
                .u32(next)
                .bytes(&c.body)
                .v;
            bytes.resize(bytes.len().next_multiple_of(self.align), 0);
            chain.extend(bytes);
        }
        let argsz = (self.header_len() + chain.len()) as u32;
        let has_caps = !self.caps.is_empty();
        let first = if has_caps {
            self.header_len() as u32
        } else {
            0
        };
        let mut v = if self.iommu {
            let flags =
                iommu_info::FLAGS_PGSIZES | if has_caps { iommu_info::FLAGS_CAPS } else { 0 };
            W::new(self.e)
                .u32(argsz)
                .u32(flags)
                .u64(0x0000_0000_0010_1000) // 4K and 1M pages
                .u32(first)
                .u32(0)
                .v
        } else {
            // VFIO_DEVICE_FLAGS_PCI | RESET
            let flags = 0b11 | if has_caps { device_info::FLAGS_CAPS } else { 0 };
            W::new(self.e)
                .u32(argsz)
                .u32(flags)
                .u32(9)
                .u32(5)
                .u32(first)
                .u32(0)
                .v
        };
        v.extend(chain);
        v
    }
}

/// The base capability of `b` (fields past version 1 only from version 2).
pub fn base(e: Endian, b: &ZpciBase) -> Cap {
    let mut w = W::new(e)
        .u64(b.start_dma)
        .u64(b.end_dma)
        .u16(b.pchid)
        .u16(b.vfn)
        .u16(b.fmb_length)
        .u8(b.pft)
        .u8(b.gid);
    if b.version >= 2 {
        w = w.u32(b.fh.unwrap_or_default());
    }
    Cap {
        id: cap_id::ZPCI_BASE,
        version: b.version,
        body: w.v,
    }
}

/// The group capability of `g`.
pub fn group(e: Endian, g: &ZpciGroup) -> Cap {
    let mut w = W::new(e)
        .u64(g.dasm)
        .u64(g.msi_addr)
        .u64(g.flags)
        .u16(g.mui)
        .u16(g.noi)
        .u16(g.maxstbl)
        .u8(g.pci_version);
    if g.version >= 2 {
        w = w.u8(0).u16(g.imaxstbl.unwrap_or_default());
    }
    Cap {
        id: cap_id::ZPCI_GROUP,
        version: g.version,
        body: w.v,
    }
}

/// A `size`-prefixed string capability (utility string, function path).
pub fn string(e: Endian, id: u16, size: u32, data: &[u8]) -> Cap {
    Cap {
        id,
        version: 1,
        body: W::new(e).u32(size).bytes(data).v,
    }
}

/// The IOVA range capability with `nr_iovas` and the given ranges.
pub fn iova(e: Endian, nr_iovas: u32, ranges: &[(u64, u64)]) -> Cap {
    let mut w = W::new(e).u32(nr_iovas).u32(0);
    for &(s, end) in ranges {
        w = w.u64(s).u64(end);
    }
    Cap {
        id: cap_id::IOVA_RANGE,
        version: 1,
        body: w.v,
    }
}

/// The DMA available capability.
pub fn dma_avail(e: Endian, avail: u32) -> Cap {
    Cap {
        id: cap_id::DMA_AVAIL,
        version: 1,
        body: W::new(e).u32(avail).v,
    }
}

/// The migration capability, as the kernel fills it.
pub fn migration(e: Endian) -> Cap {
    Cap {
        id: cap_id::MIGRATION,
        version: 1,
        body: W::new(e).u32(0).u32(0).u64(0x1000).u64(256 << 20).v,
    }
}

/// A base capability as an s390x host reports it (version 2).
pub fn sample_base() -> ZpciBase {
    ZpciBase {
        offset: 0,
        version: 2,
        start_dma: 0x1_0000_0000,
        end_dma: 0x1_ffff_ffff,
        pchid: 0x01c4,
        vfn: 3,
        fmb_length: 0x40,
        pft: 0x0a,
        gid: 0x02,
        fh: Some(0x8000_0c07),
    }
}

/// A group capability as an s390x host reports it (version 2).
pub fn sample_group() -> ZpciGroup {
    ZpciGroup {
        offset: 0,
        version: 2,
        dasm: 0x00ff_ffff_ffff_ffff,
        msi_addr: 0xfe00_0000_0000_0000,
        flags: 1,
        mui: 1000,
        noi: 2040,
        maxstbl: 128,
        pci_version: 3,
        imaxstbl: Some(0x800),
    }
}

/// The utility string bytes used in samples (`ConnectX` in EBCDIC).
pub const SAMPLE_UTIL: [u8; 8] = [0xc3, 0x96, 0x95, 0x95, 0x85, 0x83, 0xa3, 0xe7];

/// A source whose every ioctl fails as one on a closed descriptor does
/// (`EBADF`), named like one.
#[derive(Clone, Copy, Debug)]
pub struct BadFd(pub i32);

impl BadFd {
    pub const fn new(fd: i32) -> Self {
        Self(fd)
    }
}

impl super::info::VfioInfoSource for BadFd {
    fn get_info(&self, _: super::caps::Chain, _: &mut [u8]) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(libc::EBADF))
    }

    fn describe(&self) -> String {
        format!("fd {}", self.0)
    }
}
