//! Guest memory as the table walk sees it.
//!
//! The walk reads translation tables from guest absolute addresses chosen
//! by the guest, so every read may point anywhere. [`GuestMemory::read`]
//! answers an error for any byte outside guest RAM; the walk turns that into
//! the architected answer (QEMU reads such an entry as zero, which is an
//! invalid table entry). Entries are big-endian `u64`s; they are decoded
//! with `from_be_bytes` by the walk, never reinterpreted in place.

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::ops::Range;

use thiserror::Error;

/// A read that guest RAM cannot satisfy.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum GuestMemoryError {
    /// Some byte of the range is not guest RAM (or the range wraps).
    #[error("guest absolute range {gpa:#x} + {len:#x} bytes is not in guest RAM")]
    OutsideRam {
        /// First guest absolute address of the read.
        gpa: u64,
        /// Length of the read in bytes.
        len: usize,
    },
}

/// Read access to guest RAM, by guest absolute address.
pub trait GuestMemory {
    /// Fills `buf` from guest absolute address `gpa`. Fails, leaving `buf`
    /// unspecified, if any byte of `gpa .. gpa + buf.len()` is not guest RAM.
    ///
    /// # Errors
    ///
    /// [`GuestMemoryError::OutsideRam`] for a range not wholly in guest RAM.
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError>;

    /// The block of guest RAM containing `gpa`, as a half-open range, or
    /// `None` if `gpa` is not RAM. One DMA mapping never spans two blocks:
    /// QEMU's VFIO listener refuses a mapping that is not one piece of one
    /// RAM region (`memory_get_xlat_addr`).
    fn ram_block(&self, gpa: u64) -> Option<Range<u64>>;
}

/// Guest RAM as one block at address 0, held in a vector: the guest memory
/// of tests and benchmarks. It counts reads, so tests can check how often
/// the walk goes to memory.
#[derive(Clone, Debug, Default)]
pub struct VecMemory {
    bytes: Vec<u8>,
    reads: Cell<u64>,
}

impl VecMemory {
    /// Guest RAM of `size` zero bytes.
    #[must_use]
    pub fn new(size: usize) -> Self {
        Self {
            bytes: vec![0; size],
            reads: Cell::new(0),
        }
    }

    /// Guest RAM holding exactly `bytes` (a memory image, e.g. from a fuzzer).
    #[must_use]
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            reads: Cell::new(0),
        }
    }

    /// Size of guest RAM in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether guest RAM is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Number of calls to [`GuestMemory::read`] so far, failed ones included.
    #[must_use]
    pub fn reads(&self) -> u64 {
        self.reads.get()
    }

    fn span(&self, gpa: u64, len: usize) -> Option<Range<usize>> {
        let start = usize::try_from(gpa).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.bytes.len()).then_some(start..end)
    }

    /// Writes `value` big-endian at `gpa`, as the guest stores a table entry.
    ///
    /// # Errors
    ///
    /// [`GuestMemoryError::OutsideRam`] if the 8 bytes are not all in RAM.
    pub fn write_u64(&mut self, gpa: u64, value: u64) -> Result<(), GuestMemoryError> {
        let bytes = value.to_be_bytes();
        let err = GuestMemoryError::OutsideRam {
            gpa,
            len: bytes.len(),
        };
        let range = self.span(gpa, bytes.len()).ok_or(err)?;
        self.bytes
            .get_mut(range)
            .ok_or(err)?
            .copy_from_slice(&bytes);
        Ok(())
    }

    /// Reads the big-endian `u64` at `gpa`.
    ///
    /// # Errors
    ///
    /// [`GuestMemoryError::OutsideRam`] if the 8 bytes are not all in RAM.
    pub fn read_u64(&self, gpa: u64) -> Result<u64, GuestMemoryError> {
        let mut buf = [0u8; 8];
        self.read(gpa, &mut buf)?;
        Ok(u64::from_be_bytes(buf))
    }
}

impl GuestMemory for VecMemory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
        self.reads.set(self.reads.get().wrapping_add(1));
        let err = GuestMemoryError::OutsideRam {
            gpa,
            len: buf.len(),
        };
        let range = self.span(gpa, buf.len()).ok_or(err)?;
        buf.copy_from_slice(self.bytes.get(range).ok_or(err)?);
        Ok(())
    }

    fn ram_block(&self, gpa: u64) -> Option<Range<u64>> {
        let end = u64::try_from(self.bytes.len()).ok()?;
        (gpa < end).then_some(0..end)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_big_endian() {
        let mut mem = VecMemory::new(64);
        mem.write_u64(8, 0x0102_0304_0506_0708).unwrap();
        let mut raw = [0u8; 8];
        mem.read(8, &mut raw).unwrap();
        assert_eq!(raw, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(mem.read_u64(8).unwrap(), 0x0102_0304_0506_0708);
    }

    #[test]
    fn reads_outside_ram_fail() {
        let mem = VecMemory::new(64);
        let mut buf = [0u8; 8];
        assert!(mem.read(56, &mut buf).is_ok());
        assert_eq!(
            mem.read(57, &mut buf),
            Err(GuestMemoryError::OutsideRam { gpa: 57, len: 8 })
        );
        assert!(mem.read(u64::MAX - 3, &mut buf).is_err(), "wrapping range");
        assert!(
            mem.read(u64::MAX, &mut []).is_err(),
            "empty read outside RAM"
        );
        assert!(mem.read(64, &mut []).is_ok(), "empty read at the end");
        assert_eq!(mem.reads(), 5);
    }

    #[test]
    fn writes_outside_ram_fail() {
        let mut mem = VecMemory::new(64);
        assert!(mem.write_u64(60, 1).is_err());
        assert!(mem.write_u64(u64::MAX, 1).is_err());
    }

    #[test]
    fn one_ram_block() {
        let mem = VecMemory::new(0x3000);
        assert_eq!(mem.ram_block(0), Some(0..0x3000));
        assert_eq!(mem.ram_block(0x2fff), Some(0..0x3000));
        assert_eq!(mem.ram_block(0x3000), None);
        assert_eq!(VecMemory::new(0).ram_block(0), None);
    }
}
