/*
 * zpci-vfio-capture: records what a Linux kernel's VFIO driver says about
 * one zPCI function into a zPCI host profile, to be replayed by zpci-rs
 * without the hardware.
 *
 *   zpci-vfio-capture [--bind] [--origin TEXT] --out FILE ADDRESS
 *       With --bind, ADDRESS (0005:00:00.0) is first unbound from its
 *       driver and bound to vfio-pci (driver_override, drivers_probe).
 *       Then its IOMMU group is opened in a new type1v2 container, and
 *       the VFIO_DEVICE_GET_INFO answer of the device and the
 *       VFIO_IOMMU_GET_INFO answer of the container are written, with the
 *       kernel release, the address and the PCI ids, to FILE.
 *   zpci-vfio-capture --from-files DEVICE_INFO IOMMU_INFO|- [--origin TEXT]
 *                     [--byte-order B|L] --out FILE
 *       Writes a profile of two answers kept in files (for tests).
 *
 * Both answers are fetched as the kernel asks: argsz grows to what the
 * kernel needs, at most 4 ioctls and 64 KiB. The profile format is
 * documented in rust/zpci-core/src/vfio/profile.rs and tests/fixtures/README.md.
 * Built static for the s390x test guest by scripts/guest-capture.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define MAX_INFO_LEN (64 * 1024)
#define MAX_TRIES 4
#define MAX_TEXT_LEN 256

enum {
    TAG_DEVICE_INFO = 1,
    TAG_IOMMU_INFO = 2,
    TAG_KERNEL_RELEASE = 3,
    TAG_PCI_ADDRESS = 4,
    TAG_PCI_IDS = 5,
    TAG_ORIGIN = 6,
};

static const char *prog = "zpci-vfio-capture";

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* A buffer of bytes to be written. */
struct buf {
    uint8_t *data;
    size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
    uint8_t *d = realloc(b->data, b->len + n);

    if (!d) {
        die("out of memory");
    }
    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
}

static void put_be16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = { v >> 8, v & 0xff };

    put(b, x, 2);
}

static void put_be32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

    put(b, x, 4);
}

static void put_record(struct buf *b, uint16_t tag, const void *p, size_t n)
{
    put_be16(b, tag);
    put_be16(b, 0);
    put_be32(b, (uint32_t)n);
    put(b, p, n);
}

static char host_byte_order(void)
{
    const uint16_t one = 1;

    return *(const uint8_t *)&one ? 'L' : 'B';
}

/* The profile, version 1: header, then records in tag order. */
static void write_profile(const char *path, char order, const struct buf *dev,
                          const struct buf *iommu, const char *release,
                          const char *address, const uint16_t *ids,
                          const char *origin)
{
    struct buf out = { 0 };
    uint32_t count = 1 + !!iommu + !!release + !!address + !!ids + !!origin;
    uint8_t order_and_reserved[2] = { (uint8_t)order, 0 };
    FILE *f;

    put(&out, "ZPCIHOST", 8);
    put_be16(&out, 1);
    put(&out, order_and_reserved, 2);
    put_be32(&out, count);
    put_record(&out, TAG_DEVICE_INFO, dev->data, dev->len);
    if (iommu) {
        put_record(&out, TAG_IOMMU_INFO, iommu->data, iommu->len);
    }
    if (release) {
        put_record(&out, TAG_KERNEL_RELEASE, release, strlen(release));
    }
    if (address) {
        put_record(&out, TAG_PCI_ADDRESS, address, strlen(address));
    }
    if (ids) {
        struct buf idb = { 0 };

        put_be16(&idb, ids[0]);
        put_be16(&idb, ids[1]);
        put_record(&out, TAG_PCI_IDS, idb.data, idb.len);
        free(idb.data);
    }
    if (origin) {
        put_record(&out, TAG_ORIGIN, origin, strlen(origin));
    }

    f = fopen(path, "wb");
    if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
        die("cannot write %s: %s", path, strerror(errno));
    }
    free(out.data);
}

/* Text the profile format accepts: 1 to 256 bytes, no control characters. */
static void check_text(const char *what, const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > MAX_TEXT_LEN) {
        die("%s must be 1 to %d bytes long", what, MAX_TEXT_LEN);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            die("%s holds a control character", what);
        }
    }
}

/*
 * One info ioctl, the buffer grown as the kernel asks. The answer is the
 * first argsz bytes.
 */
static struct buf get_info(int fd, unsigned long request, const char *name)
{
    size_t len = 24;

    for (int tries = 0; tries < MAX_TRIES; tries++) {
        uint8_t *p = calloc(1, len);
        uint32_t argsz = (uint32_t)len;

        if (!p) {
            die("out of memory");
        }
        memcpy(p, &argsz, sizeof(argsz));
        if (ioctl(fd, request, p) < 0) {
            die("%s failed: %s", name, strerror(errno));
        }
        memcpy(&argsz, p, sizeof(argsz));
        if (argsz <= len) {
            struct buf b = { p, argsz };

            return b;
        }
        free(p);
        if (argsz > MAX_INFO_LEN) {
            die("%s asks for %u bytes, more than the %d accepted", name,
                argsz, MAX_INFO_LEN);
        }
        len = argsz;
    }
    die("%s still asks for a larger buffer after %d tries", name, MAX_TRIES);
    return (struct buf){ 0 };
}

static void write_sysfs(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0) {
        die("cannot open %s: %s", path, strerror(errno));
    }
    n = write(fd, value, strlen(value));
    if (n < 0 || (size_t)n != strlen(value)) {
        die("writing '%s' to %s failed: %s", value, path,
            n < 0 ? strerror(errno) : "short write");
    }
    close(fd);
}

/* The last path component of a symbolic link, or "" when there is none. */
static void link_name(const char *path, char *name, size_t size)
{
    char target[4096];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    char *slash;

    name[0] = '\0';
    if (n <= 0) {
        return;
    }
    target[n] = '\0';
    slash = strrchr(target, '/');
    slash = slash ? slash + 1 : target;
    if (strlen(slash) >= size) {
        die("%s links to a name longer than %zu bytes", path, size - 1);
    }
    memcpy(name, slash, strlen(slash) + 1);
}

static void bind_vfio(const char *addr)
{
    char path[512], driver[256];

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
    link_name(path, driver, sizeof(driver));
    if (strcmp(driver, "vfio-pci") == 0) {
        return;
    }
    if (driver[0]) {
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
                 addr);
        write_sysfs(path, addr);
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
             addr);
    write_sysfs(path, "vfio-pci");
    write_sysfs("/sys/bus/pci/drivers_probe", addr);

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
    for (int i = 0; i < 50; i++) {
        link_name(path, driver, sizeof(driver));
        if (strcmp(driver, "vfio-pci") == 0) {
            return;
        }
        pause_ms(100);
    }
    die("%s is not bound to vfio-pci after 5 s (driver now: %s)", addr,
        driver[0] ? driver : "none");
}

static int open_retry(const char *path, int flags)
{
    int fd = -1;

    for (int i = 0; i < 50 && fd < 0; i++) {
        fd = open(path, flags);
        if (fd < 0 && errno == ENOENT) {
            pause_ms(100);
        } else if (fd < 0) {
            break;
        }
    }
    if (fd < 0) {
        die("cannot open %s: %s", path, strerror(errno));
    }
    return fd;
}

static uint16_t read_id(const char *addr, const char *attr)
{
    char path[512], text[32] = "";
    FILE *f;
    unsigned long v;
    char *end;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", addr, attr);
    f = fopen(path, "r");
    if (!f || !fgets(text, sizeof(text), f)) {
        die("cannot read %s", path);
    }
    fclose(f);
    v = strtoul(text, &end, 16);
    if (end == text || v > 0xffff) {
        die("%s is not a 16-bit id: %s", path, text);
    }
    return (uint16_t)v;
}

static void capture(const char *addr, int bind, const char *out,
                    const char *origin)
{
    char path[512], group_name[64], type[64] = "";
    struct vfio_group_status status = { .argsz = sizeof(status) };
    struct utsname u;
    struct buf dev, iommu;
    uint16_t ids[2];
    int container, group, device;
    FILE *f;

    if (bind) {
        bind_vfio(addr);
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
    link_name(path, group_name, sizeof(group_name));
    if (!group_name[0]) {
        die("%s has no IOMMU group (%s)", addr, path);
    }
    snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/type",
             group_name);
    f = fopen(path, "r");
    if (f) {
        if (fgets(type, sizeof(type), f)) {
            type[strcspn(type, "\n")] = '\0';
        }
        fclose(f);
    }

    container = open_retry("/dev/vfio/vfio", O_RDWR);
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
        die("/dev/vfio/vfio: unknown VFIO API version");
    }
    if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
        die("/dev/vfio/vfio: no type1v2 IOMMU");
    }
    snprintf(path, sizeof(path), "/dev/vfio/%s", group_name);
    group = open_retry(path, O_RDWR);
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0) {
        die("VFIO_GROUP_GET_STATUS on %s failed: %s", path, strerror(errno));
    }
    if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        die("IOMMU group %s is not viable: another of its functions is "
            "bound to a host driver", group_name);
    }
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0) {
        die("VFIO_GROUP_SET_CONTAINER failed: %s", strerror(errno));
    }
    if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
        die("VFIO_SET_IOMMU (type1v2) failed: %s", strerror(errno));
    }
    device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr);
    if (device < 0) {
        die("VFIO_GROUP_GET_DEVICE_FD %s failed: %s", addr, strerror(errno));
    }

    dev = get_info(device, VFIO_DEVICE_GET_INFO, "VFIO_DEVICE_GET_INFO");
    iommu = get_info(container, VFIO_IOMMU_GET_INFO, "VFIO_IOMMU_GET_INFO");
    if (uname(&u) < 0) {
        die("uname failed: %s", strerror(errno));
    }
    check_text("the kernel release", u.release);
    ids[0] = read_id(addr, "vendor");
    ids[1] = read_id(addr, "device");

    write_profile(out, host_byte_order(), &dev, &iommu, u.release, addr, ids,
                  origin);
    fprintf(stderr, "%s: %s: IOMMU group %s (%s), device info %zu bytes, "
            "IOMMU info %zu bytes, written to %s\n", prog, addr, group_name,
            type[0] ? type : "type unknown", dev.len, iommu.len, out);
    close(device);
    close(group);
    close(container);
    free(dev.data);
    free(iommu.data);
}

static struct buf read_file(const char *path)
{
    struct buf b = { 0 };
    uint8_t chunk[4096];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        die("cannot open %s: %s", path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        put(&b, chunk, n);
        if (b.len > MAX_INFO_LEN) {
            die("%s is larger than %d bytes", path, MAX_INFO_LEN);
        }
    }
    fclose(f);
    if (b.len < 16) {
        die("%s is shorter than 16 bytes", path);
    }
    return b;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: %s [--bind] [--origin TEXT] --out FILE ADDRESS\n"
            "       %s --from-files DEVICE_INFO IOMMU_INFO|- [--origin TEXT]"
            " [--byte-order B|L] --out FILE\n", prog, prog);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *origin = NULL, *addr = NULL;
    const char *dev_file = NULL, *iommu_file = NULL;
    char order = host_byte_order();
    int bind = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0) {
            bind = 1;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--origin") == 0 && i + 1 < argc) {
            origin = argv[++i];
        } else if (strcmp(argv[i], "--byte-order") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "B") != 0 && strcmp(argv[i], "L") != 0) {
                usage();
            }
            order = argv[i][0];
        } else if (strcmp(argv[i], "--from-files") == 0 && i + 2 < argc) {
            dev_file = argv[++i];
            iommu_file = argv[++i];
        } else if (argv[i][0] == '-' || addr) {
            usage();
        } else {
            addr = argv[i];
        }
    }
    if (!out || (!addr == !dev_file)) {
        usage();
    }
    if (!origin) {
        origin = dev_file ? "written by zpci-vfio-capture --from-files"
                          : "captured by zpci-vfio-capture";
    }
    check_text("--origin", origin);

    if (dev_file) {
        struct buf dev = read_file(dev_file);
        struct buf iommu = { 0 };
        int has_iommu = strcmp(iommu_file, "-") != 0;

        if (has_iommu) {
            iommu = read_file(iommu_file);
        }
        write_profile(out, order, &dev, has_iommu ? &iommu : NULL, NULL,
                      NULL, NULL, origin);
        free(dev.data);
        free(iommu.data);
        return 0;
    }
    check_text("the PCI address", addr);
    capture(addr, bind, out, origin);
    return 0;
}
