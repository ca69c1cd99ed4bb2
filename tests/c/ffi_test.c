/*
 * Links the zpci-rs static library through the generated header, as QEMU
 * does, and checks the answers byte by byte at the offsets Linux reads
 * (arch/s390/include/asm/pci_clp.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zpci_rs.h"

#include "check.h"

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void test_default_group(void)
{
    ZpciRsFunctionGroup g;
    uint8_t rsp[64];

    memset(&g, 0xa5, sizeof(g));
    CHECK(zpci_rs_default_function_group(&g) == ZPCI_RS_STATUS_OK);
    CHECK(g.noi == 128 && g.maxstbl == 128 && g.mui == 4000);
    CHECK(g.version == 0 && g.flags == 1 && g.dtsm == 0x40);
    CHECK(g.dasm == 0 && g.msia == 0xfe00000000000000ULL);

    memset(rsp, 0, sizeof(rsp));
    rsp[1] = sizeof(rsp);
    CHECK(zpci_rs_clp_query_pci_fngrp(&g, rsp, sizeof(rsp)) ==
          ZPCI_RS_STATUS_OK);
    CHECK(be(rsp, 2) == 64);           /* length is the guest's */
    CHECK(be(rsp + 2, 2) == 0x0010);   /* CLP_RC_OK */
    CHECK(be(rsp + 16, 2) == 128);     /* noi */
    CHECK(rsp[18] == 0);               /* version */
    CHECK(rsp[19] == 1);               /* refresh */
    CHECK(be(rsp + 20, 2) == 128);     /* maxstbl */
    CHECK(be(rsp + 22, 2) == 4000);    /* mui */
    CHECK(rsp[24] == 0x40);            /* dtsm */
    CHECK(be(rsp + 32, 8) == 0);       /* dasm */
    CHECK(be(rsp + 40, 8) == 0xfe00000000000000ULL); /* msia */
}

static void test_query_pci_fn(void)
{
    ZpciRsPciFunction f;
    uint8_t rsp[192];

    CHECK(zpci_rs_default_pci_function(12, 0xa, &f) == ZPCI_RS_STATUS_OK);
    CHECK(f.fid == 12 && f.uid == 0xa && f.pfgid == 0xff);
    CHECK(f.sdma == 0x100000000ULL && f.edma == 0x1ffffffffffffffULL);

    f.bar[1] = 0x0000000c;
    f.bar_size[1] = 14;
    f.pchid = 0x1234;
    memset(rsp, 0, sizeof(rsp));
    CHECK(zpci_rs_clp_query_pci_fn(&f, rsp, sizeof(rsp)) ==
          ZPCI_RS_STATUS_OK);
    CHECK(be(rsp + 2, 2) == 0x0010);
    CHECK(rsp[19] == 0xff);                   /* pfgid */
    CHECK(be(rsp + 20, 4) == 12);             /* fid */
    CHECK(rsp[25] == 14);                     /* bar_size[1] */
    CHECK(be(rsp + 30, 2) == 0x1234);         /* pchid */
    CHECK(rsp[36] == 0x0c && rsp[39] == 0);   /* bar[1], little-endian */
    CHECK(be(rsp + 64, 8) == 0x100000000ULL); /* sdma */
    CHECK(be(rsp + 72, 8) == 0x1ffffffffffffffULL); /* edma */
    CHECK(be(rsp + 124, 4) == 0xa);           /* uid */
}

static void test_null_arguments(void)
{
    ZpciRsPciFunction f;
    ZpciRsFunctionGroup g;
    uint8_t rsp[8] = { 0 };

    CHECK(zpci_rs_default_function_group(NULL) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_default_pci_function(1, 1, NULL) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_default_pci_function(1, 1, &f) == ZPCI_RS_STATUS_OK);
    CHECK(zpci_rs_default_function_group(&g) == ZPCI_RS_STATUS_OK);
    CHECK(zpci_rs_clp_query_pci_fn(NULL, rsp, sizeof(rsp)) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_clp_query_pci_fn(&f, NULL, 8) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_clp_query_pci_fngrp(NULL, rsp, sizeof(rsp)) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    CHECK(zpci_rs_clp_query_pci_fngrp(&g, NULL, 8) ==
          ZPCI_RS_STATUS_NULL_ARGUMENT);
    /* a short block gets the prefix of the answer that fits */
    CHECK(zpci_rs_clp_query_pci_fn(&f, rsp, sizeof(rsp)) ==
          ZPCI_RS_STATUS_OK);
    CHECK(be(rsp + 2, 2) == 0x0010);
    CHECK(zpci_rs_version() != NULL && zpci_rs_version()[0] != '\0');
}

int main(void)
{
    test_default_group();
    test_query_pci_fn();
    test_null_arguments();
    printf("c-ffi: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
