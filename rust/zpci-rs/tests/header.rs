//! The checked-in C header must be exactly what cbindgen generates from the
//! crate today. Set `ZPCI_RS_BLESS=1` (or run `scripts/gen-header`) to
//! rewrite it after changing the C interface.

#![allow(clippy::panic, clippy::unwrap_used)]

use std::path::PathBuf;

#[test]
fn c_header_is_up_to_date() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../../include/zpci_rs.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("rust/zpci-rs/cbindgen.toml is readable");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    if std::env::var_os("ZPCI_RS_BLESS").is_some() {
        std::fs::write(&header, &generated).expect("include/zpci_rs.h is writable");
        return;
    }
    let checked_in = std::fs::read(&header).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/zpci_rs.h is stale: run scripts/gen-header and commit the result"
    );
}
