/*
 * The DMA translation part of the zpci-rs C interface, linked as QEMU
 * links it: a guest memory of 1 MiB with I/O translation tables built in
 * it, the three callbacks QEMU's glue implements, and the answers of IOAT
 * registration, RPCIT and the translate callback as QEMU 10.0.2 gives
 * them to the guest (hw/s390x/s390-pci-inst.c, s390-pci-bus.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zpci_rs.h"

#include "check.h"

#define SDMA 0x100000000ULL
#define EDMA 0x1ffffffffffffffULL
#define RT 0x4000ULL    /* region-third table */
#define ST 0x8000ULL    /* segment table */
#define PT 0xc000ULL    /* page table */
#define IOTA (RT | 0x804)
#define RAM_SIZE 0x100000ULL

/* QEMU's values (include/hw/s390x/s390-pci-bus.h, exec/memory.h) */
#define ERR_EVENT_INVALAS 0x1
#define ERR_EVENT_OORANGE 0x2
#define ERR_EVENT_TPROTE 0x4
#define ERR_EVENT_INVALTE 0x7
#define IOMMU_NONE 0
#define IOMMU_RO 1
#define IOMMU_WO 2
#define IOMMU_RW 3

#define MAX_EVENTS 64

typedef struct Guest {
    uint8_t *ram;
    ZpciRsIommuEvent events[MAX_EVENTS];
    int nr_events;
    int reads;
    ZpciRsIommu *reenter;       /* called back into from notify when set */
    ZpciRsStatus reentered;
} Guest;

static void put_be64(Guest *g, uint64_t gpa, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        g->ram[gpa + i] = v & 0xff;
        v >>= 8;
    }
}

static int read_guest(void *opaque, uint64_t gpa, uint8_t *buf, size_t len)
{
    Guest *g = opaque;

    g->reads++;
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa) {
        return -1;
    }
    memcpy(buf, g->ram + gpa, len);
    return 0;
}

static int ram_block(void *opaque, uint64_t gpa, uint64_t *start,
                     uint64_t *end)
{
    (void)opaque;
    if (gpa >= RAM_SIZE) {
        return -1;
    }
    *start = 0;
    *end = RAM_SIZE;
    return 0;
}

static void notify(void *opaque, const ZpciRsIommuEvent *event)
{
    Guest *g = opaque;
    ZpciRsIommuTlbEntry e;

    if (g->nr_events < MAX_EVENTS) {
        g->events[g->nr_events++] = *event;
    }
    if (g->reenter) {
        g->reentered = zpci_rs_iommu_translate(g->reenter, SDMA, IOMMU_RO,
                                               &e);
    }
}

static const ZpciRsIommuCallbacks callbacks = {
    .read_guest = read_guest,
    .ram_block = ram_block,
    .notify = notify,
};

/* Pages 0..3 map contiguous frames, 4 is read-only, 5 elsewhere. */
static void guest_init(Guest *g)
{
    memset(g, 0, sizeof(*g));
    g->ram = calloc(1, RAM_SIZE);
    if (!g->ram) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    put_be64(g, RT + 16, ST | 7);
    put_be64(g, ST, PT);
    for (uint64_t k = 0; k < 4; k++) {
        put_be64(g, PT + k * 8, 0x20000 + k * 0x1000);
    }
    put_be64(g, PT + 4 * 8, 0x50000 | 0x200);
    put_be64(g, PT + 5 * 8, 0x70000);
}

static ZpciRsIoatAnswer reg(ZpciRsIommu *h, uint64_t iota, uint64_t pba,
                            uint64_t pal, uint8_t relaxed)
{
    ZpciRsIoatRequest req = { .iota = iota, .pba = pba, .pal = pal };
    ZpciRsFunctionDma dma = {
        .sdma = SDMA, .edma = EDMA, .relaxed_translation = relaxed,
    };
    ZpciRsIoatAnswer a;

    memset(&a, 0xa5, sizeof(a));
    CHECK(zpci_rs_iommu_register_ioat(h, &req, &dma, &a) ==
          ZPCI_RS_STATUS_OK);
    return a;
}

static ZpciRsRpcitAnswer rpcit(ZpciRsIommu *h, uint64_t start, uint64_t len,
                               uint32_t *dma_avail)
{
    ZpciRsRpcitAnswer a;

    memset(&a, 0xa5, sizeof(a));
    CHECK(zpci_rs_iommu_rpcit(h, start, len, dma_avail, &a) ==
          ZPCI_RS_STATUS_OK);
    return a;
}

static ZpciRsIommuTlbEntry translate(ZpciRsIommu *h, uint64_t addr,
                                     uint32_t flags)
{
    ZpciRsIommuTlbEntry e;

    memset(&e, 0xa5, sizeof(e));
    CHECK(zpci_rs_iommu_translate(h, addr, flags, &e) == ZPCI_RS_STATUS_OK);
    return e;
}

static void test_null_arguments(void)
{
    Guest g;
    ZpciRsIommuCallbacks partial = callbacks;
    ZpciRsIommu *h;
    ZpciRsIoatRequest req = { .iota = IOTA, .pba = SDMA, .pal = SDMA };
    ZpciRsFunctionDma dma = { .sdma = SDMA, .edma = EDMA };
    ZpciRsIoatAnswer ioat;
    ZpciRsRpcitAnswer ra;
    ZpciRsIommuTlbEntry e;
    ZpciRsIommuStats s;
    const ZpciRsStatus null = ZPCI_RS_STATUS_NULL_ARGUMENT;

    guest_init(&g);
    CHECK(zpci_rs_iommu_new(NULL, &g) == NULL);
    partial.notify = NULL;
    CHECK(zpci_rs_iommu_new(&partial, &g) == NULL);
    zpci_rs_iommu_free(NULL);

    h = zpci_rs_iommu_new(&callbacks, &g);
    CHECK(h != NULL);
    CHECK(zpci_rs_iommu_register_ioat(NULL, &req, &dma, &ioat) == null);
    CHECK(zpci_rs_iommu_register_ioat(h, NULL, &dma, &ioat) == null);
    CHECK(zpci_rs_iommu_register_ioat(h, &req, NULL, &ioat) == null);
    CHECK(zpci_rs_iommu_register_ioat(h, &req, &dma, NULL) == null);
    CHECK(zpci_rs_iommu_deregister_ioat(NULL, NULL, &ioat) == null);
    CHECK(zpci_rs_iommu_deregister_ioat(h, NULL, NULL) == null);
    CHECK(zpci_rs_iommu_rpcit(NULL, SDMA, 4096, NULL, &ra) == null);
    CHECK(zpci_rs_iommu_rpcit(h, SDMA, 4096, NULL, NULL) == null);
    CHECK(zpci_rs_iommu_translate(NULL, SDMA, IOMMU_RO, &e) == null);
    CHECK(zpci_rs_iommu_translate(h, SDMA, IOMMU_RO, NULL) == null);
    CHECK(zpci_rs_iommu_stats(NULL, &s) == null);
    CHECK(zpci_rs_iommu_stats(h, NULL) == null);
    CHECK(zpci_rs_iommu_stats(h, &s) == ZPCI_RS_STATUS_OK);
    CHECK(s.ioat_registered == 0 && s.rpcit_calls == 0 && g.reads == 0);
    zpci_rs_iommu_free(h);
    free(g.ram);
}

/* reg_ioat and the IOAT cases of mpcifc_service_call */
static void test_ioat(void)
{
    Guest g;
    ZpciRsIommu *h;
    ZpciRsIoatAnswer a;
    ZpciRsIommuTlbEntry e;
    uint32_t avail = 7;

    guest_init(&g);
    h = zpci_rs_iommu_new(&callbacks, &g);

    a = reg(h, IOTA, SDMA + 0x123, SDMA + 0xff000, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_TRANSLATED && a.cc == 0);
    CHECK(a.operand_exception == 0 && a.status == 0);
    CHECK(a.iota == IOTA && a.pba == SDMA && a.pal == SDMA + 0xfffff);

    /* a second registration: CC 1, status 24 (sequence error) */
    a = reg(h, IOTA, SDMA, SDMA, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_ALREADY_REGISTERED);
    CHECK(a.cc == 1 && a.status == 24 && a.operand_exception == 0);

    CHECK(zpci_rs_iommu_deregister_ioat(h, &avail, &a) == ZPCI_RS_STATUS_OK);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_DEREGISTERED && a.cc == 0);
    CHECK(a.dropped_mappings == 0 && avail == 7);
    CHECK(zpci_rs_iommu_deregister_ioat(h, NULL, &a) == ZPCI_RS_STATUS_OK);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_NOT_REGISTERED);
    CHECK(a.cc == 1 && a.status == 24);

    /* operand exceptions (then CC 1 status 16, as mpcifc sets) */
    a = reg(h, IOTA, SDMA - 0x1000, SDMA, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_RANGE && a.operand_exception == 1);
    CHECK(a.cc == 1 && a.status == 16);
    a = reg(h, IOTA, SDMA, EDMA + 1, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_RANGE && a.operand_exception == 1);
    a = reg(h, IOTA, SDMA + 0x2000, SDMA + 0x1000, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_RANGE);
    a = reg(h, RT | 0x80c, SDMA, SDMA, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_UNSUPPORTED_DESIGNATION);
    CHECK(a.operand_exception == 1);
    a = reg(h, RT, SDMA, SDMA, 0);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_RELAXED_NOT_AVAILABLE);
    CHECK(a.operand_exception == 1 && a.iota == 0 && a.pba == 0);

    /* direct mapping: no IOMMU region, nothing translated */
    a = reg(h, RT, SDMA, SDMA + 0xffff, 1);
    CHECK(a.result == ZPCI_RS_IOAT_RESULT_DIRECT);
    e = translate(h, SDMA, IOMMU_RO);
    CHECK(e.perm == IOMMU_NONE && e.pec == 0 && e.addr_mask == UINT64_MAX);

    zpci_rs_iommu_free(h);
    free(g.ram);
}

/* rpcit_service_call, s390_pci_update_iotlb, s390_translate_iommu */
static void test_rpcit_and_translate(void)
{
    Guest g;
    ZpciRsIommu *h;
    ZpciRsRpcitAnswer a;
    ZpciRsIommuTlbEntry e;
    ZpciRsIommuStats s;

    guest_init(&g);
    h = zpci_rs_iommu_new(&callbacks, &g);

    /* no IOAT: CC 1 status 8, invalid address space at the start */
    a = rpcit(h, SDMA + 0x10, 0x1000, NULL);
    CHECK(a.cc == 1 && a.status == 8 && a.pec == ERR_EVENT_INVALAS);
    CHECK(a.faddr == SDMA + 0x10);

    reg(h, IOTA, SDMA, SDMA + 0xfffff, 0);
    a = rpcit(h, SDMA, 0x6000, NULL);
    CHECK(a.cc == 0 && a.status == 0 && a.pec == 0);
    CHECK(a.map_events == 3 && a.mapped_pages == 6 && a.unmap_events == 0);
    CHECK(g.nr_events == 3);
    CHECK(g.events[0].kind == ZPCI_RS_IOMMU_EVENT_KIND_MAP);
    CHECK(g.events[0].iova == SDMA && g.events[0].translated_addr == 0x20000);
    CHECK(g.events[0].addr_mask == 0x3fff && g.events[0].perm == IOMMU_RW);
    CHECK(g.events[1].iova == SDMA + 0x4000 && g.events[1].perm == IOMMU_RO);
    CHECK(g.events[1].addr_mask == 0xfff);
    CHECK(g.events[2].translated_addr == 0x70000);

    /* a mapped page answers with its whole mapping */
    e = translate(h, SDMA + 0x2abc, IOMMU_WO);
    CHECK(e.iova == SDMA && e.translated_addr == 0x20000);
    CHECK(e.addr_mask == 0x3fff && e.perm == IOMMU_RW && e.pec == 0);
    /* a write to a read-only page: protection error event */
    e = translate(h, SDMA + 0x4008, IOMMU_WO);
    CHECK(e.iova == SDMA + 0x4000 && e.perm == IOMMU_RO);
    CHECK(e.pec == ERR_EVENT_TPROTE);
    /* QEMU checks for a common bit: read-write on read-only passes */
    CHECK(translate(h, SDMA + 0x4008, IOMMU_RW).pec == 0);
    /* unmapped: no permission; outside pba..pal: out of range */
    e = translate(h, SDMA + 0x6000, IOMMU_NONE);
    CHECK(e.iova == SDMA + 0x6000 && e.perm == IOMMU_NONE && e.pec == 0);
    CHECK(e.addr_mask == 0xfff);
    CHECK(translate(h, SDMA + 0x6000, IOMMU_RO).pec == ERR_EVENT_TPROTE);
    e = translate(h, SDMA + 0x100000, IOMMU_NONE);
    CHECK(e.pec == ERR_EVENT_OORANGE && e.perm == IOMMU_NONE);
    CHECK(e.addr_mask == UINT64_MAX);

    /* the guest invalidates page 1: the mapping goes, the rest returns */
    g.nr_events = 0;
    put_be64(&g, PT + 8, 0x400);
    a = rpcit(h, SDMA + 0x1000, 0x1000, NULL);
    CHECK(a.cc == 0 && a.unmap_events == 1 && a.map_events == 2);
    CHECK(g.nr_events == 3);
    CHECK(g.events[0].kind == ZPCI_RS_IOMMU_EVENT_KIND_UNMAP);
    CHECK(g.events[0].iova == SDMA && g.events[0].addr_mask == 0x3fff);
    CHECK(g.events[0].perm == IOMMU_NONE);
    CHECK(translate(h, SDMA + 0x1000, IOMMU_NONE).perm == IOMMU_NONE);
    CHECK(translate(h, SDMA, IOMMU_RO).translated_addr == 0x20000);
    CHECK(translate(h, SDMA + 0x2000, IOMMU_RO).translated_addr == 0x22000);

    /* out of range; a zero page table entry: invalid table entry */
    a = rpcit(h, SDMA + 0x100000, 0x1000, NULL);
    CHECK(a.cc == 1 && a.status == 8 && a.pec == ERR_EVENT_OORANGE);
    a = rpcit(h, SDMA + 0x6010, 0x2000, NULL);
    CHECK(a.cc == 1 && a.status == 8 && a.pec == ERR_EVENT_INVALTE);
    CHECK(a.faddr == SDMA + 0x6010);

    CHECK(zpci_rs_iommu_stats(h, &s) == ZPCI_RS_STATUS_OK);
    CHECK(s.rpcit_calls == 5 && s.rpcit_cc0 == 2 && s.rpcit_errors == 3);
    CHECK(s.map_events == 5 && s.unmap_events == 1);
    CHECK(s.pages_mapped == 9 && s.pages_unmapped == 4);
    CHECK(s.err_invalid_address_space == 1 && s.err_out_of_range == 2);
    CHECK(s.err_translation_protection == 2);
    CHECK(s.err_invalid_table_entry == 1);
    CHECK(s.mapped_pages_now == 5 && s.mappings_now == 4);
    CHECK(s.translate_calls == 9 && s.table_reads > 0);

    zpci_rs_iommu_free(h);
    free(g.ram);
}

/* The DMA entries of a VFIO container: CC 1 status 16 when none is left */
static void test_dma_budget(void)
{
    Guest g;
    ZpciRsIommu *h;
    ZpciRsRpcitAnswer a;
    ZpciRsIoatAnswer d;
    ZpciRsIommuStats s;
    uint32_t avail = 2;

    guest_init(&g);
    h = zpci_rs_iommu_new(&callbacks, &g);
    reg(h, IOTA, SDMA, SDMA + 0xfffff, 0);
    a = rpcit(h, SDMA, 0x6000, &avail);
    CHECK(a.cc == 1 && a.status == 16 && a.pec == 0);
    CHECK(avail == 0 && a.map_events == 2 && a.refused_pages == 1);
    CHECK(zpci_rs_iommu_deregister_ioat(h, &avail, &d) == ZPCI_RS_STATUS_OK);
    CHECK(d.result == ZPCI_RS_IOAT_RESULT_DEREGISTERED);
    CHECK(d.dropped_mappings == 2 && avail == 2);

    reg(h, IOTA, SDMA, SDMA + 0xfffff, 0);
    avail = 10;
    a = rpcit(h, SDMA, 0x6000, &avail);
    CHECK(a.cc == 0 && avail == 7);
    CHECK(zpci_rs_iommu_stats(h, &s) == ZPCI_RS_STATUS_OK);
    CHECK(s.rpcit_insufficient_resources == 1 && s.pages_refused == 1);
    CHECK(s.dropped_mappings == 2 && s.ioat_deregistered == 1);
    zpci_rs_iommu_free(h);
    free(g.ram);
}

/* A callback that calls back into its own handle is refused. */
static void test_reentry(void)
{
    Guest g;
    ZpciRsIommu *h;
    ZpciRsRpcitAnswer a;

    guest_init(&g);
    h = zpci_rs_iommu_new(&callbacks, &g);
    reg(h, IOTA, SDMA, SDMA + 0xfffff, 0);
    g.reenter = h;
    g.reentered = ZPCI_RS_STATUS_OK;
    a = rpcit(h, SDMA, 0x1000, NULL);
    CHECK(a.cc == 0 && a.map_events == 1);
    CHECK(g.reentered == ZPCI_RS_STATUS_PANIC);
    g.reenter = NULL;
    CHECK(translate(h, SDMA, IOMMU_RO).perm == IOMMU_RW);
    zpci_rs_iommu_free(h);
    free(g.ram);
}

int main(void)
{
    test_null_arguments();
    test_ioat();
    test_rpcit_and_translate();
    test_dma_budget();
    test_reentry();
    printf("iommu-ffi: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
