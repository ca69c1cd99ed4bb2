/*
 * The host-function part of the zpci-rs C interface, linked as QEMU links
 * it: host bridge state, replayed host profiles, vfio-pci plugs on file
 * descriptors the kernel refuses, and the VFIO ioctl numbers the library
 * pins, checked against <linux/vfio.h>.
 *
 * Run from the top of the checkout (it reads tests/fixtures/).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "zpci_rs.h"

#define CRAFTED "tests/fixtures/replay-sample.zpcihost"
#define CAPTURED "tests/fixtures/guest612-default-virtio-blk.zpcihost"

#include "check.h"

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* The messages the library hands to the operator callback. */
static char warnings[8][512];
static int nwarnings;

static void collect(void *opaque, const char *message)
{
    CHECK(opaque == (void *)warnings);
    if (nwarnings < 8) {
        snprintf(warnings[nwarnings], sizeof(warnings[0]), "%s", message);
    }
    nwarnings++;
}

static ZpciRsFunctionRequest emulated(uint32_t fid, uint16_t uid)
{
    ZpciRsFunctionRequest r = {
        .fid = fid, .uid = uid, .interpreted = 0, .relaxed_translation = 0,
    };
    return r;
}

/* The literals rust/zpci-core/src/vfio/info.rs pins, against the system header. */
static void test_ioctl_numbers(void)
{
    CHECK(VFIO_DEVICE_GET_INFO == 0x3b6b);
    CHECK(VFIO_IOMMU_GET_INFO == 0x3b70);
}

static void test_crafted_profile(void)
{
    char err[256] = "";
    ZpciRsHostProfile *p = zpci_rs_host_profile_load(CRAFTED, err, sizeof(err));
    ZpciRsHostBridge *b = zpci_rs_host_bridge_new();
    ZpciRsFunctionRequest req = emulated(0x20, 0x20);
    ZpciRsHostAnswer a, a2;
    uint8_t rsp[192], grsp[64];
    uint32_t left = 99;

    CHECK(p != NULL);
    CHECK(b != NULL);
    if (!p || !b) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    nwarnings = 0;
    memset(&a, 0xa5, sizeof(a));
    CHECK(zpci_rs_host_bridge_plug_profile(b, p, &req, collect, warnings,
                                           &a) == ZPCI_RS_STATUS_OK);
    CHECK(nwarnings == 0);
    CHECK(a.function.fid == 0x20 && a.function.uid == 0x20);
    CHECK(a.function.sdma == 0x200000000ULL);
    CHECK(a.function.edma == 0x2007fffffULL);     /* 0x800 mappings */
    CHECK(a.function.pchid == 0x01c4 && a.function.vfn == 3);
    CHECK(a.function.pfgid == 0xf0);              /* simulated group */
    CHECK(a.function.pft == 0 && a.function.fmbl == 0);
    CHECK(a.function.flags == 1);                 /* utility string */
    CHECK(memcmp(a.function.pfip, "\x11\x22\x33\x44", 4) == 0);
    CHECK(a.function.util_str[0] == 0xa9);        /* EBCDIC 'z' */
    CHECK(a.group.noi == 2040 && a.group.maxstbl == 0x200);
    CHECK(a.group.mui == 1000 && a.group.version == 1);
    CHECK(a.group.flags == 0x01 && a.group.dtsm == 0x40);
    CHECK(a.group.dasm == 0x00ffffffffffffffULL);
    CHECK(a.group.msia == 0xfe00000000000000ULL);
    CHECK(a.group_created == 1 && a.group_host_id == 0x12);
    CHECK(a.next_simulated_group == 0xf1);
    CHECK(a.dma_count == ZPCI_RS_DMA_COUNT_ACTION_START);
    CHECK(a.dma_count_id == -1 && a.dma_count_avail == 0x800);
    CHECK(a.dma_count_users == 1);
    CHECK(a.host_fh_present == 1 && a.host_fh == 0x80000c07);
    CHECK(a.host_pft == 0x0a && a.relaxed_translation == 0);

    /* The same answer, encoded as the guest reads it. */
    memset(rsp, 0, sizeof(rsp));
    CHECK(zpci_rs_clp_query_pci_fn(&a.function, rsp, sizeof(rsp)) ==
          ZPCI_RS_STATUS_OK);
    CHECK(be(rsp + 64, 8) == 0x200000000ULL);
    CHECK(be(rsp + 72, 8) == 0x2007fffffULL);
    CHECK(rsp[18] == 1 && rsp[19] == 0xf0);
    CHECK(be(rsp + 30, 2) == 0x01c4);
    CHECK(be(rsp + 56, 4) == 0x11223344);
    memset(grsp, 0, sizeof(grsp));
    CHECK(zpci_rs_clp_query_pci_fngrp(&a.group, grsp, sizeof(grsp)) ==
          ZPCI_RS_STATUS_OK);
    CHECK(be(grsp + 16, 2) == 2040 && grsp[18] == 1 && grsp[19] == 1);

    /* A second function of the same host group shares the group. */
    req = emulated(0x21, 0x21);
    CHECK(zpci_rs_host_bridge_plug_profile(b, p, &req, NULL, NULL, &a2) ==
          ZPCI_RS_STATUS_OK);
    CHECK(a2.function.pfgid == 0xf0 && a2.group_created == 0);
    CHECK(a2.dma_count == ZPCI_RS_DMA_COUNT_ACTION_START);
    CHECK(a2.dma_count_id == -2);

    CHECK(zpci_rs_host_bridge_dma_count_end(b, -1, &left) ==
          ZPCI_RS_STATUS_OK);
    CHECK(left == 0);
    left = 99;
    CHECK(zpci_rs_host_bridge_dma_count_end(b, 12345, &left) ==
          ZPCI_RS_STATUS_OK);
    CHECK(left == 0);

    zpci_rs_host_profile_free(p);
    zpci_rs_host_bridge_free(b);
}

/* A capture of QEMU's default function, replayed as a host. */
static void test_captured_profile(void)
{
    char err[256] = "";
    ZpciRsHostProfile *p = zpci_rs_host_profile_load(CAPTURED, err,
                                                     sizeof(err));
    ZpciRsHostBridge *b = zpci_rs_host_bridge_new();
    ZpciRsFunctionRequest req = emulated(0, 5);
    ZpciRsHostAnswer a;

    CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        zpci_rs_host_bridge_free(b);
        return;
    }
    CHECK(zpci_rs_host_bridge_plug_profile(b, p, &req, NULL, NULL, &a) ==
          ZPCI_RS_STATUS_OK);
    CHECK(a.function.sdma == 0x100000000ULL);
    CHECK(a.function.pfgid == 0xff && a.group_created == 0);
    CHECK(a.group.noi == 128 && a.group.mui == 4000);
    CHECK(a.dma_count == ZPCI_RS_DMA_COUNT_ACTION_START);
    CHECK(a.dma_count_avail == 65535);
    zpci_rs_host_profile_free(p);
    zpci_rs_host_bridge_free(b);
}

static void test_bad_profiles(void)
{
    char path[] = "/tmp/vfio_ffi_test.XXXXXX";
    char err[256];
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    CHECK(write(fd, "ZPCIHOST\0\1Q\0", 12) == 12);
    close(fd);
    memset(err, 0x55, sizeof(err));
    CHECK(zpci_rs_host_profile_load(path, err, sizeof(err)) == NULL);
    CHECK(strncmp(err, "host profile /tmp/vfio_ffi_test.", 32) == 0);
    CHECK(strstr(err, ": byte order 0x51 at offset 10 is neither 'B' nor "
                 "'L'") != NULL);
    unlink(path);

    memset(err, 0x55, sizeof(err));
    CHECK(zpci_rs_host_profile_load(path, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    CHECK(strlen(err) < sizeof(err));

    CHECK(zpci_rs_host_profile_load(NULL, err, sizeof(err)) == NULL);
    CHECK(strcmp(err, "host profile: no file name given") == 0);
    CHECK(zpci_rs_host_profile_load(path, NULL, 0) == NULL);
    zpci_rs_host_profile_free(NULL);
}

static void test_vfio_without_a_device(void)
{
    ZpciRsHostBridge *b = zpci_rs_host_bridge_new();
    ZpciRsFunctionRequest req = emulated(7, 8);
    ZpciRsPciFunction def;
    ZpciRsHostAnswer a;
    uint32_t v = 5;
    uint8_t present = 5;
    int null_fd = open("/dev/null", O_RDONLY);

    nwarnings = 0;
    CHECK(zpci_rs_host_bridge_plug_vfio(b, -1, -1, &req, collect, warnings,
                                        &a) == ZPCI_RS_STATUS_OK);
    CHECK(zpci_rs_default_pci_function(7, 8, &def) == ZPCI_RS_STATUS_OK);
    CHECK(a.function.sdma == def.sdma && a.function.edma == def.edma);
    CHECK(a.function.fid == 7 && a.function.uid == 8);
    CHECK(a.function.pchid == 0 && a.function.vfn == 0);
    CHECK(a.function.flags == 0 && a.function.pft == 0);
    CHECK(memcmp(a.function.util_str, def.util_str, 64) == 0);
    CHECK(a.dma_count == ZPCI_RS_DMA_COUNT_ACTION_NONE);
    CHECK(a.group_created == 0 && a.function.pfgid == 0xff);
    CHECK(nwarnings == 1);
    CHECK(strcmp(warnings[0], "VFIO_DEVICE_GET_INFO on fd -1 failed: Bad "
                 "file descriptor (os error 9): default function values "
                 "used") == 0);

    /* Not a VFIO descriptor: the kernel says so, for both ioctls. */
    nwarnings = 0;
    CHECK(zpci_rs_host_bridge_plug_vfio(b, null_fd, null_fd, &req, collect,
                                        warnings, &a) == ZPCI_RS_STATUS_OK);
    CHECK(nwarnings == 2);
    CHECK(strstr(warnings[0], "Inappropriate ioctl for device") != NULL);
    CHECK(strncmp(warnings[1], "VFIO_IOMMU_GET_INFO on fd ", 26) == 0);

    CHECK(zpci_rs_vfio_host_fh(null_fd, &v, &present) == ZPCI_RS_STATUS_OK);
    CHECK(present == 0 && v == 0);
    present = 5;
    CHECK(zpci_rs_vfio_dma_avail(-1, &v, &present) == ZPCI_RS_STATUS_OK);
    CHECK(present == 0);

    CHECK(zpci_rs_host_bridge_plug_vfio(NULL, -1, -1, &req, NULL, NULL,
                                        &a) == ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_host_bridge_plug_vfio(b, -1, -1, NULL, NULL, NULL,
                                        &a) == ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_host_bridge_plug_profile(b, NULL, &req, NULL, NULL,
                                           &a) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_host_bridge_dma_count_end(b, 1, NULL) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_vfio_host_fh(-1, NULL, &present) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_vfio_dma_avail(-1, &v, NULL) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);

    if (null_fd >= 0) {
        close(null_fd);
    }
    zpci_rs_host_bridge_free(b);
    zpci_rs_host_bridge_free(NULL);
}

int main(void)
{
    test_ioctl_numbers();
    test_crafted_profile();
    test_captured_profile();
    test_bad_profiles();
    test_vfio_without_a_device();
    printf("vfio-ffi: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
