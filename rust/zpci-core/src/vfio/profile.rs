//! Host profiles: what a host's VFIO driver answered about one zPCI
//! function and its container, kept in a file so that the answers can be
//! replayed without the hardware.
//!
//! A profile holds the two answers exactly as the kernel returned them
//! (`VFIO_DEVICE_GET_INFO` on the device, `VFIO_IOMMU_GET_INFO` on its
//! type1 container), the byte order they are in (the capturing host's) and,
//! optionally, where they came from. `tests/vfio-capture/` writes them
//! from a live kernel; [`HostProfile::to_bytes`] writes them in Rust.
//!
//! # Format, version 1
//!
//! Every header and record field is big-endian, whatever the host; the two
//! VFIO answers inside are kept byte for byte, in the order the header
//! names.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic: the ASCII bytes `ZPCIHOST` |
//! | 8 | 2 | format version: 1 |
//! | 10 | 1 | byte order of the VFIO answers: `B` (0x42) big-endian, `L` (0x4c) little-endian |
//! | 11 | 1 | reserved, 0 |
//! | 12 | 4 | number of records that follow, at most [`MAX_RECORDS`] |
//! | 16 | | the records, back to back, nothing after the last |
//!
//! A record is a 2-byte tag, 2 reserved bytes (0), a 4-byte data length
//! and the data, without padding:
//!
//! | tag | data | |
//! |---|---|---|
//! | 1 | the `VFIO_DEVICE_GET_INFO` answer, `argsz` bytes | required |
//! | 2 | the `VFIO_IOMMU_GET_INFO` answer of the function's container | absent when it could not be read |
//! | 3 | kernel release (`uname -r`), text | optional |
//! | 4 | PCI address, text (`0005:00:00.0`) | optional |
//! | 5 | PCI vendor id and device id, 2 bytes each | optional |
//! | 6 | origin: how the profile was made, text | optional |
//!
//! The VFIO answers are 16 to [`MAX_INFO_LEN`] bytes long; their contents
//! are judged by the capability parser when they are used, not here.
//! Text is UTF-8, 1 to [`MAX_TEXT_LEN`] bytes, without control characters.
//! Each tag appears at most once. Tags from 0x8000 up are extensions a
//! reader skips when it does not know them; an unknown tag below 0x8000
//! means the file needs a newer reader, and it is refused. A file is at
//! most [`MAX_FILE_LEN`] bytes.
//!
//! The file is untrusted: every length is checked before it is used, and
//! a bad file is refused with what is wrong and where.

#![forbid(unsafe_code)]

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::vfio::caps::Endian;
use crate::vfio::info::{RecordedKernel, INFO_MIN_LEN, MAX_INFO_LEN};

/// The first 8 bytes of every profile.
pub const MAGIC: [u8; 8] = *b"ZPCIHOST";
/// The format version written and read.
pub const VERSION: u16 = 1;
/// Size of the file header.
pub const HEADER_LEN: usize = 16;
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 8;
/// Most records in one file.
pub const MAX_RECORDS: u32 = 16;
/// Longest text record.
pub const MAX_TEXT_LEN: usize = 256;
/// Largest file read.
pub const MAX_FILE_LEN: usize = 256 * 1024;

/// Record tags.
pub mod tag {
    /// The `VFIO_DEVICE_GET_INFO` answer.
    pub const DEVICE_INFO: u16 = 1;
    /// The `VFIO_IOMMU_GET_INFO` answer.
    pub const IOMMU_INFO: u16 = 2;
    /// Kernel release.
    pub const KERNEL_RELEASE: u16 = 3;
    /// PCI address.
    pub const PCI_ADDRESS: u16 = 4;
    /// PCI vendor and device ids.
    pub const PCI_IDS: u16 = 5;
    /// How the profile was made.
    pub const ORIGIN: u16 = 6;
    /// First tag a reader may skip when it does not know it.
    pub const FIRST_OPTIONAL: u16 = 0x8000;
}

/// The name of a tag, for messages.
fn tag_name(t: u16) -> String {
    match t {
        tag::DEVICE_INFO => "VFIO device info record (tag 1)".into(),
        tag::IOMMU_INFO => "VFIO IOMMU info record (tag 2)".into(),
        tag::KERNEL_RELEASE => "kernel release record (tag 3)".into(),
        tag::PCI_ADDRESS => "PCI address record (tag 4)".into(),
        tag::PCI_IDS => "PCI ids record (tag 5)".into(),
        tag::ORIGIN => "origin record (tag 6)".into(),
        t => format!("record tag {t:#06x}"),
    }
}

/// PCI vendor and device ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciIds {
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
}

/// One host function's VFIO answers, and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostProfile {
    /// Byte order of the two answers.
    pub endian: Endian,
    /// The `VFIO_DEVICE_GET_INFO` answer.
    pub device_info: Vec<u8>,
    /// The `VFIO_IOMMU_GET_INFO` answer of the container, if it was read.
    pub iommu_info: Option<Vec<u8>>,
    /// The capturing host's kernel release.
    pub kernel_release: Option<String>,
    /// The function's PCI address on the capturing host.
    pub pci_address: Option<String>,
    /// The function's PCI ids.
    pub pci_ids: Option<PciIds>,
    /// How the profile was made.
    pub origin: Option<String>,
}

/// What is wrong with a profile's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProfileError {
    /// The file does not start with [`MAGIC`].
    #[error("not a zPCI host profile (it does not start with \"ZPCIHOST\")")]
    BadMagic,
    /// Another format version.
    #[error("format version {found} is not supported (this zpci-rs reads version {VERSION})")]
    Version {
        /// The version in the file.
        found: u16,
    },
    /// The byte order is neither `B` nor `L`.
    #[error("byte order {found:#04x} at offset 10 is neither 'B' nor 'L'")]
    ByteOrder {
        /// The byte found.
        found: u8,
    },
    /// A reserved field is not zero.
    #[error("reserved bytes at offset {offset} are not zero")]
    Reserved {
        /// Where.
        offset: usize,
    },
    /// More records than allowed.
    #[error("{count} records, more than the {MAX_RECORDS} allowed")]
    TooManyRecords {
        /// The count in the header.
        count: u32,
    },
    /// The data ends inside a header or a record.
    #[error("{what} at offset {offset} needs {need} bytes, but the file has {have} left")]
    Truncated {
        /// What was being read.
        what: String,
        /// Where it starts.
        offset: usize,
        /// The bytes it needs.
        need: u64,
        /// The bytes left.
        have: usize,
    },
    /// Bytes after the last record.
    #[error("{extra} bytes after the last record (offset {offset})")]
    TrailingBytes {
        /// Where the last record ended.
        offset: usize,
        /// The bytes after it.
        extra: usize,
    },
    /// A record whose tag this reader must understand, but does not.
    #[error(
        "{} at offset {offset} is not known to this zpci-rs and may not be skipped",
        tag_name(*.tag)
    )]
    UnknownTag {
        /// The tag.
        tag: u16,
        /// Where the record starts.
        offset: usize,
    },
    /// A tag that appears twice.
    #[error("{} appears twice (again at offset {offset})", tag_name(*.tag))]
    Duplicate {
        /// The tag.
        tag: u16,
        /// Where the second one starts.
        offset: usize,
    },
    /// A record of the wrong length.
    #[error("{} at offset {offset} is {len} bytes long, not {want}", tag_name(*.tag))]
    Length {
        /// The tag.
        tag: u16,
        /// Where the record starts.
        offset: usize,
        /// Its length.
        len: usize,
        /// The lengths allowed.
        want: String,
    },
    /// Text that is not UTF-8 or holds control characters.
    #[error("{} at offset {offset} is not printable UTF-8 text", tag_name(*.tag))]
    Text {
        /// The tag.
        tag: u16,
        /// Where the record starts.
        offset: usize,
    },
    /// No device info.
    #[error("no VFIO device info record (tag 1)")]
    NoDeviceInfo,
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error("larger than the {MAX_FILE_LEN} bytes a profile may have")]
    TooLarge,
}

/// A profile file that could not be used: its name and why.
#[derive(Debug, Error)]
pub enum LoadError {
    /// It could not be read.
    #[error("host profile {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Its contents are wrong.
    #[error("host profile {}: {source}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: ProfileError,
    },
}

/// Big-endian reads that say what they were reading when they fail.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ProfileError> {
        let left = self.buf.len().saturating_sub(self.pos);
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or_else(|| ProfileError::Truncated {
                what: what.to_owned(),
                offset: self.pos,
                need: u64::try_from(n).unwrap_or(u64::MAX),
                have: left,
            })?;
        self.pos = self.pos.saturating_add(n);
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ProfileError> {
        let b = self.take(N, what)?;
        b.try_into().map_err(|_| ProfileError::Truncated {
            what: what.to_owned(),
            offset: self.pos,
            need: 0,
            have: 0,
        })
    }
}

fn text(t: u16, offset: usize, data: &[u8]) -> Result<String, ProfileError> {
    if data.is_empty() || data.len() > MAX_TEXT_LEN {
        return Err(ProfileError::Length {
            tag: t,
            offset,
            len: data.len(),
            want: format!("1 to {MAX_TEXT_LEN}"),
        });
    }
    match std::str::from_utf8(data) {
        Ok(s) if !s.chars().any(char::is_control) => Ok(s.to_owned()),
        _ => Err(ProfileError::Text { tag: t, offset }),
    }
}

fn info(t: u16, offset: usize, data: &[u8]) -> Result<Vec<u8>, ProfileError> {
    if (INFO_MIN_LEN..=MAX_INFO_LEN).contains(&data.len()) {
        Ok(data.to_vec())
    } else {
        Err(ProfileError::Length {
            tag: t,
            offset,
            len: data.len(),
            want: format!("{INFO_MIN_LEN} to {MAX_INFO_LEN}"),
        })
    }
}

impl HostProfile {
    /// A profile of the two answers, without metadata.
    #[must_use]
    pub fn new(endian: Endian, device_info: Vec<u8>, iommu_info: Option<Vec<u8>>) -> Self {
        Self {
            endian,
            device_info,
            iommu_info,
            kernel_release: None,
            pci_address: None,
            pci_ids: None,
            origin: None,
        }
    }

    /// Reads a profile from its bytes.
    ///
    /// # Errors
    /// What is wrong with the bytes, and where.
    pub fn parse(buf: &[u8]) -> Result<Self, ProfileError> {
        if buf.len() > MAX_FILE_LEN {
            return Err(ProfileError::TooLarge);
        }
        let mut c = Cursor { buf, pos: 0 };
        if c.take(MAGIC.len(), "the header")? != MAGIC {
            return Err(ProfileError::BadMagic);
        }
        let version = u16::from_be_bytes(c.array("the header")?);
        if version != VERSION {
            return Err(ProfileError::Version { found: version });
        }
        let [order, reserved] = c.array("the header")?;
        let endian = match order {
            b'B' => Endian::Big,
            b'L' => Endian::Little,
            found => return Err(ProfileError::ByteOrder { found }),
        };
        if reserved != 0 {
            return Err(ProfileError::Reserved { offset: 11 });
        }
        let count = u32::from_be_bytes(c.array("the header")?);
        if count > MAX_RECORDS {
            return Err(ProfileError::TooManyRecords { count });
        }

        let mut p = Self::new(endian, Vec::new(), None);
        let mut device = None;
        let mut seen: Vec<u16> = Vec::new();
        for _ in 0..count {
            let offset = c.pos;
            let t = u16::from_be_bytes(c.array("a record header")?);
            let reserved = u16::from_be_bytes(c.array("a record header")?);
            let len = u32::from_be_bytes(c.array("a record header")?);
            if reserved != 0 {
                return Err(ProfileError::Reserved {
                    offset: offset.saturating_add(2),
                });
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let data = c.take(len, &format!("the data of the {}", tag_name(t)))?;
            if seen.contains(&t) {
                return Err(ProfileError::Duplicate { tag: t, offset });
            }
            seen.push(t);
            match t {
                tag::DEVICE_INFO => device = Some(info(t, offset, data)?),
                tag::IOMMU_INFO => p.iommu_info = Some(info(t, offset, data)?),
                tag::KERNEL_RELEASE => p.kernel_release = Some(text(t, offset, data)?),
                tag::PCI_ADDRESS => p.pci_address = Some(text(t, offset, data)?),
                tag::ORIGIN => p.origin = Some(text(t, offset, data)?),
                tag::PCI_IDS => {
                    let ids: [u8; 4] = data.try_into().map_err(|_| ProfileError::Length {
                        tag: t,
                        offset,
                        len: data.len(),
                        want: "4".into(),
                    })?;
                    let [v0, v1, d0, d1] = ids;
                    p.pci_ids = Some(PciIds {
                        vendor: u16::from_be_bytes([v0, v1]),
                        device: u16::from_be_bytes([d0, d1]),
                    });
                }
                t if t >= tag::FIRST_OPTIONAL => {}
                t => return Err(ProfileError::UnknownTag { tag: t, offset }),
            }
        }
        if c.pos != buf.len() {
            return Err(ProfileError::TrailingBytes {
                offset: c.pos,
                extra: buf.len().saturating_sub(c.pos),
            });
        }
        p.device_info = device.ok_or(ProfileError::NoDeviceInfo)?;
        Ok(p)
    }

    /// Reads the profile in the file at `path`.
    ///
    /// # Errors
    /// The file could not be read, or its contents are wrong; the message
    /// names the file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let read = |source| LoadError::Read {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(read)?;
        let mut bytes = Vec::new();
        // One byte more than allowed tells a file that is too large.
        let limit = u64::try_from(MAX_FILE_LEN)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        file.take(limit).read_to_end(&mut bytes).map_err(read)?;
        Self::parse(&bytes).map_err(|source| LoadError::Invalid {
            path: path.to_owned(),
            source,
        })
    }

    /// The profile's bytes, in format version 1.
    ///
    /// # Errors
    /// A field the format cannot hold: an answer or a text of a length
    /// outside its limits, or text with control characters.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProfileError> {
        let mut records: Vec<(u16, Vec<u8>)> = Vec::new();
        records.push((
            tag::DEVICE_INFO,
            info(tag::DEVICE_INFO, 0, &self.device_info)?,
        ));
        if let Some(i) = &self.iommu_info {
            records.push((tag::IOMMU_INFO, info(tag::IOMMU_INFO, 0, i)?));
        }
        for (t, s) in [
            (tag::KERNEL_RELEASE, &self.kernel_release),
            (tag::PCI_ADDRESS, &self.pci_address),
            (tag::ORIGIN, &self.origin),
        ] {
            if let Some(s) = s {
                records.push((t, text(t, 0, s.as_bytes())?.into_bytes()));
            }
        }
        if let Some(ids) = self.pci_ids {
            let mut v = ids.vendor.to_be_bytes().to_vec();
            v.extend(ids.device.to_be_bytes());
            records.push((tag::PCI_IDS, v));
        }
        records.sort_by_key(|(t, _)| *t);

        let mut out = MAGIC.to_vec();
        out.extend(VERSION.to_be_bytes());
        out.push(match self.endian {
            Endian::Big => b'B',
            Endian::Little => b'L',
        });
        out.push(0);
        let count = u32::try_from(records.len()).unwrap_or(u32::MAX);
        out.extend(count.to_be_bytes());
        for (t, data) in records {
            out.extend(t.to_be_bytes());
            out.extend([0, 0]);
            out.extend(u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend(data);
        }
        Ok(out)
    }

    /// A fake kernel that answers the info ioctls with this profile's
    /// answers; `name` is used in its messages.
    #[must_use]
    pub fn kernel(&self, name: &str) -> RecordedKernel {
        RecordedKernel::new(
            name,
            self.endian,
            Some(self.device_info.clone()),
            self.iommu_info.clone(),
        )
    }
}

impl fmt::Display for HostProfile {
    /// One line per field, for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = match self.endian {
            Endian::Big => "big-endian",
            Endian::Little => "little-endian",
        };
        writeln!(f, "byte order: {order}")?;
        writeln!(f, "device info: {} bytes", self.device_info.len())?;
        match &self.iommu_info {
            Some(i) => writeln!(f, "IOMMU info: {} bytes", i.len())?,
            None => writeln!(f, "IOMMU info: none")?,
        }
        let none = || "-".to_owned();
        writeln!(
            f,
            "kernel release: {}",
            self.kernel_release.clone().unwrap_or_else(none)
        )?;
        writeln!(
            f,
            "PCI address: {}",
            self.pci_address.clone().unwrap_or_else(none)
        )?;
        match self.pci_ids {
            Some(ids) => writeln!(f, "PCI ids: {:04x}:{:04x}", ids.vendor, ids.device)?,
            None => writeln!(f, "PCI ids: -")?,
        }
        write!(f, "origin: {}", self.origin.clone().unwrap_or_else(none))
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::panic
)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::vfio::caps::{
        cap_id, parse_device_info, parse_iommu_info, Chain, ZpciBase, ZpciGroup,
    };
    use crate::vfio::fixtures::{self as fx, Info};
    use crate::vfio::info::read_info;

    fn sample() -> HostProfile {
        let e = Endian::Big;
        HostProfile {
            kernel_release: Some("6.12.95+deb12-s390x".into()),
            pci_address: Some("0005:00:00.0".into()),
            pci_ids: Some(PciIds {
                vendor: 0x1af4,
                device: 0x1042,
            }),
            origin: Some("unit test".into()),
            ..HostProfile::new(
                e,
                Info::device(e).cap(fx::base(e, &fx::sample_base())).build(),
                Some(Info::iommu(e).cap(fx::dma_avail(e, 7)).build()),
            )
        }
    }

    #[test]
    fn written_profiles_read_back() {
        let p = sample();
        let bytes = p.to_bytes().unwrap();
        assert_eq!(&bytes[..16], b"ZPCIHOST\x00\x01B\x00\x00\x00\x00\x06");
        assert_eq!(HostProfile::parse(&bytes).unwrap(), p);
        let bare = HostProfile::new(Endian::Little, vec![0; 24], None);
        let bytes = bare.to_bytes().unwrap();
        assert_eq!(bytes.len(), 16 + 8 + 24);
        assert_eq!(bytes[10], b'L');
        assert_eq!(HostProfile::parse(&bytes).unwrap(), bare);
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let p = HostProfile {
            origin: Some("x".into()),
            ..HostProfile::new(Endian::Big, (0..16).collect(), None)
        };
        let mut want = b"ZPCIHOST".to_vec();
        want.extend([0, 1, b'B', 0, 0, 0, 0, 2]);
        want.extend([0, 1, 0, 0, 0, 0, 0, 16]);
        want.extend(0..16u8);
        want.extend([0, 6, 0, 0, 0, 0, 0, 1, b'x']);
        assert_eq!(p.to_bytes().unwrap(), want);
    }

    fn err(bytes: &[u8]) -> String {
        HostProfile::parse(bytes).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let good = sample().to_bytes().unwrap();
        assert_eq!(
            err(b"ZPCIHOS"),
            "the header at offset 0 needs 8 bytes, but the file has 7 left"
        );
        assert_eq!(
            err(b"ELF\x7f\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
            "not a zPCI host profile (it does not start with \"ZPCIHOST\")"
        );
        let mut b = good.clone();
        b[9] = 2;
        assert_eq!(
            err(&b),
            "format version 2 is not supported (this zpci-rs reads version 1)"
        );
        let mut b = good.clone();
        b[10] = b'X';
        assert_eq!(
            err(&b),
            "byte order 0x58 at offset 10 is neither 'B' nor 'L'"
        );
        let mut b = good.clone();
        b[11] = 1;
        assert_eq!(err(&b), "reserved bytes at offset 11 are not zero");
        let mut b = good.clone();
        b[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(err(&b), "4294967295 records, more than the 16 allowed");
        let mut b = good.clone();
        b[15] = 7;
        assert_eq!(
            err(&b),
            "a record header at offset 212 needs 2 bytes, but the file has 0 left"
        );
        let mut b = good.clone();
        b[15] = 5;
        assert_eq!(err(&b), "17 bytes after the last record (offset 195)");
        // a length beyond the end, without reading it
        let mut b = good.clone();
        b[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            err(&b),
            "the data of the VFIO device info record (tag 1) at offset 24 needs 4294967295 \
             bytes, but the file has 188 left"
        );
        let mut b = good.clone();
        b[16..18].copy_from_slice(&0x0042u16.to_be_bytes());
        assert_eq!(
            err(&b),
            "record tag 0x0042 at offset 16 is not known to this zpci-rs and may not be skipped"
        );
        let mut b = good;
        b[18] = 1;
        assert_eq!(err(&b), "reserved bytes at offset 18 are not zero");
    }

    /// Appends a record to a file and fixes the count.
    fn with_record(mut b: Vec<u8>, t: u16, data: &[u8]) -> Vec<u8> {
        let n = u32::from_be_bytes(b[12..16].try_into().unwrap()) + 1;
        b[12..16].copy_from_slice(&n.to_be_bytes());
        b.extend(t.to_be_bytes());
        b.extend([0, 0]);
        b.extend((data.len() as u32).to_be_bytes());
        b.extend(data);
        b
    }

    #[test]
    fn records_are_checked() {
        let bare = HostProfile::new(Endian::Big, vec![0; 24], None)
            .to_bytes()
            .unwrap();
        // extensions are skipped, duplicates refused
        let b = with_record(bare.clone(), 0x8001, b"future");
        assert_eq!(HostProfile::parse(&b).unwrap().device_info, vec![0; 24]);
        let b = with_record(bare.clone(), 1, &[0; 24]);
        assert_eq!(
            err(&b),
            "VFIO device info record (tag 1) appears twice (again at offset 48)"
        );
        let b = with_record(bare.clone(), 5, &[1, 2, 3]);
        assert_eq!(
            err(&b),
            "PCI ids record (tag 5) at offset 48 is 3 bytes long, not 4"
        );
        let b = with_record(bare.clone(), 3, b"6.12\n");
        assert_eq!(
            err(&b),
            "kernel release record (tag 3) at offset 48 is not printable UTF-8 text"
        );
        let b = with_record(bare.clone(), 4, &[0xc3, 0x28]);
        assert!(err(&b).ends_with("is not printable UTF-8 text"));
        let b = with_record(bare.clone(), 6, &[]);
        assert_eq!(
            err(&b),
            "origin record (tag 6) at offset 48 is 0 bytes long, not 1 to 256"
        );
        let b = with_record(bare.clone(), 2, &[0; 8]);
        assert_eq!(
            err(&b),
            "VFIO IOMMU info record (tag 2) at offset 48 is 8 bytes long, not 16 to 65536"
        );
        // no device info at all
        let mut only_iommu = bare[..16].to_vec();
        only_iommu[15] = 0;
        let b = with_record(only_iommu, 2, &[0; 24]);
        assert_eq!(err(&b), "no VFIO device info record (tag 1)");
    }

    #[test]
    fn the_writer_refuses_what_the_reader_would() {
        let mut p = sample();
        p.origin = Some("a\tb".into());
        assert!(p.to_bytes().is_err());
        p.origin = Some("x".repeat(257));
        assert!(p.to_bytes().is_err());
        let p = HostProfile::new(Endian::Big, vec![0; 15], None);
        assert!(p.to_bytes().is_err());
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("zpci-rs-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.zpcihost");
        std::fs::write(&path, b"hello").unwrap();
        let e = HostProfile::load(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "host profile {}: the header at offset 0 needs 8 bytes, but the file has 5 left",
                path.display()
            )
        );
        let big = vec![0u8; MAX_FILE_LEN + 1];
        std::fs::write(&path, big).unwrap();
        let e = HostProfile::load(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("larger than the 262144 bytes a profile may have"),
            "{e}"
        );
        let good = dir.join("good.zpcihost");
        std::fs::write(&good, sample().to_bytes().unwrap()).unwrap();
        assert_eq!(HostProfile::load(&good).unwrap(), sample());
        let missing = dir.join("missing.zpcihost");
        let e = HostProfile::load(&missing).unwrap_err().to_string();
        assert!(e.starts_with(&format!("host profile {}: ", missing.display())));
        assert!(e.contains("No such file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_profile_replays_through_the_ioctl_loop() {
        let p = sample();
        let k = p.kernel("profile");
        assert_eq!(read_info(&k, Chain::Device).unwrap(), p.device_info);
        assert_eq!(read_info(&k, Chain::Iommu).unwrap(), p.iommu_info.unwrap());
    }

    #[test]
    fn display_lists_the_metadata() {
        let s = sample().to_string();
        assert!(s.contains("kernel release: 6.12.95+deb12-s390x"));
        assert!(s.contains("PCI ids: 1af4:1042"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes: a profile or an error, never a panic; what parses
        /// writes back to the same bytes when it was written canonically.
        #[test]
        fn any_bytes_parse_or_fail_cleanly(
            tail in proptest::collection::vec(any::<u8>(), 0..300),
            count in 0u32..20,
            order in prop_oneof![Just(b'B'), Just(b'L'), any::<u8>()],
        ) {
            let mut b = b"ZPCIHOST\x00\x01".to_vec();
            b.push(order);
            b.push(0);
            b.extend(count.to_be_bytes());
            b.extend(&tail);
            let _ = HostProfile::parse(&b);
            let _ = HostProfile::parse(&tail);
        }

        /// Written profiles come back equal, and cut anywhere they fail.
        #[test]
        fn written_profiles_round_trip(
            dev in proptest::collection::vec(any::<u8>(), 16..200),
            mmu in proptest::option::of(proptest::collection::vec(any::<u8>(), 16..200)),
            rel in proptest::option::of("[a-z0-9.+-]{1,40}"),
            ids in proptest::option::of((any::<u16>(), any::<u16>())),
            big in any::<bool>(),
            cut in 0usize..400,
        ) {
            let p = HostProfile {
                kernel_release: rel,
                pci_ids: ids.map(|(vendor, device)| PciIds { vendor, device }),
                ..HostProfile::new(if big { Endian::Big } else { Endian::Little }, dev, mmu)
            };
            let b = p.to_bytes().unwrap();
            prop_assert_eq!(HostProfile::parse(&b).unwrap(), p);
            if cut < b.len() {
                prop_assert!(HostProfile::parse(&b[..cut]).is_err());
            }
        }
    }

    /// EBCDIC for "zpci-rs replay", padded with EBCDIC spaces.
    fn crafted_util_str() -> [u8; 64] {
        let mut u = [0x40u8; 64];
        let text = [
            0xa9, 0x97, 0x83, 0x89, 0x60, 0x99, 0xa2, 0x40, 0x99, 0x85, 0x97, 0x93, 0x81, 0xa8,
        ];
        u[..text.len()].copy_from_slice(&text);
        u
    }

    /// The profile the round trip presents on emulated functions
    /// (`tests/fixtures/replay-sample.zpcihost`): the answers an s390x
    /// host's 6.12 kernel gives, laid out as it lays them out, for a
    /// function with values unlike QEMU's defaults everywhere the guest
    /// can see them, in a container with a small `DMA_AVAIL`.
    fn crafted() -> HostProfile {
        crafted_with_dma_avail(0x800)
    }

    fn crafted_with_dma_avail(dma_avail: u32) -> HostProfile {
        let e = Endian::Big;
        let base = ZpciBase {
            offset: 0,
            version: 2,
            start_dma: 0x2_0000_0000,
            end_dma: 0x3_ffff_ffff,
            pchid: 0x01c4,
            vfn: 3,
            fmb_length: 0x40,
            pft: 0x0a,
            gid: 0x12,
            fh: Some(0x8000_0c07),
        };
        let group = ZpciGroup {
            offset: 0,
            version: 2,
            dasm: 0x00ff_ffff_ffff_ffff,
            msi_addr: 0xfe00_0000_0000_0000,
            flags: 1,
            mui: 1000,
            noi: 2040,
            maxstbl: 0x200,
            pci_version: 1,
            imaxstbl: Some(0x800),
        };
        let device = Info::device(e)
            .cap(fx::base(e, &base))
            .cap(fx::group(e, &group))
            .cap(fx::string(e, cap_id::ZPCI_UTIL, 64, &crafted_util_str()))
            .cap(fx::string(
                e,
                cap_id::ZPCI_PFIP,
                4,
                &[0x11, 0x22, 0x33, 0x44],
            ))
            .build();
        let iommu = Info::iommu(e)
            .cap(fx::migration(e))
            .cap(fx::dma_avail(e, dma_avail))
            .cap(fx::iova(e, 1, &[(0x2_0000_0000, 0x3_ffff_ffff)]))
            .build();
        HostProfile {
            origin: Some(
                "crafted by zpci-rs (rust/src/vfio/profile.rs, tests::crafted) for the round trip"
                    .into(),
            ),
            ..HostProfile::new(e, device, Some(iommu))
        }
    }

    fn fixture_path(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name)
    }

    /// The checked-in crafted profiles are what the writer makes today;
    /// set `ZPCI_RS_BLESS=1` to write them again after changing `crafted`.
    #[test]
    fn crafted_fixture_is_the_writers() {
        for (name, profile) in [
            ("replay-sample.zpcihost", crafted()),
            ("replay-small-dma.zpcihost", crafted_with_dma_avail(0x200)),
        ] {
            let want = profile.to_bytes().unwrap();
            let path = fixture_path(name);
            if std::env::var_os("ZPCI_RS_BLESS").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            assert!(
                std::fs::read(&path).unwrap_or_default() == want,
                "{} is stale: run ZPCI_RS_BLESS=1 cargo test crafted_fixture",
                path.display()
            );
        }
    }

    // The checked-in fixtures, parsed.

    /// A capture from the Debian 6.12 guest of the emulated virtio-blk
    /// function QEMU presents with its default values.
    const DEFAULT_CAPTURE: &[u8] =
        include_bytes!("../../../../tests/fixtures/guest612-default-virtio-blk.zpcihost");

    #[test]
    fn default_function_capture_parses() {
        let p = HostProfile::parse(DEFAULT_CAPTURE).unwrap();
        assert_eq!(p.endian, Endian::Big);
        assert_eq!(p.kernel_release.as_deref(), Some("6.12.95+deb12-s390x"));
        assert_eq!(p.pci_address.as_deref(), Some("0005:00:00.0"));
        assert_eq!(
            p.pci_ids,
            Some(PciIds {
                vendor: 0x1af4,
                device: 0x1001
            })
        );
        let d = parse_device_info(&p.device_info, p.endian).unwrap();
        assert_eq!(d.problems, []);
        let b = d.base.unwrap();
        assert_eq!(b.version, 2);
        assert_eq!((b.start_dma, b.end_dma), (0x1_0000_0000, 0x1_3fff_ffff));
        assert_eq!(
            (b.pchid, b.vfn, b.fmb_length, b.pft, b.gid),
            (0, 0, 0, 0, 0xff)
        );
        assert!(b.fh.is_some());
        let g = d.group.unwrap();
        assert_eq!(
            g,
            ZpciGroup {
                offset: g.offset,
                version: 2,
                dasm: 0,
                msi_addr: 0xfe00_0000_0000_0000,
                flags: 1,
                mui: 4000,
                noi: 128,
                maxstbl: 128,
                pci_version: 0,
                imaxstbl: Some(128),
            }
        );
        assert_eq!(d.util, None);
        assert_eq!(d.pfip.unwrap().pfip, [0; 4]);
        let i = parse_iommu_info(p.iommu_info.as_ref().unwrap(), p.endian).unwrap();
        assert_eq!(i.problems, []);
        assert!(i.migration);
        assert_eq!(i.dma_avail.unwrap().avail, 65535);
        let r = i.iova_ranges.unwrap().ranges;
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start, r[0].end), (0x1_0000_0000, 0x1_3fff_ffff));
    }
}
