//! The `zpci-caps` inspector over host profile files: whatever it is
//! given, it either refuses the capture with an error or renders it, as
//! text and as JSON, without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zpci_tools::inspect::{self, Capture};
use zpci_core::vfio::host::FunctionRequest;
use zpci_core::vfio::profile::HostProfile;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = HostProfile::parse(data) else { return };
    let capture = Capture::from_profile("fuzz.zpcihost", &profile);
    let request = FunctionRequest { fid: 1, uid: 1, interpreted: false, relaxed_translation: false };
    if let Ok(report) = inspect::inspect(&capture, &request) {
        let _ = report.text();
        let _ = inspect::json_document(std::slice::from_ref(&report));
    }
});
