//! zpci-tools: reading a host's zPCI VFIO capabilities and the CLP answers
//! zpci-rs builds from them, outside QEMU.
//!
//! - [`inspect`]: the capability inspector behind `zpci-caps`: a chain
//!   decoded field by field, the answers built from it, as text or JSON;
//! - [`live`]: a live function's two answers, read through its IOMMU group
//!   as QEMU's vfio-pci does (`zpci-caps --live`);
//! - [`roundtrip`]: what a Linux guest's vfio-pci reports back for
//!   presented CLP values, for the end-to-end test.
//!
//! The binaries are `zpci-caps` and `zpci-profile`. QEMU links none of
//! this.

#![forbid(unsafe_code)]

pub mod inspect;
pub mod live;
pub mod roundtrip;
