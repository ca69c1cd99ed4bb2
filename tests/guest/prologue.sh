# shellcheck shell=sh disable=SC2034
# The start every /init of the test guest shares (busybox ash), sourced
# from /lib/zpci-prologue.sh (scripts/build-initramfs puts it there).
# Afterwards the kernel's file systems are mounted, busybox's applets are
# in /bin, the console is stdin, stdout and stderr, $cmdline is the kernel
# command line, `error WHAT` notes a problem in $errors for the report,
# `now` prints whole seconds since boot, and the modules of
# /lib/modules/load-order are loaded.
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mountpoint -q /proc || /bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
exec </dev/console >/dev/console 2>&1

errors=/tmp/errors
: >"$errors"
error() {
    echo "$*" >>"$errors"
}

now() {
    read -r up _ </proc/uptime
    echo "${up%%.*}"
}

read -r cmdline </proc/cmdline

echo "zpci: loading modules"
while read -r mod; do
    [ -n "$mod" ] || continue
    insmod "/lib/modules/$mod" || error "insmod $mod failed"
done </lib/modules/load-order
