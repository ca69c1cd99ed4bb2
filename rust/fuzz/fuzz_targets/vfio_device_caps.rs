//! VFIO_DEVICE_GET_INFO buffers from a hostile host, in both byte orders.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zpci_core::vfio::caps::{parse_device_info, Endian};

fuzz_target!(|data: &[u8]| {
    for endian in [Endian::Big, Endian::Little] {
        let _ = parse_device_info(data, endian);
    }
});
