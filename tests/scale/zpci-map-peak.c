/*
 * Holds a large DMA mapping through a zPCI function at once: binds the
 * function to vfio-pci, opens a type1v2 container and maps one buffer of
 * MIB MiB in pieces of PIECE KiB, every piece an RPCIT over its range from
 * the guest's s390 IOMMU driver, with the VFIO device open (and so
 * enabled) meanwhile. With everything mapped it prints the kernel's
 * counters of the function (the mapped and unmapped pages), then unmaps
 * the whole range with one call.
 *
 *   zpci-map-peak ADDRESS MIB PIECE_KIB
 *
 * Prints:
 *   map bytes <n> pieces <n> failed <n> seconds <s>
 *   held <counter line of /sys/kernel/debug/pci/ADDRESS/statistics>
 *   unmap bytes <n> seconds <s>
 *   map-peak: ok | map-peak: FAIL <what>
 * Exit status 0 when everything was mapped and unmapped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define KIB ((uint64_t)1024)
#define MIB (1024 * KIB)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    printf("map-peak: FAIL %s (%s)\n", what, strerror(errno));
    return 1;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int bound_to_vfio(const char *addr)
{
    char path[256], target[256];
    ssize_t n;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0) {
        return 0;
    }
    target[n] = '\0';
    return strcmp(strrchr(target, '/') + 1, "vfio-pci") == 0;
}

/* Binds @addr to vfio-pci: driver_override, unbind, drivers_probe. */
static int bind_vfio(const char *addr)
{
    char path[256];

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
             addr);
    if (write_file(path, "vfio-pci")) {
        return -1;
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
             addr);
    write_file(path, addr);
    write_file("/sys/bus/pci/drivers_probe", addr);
    return bound_to_vfio(addr) ? 0 : -1;
}

/*
 * The start of the first IOVA range at least @need bytes long, from the
 * capability chain of VFIO_IOMMU_GET_INFO (walked inside the buffer, with
 * a step limit); 0 when there is none.
 */
static uint64_t iova_start(int fd, uint64_t need)
{
    union {
        struct vfio_iommu_type1_info info;
        uint8_t raw[4096];
    } u;
    uint32_t off;

    memset(&u, 0, sizeof(u));
    u.info.argsz = sizeof(u);
    if (ioctl(fd, VFIO_IOMMU_GET_INFO, &u.info)) {
        return 0;
    }
    off = (u.info.flags & VFIO_IOMMU_INFO_CAPS) ? u.info.cap_offset : 0;
    for (int steps = 0; off && steps < 64; steps++) {
        struct vfio_info_cap_header hdr;
        struct vfio_iommu_type1_info_cap_iova_range r;
        struct vfio_iova_range one;

        if (off < sizeof(u.info) || off > sizeof(u) - sizeof(r)) {
            return 0;
        }
        memcpy(&hdr, u.raw + off, sizeof(hdr));
        if (hdr.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            memcpy(&r, u.raw + off, sizeof(r));
            for (uint32_t i = 0; i < r.nr_iovas && i < 64; i++) {
                size_t at = off + sizeof(r) + i * sizeof(one);
                uint64_t start;

                if (at + sizeof(one) > sizeof(u)) {
                    return 0;
                }
                memcpy(&one, u.raw + at, sizeof(one));
                start = (one.start + MIB - 1) & ~(MIB - 1);
                if (start && start <= one.end && one.end - start + 1 >= need) {
                    return start;
                }
            }
        }
        off = hdr.next;
    }
    return 0;
}

/* The function's counters of mapped pages and RPCITs, as "held" lines. */
static void counters(const char *addr)
{
    char path[256], line[256];
    FILE *f;

    snprintf(path, sizeof(path), "/sys/kernel/debug/pci/%s/statistics", addr);
    f = fopen(path, "r");
    if (!f) {
        snprintf(path, sizeof(path),
                 "/sys/kernel/debug/s390/pci/%s/statistics", addr);
        f = fopen(path, "r");
    }
    if (!f) {
        printf("held no counters at %s\n", path);
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strcasestr(line, "pages") || strcasestr(line, "rpcit")) {
            line[strcspn(line, "\n")] = '\0';
            printf("held %s\n", line);
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *addr;
    uint64_t total, piece, iova, pieces, failed = 0;
    char path[256], target[256];
    struct vfio_group_status gs = { .argsz = sizeof(gs) };
    struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um) };
    int container, group, device;
    uint8_t *buf;
    ssize_t n;
    double t;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 4) {
        fprintf(stderr, "usage: zpci-map-peak ADDRESS MIB PIECE_KIB\n");
        return 2;
    }
    addr = argv[1];
    total = strtoull(argv[2], NULL, 0) * MIB;
    piece = strtoull(argv[3], NULL, 0) * KIB;
    if (total == 0 || total > 4096 * MIB || piece < 4 * KIB ||
        piece % (4 * KIB) || total % piece || total / piece > 60000) {
        fprintf(stderr, "zpci-map-peak: MIB 1..4096, PIECE_KIB a multiple "
                "of 4 dividing it, at most 60000 pieces\n");
        return 2;
    }
    pieces = total / piece;
    if (bind_vfio(addr)) {
        return fail("bind to vfio-pci");
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0) {
        return fail("no IOMMU group");
    }
    target[n] = '\0';
    snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(target, '/') + 1);
    container = open("/dev/vfio/vfio", O_RDWR);
    group = open(path, O_RDWR);
    if (container < 0 || group < 0 ||
        ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
        !(gs.flags & VFIO_GROUP_FLAGS_VIABLE) ||
        ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
        ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
        return fail("VFIO container and group");
    }
    /* Opening the device enables it, as a VFIO user would. */
    device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr);
    if (device < 0) {
        return fail("VFIO_GROUP_GET_DEVICE_FD");
    }
    iova = iova_start(container, total);
    if (!iova) {
        errno = ERANGE;
        return fail("no IOVA range large enough");
    }
    buf = mmap(NULL, total, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buf == MAP_FAILED) {
        return fail("no memory for the buffer");
    }
    for (uint64_t i = 0; i < total; i += 4096) {
        buf[i] = (uint8_t)(i >> 12);
    }

    t = now();
    for (uint64_t off = 0; off < total; off += piece) {
        struct vfio_iommu_type1_dma_map m = {
            .argsz = sizeof(m),
            .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            .vaddr = (uintptr_t)(buf + off),
            .iova = iova + off,
            .size = piece,
        };

        if (ioctl(container, VFIO_IOMMU_MAP_DMA, &m)) {
            failed++;
        }
    }
    printf("map bytes %" PRIu64 " pieces %" PRIu64 " failed %" PRIu64
           " seconds %.3f\n", total, pieces, failed, now() - t);
    counters(addr);

    um.iova = iova;
    um.size = total;
    t = now();
    if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &um)) {
        return fail("unmap");
    }
    printf("unmap bytes %" PRIu64 " seconds %.3f\n", (uint64_t)um.size,
           now() - t);
    if (failed || um.size != total) {
        printf("map-peak: FAIL %" PRIu64 " maps failed, %" PRIu64
               " bytes unmapped\n", failed, (uint64_t)um.size);
        return 1;
    }
    close(device);
    printf("map-peak: ok\n");
    return 0;
}
