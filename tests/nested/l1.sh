# shellcheck shell=sh disable=SC2154,SC3045
# (busybox ash: read -t; cmdline, error and now come from tests/guest/init,
# which sources this file)
# The nested test inside the s390x guest (L1), sourced by tests/guest/init
# with zpci_test.mode=nested from the initramfs scripts/nested makes, where
# it is /bin/zpci-nested-l1. Busybox ash.
#
# For each function of zpci_test.nested=ADDRESS[,ADDRESS...] (PCI
# addresses of L1) it binds the function to vfio-pci and prints what the
# kernel reports through VFIO (zpci-caps --live, JSON); then for each QEMU
# of zpci_test.variants=NAME[,NAME...] (/nested/NAME/qemu-system-s390x) it
# runs the machine L2 on the function, under TCG, with the program of
# tests/s390x-nested as its BIOS, and prints:
#   nested <fn> <variant> time <what> <seconds since L1 booted>
#   nested <fn> <variant> qmp <when> <x-query-zpci answer, JSON>
#   nested <fn> <variant> l2 <a line of the L2 program>
#   nested <fn> <variant> trace <a line of the kernel's trace buffer>
#   nested <fn> <variant> qemu <a line QEMU wrote on stderr>
#   nested <fn> <variant> exit <QEMU's exit status>
# where <fn> is the function's index in zpci_test.nested. The trace buffer
# has a kprobe event for every call of the type1 container's ioctl and for
# every return from it: the VFIO_IOMMU_MAP_DMA and _UNMAP_DMA calls QEMU
# made, with their arguments as the kernel read them from QEMU's memory,
# and what the kernel answered.
#
# zpci_test.dma_limit=N sets vfio_iommu_type1's dma_entry_limit (the
# container's DMA_AVAIL) before anything is opened; zpci_test.l2_wait=S
# bounds each L2 run (default 300 s).
#
# SPDX-License-Identifier: GPL-2.0-or-later

nested_fns='' variants='' dma_limit='' l2_wait=300
for word in $cmdline; do
    case $word in
    zpci_test.nested=*) nested_fns=${word#*=} ;;
    zpci_test.variants=*) variants=${word#*=} ;;
    zpci_test.dma_limit=*) dma_limit=${word#*=} ;;
    zpci_test.l2_wait=*) l2_wait=${word#*=} ;;
    esac
done

uptime_s() {
    cut -d' ' -f1 /proc/uptime
}

# The L2 machine's function: fid and uid of the zpci device in L2.
L2_FID=0x10
L2_UID=0x20

tracing=/sys/kernel/tracing
kprobes_on() {
    [ -d "$tracing/events" ] || mount -t tracefs tracefs "$tracing" ||
        { error "cannot mount tracefs"; return 1; }
    echo 0 >"$tracing/tracing_on"
    echo >"$tracing/kprobe_events"
    # s390x: arguments in r2 (iommu_data), r3 (cmd), r4 (user pointer).
    # MAP_DMA: argsz flags vaddr iova size; UNMAP_DMA: argsz flags iova size.
    # shellcheck disable=SC2016 # $retval is the kprobe's, not the shell's
    if ! echo 'p:zpci/ioctl vfio_iommu_type1_ioctl cmd=%r3:x32 w8=+u8(%r4):x64 w16=+u16(%r4):x64 w24=+u24(%r4):x64' \
        >>"$tracing/kprobe_events" ||
        ! echo 'r:zpci/ioctl_ret vfio_iommu_type1_ioctl ret=$retval:s64' \
            >>"$tracing/kprobe_events"; then
        error "cannot add the kprobes on vfio_iommu_type1_ioctl"
        return 1
    fi
    echo 4096 >"$tracing/buffer_size_kb"
    echo >"$tracing/trace"
    echo 1 >"$tracing/events/zpci/enable"
    echo 1 >"$tracing/tracing_on"
}

kprobes_off() {
    echo 0 >"$tracing/tracing_on"
    echo 0 >"$tracing/events/zpci/enable"
}

# qmp_cmd JSON: one command on the QMP pipe; its answer (events skipped)
# in $qmp_answer. Fails after 60 s without an answer.
qmp_cmd() {
    echo "$1" >&3
    qmp_answer=''
    while read -r -t 60 qmp_answer <&4; do
        case $qmp_answer in
        *'"return"'* | *'"error"'*) return 0 ;;
        esac
    done
    return 1
}

# bind_vfio ADDRESS: the function to vfio-pci.
bind_vfio() {
    d=/sys/bus/pci/devices/$1
    [ -e "$d" ] || { error "no PCI function $1"; return 1; }
    echo vfio-pci >"$d/driver_override"
    if [ -e "$d/driver" ]; then
        echo "$1" >"$d/driver/unbind"
    fi
    echo "$1" >/sys/bus/pci/drivers_probe
    [ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] ||
        { error "$1 did not bind to vfio-pci"; return 1; }
}

# run_l2 INDEX ADDRESS VARIANT
run_l2() {
    p="nested $1 $3"
    qemu=/nested/$3/qemu-system-s390x
    [ -x "$qemu" ] || { error "no $qemu in this initramfs"; return; }
    out=/tmp/l2-$1-$3.out
    err=/tmp/qemu-$1-$3.err
    rm -f "$out" /tmp/qmp.in /tmp/qmp.out
    mkfifo /tmp/qmp.in /tmp/qmp.out
    kprobes_on || return
    echo "$p time qemu-start $(uptime_s)"
    "$qemu" -M s390-ccw-virtio -accel tcg \
        -m 128M -nodefaults -display none -S \
        -bios /nested/zpci-nested.elf \
        -chardev "file,id=con,path=$out" -device sclpconsole,chardev=con \
        -chardev pipe,id=qmp,path=/tmp/qmp -mon chardev=qmp,mode=control \
        -device "zpci,uid=$L2_UID,fid=$L2_FID,target=hostdev0" \
        -device "vfio-pci,host=$2,id=hostdev0" 2>"$err" &
    pid=$!
    exec 3>/tmp/qmp.in 4</tmp/qmp.out
    if read -r -t 120 _ <&4 && qmp_cmd '{"execute":"qmp_capabilities"}'; then
        echo "$p time qmp-ready $(uptime_s)"
        qmp_cmd '{"execute":"x-query-zpci"}' && echo "$p qmp start $qmp_answer"
        qmp_cmd '{"execute":"cont"}'
        deadline=$(($(now) + l2_wait))
        until grep -q -e '^done' -e '^error=' "$out" 2>/dev/null; do
            if [ "$(now)" -ge "$deadline" ]; then
                error "L2 on $2 ($3) did not finish in ${l2_wait}s"
                break
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        echo "$p time l2-done $(uptime_s)"
        qmp_cmd '{"execute":"x-query-zpci"}' && echo "$p qmp end $qmp_answer"
        qmp_cmd '{"execute":"quit"}'
    else
        error "QEMU ($3) on $2 gave no QMP greeting"
        kill "$pid"
    fi
    wait "$pid"
    rc=$?
    exec 3>&- 4<&-
    kprobes_off
    echo "$p exit $rc"
    [ -f "$out" ] && sed "s/^/$p l2 /" "$out"
    grep -e 'zpci/' -e 'ioctl' "$tracing/trace" | grep -v '^#' | sed "s/^/$p trace /"
    sed "s/^/$p qemu /" "$err"
}

nested_main() {
    [ -n "$nested_fns" ] || { error "zpci_test.mode=nested without zpci_test.nested=ADDRESS"; return; }
    [ -n "$variants" ] || { error "zpci_test.mode=nested without zpci_test.variants=NAME"; return; }
    if [ -n "$dma_limit" ]; then
        echo "$dma_limit" >/sys/module/vfio_iommu_type1/parameters/dma_entry_limit ||
            { error "cannot set dma_entry_limit"; return; }
    fi
    echo "nested dma_entry_limit $(cat /sys/module/vfio_iommu_type1/parameters/dma_entry_limit)"
    echo "nested time l1-ready $(uptime_s)"
    i=0
    for addr in $(echo "$nested_fns" | tr ',' ' '); do
        bind_vfio "$addr" || continue
        json=/tmp/$addr.live.json
        if zpci-caps --live "$addr" --json --fid "$L2_FID" --uid "$L2_UID" \
                >"$json" 2>/tmp/live.err; then
            echo "nested $i live begin"
            base64 "$json" | sed "s/^/nested $i live /"
            echo "nested $i live end"
        else
            error "zpci-caps --live $addr: $(tr '\n' ' ' </tmp/live.err)"
        fi
        for v in $(echo "$variants" | tr ',' ' '); do
            run_l2 "$i" "$addr" "$v"
        done
        i=$((i + 1))
    done
}

nested_main
