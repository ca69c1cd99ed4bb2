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
    QEMU_VERSION=10.0.2
    QEMU_TARBALL=qemu_10.0.2+ds.orig.tar.xz
    KERNEL_DEB=linux-image-6.12.95+deb12-s390x_6.12.95-1~bpo12+1_s390x.deb
    BUSYBOX_DEB=busybox-static_1.35.0-4+deb12u1+b1_s390x.deb
    MESON_WHEELS=(meson-1.5.0-py3-none-any.whl pycotap-1.3.1-py3-none-any.whl)
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
        (cd "$tmp" && apt-get source --download-only -qq "qemu=1:${QEMU_VERSION}+ds-2+deb13u1~bpo12+1") \
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
