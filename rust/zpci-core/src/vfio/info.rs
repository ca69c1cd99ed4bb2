//! The two VFIO info ioctls, `VFIO_DEVICE_GET_INFO` and
//! `VFIO_IOMMU_GET_INFO`, as a loop over any source that answers them.
//!
//! Both work the same way (`vfio_pci_ioctl_get_info` in
//! `drivers/vfio/pci/vfio_pci_core.c`, `vfio_iommu_type1_get_info` in
//! `drivers/vfio/vfio_iommu_type1.c`, Linux 6.12): the caller puts the size
//! of its buffer in `argsz`; the kernel reads the first 16 bytes, writes the
//! fixed fields (at most `min(argsz, 24)` bytes) and, when the capability
//! chain fits, the chain after them. When it does not fit, the kernel sets
//! `argsz` to the size it needs and `cap_offset` to 0, and the caller asks
//! again with a larger buffer.
//!
//! [`read_info`] does that loop for any [`VfioInfoSource`]: at most
//! [`MAX_TRIES`] ioctls, never a buffer above [`MAX_INFO_LEN`] bytes, and it
//! returns exactly `argsz` bytes. The sources are a real file descriptor
//! (`zpci_rs::ioctl::VfioFd`, the only code that calls the kernel) and
//! [`RecordedKernel`], which answers from bytes recorded earlier with the
//! kernel's own rules, so that a replayed host goes through the same loop
//! as a live one.
//!
//! The numbers of the container and group ioctls that set up a type1
//! container for one IOMMU group, as QEMU's vfio-pci does, are here too.

use std::io;

use thiserror::Error;

use crate::vfio::caps::{device_info, Chain, Endian};

/// `VFIO_TYPE` in `include/uapi/linux/vfio.h`.
pub const VFIO_TYPE: u8 = b';';
/// `VFIO_BASE` in `include/uapi/linux/vfio.h`.
pub const VFIO_BASE: u8 = 100;

/// `_IO(type, nr)` of `include/uapi/asm-generic/ioctl.h` (also s390's): no
/// direction and no size bits, the type in bits 8-15, the number in 0-7.
#[must_use]
pub const fn io(ty: u8, nr: u8) -> u32 {
    ((ty as u32) << 8) | nr as u32
}

/// `VFIO_DEVICE_GET_INFO`: `_IO(VFIO_TYPE, VFIO_BASE + 7)`.
pub const VFIO_DEVICE_GET_INFO: u32 = io(VFIO_TYPE, VFIO_BASE + 7);
/// `VFIO_IOMMU_GET_INFO`: `_IO(VFIO_TYPE, VFIO_BASE + 12)`.
pub const VFIO_IOMMU_GET_INFO: u32 = io(VFIO_TYPE, VFIO_BASE + 12);

/// Bytes the kernel reads before it looks at `argsz`: `offsetofend` of
/// `num_irqs` (device) or `iova_pgsizes` (IOMMU); a smaller `argsz` gets
/// `EINVAL`.
pub const INFO_MIN_LEN: usize = 16;
/// Largest answer accepted (64 KiB). A zPCI device answers with about
/// 200 bytes and a type1 container with about 100 plus 16 per IOVA range.
pub const MAX_INFO_LEN: usize = 64 * 1024;
/// Most ioctls issued for one answer: the first, and retries while the
/// kernel asks for more room (once is enough unless the chain grows
/// between two calls).
pub const MAX_TRIES: usize = 4;

/// The name of the ioctl that fetches `chain`, for messages.
#[must_use]
pub fn ioctl_name(chain: Chain) -> &'static str {
    match chain {
        Chain::Device => "VFIO_DEVICE_GET_INFO",
        Chain::Iommu => "VFIO_IOMMU_GET_INFO",
    }
}

/// The ioctl number that fetches `chain`.
#[must_use]
pub fn ioctl_number(chain: Chain) -> u32 {
    match chain {
        Chain::Device => VFIO_DEVICE_GET_INFO,
        Chain::Iommu => VFIO_IOMMU_GET_INFO,
    }
}

/// Something that answers the two info ioctls the way the kernel does.
pub trait VfioInfoSource {
    /// Issues one info ioctl for `chain` on `buf`, whose first 4 bytes are
    /// `argsz` in the source's byte order; the answer is written into
    /// `buf`. A source never writes past `argsz` nor past `buf`.
    ///
    /// # Errors
    /// The error the ioctl failed with.
    fn get_info(&self, chain: Chain, buf: &mut [u8]) -> io::Result<()>;

    /// The byte order of the answers (the host's, for a live kernel).
    fn endian(&self) -> Endian {
        Endian::native()
    }

    /// What the source is, for messages ("fd 17", a profile's name).
    fn describe(&self) -> String;
}

/// Why an info answer could not be read.
#[derive(Debug, Error)]
pub enum IoctlError {
    /// The ioctl itself failed.
    #[error("{ioctl} on {source_name} failed", ioctl = ioctl_name(*.chain))]
    Failed {
        /// Which info.
        chain: Chain,
        /// What was asked.
        source_name: String,
        /// The error the ioctl returned.
        #[source]
        source: io::Error,
    },
    /// The kernel wants a buffer larger than is accepted.
    #[error(
        "{ioctl} on {source_name} asks for {argsz} bytes, more than the {max} accepted",
        ioctl = ioctl_name(*.chain)
    )]
    TooLarge {
        /// Which info.
        chain: Chain,
        /// What was asked.
        source_name: String,
        /// The size the kernel asked for.
        argsz: u32,
        /// [`MAX_INFO_LEN`].
        max: usize,
    },
    /// The kernel asked for more room on every try.
    #[error(
        "{ioctl} on {source_name} still asks for a larger buffer ({argsz} bytes) after {tries} \
         tries",
        ioctl = ioctl_name(*.chain)
    )]
    StillGrowing {
        /// Which info.
        chain: Chain,
        /// What was asked.
        source_name: String,
        /// The last size asked for.
        argsz: u32,
        /// [`MAX_TRIES`].
        tries: usize,
    },
}

fn get_u32(buf: &[u8], off: usize, e: Endian) -> Option<u32> {
    e.u32_at(buf, off)
}

fn put_u32(buf: &mut [u8], off: usize, e: Endian, v: u32) {
    let b = match e {
        Endian::Big => v.to_be_bytes(),
        Endian::Little => v.to_le_bytes(),
    };
    if let Some(dst) = off.checked_add(4).and_then(|end| buf.get_mut(off..end)) {
        dst.copy_from_slice(&b);
    }
}

fn to_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Fetches the whole answer for `chain` from `src`, growing the buffer as
/// the kernel asks: exactly `argsz` bytes (or fewer, when the kernel
/// reported an `argsz` below the buffer it was given).
///
/// # Errors
/// The ioctl failed, or the kernel asked for more than [`MAX_INFO_LEN`]
/// bytes, or still for more after [`MAX_TRIES`] ioctls.
pub fn read_info(src: &dyn VfioInfoSource, chain: Chain) -> Result<Vec<u8>, IoctlError> {
    let e = src.endian();
    let mut len = device_info::SIZE;
    let mut asked = 0;
    for _ in 0..MAX_TRIES {
        let mut buf = vec![0u8; len];
        put_u32(&mut buf, 0, e, to_u32(len));
        src.get_info(chain, &mut buf)
            .map_err(|source| IoctlError::Failed {
                chain,
                source_name: src.describe(),
                source,
            })?;
        asked = get_u32(&buf, 0, e).unwrap_or(0);
        let want = usize::try_from(asked).unwrap_or(usize::MAX);
        if want <= len {
            buf.truncate(want);
            return Ok(buf);
        }
        if want > MAX_INFO_LEN {
            return Err(IoctlError::TooLarge {
                chain,
                source_name: src.describe(),
                argsz: asked,
                max: MAX_INFO_LEN,
            });
        }
        len = want;
    }
    Err(IoctlError::StillGrowing {
        chain,
        source_name: src.describe(),
        argsz: asked,
        tries: MAX_TRIES,
    })
}

/// A fake kernel: answers the info ioctls from recorded answers, following
/// the kernel's rules (`vfio_pci_ioctl_get_info`, 6.12): `EINVAL` when
/// `argsz` is below [`INFO_MIN_LEN`]; when the recorded answer does not fit
/// in `argsz`, only the fixed fields, with `argsz` set to the size needed
/// and `cap_offset` 0; when it fits, the recorded answer byte for byte (its
/// `argsz` is the size the kernel needed, which is what a caller whose
/// buffer had exactly that size got back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedKernel {
    name: String,
    endian: Endian,
    device: Option<Vec<u8>>,
    iommu: Option<Vec<u8>>,
}

impl RecordedKernel {
    /// A kernel that answers with `device` and `iommu` (in byte order
    /// `endian`); a missing answer gets `ENOTTY`, as an fd of the wrong
    /// kind would. `name` is used in messages.
    #[must_use]
    pub fn new(
        name: &str,
        endian: Endian,
        device: Option<Vec<u8>>,
        iommu: Option<Vec<u8>>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            endian,
            device,
            iommu,
        }
    }
}

impl VfioInfoSource for RecordedKernel {
    fn get_info(&self, chain: Chain, buf: &mut [u8]) -> io::Result<()> {
        let answer = match chain {
            Chain::Device => self.device.as_deref(),
            Chain::Iommu => self.iommu.as_deref(),
        }
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOTTY))?;
        let e = self.endian;
        let argsz = get_u32(buf, 0, e)
            .and_then(|a| usize::try_from(a).ok())
            .unwrap_or(0);
        if argsz < INFO_MIN_LEN || buf.len() < INFO_MIN_LEN {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let room = argsz.min(buf.len());
        if answer.len() <= room {
            if let Some(dst) = buf.get_mut(..answer.len()) {
                dst.copy_from_slice(answer);
            }
            return Ok(());
        }
        // Only the fixed fields; the recorded argsz says what is needed,
        // but a recording whose argsz is short of its own length still
        // asks for all of it.
        let fixed = room.min(device_info::SIZE).min(answer.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..fixed), answer.get(..fixed)) {
            dst.copy_from_slice(src);
        }
        let recorded = get_u32(answer, 0, e).unwrap_or(0);
        put_u32(buf, 0, e, recorded.max(to_u32(answer.len())));
        if fixed >= device_info::CAP_OFFSET + 4 {
            put_u32(buf, device_info::CAP_OFFSET, e, 0);
        }
        Ok(())
    }

    fn endian(&self) -> Endian {
        self.endian
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

// Setting up a container for one IOMMU group, as QEMU's vfio-pci does
// before it asks for the two answers (`zpci_rs::ioctl`). The numbers are
// `include/uapi/linux/vfio.h`'s.

/// `VFIO_GET_API_VERSION`: `_IO(VFIO_TYPE, VFIO_BASE + 0)`, on a container.
pub const VFIO_GET_API_VERSION: u32 = io(VFIO_TYPE, VFIO_BASE);
/// `VFIO_CHECK_EXTENSION`: `_IO(VFIO_TYPE, VFIO_BASE + 1)`, on a container.
pub const VFIO_CHECK_EXTENSION: u32 = io(VFIO_TYPE, VFIO_BASE + 1);
/// `VFIO_SET_IOMMU`: `_IO(VFIO_TYPE, VFIO_BASE + 2)`, on a container.
pub const VFIO_SET_IOMMU: u32 = io(VFIO_TYPE, VFIO_BASE + 2);
/// `VFIO_GROUP_GET_STATUS`: `_IO(VFIO_TYPE, VFIO_BASE + 3)`, on a group.
pub const VFIO_GROUP_GET_STATUS: u32 = io(VFIO_TYPE, VFIO_BASE + 3);
/// `VFIO_GROUP_SET_CONTAINER`: `_IO(VFIO_TYPE, VFIO_BASE + 4)`, on a group.
pub const VFIO_GROUP_SET_CONTAINER: u32 = io(VFIO_TYPE, VFIO_BASE + 4);
/// `VFIO_GROUP_GET_DEVICE_FD`: `_IO(VFIO_TYPE, VFIO_BASE + 6)`, on a group.
pub const VFIO_GROUP_GET_DEVICE_FD: u32 = io(VFIO_TYPE, VFIO_BASE + 6);
/// `VFIO_API_VERSION`: what `VFIO_GET_API_VERSION` answers.
pub const VFIO_API_VERSION: i32 = 0;
/// `VFIO_TYPE1_IOMMU`.
pub const VFIO_TYPE1_IOMMU: u32 = 1;
/// `VFIO_TYPE1v2_IOMMU`.
pub const VFIO_TYPE1V2_IOMMU: u32 = 3;
/// `VFIO_GROUP_FLAGS_VIABLE`: every device of the group is bound to a
/// VFIO driver (or none).
pub const VFIO_GROUP_FLAGS_VIABLE: u32 = 1;

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::panic
)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::vfio::caps::{cap_id, parse_device_info, parse_iommu_info};
    use crate::vfio::fixtures::{self as fx, Info};

    /// The numbers, computed from `_IO` above, against the values of
    /// `/usr/include/linux/vfio.h` (printed by a C program including it;
    /// `tests/c/vfio_ffi_test.c` checks the same literals against the
    /// header at every run).
    /// The container and group ioctl numbers, against the values of
    /// `/usr/include/linux/vfio.h` (printed by a C program including it).
    #[test]
    fn setup_ioctl_numbers_are_pinned() {
        assert_eq!(VFIO_GET_API_VERSION, 0x3b64);
        assert_eq!(VFIO_CHECK_EXTENSION, 0x3b65);
        assert_eq!(VFIO_SET_IOMMU, 0x3b66);
        assert_eq!(VFIO_GROUP_GET_STATUS, 0x3b67);
        assert_eq!(VFIO_GROUP_SET_CONTAINER, 0x3b68);
        assert_eq!(VFIO_GROUP_GET_DEVICE_FD, 0x3b6a);
    }

    #[test]
    fn ioctl_numbers_are_pinned() {
        assert_eq!(VFIO_DEVICE_GET_INFO, 0x3b6b);
        assert_eq!(VFIO_IOMMU_GET_INFO, 0x3b70);
        assert_eq!(io(b';', 100 + 7), 0x3b6b);
        assert_eq!(ioctl_number(Chain::Device), 0x3b6b);
        assert_eq!(ioctl_number(Chain::Iommu), 0x3b70);
    }

    fn kernel_answers(e: Endian) -> (Vec<u8>, Vec<u8>) {
        let dev = Info::device(e)
            .cap(fx::base(e, &fx::sample_base()))
            .cap(fx::group(e, &fx::sample_group()))
            .cap(fx::string(e, cap_id::ZPCI_PFIP, 4, &[1, 2, 3, 4]))
            .build();
        let mmu = Info::iommu(e)
            .cap(fx::migration(e))
            .cap(fx::dma_avail(e, 65535))
            .cap(fx::iova(e, 1, &[(0x1_0000_0000, 0x1_ffff_ffff)]))
            .build();
        (dev, mmu)
    }

    /// Counts the ioctls a source receives.
    struct Counting<S> {
        inner: S,
        calls: Cell<usize>,
        sizes: RefCell<Vec<usize>>,
    }

    impl<S: VfioInfoSource> VfioInfoSource for Counting<S> {
        fn get_info(&self, chain: Chain, buf: &mut [u8]) -> io::Result<()> {
            self.calls.set(self.calls.get() + 1);
            self.sizes.borrow_mut().push(buf.len());
            self.inner.get_info(chain, buf)
        }
        fn endian(&self) -> Endian {
            self.inner.endian()
        }
        fn describe(&self) -> String {
            self.inner.describe()
        }
    }

    #[test]
    fn answers_grow_once_and_come_back_exactly() {
        for e in [Endian::Big, Endian::Little] {
            let (dev, mmu) = kernel_answers(e);
            let k = Counting {
                inner: RecordedKernel::new("k", e, Some(dev.clone()), Some(mmu.clone())),
                calls: Cell::new(0),
                sizes: RefCell::new(vec![]),
            };
            assert_eq!(read_info(&k, Chain::Device).unwrap(), dev);
            assert_eq!(k.calls.get(), 2);
            assert_eq!(*k.sizes.borrow(), [24, dev.len()]);
            assert_eq!(read_info(&k, Chain::Iommu).unwrap(), mmu);
            let d = parse_device_info(&read_info(&k, Chain::Device).unwrap(), e).unwrap();
            assert_eq!(d.problems, []);
            assert!(d.base.is_some() && d.group.is_some() && d.pfip.is_some());
            let i = parse_iommu_info(&read_info(&k, Chain::Iommu).unwrap(), e).unwrap();
            assert_eq!(i.dma_avail.unwrap().avail, 65535);
        }
    }

    #[test]
    fn the_short_answer_is_the_kernels() {
        // What the first, too small, ioctl leaves in the buffer.
        let e = Endian::Big;
        let (dev, _) = kernel_answers(e);
        let k = RecordedKernel::new("k", e, Some(dev.clone()), None);
        let mut buf = vec![0u8; 24];
        put_u32(&mut buf, 0, e, 24);
        k.get_info(Chain::Device, &mut buf).unwrap();
        assert_eq!(get_u32(&buf, 0, e).unwrap() as usize, dev.len());
        assert_eq!(buf[4..16], dev[4..16], "flags, regions, irqs");
        assert_eq!(get_u32(&buf, 16, e), Some(0), "cap_offset 0");

        // argsz below 16: EINVAL, as the kernel
        put_u32(&mut buf, 0, e, 15);
        let err = k.get_info(Chain::Device, &mut buf).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        // no IOMMU answer recorded: ENOTTY
        let err = k.get_info(Chain::Iommu, &mut buf).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
        let err = read_info(&k, Chain::Iommu).unwrap_err();
        assert_eq!(
            err.to_string(),
            "VFIO_IOMMU_GET_INFO on k failed",
            "the errno is the source"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    /// A hostile kernel that asks for 8 more bytes on every call.
    struct Growing(Cell<u32>);

    impl VfioInfoSource for Growing {
        fn get_info(&self, _: Chain, buf: &mut [u8]) -> io::Result<()> {
            let next = buf.len() as u32 + 8;
            self.0.set(self.0.get() + 1);
            put_u32(buf, 0, Endian::native(), next);
            Ok(())
        }
        fn describe(&self) -> String {
            "growing".into()
        }
    }

    #[test]
    fn a_kernel_that_keeps_growing_is_given_up_on() {
        let g = Growing(Cell::new(0));
        let err = read_info(&g, Chain::Device).unwrap_err();
        assert_eq!(g.0.get(), 4);
        assert_eq!(
            err.to_string(),
            "VFIO_DEVICE_GET_INFO on growing still asks for a larger buffer (56 bytes) after 4 \
             tries"
        );
    }

    /// A kernel that asks for `argsz` bytes.
    struct Asks(u32);

    impl VfioInfoSource for Asks {
        fn get_info(&self, _: Chain, buf: &mut [u8]) -> io::Result<()> {
            put_u32(buf, 0, Endian::native(), self.0);
            Ok(())
        }
        fn describe(&self) -> String {
            "asks".into()
        }
    }

    #[test]
    fn a_kernel_asking_too_much_is_refused() {
        let err = read_info(&Asks(64 * 1024 + 1), Chain::Iommu).unwrap_err();
        assert_eq!(
            err.to_string(),
            "VFIO_IOMMU_GET_INFO on asks asks for 65537 bytes, more than the 65536 accepted"
        );
        let err = read_info(&Asks(u32::MAX), Chain::Iommu).unwrap_err();
        assert!(matches!(
            err,
            IoctlError::TooLarge {
                argsz: u32::MAX,
                ..
            }
        ));
        // a size asked for is given, once
        assert_eq!(read_info(&Asks(64), Chain::Iommu).unwrap().len(), 64);
        let max = MAX_INFO_LEN as u32;
        assert_eq!(
            read_info(&Asks(max), Chain::Iommu).unwrap().len(),
            MAX_INFO_LEN
        );
        // an argsz below the buffer cuts the answer there
        assert_eq!(read_info(&Asks(20), Chain::Iommu).unwrap().len(), 20);
        assert_eq!(read_info(&Asks(0), Chain::Iommu).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn a_recording_shorter_than_its_argsz_is_served_as_it_is() {
        let e = Endian::Little;
        let (mut dev, _) = kernel_answers(e);
        let full = dev.len();
        dev.truncate(100); // argsz still says the full length
        let k = RecordedKernel::new("k", e, Some(dev.clone()), None);
        let got = read_info(&k, Chain::Device).unwrap();
        assert_eq!(got.len(), full, "argsz bytes");
        assert_eq!(got[..100], dev[..]);
        assert!(got[100..].iter().all(|&b| b == 0));
    }
}
