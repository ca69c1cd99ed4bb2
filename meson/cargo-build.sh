#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cargo-build.sh CARGO MANIFEST TARGET_DIR OUTPUT [RUST_TARGET]
# Builds the zpci-rs static library offline and copies it to OUTPUT, keeping
# OUTPUT's timestamp when the library did not change. RUST_TARGET, given in
# a cross build, is the target triple of the host QEMU will run on.
set -eu
cargo=$1 manifest=$2 target_dir=$3 output=$4 rust_target=${5:-}

if [ -n "$rust_target" ]; then
    set -- --target "$rust_target"
    built=$target_dir/$rust_target/release/libzpci_rs.a
else
    set --
    built=$target_dir/release/libzpci_rs.a
fi
if ! "$cargo" build --release --locked --offline --quiet \
        --manifest-path "$manifest" --target-dir "$target_dir" -p zpci-rs --lib "$@"; then
    echo "zpci-rs: cargo build failed; if crates are missing, run" \
         "'cargo fetch --locked --manifest-path $manifest' first" >&2
    exit 1
fi
if ! cmp -s "$built" "$output" 2>/dev/null; then
    cp "$built" "$output.tmp"
    mv "$output.tmp" "$output"
fi
