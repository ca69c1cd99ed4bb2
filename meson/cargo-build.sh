#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cargo-build.sh CARGO MANIFEST TARGET_DIR OUTPUT
# Builds the zpci-rs static library offline and copies it to OUTPUT, keeping
# OUTPUT's timestamp when the library did not change.
set -eu
cargo=$1 manifest=$2 target_dir=$3 output=$4

if ! "$cargo" build --release --locked --offline --quiet \
        --manifest-path "$manifest" --target-dir "$target_dir" -p zpci-rs --lib; then
    echo "zpci-rs: cargo build failed; if crates are missing, run" \
         "'cargo fetch --locked --manifest-path $manifest' first" >&2
    exit 1
fi
built=$target_dir/release/libzpci_rs.a
if ! cmp -s "$built" "$output" 2>/dev/null; then
    cp "$built" "$output.tmp"
    mv "$output.tmp" "$output"
fi
