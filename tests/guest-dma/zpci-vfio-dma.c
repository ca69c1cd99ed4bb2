/*
 * The guest's own VFIO on a zPCI function: binds the function to
 * vfio-pci, opens a type1v2 container and maps and unmaps large buffers
 * in many pieces and splits. Each map makes the guest's s390 IOMMU driver
 * issue RPCIT over the new range, each unmap an RPCIT over the removed
 * one, so QEMU refreshes its IOTLB through every path (new mappings, torn
 * down mappings, coalesced unmaps). Every ioctl's answer is checked,
 * including the ones that must fail, and the container's count of free
 * DMA mappings (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) after each phase.
 *
 * Then, if the function is a modern virtio-net device (vendor 0x1af4,
 * device 0x1041, or 0x1000 without legacy I/O), the device itself is
 * driven through the VFIO regions: rings and packets in memory mapped in
 * 4 KiB pieces, packets sent, the used ring checked (the device read the
 * descriptors and wrote the used ring through the translations), and,
 * when the NIC's backend loops packets back, each received packet
 * compared byte for byte with the one sent.
 *
 *   zpci-vfio-dma ADDRESS [MIB [ROUNDS]]   (default 64 MiB, 2 rounds)
 *
 * Prints "vfio <what> ok|FAIL ..." lines and ends with
 * "vfio-dma: N passed, M failed"; exit status 0 when M is 0.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
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

static int passed, failed;

static void result(int ok, const char *fmt, ...)
{
    va_list ap;

    printf("vfio %s ", ok ? "ok  " : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok) {
        passed++;
    } else {
        failed++;
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* The name of the driver bound to @addr, "" for none. */
static void bound_driver(const char *addr, char *out, size_t len)
{
    char path[256], target[256];
    ssize_t n;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
    n = readlink(path, target, sizeof(target) - 1);
    out[0] = '\0';
    if (n > 0) {
        target[n] = '\0';
        snprintf(out, len, "%s", strrchr(target, '/') + 1);
    }
}

static int bind_vfio(const char *addr)
{
    char path[256], drv[64];

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
             addr);
    if (write_file(path, "vfio-pci")) {
        result(0, "bind: cannot write %s", path);
        return -1;
    }
    bound_driver(addr, drv, sizeof(drv));
    if (drv[0] && strcmp(drv, "vfio-pci")) {
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
                 addr);
        if (write_file(path, addr)) {
            result(0, "bind: cannot unbind %s from %s", addr, drv);
            return -1;
        }
    }
    if (!drv[0] || strcmp(drv, "vfio-pci")) {
        write_file("/sys/bus/pci/drivers_probe", addr);
    }
    bound_driver(addr, drv, sizeof(drv));
    result(!strcmp(drv, "vfio-pci"), "bind %s to vfio-pci (bound: %s)", addr,
           drv[0] ? drv : "none");
    return strcmp(drv, "vfio-pci") ? -1 : 0;
}

typedef struct Container {
    int fd;
    uint64_t iova_start, iova_end;  /* a usable IOVA range, end inclusive */
    uint64_t pgsizes;
    int have_avail;
} Container;

/*
 * Reads VFIO_IOMMU_GET_INFO: page sizes, the first IOVA range at least
 * @need bytes long, and the free DMA mappings (-1 when not reported).
 * The capability chain is walked inside the buffer, with a step limit.
 */
static long iommu_info(Container *c, uint64_t need)
{
    union {
        struct vfio_iommu_type1_info info;
        uint8_t raw[4096];
    } u;
    long avail = -1;
    uint32_t off;

    memset(&u, 0, sizeof(u));
    u.info.argsz = sizeof(u);
    if (ioctl(c->fd, VFIO_IOMMU_GET_INFO, &u.info)) {
        result(0, "VFIO_IOMMU_GET_INFO: %s", strerror(errno));
        return -2;
    }
    c->pgsizes = u.info.iova_pgsizes;
    off = (u.info.flags & VFIO_IOMMU_INFO_CAPS) ? u.info.cap_offset : 0;
    for (int steps = 0; off && steps < 64; steps++) {
        struct vfio_info_cap_header hdr;

        if (off < sizeof(u.info) || off > sizeof(u) - sizeof(hdr)) {
            break;
        }
        memcpy(&hdr, u.raw + off, sizeof(hdr));
        if (hdr.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
            off + sizeof(struct vfio_iommu_type1_info_dma_avail) <= sizeof(u)) {
            struct vfio_iommu_type1_info_dma_avail a;

            memcpy(&a, u.raw + off, sizeof(a));
            avail = a.avail;
        } else if (hdr.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
                   c->iova_end == 0) {
            struct vfio_iommu_type1_info_cap_iova_range r;
            struct vfio_iova_range one;

            if (off + sizeof(r) > sizeof(u)) {
                break;
            }
            memcpy(&r, u.raw + off, sizeof(r));
            for (uint32_t i = 0; i < r.nr_iovas && i < 64; i++) {
                size_t at = off + sizeof(r) + i * sizeof(one);
                uint64_t start;

                if (at + sizeof(one) > sizeof(u)) {
                    break;
                }
                memcpy(&one, u.raw + at, sizeof(one));
                start = (one.start + MIB - 1) & ~(MIB - 1);
                if (start <= one.end && one.end - start + 1 >= need) {
                    c->iova_start = start;
                    c->iova_end = one.end;
                    break;
                }
            }
        }
        off = hdr.next;
    }
    c->have_avail = avail >= 0;
    return avail;
}

static int map(Container *c, void *vaddr, uint64_t iova, uint64_t size)
{
    struct vfio_iommu_type1_dma_map m = {
        .argsz = sizeof(m),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };

    return ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

/* Unmaps; returns the bytes unmapped or -errno. */
static int64_t unmap(Container *c, uint64_t iova, uint64_t size)
{
    struct vfio_iommu_type1_dma_unmap u = {
        .argsz = sizeof(u),
        .iova = iova,
        .size = size,
    };

    return ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : (int64_t)u.size;
}

/* Maps [0, total) of @buf at @iova in pieces of @piece; counts failures. */
static int map_pieces(Container *c, uint8_t *buf, uint64_t iova,
                      uint64_t total, uint64_t piece)
{
    int bad = 0, first = 0;

    for (uint64_t off = 0; off < total; off += piece) {
        int rc = map(c, buf + off, iova + off, piece);

        if (rc && !bad++) {
            first = rc;
            printf("vfio map of %" PRIu64 " bytes at 0x%" PRIx64
                   " failed: %s\n", piece, iova + off, strerror(-first));
        }
    }
    return bad;
}

/* Unmaps [0, total) at @iova in splits of @split; counts wrong answers. */
static int unmap_splits(Container *c, uint64_t iova, uint64_t total,
                        uint64_t split)
{
    int bad = 0;

    for (uint64_t off = 0; off < total; off += split) {
        int64_t got = unmap(c, iova + off, split);

        if (got != (int64_t)split && !bad++) {
            printf("vfio unmap of %" PRIu64 " bytes at 0x%" PRIx64
                   " answered %" PRId64 "\n", split, iova + off, got);
        }
    }
    return bad;
}

static void check_avail(Container *c, long base, long used, const char *when)
{
    long avail;

    if (!c->have_avail) {
        return;
    }
    avail = iommu_info(c, 0);
    result(avail == base - used, "free DMA mappings %s: %ld (expected %ld)",
           when, avail, base - used);
}

static void phase(Container *c, uint8_t *buf, uint64_t total, long base,
                  uint64_t piece, uint64_t split, const char *name)
{
    uint64_t iova = c->iova_start;
    long pieces = (long)(total / piece);
    double t = now();
    int bad = map_pieces(c, buf, iova, total, piece);
    double tm = now() - t;

    result(!bad, "%s: %ld maps of %" PRIu64 " KiB (%d failed, %.2f s)",
           name, pieces, piece / KIB, bad, tm);
    check_avail(c, base, pieces, "after mapping");
    t = now();
    bad = unmap_splits(c, iova, total, split);
    result(!bad, "%s: %" PRIu64 " unmaps of %" PRIu64 " KiB (%d wrong, "
           "%.2f s)", name, total / split, split / KIB, bad, now() - t);
    check_avail(c, base, 0, "after unmapping");
}

static void refusals(Container *c, uint8_t *buf, long base)
{
    uint64_t iova = c->iova_start;
    int rc;
    int64_t got;

    result(map_pieces(c, buf, iova, 4 * MIB, MIB) == 0,
           "refusals: 4 maps of 1 MiB");
    rc = map(c, buf, iova + MIB, MIB);
    result(rc == -EEXIST, "a map over a mapping is refused with EEXIST (%s)",
           strerror(-rc));
    got = unmap(c, iova + MIB / 2, MIB);
    result(got == -EINVAL, "an unmap splitting a mapping is refused with "
           "EINVAL (answered %" PRId64 ")", got);
    rc = map(c, buf, iova + 4 * MIB + 2048, 4096);
    result(rc == -EINVAL, "a map at an unaligned IOVA is refused with EINVAL "
           "(%s)", strerror(-rc));
    rc = map(c, buf, (c->iova_end | 4095) + 1 + 4096, 4096);
    result(rc != 0, "a map outside the IOVA range is refused (%s)",
           strerror(-rc));
    got = unmap(c, iova + 4 * MIB, MIB);
    result(got == 0, "an unmap of nothing unmaps nothing (answered %" PRId64
           ")", got);
    got = unmap(c, iova, 4 * MIB);
    result(got == (int64_t)(4 * MIB), "one unmap over 4 mappings (answered %"
           PRId64 ")", got);
    check_avail(c, base, 0, "after the refusals");
}

/* --- virtio-net through the VFIO regions --------------------------------- */

typedef struct Dev {
    int fd;
    uint64_t cfg_off;            /* config space region offset in the fd */
    uint64_t bar_off[6];
    uint64_t bar_size[6];
    int common_bar, notify_bar;
    uint32_t common_at, notify_at, notify_mult;
} Dev;

static int dev_rw(Dev *d, int write, uint64_t off, void *val, size_t len)
{
    ssize_t n = write ? pwrite(d->fd, val, len, off) : pread(d->fd, val, len,
                                                             off);

    return n == (ssize_t)len ? 0 : -1;
}

static uint32_t cfg_read(Dev *d, uint32_t at, size_t len)
{
    uint8_t b[4] = { 0 };

    dev_rw(d, 0, d->cfg_off + at, b, len);
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void cfg_write16(Dev *d, uint32_t at, uint16_t v)
{
    uint16_t le = htole16(v);

    dev_rw(d, 1, d->cfg_off + at, &le, 2);
}

static uint64_t common(Dev *d, uint32_t field)
{
    return d->bar_off[d->common_bar] + d->common_at + field;
}

static uint32_t rd32(Dev *d, uint64_t off)
{
    uint32_t v = 0;

    dev_rw(d, 0, off, &v, 4);
    return le32toh(v);
}

static uint16_t rd16(Dev *d, uint64_t off)
{
    uint16_t v = 0;

    dev_rw(d, 0, off, &v, 2);
    return le16toh(v);
}

static uint8_t rd8(Dev *d, uint64_t off)
{
    uint8_t v = 0;

    dev_rw(d, 0, off, &v, 1);
    return v;
}

static void wr32(Dev *d, uint64_t off, uint32_t v)
{
    v = htole32(v);
    dev_rw(d, 1, off, &v, 4);
}

static void wr16(Dev *d, uint64_t off, uint16_t v)
{
    v = htole16(v);
    dev_rw(d, 1, off, &v, 2);
}

static void wr8(Dev *d, uint64_t off, uint8_t v)
{
    dev_rw(d, 1, off, &v, 1);
}

/* struct virtio_pci_common_cfg */
enum {
    CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
    CC_MSIX = 0x10, CC_STATUS = 0x14, CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18,
    CC_Q_MSIX = 0x1a, CC_Q_ENABLE = 0x1c, CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20,
    CC_Q_AVAIL = 0x28, CC_Q_USED = 0x30,
};

#define QSIZE 16
#define HDR_LEN 12              /* struct virtio_net_hdr_v1 */
#define FRAME_LEN 1014
#define BUF_LEN 2048

/* Split rings of one queue, at fixed offsets in a 16 KiB area. */
typedef struct Ring {
    uint8_t *mem;
    uint64_t iova;
    uint16_t avail_idx, used_seen;
} Ring;

#define DESC_AT 0
#define AVAIL_AT 4096
#define USED_AT 8192

static void put_le16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, 2);
}

static uint16_t get_le16(const volatile uint8_t *p)
{
    uint16_t v;

    memcpy(&v, (const void *)p, 2);
    return le16toh(v);
}

static uint32_t get_le32(const volatile uint8_t *p)
{
    uint32_t v;

    memcpy(&v, (const void *)p, 4);
    return le32toh(v);
}

static void ring_add(Ring *r, uint16_t id, uint64_t addr, uint32_t len,
                     int device_writes)
{
    uint8_t *desc = r->mem + DESC_AT + 16 * id;
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);

    memcpy(desc, &a, 8);
    memcpy(desc + 8, &l, 4);
    put_le16(desc + 12, device_writes ? 2 : 0);   /* VRING_DESC_F_WRITE */
    put_le16(desc + 14, 0);
    put_le16(r->mem + AVAIL_AT + 4 + 2 * (r->avail_idx % QSIZE), id);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    r->avail_idx++;
    put_le16(r->mem + AVAIL_AT + 2, r->avail_idx);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Waits up to @secs for a new used element; returns its id, or -1. */
static int ring_used(Ring *r, double secs, uint32_t *len)
{
    double end = now() + secs;
    volatile uint8_t *used = r->mem + USED_AT;

    while (get_le16(used + 2) == r->used_seen) {
        if (now() > end) {
            return -1;
        }
        usleep(1000);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    {
        volatile uint8_t *e = used + 4 + 8 * (r->used_seen % QSIZE);
        int id = (int)get_le32(e);

        *len = get_le32(e + 4);
        r->used_seen++;
        return id;
    }
}

static int find_caps(Dev *d)
{
    uint32_t at = cfg_read(d, 0x34, 1) & ~3u;
    int found = 0;

    for (int steps = 0; at >= 0x40 && at < 0x100 && steps < 48; steps++) {
        uint32_t id = cfg_read(d, at, 1), next = cfg_read(d, at + 1, 1);

        if (id == 0x09) {                  /* vendor specific: virtio */
            uint32_t type = cfg_read(d, at + 3, 1);
            uint32_t bar = cfg_read(d, at + 4, 1);
            uint32_t off = cfg_read(d, at + 8, 4);

            if (bar < 6 && type == 1) {   /* VIRTIO_PCI_CAP_COMMON_CFG */
                d->common_bar = (int)bar;
                d->common_at = off;
                found |= 1;
            } else if (bar < 6 && type == 2) {    /* NOTIFY_CFG */
                d->notify_bar = (int)bar;
                d->notify_at = off;
                d->notify_mult = cfg_read(d, at + 16, 4);
                found |= 2;
            }
        }
        at = next & ~3u;
    }
    return found == 3 ? 0 : -1;
}

static void notify_queue(Dev *d, uint16_t q)
{
    uint16_t noff;

    wr16(d, common(d, CC_Q_SELECT), q);
    noff = rd16(d, common(d, CC_Q_NOFF));
    wr16(d, d->bar_off[d->notify_bar] + d->notify_at +
         (uint64_t)noff * d->notify_mult, q);
}

static int setup_queue(Dev *d, uint16_t q, Ring *r)
{
    wr16(d, common(d, CC_Q_SELECT), q);
    if (rd16(d, common(d, CC_Q_SIZE)) < QSIZE) {
        return -1;
    }
    wr16(d, common(d, CC_Q_SIZE), QSIZE);
    wr16(d, common(d, CC_Q_MSIX), 0xffff);
    wr32(d, common(d, CC_Q_DESC), (uint32_t)(r->iova + DESC_AT));
    wr32(d, common(d, CC_Q_DESC) + 4, (uint32_t)((r->iova + DESC_AT) >> 32));
    wr32(d, common(d, CC_Q_AVAIL), (uint32_t)(r->iova + AVAIL_AT));
    wr32(d, common(d, CC_Q_AVAIL) + 4, (uint32_t)((r->iova + AVAIL_AT) >> 32));
    wr32(d, common(d, CC_Q_USED), (uint32_t)(r->iova + USED_AT));
    wr32(d, common(d, CC_Q_USED) + 4, (uint32_t)((r->iova + USED_AT) >> 32));
    wr16(d, common(d, CC_Q_ENABLE), 1);
    return 0;
}

static void make_frame(uint8_t *f, int seq)
{
    static const uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0x7a, 0x70, 0x01 };

    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;           /* local experimental ethertype 0x88b5 */
    f[13] = 0xb5;
    for (int i = 14; i < FRAME_LEN; i++) {
        f[i] = (uint8_t)(seq * 31 + i * 7 + (i >> 8));
    }
}

/*
 * Drives virtio-net: @area (1 MiB, mapped at @iova in 4 KiB pieces) holds
 * the RX ring, the TX ring, then RX and TX buffers.
 */
static void virtio_net_dma(Container *c, int group, const char *addr,
                           int packets)
{
    Dev d = { .fd = -1, .common_bar = -1, .notify_bar = -1 };
    struct vfio_device_info info = { .argsz = sizeof(info) };
    uint64_t iova = c->iova_start + 256 * MIB, size = MIB;
    uint8_t *area = mmap(NULL, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    Ring rx, tx;
    uint32_t status;
    uint64_t feat_hi;
    int bad, sent = 0, echoed = 0, matched = 0;
    const uint64_t rxbuf = 64 * KIB, txbuf = 256 * KIB;

    if (area == MAP_FAILED) {
        result(0, "device: no memory");
        return;
    }
    memset(area, 0, size);
    d.fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr);
    if (d.fd < 0 || ioctl(d.fd, VFIO_DEVICE_GET_INFO, &info)) {
        result(0, "device: VFIO_GROUP_GET_DEVICE_FD/GET_INFO: %s",
               strerror(errno));
        return;
    }
    for (uint32_t i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX &&
         i < info.num_regions; i++) {
        struct vfio_region_info r = { .argsz = sizeof(r), .index = i };

        if (ioctl(d.fd, VFIO_DEVICE_GET_REGION_INFO, &r)) {
            continue;
        }
        if (i == VFIO_PCI_CONFIG_REGION_INDEX) {
            d.cfg_off = r.offset;
        } else if (i < 6) {
            d.bar_off[i] = r.offset;
            d.bar_size[i] = r.size;
        }
    }
    {
        uint32_t vendor = cfg_read(&d, 0, 2), device = cfg_read(&d, 2, 2);

        if (vendor != 0x1af4 || (device != 0x1041 && device != 0x1000) ||
            find_caps(&d)) {
            printf("vfio device %04x:%04x is not a modern virtio-net "
                   "function: device DMA not checked\n", vendor, device);
            close(d.fd);
            return;
        }
    }
    /* memory space and bus master */
    cfg_write16(&d, 4, (uint16_t)(cfg_read(&d, 4, 2) | 0x6));

    bad = map_pieces(c, area, iova, size, 4 * KIB);
    result(!bad, "device: rings and buffers mapped in %d pieces of 4 KiB",
           (int)(size / (4 * KIB)));
    rx = (Ring){ .mem = area, .iova = iova };
    tx = (Ring){ .mem = area + 16 * KIB, .iova = iova + 16 * KIB };

    wr8(&d, common(&d, CC_STATUS), 0);
    for (int i = 0; i < 1000 && rd8(&d, common(&d, CC_STATUS)); i++) {
        usleep(1000);
    }
    wr8(&d, common(&d, CC_STATUS), 1 | 2);          /* ACKNOWLEDGE, DRIVER */
    wr32(&d, common(&d, CC_DFSELECT), 1);
    feat_hi = rd32(&d, common(&d, CC_DF));
    /* VIRTIO_F_VERSION_1 (32) and VIRTIO_F_ACCESS_PLATFORM (33) */
    wr32(&d, common(&d, CC_GFSELECT), 0);
    wr32(&d, common(&d, CC_GF), 0);
    wr32(&d, common(&d, CC_GFSELECT), 1);
    wr32(&d, common(&d, CC_GF), (uint32_t)(feat_hi & 3));
    wr8(&d, common(&d, CC_STATUS), 1 | 2 | 8);      /* FEATURES_OK */
    status = rd8(&d, common(&d, CC_STATUS));
    result((feat_hi & 3) == 3 && (status & 8),
           "device: virtio 1.0 with ACCESS_PLATFORM negotiated (features "
           "high word 0x%" PRIx64 ", status 0x%x)", feat_hi, status);
    if (!(status & 8)) {
        goto out;
    }
    wr16(&d, common(&d, CC_MSIX), 0xffff);
    if (setup_queue(&d, 0, &rx) || setup_queue(&d, 1, &tx)) {
        result(0, "device: queue setup");
        goto out;
    }
    wr8(&d, common(&d, CC_STATUS), 1 | 2 | 8 | 4);  /* DRIVER_OK */

    for (uint16_t i = 0; i < QSIZE; i++) {
        ring_add(&rx, i, iova + rxbuf + i * BUF_LEN, BUF_LEN, 1);
    }
    notify_queue(&d, 0);

    for (int p = 0; p < packets; p++) {
        uint16_t id = (uint16_t)(p % QSIZE);
        uint8_t *pkt = area + txbuf + id * BUF_LEN;
        uint32_t len = 0;
        int got;

        memset(pkt, 0, HDR_LEN);
        make_frame(pkt + HDR_LEN, p);
        ring_add(&tx, id, iova + txbuf + id * BUF_LEN, HDR_LEN + FRAME_LEN,
                 0);
        notify_queue(&d, 1);
        got = ring_used(&tx, 5, &len);
        if (got != id) {
            result(0, "device: packet %d not sent (used id %d)", p, got);
            goto out;
        }
        sent++;
        got = ring_used(&rx, echoed || p == 0 ? 3 : 0.05, &len);
        if (got >= 0 && got < QSIZE) {
            uint8_t *in = area + rxbuf + got * BUF_LEN, want[FRAME_LEN];

            echoed++;
            make_frame(want, p);
            if (len == HDR_LEN + FRAME_LEN &&
                !memcmp(in + HDR_LEN, want, FRAME_LEN)) {
                matched++;
            }
            memset(in, 0, BUF_LEN);
            ring_add(&rx, (uint16_t)got, iova + rxbuf + got * BUF_LEN,
                     BUF_LEN, 1);
            notify_queue(&d, 0);
        }
    }
    result(sent == packets, "device: %d packets read by the device, used "
           "ring written (%d)", packets, sent);
    if (echoed) {
        result(matched == packets && echoed == packets,
               "device: %d of %d packets came back through the backend, %d "
               "byte for byte equal", echoed, packets, matched);
    } else {
        printf("vfio device: no packet came back (the NIC's backend does "
               "not loop them back); received data not checked\n");
    }
out:
    wr8(&d, common(&d, CC_STATUS), 0);              /* reset: no more DMA */
    for (int i = 0; i < 1000 && rd8(&d, common(&d, CC_STATUS)); i++) {
        usleep(1000);
    }
    bad = unmap_splits(c, iova, size, 64 * KIB);
    result(!bad, "device: rings and buffers unmapped in 64 KiB splits");
    close(d.fd);
    munmap(area, size);
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "000a:00:00.0";
    uint64_t total = (argc > 2 ? strtoull(argv[2], NULL, 0) : 64) * MIB;
    int rounds = argc > 3 ? atoi(argv[3]) : 2;
    char path[256], target[256], *grp;
    Container c = { .fd = -1 };
    struct vfio_group_status gs = { .argsz = sizeof(gs) };
    int group;
    ssize_t n;
    long base;
    uint8_t *buf;
    double start = now();

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (total == 0 || total > 512 * MIB || total % (8 * MIB) ||
        rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: zpci-vfio-dma ADDRESS [MIB (8..512, a "
                "multiple of 8) [ROUNDS (1..100)]]\n");
        return 2;
    }
    if (bind_vfio(addr)) {
        goto done;
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0) {
        result(0, "no IOMMU group for %s", addr);
        goto done;
    }
    target[n] = '\0';
    grp = strrchr(target, '/') + 1;
    snprintf(path, sizeof(path), "/dev/vfio/%s", grp);

    c.fd = open("/dev/vfio/vfio", O_RDWR);
    result(c.fd >= 0 && ioctl(c.fd, VFIO_GET_API_VERSION) == VFIO_API_VERSION,
           "container /dev/vfio/vfio, API version %d", VFIO_API_VERSION);
    result(c.fd >= 0 &&
           ioctl(c.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
           "container offers VFIO_TYPE1v2_IOMMU");
    group = open(path, O_RDWR);
    if (group < 0 || ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
        !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        result(0, "group %s is not viable: %s", path, strerror(errno));
        goto done;
    }
    result(ioctl(group, VFIO_GROUP_SET_CONTAINER, &c.fd) == 0,
           "group %s joins the container", path);
    result(ioctl(c.fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0,
           "VFIO_SET_IOMMU type1v2");
    base = iommu_info(&c, 512 * MIB);
    result(c.iova_end != 0 && (c.pgsizes & 4096),
           "IOVA range 0x%" PRIx64 "..0x%" PRIx64 ", page sizes 0x%" PRIx64
           ", free DMA mappings %ld", c.iova_start, c.iova_end, c.pgsizes,
           base);
    if (!c.iova_end) {
        goto done;
    }
    buf = mmap(NULL, total, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buf == MAP_FAILED) {
        result(0, "no memory for %" PRIu64 " MiB", total / MIB);
        goto done;
    }
    for (uint64_t i = 0; i < total; i += 4096) {
        buf[i] = (uint8_t)i;
    }
    for (int r = 1; r <= rounds; r++) {
        char name[64];

        snprintf(name, sizeof(name), "round %d, %" PRIu64 " MiB", r,
                 total / MIB);
        phase(&c, buf, total, base, MIB, 4 * MIB, name);
        phase(&c, buf, total, base, 4 * KIB, MIB, name);
        phase(&c, buf, total, base, 4 * KIB, total, name);
        phase(&c, buf, total, base, 64 * KIB, 4 * KIB * 1024 * 2, name);
        phase(&c, buf, total, base, total, total, name);
    }
    refusals(&c, buf, base);
    virtio_net_dma(&c, group, addr, 64);
    close(group);
done:
    printf("vfio seconds %.1f\n", now() - start);
    printf("vfio-dma: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
