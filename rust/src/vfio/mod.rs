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
//! - [`roundtrip`]: what a Linux guest's vfio-pci reports back for presented
//!   CLP values, for the end-to-end test;
//! - [`live`]: a live function's two answers, read through its IOMMU group
//!   (the `zpci-caps --live` inspector);
//! - [`ioctl`]: the VFIO ioctls, the only code here with `unsafe`.
//!
//! All but `ioctl` and `live` are pure and work on bytes.

pub mod caps;
pub mod clp_builder;
pub mod host;
pub mod ioctl;
pub mod live;
pub mod profile;
pub mod roundtrip;

#[cfg(test)]
mod fixtures;
