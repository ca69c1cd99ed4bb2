//! zpci-rs: the s390x zPCI firmware interfaces QEMU emulates, in Rust.
//!
//! On IBM Z a guest finds and drives PCI functions through firmware
//! instructions. CLP (Call Logical Processor) tells it each function's DMA
//! aperture, group limits, MSI address, ids and strings. This crate builds
//! those answers; QEMU links it as a static library and calls it through the
//! `zpci_rs_*` functions in `include/zpci_rs.h`.
//!
//! Layers:
//! - [`clp`]: the response blocks as typed values, with their exact encoding;
//! - [`defaults`]: the values QEMU 10.0.2 presents for emulated functions;
//! - [`vfio`]: the host's VFIO capabilities and the CLP answers built from them;
//! - [`iommu`]: DMA translation: the table walk, the IOTLB and RPCIT;
//! - [`describe`]: the values a guest is shown and where each came from;
//! - [`inspect`]: the capability inspector behind `zpci-caps`;
//! - `ffi`: the C interface.
//!
//! `unsafe` lives only in `ffi` and `vfio::ioctl`; every other module
//! forbids it.

pub mod clp;
pub mod defaults;
pub mod describe;
pub mod ffi;
pub mod inspect;
pub mod iommu;
pub mod vfio;
