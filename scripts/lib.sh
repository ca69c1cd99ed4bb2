# shellcheck shell=bash
# Shared helpers for the zpci-rs scripts. Source it; do not run it.
#
# Environment:
#   ZPCI_INPUTS  folder with the pinned inputs and SHA256SUMS
#                (default: ../shared/inputs beside the repository)
#   ZPCI_CACHE   where QEMU trees, builds, ccache and guest images are kept
#                (default: $XDG_CACHE_HOME/zpci-rs or ~/.cache/zpci-rs)

set -euo pipefail

ZPCI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZPCI_CACHE=${ZPCI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zpci-rs}
# Constants for the scripts that source this file.
# shellcheck disable=SC2034
{
    KERNEL_DEB=linux-image-6.12.95+deb12-s390x_6.12.95-1~bpo12+1_s390x.deb
    BUSYBOX_DEB=busybox-static_1.35.0-4+deb12u1+b1_s390x.deb
    # The QEMU versions with a series in qemu-patches/ and a pinned
    # tarball; the first is the default ($ZPCI_QEMU picks another).
    QEMU_VERSIONS=(10.2.2 10.0.13)
}

# use_qemu_version VERSION: sets QEMU_VERSION, QEMU_TARBALL, QEMU_SERIES
# (the folder of qemu-patches/ that goes with it) and MESON_WHEELS (what
# its configure wants in python/wheels/), or stops naming the supported
# versions.
use_qemu_version() {
    # shellcheck disable=SC2034
    case $1 in
    10.2.2)
        QEMU_SERIES=10.2
        MESON_WHEELS=(meson-1.9.0-py3-none-any.whl pycotap-1.3.1-py3-none-any.whl)
        ;;
    10.0.13)
        QEMU_SERIES=10.0
        MESON_WHEELS=(meson-1.5.0-py3-none-any.whl pycotap-1.3.1-py3-none-any.whl)
        ;;
    *) die "QEMU '$1' is not supported: the supported versions are ${QEMU_VERSIONS[*]}" ;;
    esac
    export QEMU_VERSION=$1
    # shellcheck disable=SC2034
    QEMU_TARBALL=qemu_$1+ds.orig.tar.xz
}

# qemu_debian_version VERSION: the Debian source package version whose
# orig tarball is the pinned one.
qemu_debian_version() {
    case $1 in
    10.2.2) echo "1:10.2.2+ds-1" ;;
    10.0.13) echo "1:10.0.13+ds-0+deb13u1" ;;
    *) return 1 ;;
    esac
}

# qemu_dir VARIANT: the cache folder of a scripts/build-qemu build of
# VARIANT for $QEMU_VERSION (its tree in src/, its build in build/).
qemu_dir() {
    echo "$ZPCI_CACHE/qemu-$QEMU_VERSION-$1"
}

export CCACHE_DIR=${CCACHE_DIR:-$ZPCI_CACHE/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ZPCI_CACHE}
export CCACHE_NOHASHDIR=1

# die MESSAGE: one clear line on stderr, non-zero exit.
die() {
    echo "error: $*" >&2
    exit 1
}

# step MESSAGE: a progress line for a long step, with the time of day.
step() {
    echo "[$(date +%H:%M:%S)] $*" >&2
}

# The checks of a test: check NAME EXPECTED GOT counts one and prints
# "ok   NAME" or "FAIL NAME: expected ..., got ..."; checks_done NAME
# prints "NAME: P passed, F failed" and fails when F > 0.
passed=0 failed=0
check() {
    if [[ $2 == "$3" ]]; then
        passed=$((passed + 1))
        echo "ok   $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1: expected '$2', got '${3:-<missing>}'"
    fi
}
checks_done() {
    echo "$1: $passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}

# need_tools "pkg:cmd ...": install missing Debian packages when root, else
# print the exact install line and stop.
need_tools() {
    local missing=() pair pkg cmd
    for pair in "$@"; do
        pkg=${pair%%:*}
        cmd=${pair#*:}
        if [[ $cmd == /* ]]; then
            [[ -e $cmd ]] || missing+=("$pkg")
        else
            command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        step "installing ${missing[*]}"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
                >"$ZPCI_CACHE/apt.log" 2>&1; then
            die "apt-get install ${missing[*]} failed (log: $ZPCI_CACHE/apt.log)"
        fi
    else
        die "missing tools; install them with: sudo apt-get install ${missing[*]}"
    fi
}

# debian_rust COMMAND...: runs COMMAND (cargo ...) with Debian's packaged
# Rust, rustc-web and cargo-web of bookworm (the version distributions
# build QEMU with, and Cargo.toml's rust-version), installing them when
# root, else printing the install line and stopping.
DEBIAN_RUST_VERSION=1.85.0+dfsg3-1~deb12u3
debian_rust() {
    local pkgs=(rustc-web="$DEBIAN_RUST_VERSION" cargo-web="$DEBIAN_RUST_VERSION"
        libstd-rust-web-dev="$DEBIAN_RUST_VERSION" libstd-rust-web-1.85="$DEBIAN_RUST_VERSION")
    if [[ $(dpkg-query -W -f '${Version}' rustc-web 2>/dev/null) != "$DEBIAN_RUST_VERSION" ||
        $(dpkg-query -W -f '${Version}' cargo-web 2>/dev/null) != "$DEBIAN_RUST_VERSION" ]]; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            step "installing Debian's Rust ${pkgs[*]}"
            mkdir -p "$ZPCI_CACHE"
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends --allow-downgrades "${pkgs[@]}"; } \
                >"$ZPCI_CACHE/apt.log" 2>&1 ||
                die "apt-get install ${pkgs[*]} failed (log: $ZPCI_CACHE/apt.log)"
        else
            die "Debian's Rust missing; install it with: sudo apt-get install ${pkgs[*]}"
        fi
    fi
    local cmd=$1
    shift
    /usr/bin/rustc --version
    RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc "/usr/bin/$cmd" "$@"
}

# guest_initrd DIR OUT: writes to OUT the test guest's initramfs (the one
# of scripts/build-initramfs) with the tree DIR laid over it, as a second
# cpio archive that the kernel unpacks after the first, so that DIR's files
# win (DIR/init is the guest's /init). Prints the guest's kernel.
guest_initrd() {
    local dir=$1 out=$2 guest=()
    need_tools cpio:cpio gzip:gzip
    mapfile -t guest < <("$ZPCI_ROOT/scripts/build-initramfs")
    [[ ${#guest[@]} -eq 2 && -f ${guest[0]} && -f ${guest[1]} ]] ||
        die "scripts/build-initramfs did not produce the guest kernel and initrd (see its message above)"
    {
        cat "${guest[1]}" &&
            (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
                cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -6n)
    } >"$out" || die "could not write the guest's initramfs $out"
    echo "${guest[0]}"
}

# python_env: the python3 of a venv in $ZPCI_CACHE holding
# tests/requirements.txt (hashes checked), made once per requirements and
# Python version, shared by every checkout. Prints the python path. The
# checkout's own tests/ (zpcitest) goes on PYTHONPATH, on the next line.
export PYTHONPATH="$ZPCI_ROOT/tests${PYTHONPATH:+:$PYTHONPATH}"
python_env() {
    local req=$ZPCI_ROOT/tests/requirements.txt key venv
    need_tools python3:python3
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
        need_tools python3-venv:/usr/share/doc/python3-venv
        python3 -c 'import ensurepip' 2>/dev/null ||
            die "python3 cannot make a venv (no ensurepip): install python3-venv"
    fi
    key=$({ cat "$req" && python3 --version && echo "no checkout path"; } | sha256sum | cut -c1-16)
    venv=$ZPCI_CACHE/python-$key
    if [[ ! -f $venv/done ]]; then
        step "making the Python venv of the tests ($venv)"
        rm -rf "$venv"
        python3 -m venv "$venv" >&2 || die "python3 -m venv $venv failed"
        "$venv/bin/pip" install --quiet --require-hashes --only-binary=:all: -r "$req" >&2 ||
            die "pip could not install tests/requirements.txt into $venv (PyPI unreachable?)"
        touch "$venv/done"
    fi
    echo "$venv/bin/python"
}

# inputs_dir: the folder holding the pinned inputs, every file verified
# against SHA256SUMS. Files not found locally are fetched by package name
# with apt-get (Debian packages) or pip (wheels) into $ZPCI_CACHE/inputs.
inputs_dir() {
    local dir=${ZPCI_INPUTS:-}
    if [[ -z $dir ]]; then
        dir=$(cd "$ZPCI_ROOT/.." && pwd)/shared/inputs
    fi
    local sums=$ZPCI_ROOT/scripts/SHA256SUMS
    local dest=$ZPCI_CACHE/inputs
    mkdir -p "$dest"
    local name
    while read -r _ name; do
        if [[ -f $dir/$name ]]; then
            verify_input "$dir/$name" "$name"
            ln -sf "$dir/$name" "$dest/$name"
        elif [[ -f $dest/$name && ! -L $dest/$name ]]; then
            verify_input "$dest/$name" "$name"
        else
            fetch_input "$name" "$dest"
            verify_input "$dest/$name" "$name"
        fi
    done <"$sums"
    echo "$dest"
}

verify_input() {
    local file=$1 name=$2 want got
    want=$(awk -v n="$name" '$2 == n { print $1 }' "$ZPCI_ROOT/scripts/SHA256SUMS")
    got=$(sha256sum "$file" | cut -d' ' -f1)
    [[ $got == "$want" ]] ||
        die "checksum mismatch for $file (got $got, want $want): replace it with the pinned file or remove it so it is fetched again"
}

# fetch_input NAME DEST: fetch one pinned input by package name.
fetch_input() {
    local name=$1 dest=$2 tmp
    tmp=$(mktemp -d)
    step "fetching $name (not in ${ZPCI_INPUTS:-../shared/inputs})"
    case $name in
    *.whl)
        local pkg=${name%%-py3*}
        pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
            "${pkg%-*}==${pkg##*-}" >/dev/null 2>&1 ||
            die "could not fetch $name with pip; put it in \$ZPCI_INPUTS"
        ;;
    qemu_*.orig.tar.xz)
        local v=${name#qemu_} deb
        deb=$(qemu_debian_version "${v%%+ds*}") || die "no Debian source package known for $name; put it in \$ZPCI_INPUTS"
        (cd "$tmp" && apt-get source --download-only -qq "qemu=$deb") \
            >/dev/null 2>&1 ||
            die "could not fetch $name with 'apt-get source qemu'; put it in \$ZPCI_INPUTS"
        ;;
    *.deb)
        local pkg=${name%%_*} ver
        ver=${name#*_}
        ver=${ver%_*}
        (cd "$tmp" && apt-get download -qq "$pkg:s390x=$ver") >/dev/null 2>&1 ||
            die "could not fetch $name with 'apt-get download $pkg:s390x=$ver' (needs the s390x architecture and bookworm-backports in apt sources); put it in \$ZPCI_INPUTS"
        ;;
    *) die "no way to fetch $name; put it in \$ZPCI_INPUTS" ;;
    esac
    local got
    got=$(find "$tmp" -maxdepth 1 -type f -name "${name%%[_-]*}*" | head -n 1)
    [[ -n $got ]] || die "fetching $name gave no file"
    mv "$got" "$dest/$name"
    rm -rf "$tmp"
}

# The s390x packages of Debian bookworm that a QEMU and a Rust program
# built for s390x hosts need, beside gcc-s390x-linux-gnu's C library:
# headers, pkg-config files, shared libraries and Rust's std for
# s390x-unknown-linux-gnu (at the version of rustc-web, DEBIAN_RUST_VERSION).
S390X_SYSROOT_DEBS=(libglib2.0-0 libglib2.0-dev libpcre2-8-0 libpcre2-dev
    zlib1g zlib1g-dev libfdt1 libfdt-dev
    "libstd-rust-web-dev=$DEBIAN_RUST_VERSION" "libstd-rust-web-1.85=$DEBIAN_RUST_VERSION")

# s390x_sysroot: prints the folder holding S390X_SYSROOT_DEBS unpacked
# (a sysroot for gcc's -I/-L through its pkg-config, and for rustc's
# --sysroot in usr/), made once per set of package versions. The packages
# are unpacked, not installed: Debian's s390x archive lacks the security
# updates of amd64, so multiarch cannot install them beside the host's
# libraries. bin/s390x-linux-gnu-pkg-config answers for the sysroot.
s390x_sysroot() {
    local pkg pinned=() name ver dir tmp link target f
    need_tools gcc-s390x-linux-gnu:s390x-linux-gnu-gcc pkg-config:pkg-config \
        libc6-dev-s390x-cross:/usr/s390x-linux-gnu/include/stdio.h
    if [[ $(dpkg --print-foreign-architectures) != *s390x* ||
        $(apt-cache policy libglib2.0-0:s390x 2>/dev/null) != *"Candidate: "[0-9]* ]]; then
        [[ $(id -u) -eq 0 ]] ||
            die "the s390x packages need Debian's s390x architecture: sudo dpkg --add-architecture s390x && sudo apt-get update"
        step "adding Debian's s390x architecture to apt"
        dpkg --add-architecture s390x
        apt-get update -qq >"$ZPCI_CACHE/apt.log" 2>&1 ||
            die "apt-get update failed (log: $ZPCI_CACHE/apt.log)"
    fi
    for pkg in "${S390X_SYSROOT_DEBS[@]}"; do
        name=${pkg%%=*}
        if [[ $pkg == *=* ]]; then
            ver=${pkg#*=}
        else
            ver=$(apt-cache policy "$name:s390x" 2>/dev/null | sed -n 's/^ *Candidate: //p')
        fi
        [[ -n $ver && $ver != "(none)" ]] ||
            die "Debian has no $name for s390x in the apt sources (apt-get update?)"
        pinned+=("$name=$ver")
    done
    dir=$ZPCI_CACHE/s390x-sysroot-$(printf '%s\n' "${pinned[@]}" | sha256sum | cut -c1-16)
    if [[ ! -f $dir/done ]]; then
        step "unpacking Debian's s390x libraries into $dir"
        rm -rf "$dir"
        tmp=$(mktemp -d)
        local debs=()
        for pkg in "${pinned[@]}"; do debs+=("${pkg%%=*}:s390x=${pkg#*=}"); done
        (cd "$tmp" && apt-get download -qq "${debs[@]}") >"$ZPCI_CACHE/apt.log" 2>&1 ||
            die "apt-get download ${debs[*]} failed (log: $ZPCI_CACHE/apt.log)"
        for pkg in "${pinned[@]}"; do
            name=${pkg%%=*}
            compgen -G "$tmp/${name}_*_s390x.deb" >/dev/null ||
                die "apt-get download $name:s390x (${pkg#*=}) failed"
        done
        mkdir -p "$dir"
        for f in "$tmp"/*.deb; do dpkg-deb -x "$f" "$dir"; done
        rm -rf "$tmp"
        # Absolute links (libz.so -> /lib/...) point into the sysroot.
        while IFS= read -r link; do
            target=$(readlink "$link")
            if [[ $target == /* ]]; then ln -sfn "$dir$target" "$link"; fi
        done < <(find "$dir" -type l)
        # rustc --sysroot usr: the host's std stays where rustc-web has it.
        ln -sfn /usr/lib/rustlib/x86_64-unknown-linux-gnu \
            "$dir/usr/lib/rustlib/x86_64-unknown-linux-gnu"
        mkdir -p "$dir/bin"
        cat >"$dir/bin/s390x-linux-gnu-pkg-config" <<PC
#!/bin/sh
# pkg-config for the s390x packages unpacked in $dir
PKG_CONFIG_SYSROOT_DIR=$dir
PKG_CONFIG_LIBDIR=$dir/usr/lib/s390x-linux-gnu/pkgconfig:$dir/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
exec pkg-config "\$@"
PC
        chmod +x "$dir/bin/s390x-linux-gnu-pkg-config"
        printf '%s\n' "${pinned[@]}" >"$dir/done"
    fi
    echo "$dir"
}

# s390x_cargo SYSROOT ARGS...: Debian's cargo building for
# s390x-unknown-linux-gnu against the std of SYSROOT, linking with
# s390x-linux-gnu-gcc; ARGS are cargo's (build --release ...).
s390x_cargo() {
    local sysroot=$1
    shift
    debian_rust true >/dev/null
    CARGO_TARGET_S390X_UNKNOWN_LINUX_GNU_RUSTFLAGS="--sysroot=$sysroot/usr" \
        CARGO_TARGET_S390X_UNKNOWN_LINUX_GNU_LINKER=s390x-linux-gnu-gcc \
        RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        /usr/bin/cargo "$@" --target s390x-unknown-linux-gnu
}

# The QEMU version the scripts work on: $ZPCI_QEMU, else the default.
use_qemu_version "${ZPCI_QEMU:-${QEMU_VERSIONS[0]}}"
