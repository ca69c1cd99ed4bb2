//! Passthrough functions: what the host's VFIO driver says about a zPCI
//! function and its IOMMU, and the CLP answers QEMU builds from it.
//!
//! - [`caps`]: the capability chains of `VFIO_DEVICE_GET_INFO` and
//!   `VFIO_IOMMU_GET_INFO`, parsed from the bytes the kernel returned;
//! - [`clp_builder`]: the Query PCI Function and Query PCI Function Group
//!   answers built from those capabilities, with QEMU 10.0.2's policies;
//! - [`host`]: per host bridge, the function groups and DMA counts that
//!   functions share;
//! - [`profile`]: a recorded host (both raw buffers) in a versioned file, to
//!   replay on an emulated function;
//! - [`info`]: the loop of the two info ioctls over any source, and a
//!   recorded kernel that answers them from bytes.
//!
//! Everything here is pure and works on bytes; the file descriptors are
//! the static library's (`zpci_rs::ioctl`).

pub mod caps;
pub mod clp_builder;
pub mod host;
pub mod info;
pub mod profile;

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod fixtures;
