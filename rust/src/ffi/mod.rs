//! The C interface: every symbol QEMU links against, all named `zpci_rs_*`.
//!
//! Rules at this boundary:
//! - values cross as `#[repr(C)]` structs in host byte order; the C glue
//!   copies them into QEMU's own structures;
//! - every pointer is checked for null, and a null one gives
//!   [`ZpciRsStatus::NullArgument`];
//! - a panic never unwinds into C: each export runs inside [`guard`], which
//!   turns one into [`ZpciRsStatus::Panic`].
//!
//! One submodule per area: [`clp`] for the CLP answers.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, UnwindSafe};

pub mod clp;
pub mod iommu;
pub mod vfio;

/// Result of every `zpci_rs_*` call. Codes other than `Ok` are in their own
/// range so they cannot be mistaken for a CLP response code or an errno.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZpciRsStatus {
    /// The call did what it says.
    Ok = 0,
    /// A required pointer argument was null.
    NullArgument = 0x7a70_0001,
    /// zpci-rs hit an internal error; nothing was written.
    Panic = 0x7a70_0002,
}

/// Runs one export's body; a panic becomes [`ZpciRsStatus::Panic`].
pub(crate) fn guard<F: FnOnce() -> ZpciRsStatus + UnwindSafe>(body: F) -> ZpciRsStatus {
    catch_unwind(body).unwrap_or(ZpciRsStatus::Panic)
}

/// Frees a handle given to C with `Box::into_raw`; null does nothing. A
/// panic while dropping it stays here.
///
/// # Safety
/// `handle` is null or came from `Box::into_raw` of a `Box<T>` and is given
/// back once; it is not used afterwards.
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    if handle.is_null() {
        return;
    }
    // SAFETY: by the contract, from Box::into_raw, given back once.
    let owned = unsafe { Box::from_raw(handle) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(owned)));
}

/// The library's version, as a NUL-terminated string with static lifetime.
#[no_mangle]
pub extern "C" fn zpci_rs_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Panics inside [`guard`]: the test that a panic stays on the Rust side
/// of the boundary and the call answers [`ZpciRsStatus::Panic`]
/// (`tests/c/panic_test.c`). Only in a library built with the cargo
/// feature `test-panic`; never in the header.
///
/// cbindgen:ignore
#[cfg(feature = "test-panic")]
#[no_mangle]
#[allow(clippy::panic)]
pub extern "C" fn zpci_rs_test_panic() -> ZpciRsStatus {
    guard(|| panic!("zpci_rs_test_panic: this panic must not leave Rust"))
}
