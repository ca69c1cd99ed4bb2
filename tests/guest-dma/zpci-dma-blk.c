/*
 * Moves data through a block device with O_DIRECT, so every byte crosses
 * the device's DMA (for virtio-blk on zPCI: the zPCI IOMMU, RPCIT and the
 * translate callback of QEMU), and prints what it moved with its SHA-256.
 *
 *   zpci-dma-blk read DEVICE BYTES
 *       reads BYTES from the start of DEVICE in 1 MiB requests
 *   zpci-dma-blk write DEVICE BYTES SEED
 *       writes BYTES of the pseudo-random stream SEED from the start of
 *       DEVICE in 1 MiB requests, then fsync
 *   zpci-dma-blk stream BYTES SEED
 *       prints the SHA-256 of the stream (the host's side of the check)
 * BYTES is a multiple of 4096.
 *
 * Output, one line:
 *   <mode> bytes <n> seconds <s> io_seconds <s> mib_per_s <r> sha256 <hex>
 * where io_seconds is the time spent in read/write/fsync alone.
 * Exit status 0 when everything was moved, 1 otherwise (the reason on
 * stderr).
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
#include <time.h>
#include <unistd.h>

#include "sha256.h"

#define CHUNK (1024 * 1024)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: the same bytes on the guest (big-endian) and the host. */
static void stream_fill(uint64_t *state, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x = *state;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        x *= 0x2545f4914f6cdd1dULL;
        for (int b = 0; b < 8; b++) {
            buf[i + b] = (uint8_t)(x >> (8 * b));
        }
    }
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end || end == s ||
        (!strcmp(what, "byte count") && v % 4096)) {
        fprintf(stderr, "zpci-dma-blk: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void report(const char *mode, uint64_t bytes, double secs,
                   double io_secs, Sha256 *sha)
{
    char hex[65];

    sha256_hex(sha, hex);
    printf("%s bytes %" PRIu64 " seconds %.2f io_seconds %.2f mib_per_s %.1f "
           "sha256 %s\n", mode, bytes, secs, io_secs,
           io_secs > 0 ? bytes / 1048576.0 / io_secs : 0.0, hex);
}

static int transfer(int write_mode, const char *dev, uint64_t bytes,
                    uint64_t seed)
{
    int fd = open(dev, (write_mode ? O_WRONLY : O_RDONLY) | O_DIRECT);
    uint64_t state = seed ? seed : 1, done = 0;
    double start = now(), io = 0, t;
    uint8_t *buf;
    Sha256 sha;

    if (fd < 0) {
        fprintf(stderr, "zpci-dma-blk: open %s: %s\n", dev, strerror(errno));
        return 1;
    }
    if (posix_memalign((void **)&buf, 4096, CHUNK)) {
        fprintf(stderr, "zpci-dma-blk: out of memory\n");
        return 1;
    }
    sha256_init(&sha);
    while (done < bytes) {
        size_t n = bytes - done < CHUNK ? bytes - done : CHUNK;
        ssize_t got;

        if (write_mode) {
            stream_fill(&state, buf, n);
            sha256_update(&sha, buf, n);
        }
        t = now();
        got = write_mode ? pwrite(fd, buf, n, done) : pread(fd, buf, n, done);
        io += now() - t;
        if (got != (ssize_t)n) {
            fprintf(stderr, "zpci-dma-blk: %s of %zu bytes at %" PRIu64
                    " on %s gave %zd: %s\n", write_mode ? "write" : "read", n,
                    done, dev, got, got < 0 ? strerror(errno) : "short");
            return 1;
        }
        if (!write_mode) {
            sha256_update(&sha, buf, n);
        }
        done += n;
    }
    if (write_mode) {
        t = now();
        if (fsync(fd)) {
            fprintf(stderr, "zpci-dma-blk: fsync %s: %s\n", dev,
                    strerror(errno));
            return 1;
        }
        io += now() - t;
    }
    close(fd);
    report(write_mode ? "write" : "read", done, now() - start, io, &sha);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "read")) {
        return transfer(0, argv[2], parse_u64(argv[3], "byte count"), 0);
    }
    if (argc == 5 && !strcmp(argv[1], "write")) {
        return transfer(1, argv[2], parse_u64(argv[3], "byte count"),
                        parse_u64(argv[4], "seed"));
    }
    if (argc == 4 && !strcmp(argv[1], "stream")) {
        uint64_t bytes = parse_u64(argv[2], "byte count");
        uint64_t state = parse_u64(argv[3], "seed"), done = 0;
        static uint8_t buf[CHUNK];
        Sha256 sha;

        state = state ? state : 1;
        sha256_init(&sha);
        for (; done < bytes; done += CHUNK) {
            size_t n = bytes - done < CHUNK ? bytes - done : CHUNK;

            stream_fill(&state, buf, n);
            sha256_update(&sha, buf, n);
        }
        report("stream", bytes, 0, 0, &sha);
        return 0;
    }
    fprintf(stderr, "usage: zpci-dma-blk read DEVICE BYTES | "
            "write DEVICE BYTES SEED | stream BYTES SEED\n");
    return 2;
}
