//! The C programs of `tests/c`, as QEMU's C sees the library: compiled
//! against `include/zpci_rs.h` as C11 with every warning an error (by the
//! `cc` crate, with the compiler and flags it picks for this target),
//! linked with the static library built as QEMU builds it, and run. Each
//! prints `NAME: N passed, M failed`; it passes when N > 0 and M is 0.
//!
//! `tests/c/panic_test.c` needs the export that panics, which only a
//! library built with the feature `test-panic` has:
//! `cargo test -p zpci-rs --features test-panic --test c_programs`
//! runs it; without the feature, the test checks that the export is
//! absent.

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What the Rust standard library needs from the C side on Linux, as
/// `meson/meson.build` links it (`cargo rustc -- --print
/// native-static-libs`).
const NATIVE_LIBS: [&str; 6] = ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The static library as QEMU links it (release), with this test's
/// features. `cargo test` builds only the rlib, so it is built here, by
/// the cargo that built this test, in a target folder of its own (the
/// outer cargo's is locked), once per run.
fn library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let panic = cfg!(feature = "test-panic");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(if panic {
            "staticlib-test-panic"
        } else {
            "staticlib"
        });
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--release", "--locked", "--offline", "--quiet"])
            .args(["-p", "zpci-rs", "--lib", "--manifest-path"])
            .arg(repo().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&dir);
        if panic {
            cargo.args(["--features", "test-panic"]);
        }
        let built = cargo.output().unwrap();
        assert!(
            built.status.success(),
            "{cargo:?} failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let lib = dir.join("release/libzpci_rs.a");
        assert!(lib.is_file(), "no {}", lib.display());
        lib
    })
}

/// Compiles `tests/c/NAME.c`, links it with the library and runs it.
fn run_c_program(name: &str) {
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c-{name}"));
    std::fs::create_dir_all(&out).unwrap();
    let exe = out.join(name);
    let compiler = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(1)
        .out_dir(&out)
        .cargo_metadata(false)
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .include(repo().join("include"))
        .get_compiler();
    let mut cc = compiler.to_command();
    cc.arg(repo().join(format!("tests/c/{name}.c")))
        .arg(library())
        .args(NATIVE_LIBS)
        .arg("-o")
        .arg(&exe);
    let built = cc.output().unwrap();
    assert!(
        built.status.success(),
        "{cc:?} failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    // The programs read tests/fixtures/ from the top of the tree.
    let ran = Command::new(&exe).current_dir(repo()).output().unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    let checks = stdout
        .lines()
        .find_map(|l| l.split_once(": ")?.1.strip_suffix(" passed, 0 failed"))
        .and_then(|n| n.parse::<u32>().ok());
    assert!(
        checks.is_some_and(|n| n > 0),
        "{name} did not report its checks passing:\n{stdout}"
    );
}

#[test]
fn the_header_is_what_the_library_answers() {
    run_c_program("ffi_test");
}

#[test]
fn passthrough_functions_and_host_profiles_through_c() {
    run_c_program("vfio_ffi_test");
}

#[test]
fn dma_translation_through_c() {
    run_c_program("iommu_ffi_test");
}

#[test]
fn every_export_refuses_null_pointers() {
    run_c_program("null_test");
}

#[cfg(feature = "test-panic")]
#[test]
fn a_panic_in_an_export_stays_in_rust() {
    run_c_program("panic_test");
}

/// The export that panics is in no library but the `test-panic` one.
#[cfg(not(feature = "test-panic"))]
#[test]
fn the_library_has_no_export_that_panics() {
    let nm = Command::new("nm").arg(library()).output().unwrap();
    assert!(nm.status.success());
    let symbols = String::from_utf8_lossy(&nm.stdout);
    assert!(symbols.contains(" T zpci_rs_version"), "nm saw no exports");
    assert!(!symbols.contains("zpci_rs_test_panic"));
}
