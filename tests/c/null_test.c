/*
 * Every export of zpci_rs.h called with null pointers: each pointer
 * argument null in turn (the others valid), then all of them at once. A
 * call with a status answers ZPCI_RS_STATUS_NULL_ARGUMENT, one that
 * returns a handle returns NULL, the frees accept NULL, and nothing
 * crashes or writes through the pointers that were valid.
 *
 * Structure: one function per export, null_<export>(), called from main
 * in the header's order. A new export gets its own function: build valid
 * arguments (the fixtures below: fx.iommu, fx.bridge, fx.profile, ...),
 * then one NULL_CASE per pointer argument and one with all of them null.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zpci_rs.h"

#include "check.h"

/* A call with a status: it must refuse the null pointer. */
#define NULL_CASE(call) CHECK((call) == ZPCI_RS_STATUS_NULL_ARGUMENT)

#define POISON 0xa5

/* 1 if the n bytes at p all still hold POISON. */
static int untouched(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != POISON) {
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Valid arguments */

static int read_guest(void *opaque, uint64_t gpa, uint8_t *buf, size_t len)
{
    (void)opaque;
    (void)gpa;
    memset(buf, 0, len);
    return 0;
}

static int ram_block(void *opaque, uint64_t gpa, uint64_t *start,
                     uint64_t *end)
{
    (void)opaque;
    (void)gpa;
    *start = 0;
    *end = 1 << 20;
    return 0;
}

static void notify(void *opaque, const ZpciRsIommuEvent *event)
{
    (void)opaque;
    (void)event;
}

static const ZpciRsIommuCallbacks callbacks = {
    .read_guest = read_guest,
    .ram_block = ram_block,
    .notify = notify,
};

static struct {
    ZpciRsIommu *iommu;
    ZpciRsHostBridge *bridge;
    ZpciRsHostProfile *profile;
    ZpciRsPciFunction function;
    ZpciRsFunctionGroup group;
    ZpciRsIoatRequest ioat;
    ZpciRsFunctionDma dma;
    ZpciRsFunctionRequest request;
} fx;

#define PROFILE "tests/fixtures/replay-sample.zpcihost"

static void fixtures(void)
{
    char err[256];

    fx.iommu = zpci_rs_iommu_new(&callbacks, NULL);
    fx.bridge = zpci_rs_host_bridge_new();
    fx.profile = zpci_rs_host_profile_load(PROFILE, err, sizeof(err));
    CHECK(fx.iommu != NULL);
    CHECK(fx.bridge != NULL);
    CHECK(fx.profile != NULL);
    if (!fx.profile) {
        fprintf(stderr, "%s (run from the repository root)\n", err);
    }
    CHECK(zpci_rs_default_pci_function(42, 5, &fx.function) ==
          ZPCI_RS_STATUS_OK);
    CHECK(zpci_rs_default_function_group(&fx.group) == ZPCI_RS_STATUS_OK);
    fx.ioat.iota = 0x120000 | 0x800 | 0x4;
    fx.ioat.pba = 0x100000000ULL;
    fx.ioat.pal = 0x1ffffffffULL;
    fx.dma.sdma = 0x100000000ULL;
    fx.dma.edma = 0x1ffffffffffffffULL;
    fx.request.fid = 42;
    fx.request.uid = 5;
}

/* ---------------------------------------------------------------------- */
/* One function per export */

static void null_version(void)
{
    CHECK(zpci_rs_version() != NULL);
}

static void null_default_function_group(void)
{
    NULL_CASE(zpci_rs_default_function_group(NULL));
}

static void null_default_pci_function(void)
{
    NULL_CASE(zpci_rs_default_pci_function(42, 5, NULL));
}

static void null_clp_query_pci_fn(void)
{
    uint8_t rsp[384];

    memset(rsp, POISON, sizeof(rsp));
    NULL_CASE(zpci_rs_clp_query_pci_fn(NULL, rsp, sizeof(rsp)));
    CHECK(untouched(rsp, sizeof(rsp)));
    NULL_CASE(zpci_rs_clp_query_pci_fn(&fx.function, NULL, sizeof(rsp)));
    NULL_CASE(zpci_rs_clp_query_pci_fn(&fx.function, NULL, 0));
    NULL_CASE(zpci_rs_clp_query_pci_fn(NULL, NULL, sizeof(rsp)));
}

static void null_clp_query_pci_fngrp(void)
{
    uint8_t rsp[64];

    memset(rsp, POISON, sizeof(rsp));
    NULL_CASE(zpci_rs_clp_query_pci_fngrp(NULL, rsp, sizeof(rsp)));
    CHECK(untouched(rsp, sizeof(rsp)));
    NULL_CASE(zpci_rs_clp_query_pci_fngrp(&fx.group, NULL, sizeof(rsp)));
    NULL_CASE(zpci_rs_clp_query_pci_fngrp(&fx.group, NULL, 0));
    NULL_CASE(zpci_rs_clp_query_pci_fngrp(NULL, NULL, sizeof(rsp)));
}

static void null_iommu_new(void)
{
    ZpciRsIommuCallbacks partial;

    CHECK(zpci_rs_iommu_new(NULL, NULL) == NULL);
    partial = callbacks;
    partial.read_guest = NULL;
    CHECK(zpci_rs_iommu_new(&partial, NULL) == NULL);
    partial = callbacks;
    partial.ram_block = NULL;
    CHECK(zpci_rs_iommu_new(&partial, NULL) == NULL);
    partial = callbacks;
    partial.notify = NULL;
    CHECK(zpci_rs_iommu_new(&partial, NULL) == NULL);
    memset(&partial, 0, sizeof(partial));
    CHECK(zpci_rs_iommu_new(&partial, NULL) == NULL);
}

static void null_iommu_free(void)
{
    zpci_rs_iommu_free(NULL);
    passed++;   /* reached: no crash */
}

static void null_iommu_register_ioat(void)
{
    ZpciRsIoatAnswer a;

    memset(&a, POISON, sizeof(a));
    NULL_CASE(zpci_rs_iommu_register_ioat(NULL, &fx.ioat, &fx.dma, &a));
    NULL_CASE(zpci_rs_iommu_register_ioat(fx.iommu, NULL, &fx.dma, &a));
    NULL_CASE(zpci_rs_iommu_register_ioat(fx.iommu, &fx.ioat, NULL, &a));
    CHECK(untouched(&a, sizeof(a)));
    NULL_CASE(zpci_rs_iommu_register_ioat(fx.iommu, &fx.ioat, &fx.dma,
                                          NULL));
    NULL_CASE(zpci_rs_iommu_register_ioat(NULL, NULL, NULL, NULL));
}

static void null_iommu_deregister_ioat(void)
{
    ZpciRsIoatAnswer a;
    uint32_t avail = 7;

    memset(&a, POISON, sizeof(a));
    NULL_CASE(zpci_rs_iommu_deregister_ioat(NULL, &avail, &a));
    CHECK(untouched(&a, sizeof(a)) && avail == 7);
    NULL_CASE(zpci_rs_iommu_deregister_ioat(fx.iommu, &avail, NULL));
    CHECK(avail == 7);
    NULL_CASE(zpci_rs_iommu_deregister_ioat(NULL, NULL, NULL));
    /* dma_avail may be null: no limit */
    CHECK(zpci_rs_iommu_deregister_ioat(fx.iommu, NULL, &a) ==
          ZPCI_RS_STATUS_OK);
}

static void null_iommu_rpcit(void)
{
    ZpciRsRpcitAnswer a;
    uint32_t avail = 7;

    memset(&a, POISON, sizeof(a));
    NULL_CASE(zpci_rs_iommu_rpcit(NULL, 0x100000000ULL, 4096, &avail, &a));
    CHECK(untouched(&a, sizeof(a)) && avail == 7);
    NULL_CASE(zpci_rs_iommu_rpcit(fx.iommu, 0x100000000ULL, 4096, &avail,
                                  NULL));
    CHECK(avail == 7);
    NULL_CASE(zpci_rs_iommu_rpcit(NULL, 0x100000000ULL, 4096, NULL, NULL));
    /* dma_avail may be null: no limit */
    CHECK(zpci_rs_iommu_rpcit(fx.iommu, 0x100000000ULL, 4096, NULL, &a) ==
          ZPCI_RS_STATUS_OK);
}

static void null_iommu_translate(void)
{
    ZpciRsIommuTlbEntry e;

    memset(&e, POISON, sizeof(e));
    NULL_CASE(zpci_rs_iommu_translate(NULL, 0x100000000ULL, 1, &e));
    CHECK(untouched(&e, sizeof(e)));
    NULL_CASE(zpci_rs_iommu_translate(fx.iommu, 0x100000000ULL, 1, NULL));
    NULL_CASE(zpci_rs_iommu_translate(NULL, 0x100000000ULL, 1, NULL));
}

static void null_iommu_stats(void)
{
    ZpciRsIommuStats s;

    memset(&s, POISON, sizeof(s));
    NULL_CASE(zpci_rs_iommu_stats(NULL, &s));
    CHECK(untouched(&s, sizeof(s)));
    NULL_CASE(zpci_rs_iommu_stats(fx.iommu, NULL));
    NULL_CASE(zpci_rs_iommu_stats(NULL, NULL));
}

static void null_host_bridge_new_free(void)
{
    ZpciRsHostBridge *b = zpci_rs_host_bridge_new();

    CHECK(b != NULL);
    zpci_rs_host_bridge_free(b);
    zpci_rs_host_bridge_free(NULL);
    passed++;   /* reached: no crash */
}

static void null_host_bridge_plug_vfio(void)
{
    ZpciRsHostAnswer a;

    memset(&a, POISON, sizeof(a));
    NULL_CASE(zpci_rs_host_bridge_plug_vfio(NULL, -1, -1, &fx.request, NULL,
                                            NULL, &a));
    NULL_CASE(zpci_rs_host_bridge_plug_vfio(fx.bridge, -1, -1, NULL, NULL,
                                            NULL, &a));
    CHECK(untouched(&a, sizeof(a)));
    NULL_CASE(zpci_rs_host_bridge_plug_vfio(fx.bridge, -1, -1, &fx.request,
                                            NULL, NULL, NULL));
    NULL_CASE(zpci_rs_host_bridge_plug_vfio(NULL, -1, -1, NULL, NULL, NULL,
                                            NULL));
}

static void null_host_bridge_plug_profile(void)
{
    ZpciRsHostAnswer a;

    memset(&a, POISON, sizeof(a));
    NULL_CASE(zpci_rs_host_bridge_plug_profile(NULL, fx.profile, &fx.request,
                                               NULL, NULL, &a));
    NULL_CASE(zpci_rs_host_bridge_plug_profile(fx.bridge, NULL, &fx.request,
                                               NULL, NULL, &a));
    NULL_CASE(zpci_rs_host_bridge_plug_profile(fx.bridge, fx.profile, NULL,
                                               NULL, NULL, &a));
    CHECK(untouched(&a, sizeof(a)));
    NULL_CASE(zpci_rs_host_bridge_plug_profile(fx.bridge, fx.profile,
                                               &fx.request, NULL, NULL, NULL));
    NULL_CASE(zpci_rs_host_bridge_plug_profile(NULL, NULL, NULL, NULL, NULL,
                                               NULL));
}

static void null_host_bridge_dma_count_end(void)
{
    uint32_t left = 7;

    NULL_CASE(zpci_rs_host_bridge_dma_count_end(NULL, 0, &left));
    CHECK(left == 7);
    NULL_CASE(zpci_rs_host_bridge_dma_count_end(fx.bridge, 0, NULL));
    NULL_CASE(zpci_rs_host_bridge_dma_count_end(NULL, 0, NULL));
}

static void null_host_profile_load_free(void)
{
    ZpciRsHostProfile *p;
    char err[64];

    memset(err, POISON, sizeof(err));
    CHECK(zpci_rs_host_profile_load(NULL, err, sizeof(err)) == NULL);
    p = zpci_rs_host_profile_load(PROFILE, NULL, 0);
    CHECK(p != NULL);
    zpci_rs_host_profile_free(p);
    /* a failure with nowhere to write the message */
    CHECK(zpci_rs_host_profile_load("/nonexistent.zpcihost", NULL, 64) ==
          NULL);
    CHECK(zpci_rs_host_profile_load(NULL, NULL, 64) == NULL);
    zpci_rs_host_profile_free(NULL);
    passed++;   /* reached: no crash */
}

static void null_vfio_host_fh(void)
{
    uint32_t fh = 7;
    uint8_t present = 7;

    NULL_CASE(zpci_rs_vfio_host_fh(-1, NULL, &present));
    NULL_CASE(zpci_rs_vfio_host_fh(-1, &fh, NULL));
    CHECK(fh == 7);
    NULL_CASE(zpci_rs_vfio_host_fh(-1, NULL, NULL));
}

static void null_vfio_dma_avail(void)
{
    uint32_t avail = 7;
    uint8_t present = 7;

    NULL_CASE(zpci_rs_vfio_dma_avail(-1, NULL, &present));
    NULL_CASE(zpci_rs_vfio_dma_avail(-1, &avail, NULL));
    CHECK(avail == 7);
    NULL_CASE(zpci_rs_vfio_dma_avail(-1, NULL, NULL));
}

static void null_host_bridge_describe(void)
{
    ZpciRsDescription *d = (ZpciRsDescription *)&d;

    NULL_CASE(zpci_rs_host_bridge_describe(NULL, 42, &fx.function, &fx.group,
                                           &d));
    NULL_CASE(zpci_rs_host_bridge_describe(fx.bridge, 42, NULL, &fx.group,
                                           &d));
    NULL_CASE(zpci_rs_host_bridge_describe(fx.bridge, 42, &fx.function, NULL,
                                           &d));
    CHECK(d == (ZpciRsDescription *)&d);
    NULL_CASE(zpci_rs_host_bridge_describe(fx.bridge, 42, &fx.function,
                                           &fx.group, NULL));
    NULL_CASE(zpci_rs_host_bridge_describe(NULL, 42, NULL, NULL, NULL));
}

static void null_description_values_free(void)
{
    ZpciRsDescription *d = NULL;
    size_t len = 7;

    CHECK(zpci_rs_description_values(NULL, &len) == NULL && len == 0);
    CHECK(zpci_rs_description_values(NULL, NULL) == NULL);
    CHECK(zpci_rs_host_bridge_describe(fx.bridge, 42, &fx.function,
                                       &fx.group, &d) == ZPCI_RS_STATUS_OK);
    CHECK(d != NULL);
    /* len may be null: the values without their number */
    CHECK(zpci_rs_description_values(d, NULL) != NULL);
    zpci_rs_description_free(d);
    zpci_rs_description_free(NULL);
    passed++;   /* reached: no crash */
}

static void null_host_bridge_unplug(void)
{
    NULL_CASE(zpci_rs_host_bridge_unplug(NULL, 42));
}

int main(void)
{
    fixtures();
    null_version();
    null_default_function_group();
    null_default_pci_function();
    null_clp_query_pci_fn();
    null_clp_query_pci_fngrp();
    null_iommu_new();
    null_iommu_free();
    null_iommu_register_ioat();
    null_iommu_deregister_ioat();
    null_iommu_rpcit();
    null_iommu_translate();
    null_iommu_stats();
    null_host_bridge_new_free();
    null_host_bridge_plug_vfio();
    null_host_bridge_plug_profile();
    null_host_bridge_dma_count_end();
    null_host_profile_load_free();
    null_vfio_host_fh();
    null_vfio_dma_avail();
    null_host_bridge_describe();
    null_description_values_free();
    null_host_bridge_unplug();

    zpci_rs_host_profile_free(fx.profile);
    zpci_rs_host_bridge_free(fx.bridge);
    zpci_rs_iommu_free(fx.iommu);
    printf("null_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
