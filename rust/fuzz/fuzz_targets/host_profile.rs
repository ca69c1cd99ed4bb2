//! Host profile files given to `-device zpci,host-profile=FILE`: parsed,
//! and when accepted, plugged on a bridge as QEMU does at realize, so the
//! capability chains inside are fuzzed too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zpci_core::vfio::host::{FunctionRequest, HostBridge};
use zpci_core::vfio::profile::HostProfile;

fuzz_target!(|data: &[u8]| {
    if let Ok(profile) = HostProfile::parse(data) {
        let mut bridge = HostBridge::new();
        for interpreted in [false, true] {
            let request = FunctionRequest { fid: 1, uid: 1, interpreted, relaxed_translation: interpreted };
            let _ = bridge.plug_replay(&profile, "fuzz.zpcihost", &request);
        }
    }
});
