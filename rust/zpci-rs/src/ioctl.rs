//! The ioctl edge: the VFIO calls on file descriptors, the only code of
//! zpci-rs that enters the kernel.
//!
//! - [`VfioFd`] answers the two info ioctls of
//!   [`zpci_core::vfio::info::read_info`] on a descriptor QEMU owns;
//! - [`container_ioctl`], [`group_status`], [`group_set_container`] and
//!   [`group_get_device_fd`] set up a type1 container for one IOMMU group,
//!   as QEMU's vfio-pci does, for reading a live device's answers
//!   (`zpci-caps --live`).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use zpci_core::vfio::caps::Chain;
use zpci_core::vfio::info::{
    ioctl_number, VfioInfoSource, INFO_MIN_LEN, VFIO_CHECK_EXTENSION, VFIO_GET_API_VERSION,
    VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU,
};

/// A VFIO file descriptor owned by someone else (QEMU): a device fd for
/// [`Chain::Device`], a container fd for [`Chain::Iommu`]. It is never
/// closed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VfioFd {
    fd: RawFd,
}

impl VfioFd {
    /// The descriptor `fd`, which must stay open while this is used. A
    /// descriptor that is not a VFIO one gets an error from the kernel.
    #[must_use]
    pub const fn new(fd: RawFd) -> Self {
        Self { fd }
    }
}

impl VfioInfoSource for VfioFd {
    fn get_info(&self, chain: Chain, buf: &mut [u8]) -> io::Result<()> {
        // The kernel reads INFO_MIN_LEN bytes whatever argsz says, and
        // trusts argsz as the size of the buffer it writes into.
        let argsz = buf
            .first_chunk::<4>()
            .and_then(|a| usize::try_from(u32::from_ne_bytes(*a)).ok())
            .unwrap_or(usize::MAX);
        if buf.len() < INFO_MIN_LEN || argsz > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("argsz {argsz} does not fit a buffer of {} bytes", buf.len()),
            ));
        }
        if self.fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let request = libc::Ioctl::from(ioctl_number(chain));
        // SAFETY: the two VFIO info ioctls take a pointer to a buffer whose
        // first word is argsz. The kernel reads INFO_MIN_LEN (16) bytes from
        // it and writes at most argsz bytes into it (the fixed fields,
        // min(argsz, 24) bytes, and the chain only when it fits in argsz).
        // Checked above: buf holds at least 16 bytes and argsz <= buf.len(),
        // so every byte the kernel touches is inside `buf`, which is
        // borrowed exclusively for the call. The kernel keeps no pointer
        // after the call returns. An fd that is not a VFIO one answers
        // ENOTTY (the numbers are VFIO's own, _IO(';', ...)).
        let rc = unsafe { libc::ioctl(self.fd, request, buf.as_mut_ptr()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("fd {}", self.fd)
    }
}

/// A container ioctl whose argument is a number, not a pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerOp {
    /// `VFIO_GET_API_VERSION`.
    ApiVersion,
    /// `VFIO_CHECK_EXTENSION` of an IOMMU type: positive when supported.
    CheckExtension(u32),
    /// `VFIO_SET_IOMMU` of an IOMMU type.
    SetIommu(u32),
}

/// Issues `op` on the container `container` (an open `/dev/vfio/vfio`)
/// and returns the kernel's non-negative answer.
///
/// # Errors
/// The error the ioctl failed with.
pub fn container_ioctl(container: BorrowedFd<'_>, op: ContainerOp) -> io::Result<i32> {
    let (number, arg) = match op {
        ContainerOp::ApiVersion => (VFIO_GET_API_VERSION, 0),
        ContainerOp::CheckExtension(t) => (VFIO_CHECK_EXTENSION, t),
        ContainerOp::SetIommu(t) => (VFIO_SET_IOMMU, t),
    };
    let request = libc::Ioctl::from(number);
    let arg = libc::c_ulong::from(arg);
    // SAFETY: these three VFIO ioctls take their argument as a number
    // (`unsigned long arg` in `vfio_fops_unl_ioctl`), never as a pointer,
    // so no memory of this process is read or written. The fd is borrowed
    // and open for the call. On an fd that is not a VFIO container the
    // kernel answers ENOTTY (the numbers are VFIO's own, `_IO(';', ...)`).
    let rc = unsafe { libc::ioctl(container.as_raw_fd(), request, arg) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// The flags of `VFIO_GROUP_GET_STATUS` on the group `group` (an open
/// `/dev/vfio/N`).
///
/// # Errors
/// The error the ioctl failed with.
pub fn group_status(group: BorrowedFd<'_>) -> io::Result<u32> {
    // struct vfio_group_status { __u32 argsz; __u32 flags; }
    let mut status = [0u32; 2];
    status[0] = 8;
    let request = libc::Ioctl::from(VFIO_GROUP_GET_STATUS);
    // SAFETY: VFIO_GROUP_GET_STATUS reads `argsz` (8, the size of
    // `struct vfio_group_status`) from the pointer and writes at most those
    // 8 bytes back; `status` is an exclusively borrowed, 4-byte aligned
    // array of exactly 8 bytes in the native byte order the kernel uses.
    // The kernel keeps no pointer after the call.
    let rc = unsafe { libc::ioctl(group.as_raw_fd(), request, status.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(status[1])
}

/// `VFIO_GROUP_SET_CONTAINER`: puts the group `group` in `container`.
///
/// # Errors
/// The error the ioctl failed with.
pub fn group_set_container(group: BorrowedFd<'_>, container: BorrowedFd<'_>) -> io::Result<()> {
    let fd: libc::c_int = container.as_raw_fd();
    let request = libc::Ioctl::from(VFIO_GROUP_SET_CONTAINER);
    // SAFETY: VFIO_GROUP_SET_CONTAINER reads one `int` (the container's
    // fd) through the pointer and writes nothing; `fd` lives on this stack
    // frame for the whole call. The container fd is borrowed and open.
    let rc = unsafe { libc::ioctl(group.as_raw_fd(), request, std::ptr::from_ref(&fd)) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `VFIO_GROUP_GET_DEVICE_FD`: a new file descriptor for the device
/// `name` (its PCI address) of the group `group`.
///
/// # Errors
/// The error the ioctl failed with.
pub fn group_get_device_fd(group: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    let request = libc::Ioctl::from(VFIO_GROUP_GET_DEVICE_FD);
    // SAFETY: VFIO_GROUP_GET_DEVICE_FD reads a NUL-terminated string
    // through the pointer (`strndup_user`, at most PAGE_SIZE bytes) and
    // writes nothing; `name` is a `CStr`, so NUL-terminated, and borrowed
    // for the call.
    let rc = unsafe { libc::ioctl(group.as_raw_fd(), request, name.as_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative answer of VFIO_GROUP_GET_DEVICE_FD is a new
    // file descriptor installed for this process and owned by nobody else;
    // the OwnedFd becomes its only owner and closes it once.
    Ok(unsafe { OwnedFd::from_raw_fd(rc) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use zpci_core::vfio::info::{read_info, IoctlError};

    use super::*;

    #[test]
    fn setup_ioctls_on_a_file_that_is_not_vfio_fail_cleanly() {
        use std::os::fd::AsFd;
        let f = std::fs::File::open("/dev/null").unwrap();
        let err = container_ioctl(f.as_fd(), ContainerOp::ApiVersion).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
        let err = group_status(f.as_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
        let err = group_set_container(f.as_fd(), f.as_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
        let err = group_get_device_fd(f.as_fd(), c"0005:00:00.0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
    }

    #[test]
    fn real_fds_that_are_not_vfio_get_the_kernels_error() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let src = VfioFd::new(f.as_raw_fd());
        let err = read_info(&src, Chain::Device).unwrap_err();
        let IoctlError::Failed { source, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(source.raw_os_error(), Some(libc::ENOTTY));
        assert!(err.to_string().starts_with("VFIO_DEVICE_GET_INFO on fd "));
        let err = read_info(&VfioFd::new(-1), Chain::Iommu).unwrap_err();
        let IoctlError::Failed { source, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(source.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn a_buffer_argsz_does_not_fit_is_never_handed_to_the_kernel() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let src = VfioFd::new(f.as_raw_fd());
        let mut buf = vec![0u8; 24];
        buf[..4].copy_from_slice(&25u32.to_ne_bytes());
        let err = src.get_info(Chain::Device, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let mut short = vec![0u8; 15];
        short[..4].copy_from_slice(&15u32.to_ne_bytes());
        let err = src.get_info(Chain::Device, &mut short).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
