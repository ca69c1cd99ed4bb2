//! A live function's two VFIO answers, read as QEMU's vfio-pci reads them.
//!
//! The function, named by its PCI address (`0005:00:00.0`), must be bound
//! to vfio-pci. Its IOMMU group is the last component of
//! `/sys/bus/pci/devices/ADDRESS/iommu_group`; the group `/dev/vfio/N` is
//! put in a new type1 container (type1v2 when the kernel has it, as QEMU
//! prefers), and the device's `VFIO_DEVICE_GET_INFO` and the container's
//! `VFIO_IOMMU_GET_INFO` are read with [`read_info`]. The same steps as
//! `tests/vfio-capture/zpci-vfio-capture.c`; the file descriptors are closed
//! when [`read`] returns, which releases the container.
//!
//! The ioctls are the static library's ([`zpci_rs::ioctl`]); this module
//! has no `unsafe`.

#![forbid(unsafe_code)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use thiserror::Error;

use zpci_core::vfio::caps::{Chain, Endian};
use zpci_core::vfio::host::error_chain;
use zpci_core::vfio::info::{
    read_info, VFIO_API_VERSION, VFIO_GROUP_FLAGS_VIABLE, VFIO_TYPE1V2_IOMMU, VFIO_TYPE1_IOMMU,
};
use zpci_rs::ioctl::{
    container_ioctl, group_get_device_fd, group_set_container, group_status, ContainerOp, VfioFd,
};

/// Where the PCI functions are listed.
pub const SYSFS_PCI_DEVICES: &str = "/sys/bus/pci/devices";
/// Where the VFIO container and groups are.
pub const DEV_VFIO: &str = "/dev/vfio";

/// Why a live function's answers could not be read.
#[derive(Debug, Error)]
pub enum LiveError {
    /// The address is not `DOMAIN:BUS:DEVICE.FUNCTION` in hex.
    #[error("'{0}' is not a PCI address (DDDD:BB:DD.F, as 0005:00:00.0)")]
    BadAddress(String),
    /// No such function.
    #[error("{address}: no such PCI function ({}: {error})", .path.display())]
    NoFunction {
        /// The address.
        address: String,
        /// The sysfs path looked at.
        path: PathBuf,
        /// Why it is not there.
        error: io::Error,
    },
    /// The function has no IOMMU group.
    #[error("{address} has no IOMMU group ({}: {error}): is it bound to vfio-pci?", .path.display())]
    NoGroup {
        /// The address.
        address: String,
        /// The sysfs link looked at.
        path: PathBuf,
        /// Why it could not be read.
        error: io::Error,
    },
    /// The group link does not end in a group number.
    #[error("{address}: IOMMU group link {} does not name a group", .path.display())]
    BadGroup {
        /// The address.
        address: String,
        /// The sysfs link.
        path: PathBuf,
    },
    /// A VFIO file could not be opened.
    #[error("cannot open {}: {error}{hint}", .path.display(), hint = open_hint(.error))]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// A setup ioctl failed.
    #[error("{ioctl} on {} failed: {error}", .path.display())]
    Ioctl {
        /// The ioctl.
        ioctl: &'static str,
        /// The file it was issued on.
        path: PathBuf,
        /// The kernel's error.
        error: io::Error,
    },
    /// Another VFIO API.
    #[error("{}: VFIO API version {found}, not {VFIO_API_VERSION}", .path.display())]
    ApiVersion {
        /// The container.
        path: PathBuf,
        /// The version the kernel answered.
        found: i32,
    },
    /// No type1 IOMMU.
    #[error("{}: no type1 IOMMU", .path.display())]
    NoType1 {
        /// The container.
        path: PathBuf,
    },
    /// A device of the group is bound to a host driver.
    #[error(
        "IOMMU group {group} is not viable: another of its functions is bound to a host driver"
    )]
    NotViable {
        /// The group.
        group: String,
    },
    /// The device's answer could not be read.
    #[error("{address}: {message}")]
    DeviceInfo {
        /// The address.
        address: String,
        /// What went wrong, with the kernel's error.
        message: String,
    },
}

fn open_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EBUSY) => " (the group is in use, by QEMU or another VFIO user)",
        Some(libc::EACCES | libc::EPERM) => " (not allowed: run as root or get the group's file)",
        _ => "",
    }
}

/// A live function's answers.
#[derive(Debug)]
pub struct LiveAnswers {
    /// Its PCI address.
    pub address: String,
    /// Its IOMMU group.
    pub group: String,
    /// The IOMMU type the container was set to (`VFIO_TYPE1v2_IOMMU` or
    /// `VFIO_TYPE1_IOMMU`).
    pub iommu_type: u32,
    /// The `VFIO_DEVICE_GET_INFO` answer.
    pub device_info: Vec<u8>,
    /// The `VFIO_IOMMU_GET_INFO` answer, or why it could not be read.
    pub iommu_info: Result<Vec<u8>, String>,
    /// The container's file descriptor number while it was open (QEMU's
    /// key for its DMA count).
    pub container_fd: i32,
    /// The byte order of the answers: this host's.
    pub endian: Endian,
}

/// The address `s` in sysfs's spelling (lowercase), if it is one:
/// a 4 to 8 digit domain, 2 digit bus and device, 1 digit function 0-7.
#[must_use]
pub fn pci_address(s: &str) -> Option<String> {
    let s = s.to_ascii_lowercase();
    let (domain, rest) = s.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (device, function) = rest.split_once('.')?;
    let hex = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let ok = hex(domain, 4, 8)
        && hex(bus, 2, 2)
        && hex(device, 2, 2)
        && function.len() == 1
        && function.bytes().all(|b| (b'0'..=b'7').contains(&b));
    ok.then_some(s)
}

fn open_rw(path: &Path) -> Result<File, LiveError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|error| LiveError::Open {
            path: path.to_owned(),
            error,
        })
}

/// Reads the answers of the function at `address` on this host.
///
/// # Errors
/// What could not be done, naming the file or ioctl and the kernel's error.
pub fn read(address: &str) -> Result<LiveAnswers, LiveError> {
    read_in(Path::new(SYSFS_PCI_DEVICES), Path::new(DEV_VFIO), address)
}

/// [`read`] with the sysfs device directory and the VFIO directory given,
/// for tests.
///
/// # Errors
/// As [`read`].
pub fn read_in(sysfs: &Path, dev_vfio: &Path, address: &str) -> Result<LiveAnswers, LiveError> {
    let addr = pci_address(address).ok_or_else(|| LiveError::BadAddress(address.to_owned()))?;
    let function_dir = sysfs.join(&addr);
    std::fs::metadata(&function_dir).map_err(|error| LiveError::NoFunction {
        address: addr.clone(),
        path: function_dir.clone(),
        error,
    })?;
    let link = function_dir.join("iommu_group");
    let target = std::fs::read_link(&link).map_err(|error| LiveError::NoGroup {
        address: addr.clone(),
        path: link.clone(),
        error,
    })?;
    let group = target
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| LiveError::BadGroup {
            address: addr.clone(),
            path: link.clone(),
        })?
        .to_owned();

    let container_path = dev_vfio.join("vfio");
    let container = open_rw(&container_path)?;
    let ioctl_err = |ioctl, path: &Path| {
        let path = path.to_owned();
        move |error| LiveError::Ioctl { ioctl, path, error }
    };
    let version = container_ioctl(container.as_fd(), ContainerOp::ApiVersion)
        .map_err(ioctl_err("VFIO_GET_API_VERSION", &container_path))?;
    if version != VFIO_API_VERSION {
        return Err(LiveError::ApiVersion {
            path: container_path,
            found: version,
        });
    }
    let supports =
        |t| container_ioctl(container.as_fd(), ContainerOp::CheckExtension(t)).is_ok_and(|r| r > 0);
    let iommu_type = if supports(VFIO_TYPE1V2_IOMMU) {
        VFIO_TYPE1V2_IOMMU
    } else if supports(VFIO_TYPE1_IOMMU) {
        VFIO_TYPE1_IOMMU
    } else {
        return Err(LiveError::NoType1 {
            path: container_path,
        });
    };

    let group_path = dev_vfio.join(&group);
    let group_file = open_rw(&group_path)?;
    let flags = group_status(group_file.as_fd())
        .map_err(ioctl_err("VFIO_GROUP_GET_STATUS", &group_path))?;
    if flags & VFIO_GROUP_FLAGS_VIABLE == 0 {
        return Err(LiveError::NotViable { group });
    }
    group_set_container(group_file.as_fd(), container.as_fd())
        .map_err(ioctl_err("VFIO_GROUP_SET_CONTAINER", &group_path))?;
    container_ioctl(container.as_fd(), ContainerOp::SetIommu(iommu_type))
        .map_err(ioctl_err("VFIO_SET_IOMMU", &container_path))?;
    // pci_address() allows hex digits, ':' and '.' only: no NUL.
    let name = CString::new(addr.clone()).map_err(|_| LiveError::BadAddress(addr.clone()))?;
    let device = group_get_device_fd(group_file.as_fd(), &name)
        .map_err(ioctl_err("VFIO_GROUP_GET_DEVICE_FD", &group_path))?;

    let device_info = read_info(&VfioFd::new(device.as_raw_fd()), Chain::Device).map_err(|e| {
        LiveError::DeviceInfo {
            address: addr.clone(),
            message: error_chain(&e),
        }
    })?;
    let iommu_info =
        read_info(&VfioFd::new(container.as_raw_fd()), Chain::Iommu).map_err(|e| error_chain(&e));
    Ok(LiveAnswers {
        address: addr,
        group,
        iommu_type,
        device_info,
        iommu_info,
        container_fd: container.as_raw_fd(),
        endian: Endian::native(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(pci_address("0005:00:00.0").as_deref(), Some("0005:00:00.0"));
        assert_eq!(pci_address("000A:0f:1F.7").as_deref(), Some("000a:0f:1f.7"));
        assert_eq!(
            pci_address("10000:00:00.0").as_deref(),
            Some("10000:00:00.0")
        );
        for bad in [
            "",
            "0005:00:00",
            "0005:00:00.8",
            "005:00:00.0",
            "0005:000:00.0",
            "0005:00:00.0/..",
            "../../x:00:00.0",
            "0005:00:00.0\0",
            "0005:0g:00.0",
        ] {
            assert_eq!(pci_address(bad), None, "{bad:?}");
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zpci-live-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn each_missing_piece_is_named() {
        let root = temp_dir("missing");
        let sys = root.join("sys");
        let vfio = root.join("vfio");
        std::fs::create_dir_all(sys.join("0005:00:00.0")).unwrap();
        std::fs::create_dir_all(&vfio).unwrap();

        let e = read_in(&sys, &vfio, "0005:00:01.0").unwrap_err();
        assert!(matches!(e, LiveError::NoFunction { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with("0005:00:01.0: no such PCI function ("));

        let e = read_in(&sys, &vfio, "0005:00:00.0").unwrap_err();
        assert!(matches!(e, LiveError::NoGroup { .. }), "{e}");
        assert!(e.to_string().contains("is it bound to vfio-pci?"));

        std::os::unix::fs::symlink(
            "../../kernel/iommu_groups/x",
            sys.join("0005:00:00.0/iommu_group"),
        )
        .unwrap();
        let e = read_in(&sys, &vfio, "0005:00:00.0").unwrap_err();
        assert!(matches!(e, LiveError::BadGroup { .. }), "{e}");

        std::fs::remove_file(sys.join("0005:00:00.0/iommu_group")).unwrap();
        std::os::unix::fs::symlink(
            "../../kernel/iommu_groups/7",
            sys.join("0005:00:00.0/iommu_group"),
        )
        .unwrap();
        let e = read_in(&sys, &vfio, "0005:00:00.0").unwrap_err();
        let LiveError::Open { path, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(path, &vfio.join("vfio"));

        // A container that is not one: the first ioctl says so.
        std::fs::write(vfio.join("vfio"), b"").unwrap();
        let e = read_in(&sys, &vfio, "0005:00:00.0").unwrap_err();
        let LiveError::Ioctl { ioctl, error, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*ioctl, "VFIO_GET_API_VERSION");
        assert_eq!(error.raw_os_error(), Some(libc::ENOTTY));

        let e = read_in(&sys, &vfio, "../0005:00:00.0").unwrap_err();
        assert!(matches!(e, LiveError::BadAddress(_)), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
