# The s390x devices, and QEMU's PL011 in Rust: no s390x board selects a
# Rust device, so this puts one into qemu-system-s390x to link QEMU's Rust
# and zpci-rs into one binary (scripts/build-qemu rs-rust).
include default.mak
CONFIG_X_PL011_RUST=y
