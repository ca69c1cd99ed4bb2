//! Passthrough functions: what the host's VFIO driver says about a zPCI
//! function and its IOMMU, and the CLP answers QEMU builds from it.
//!
//! - [`caps`]: the capability chains of `VFIO_DEVICE_GET_INFO` and
//!   `VFIO_IOMMU_GET_INFO`, parsed from the bytes the kernel returned;
//! - [`clp_builder`]: the Query PCI Function and Query PCI Function Group
//!   answers built from those capabilities, with QEMU 10.0.2's policies.
//!
//! Both are pure: the ioctls that fetch the bytes live elsewhere.

pub mod caps;
pub mod clp_builder;

#[cfg(test)]
mod fixtures;
