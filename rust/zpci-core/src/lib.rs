//! zpci-core: the s390x zPCI firmware interfaces QEMU emulates, as pure and
//! safe Rust.
//!
//! On IBM Z a guest finds and drives PCI functions through firmware
//! instructions. CLP (Call Logical Processor) tells it each function's DMA
//! aperture, group limits, MSI address, ids and strings; RPCIT tells the
//! firmware that its I/O translation tables changed. This crate builds the
//! answers and keeps the translations; the static library `zpci-rs` puts a
//! C interface on it for QEMU, and `zpci-tools` reads hosts with it.
//!
//! Layers, lowest first:
//! - [`clp`]: the response blocks as typed values, with their exact encoding;
//! - [`defaults`]: the values QEMU presents for emulated functions;
//! - [`provenance`]: where each value of an answer came from;
//! - [`vfio`]: the host's VFIO capabilities and the CLP answers built from
//!   them, live or replayed from a host profile;
//! - [`iommu`]: DMA translation: the table walk, the IOTLB, RPCIT, and one
//!   function's translation state with its counters;
//! - [`describe`]: the values a guest is shown, in words.

#![forbid(unsafe_code)]

pub mod clp;
pub mod defaults;
pub mod describe;
pub mod iommu;
pub mod provenance;
pub mod vfio;
