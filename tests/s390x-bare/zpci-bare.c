/*
 * zPCI firmware-instruction probe
 *
 * Runs as the BIOS of an s390-ccw-virtio machine (no Linux) and drives one
 * emulated PCI function through CLP, MPCIFC, RPCIT, STPCIFC and PCI
 * load/store, the way Linux's arch/s390/pci and drivers/iommu/s390-iommu.c
 * do, plus the requests Linux never makes. Every condition code, status
 * byte, program-interruption code, response block and pending event goes to
 * the results area described in zpci-bare.h; the reader compares them with
 * what the architecture and QEMU answer.
 *
 * The virtio-blk function runs with iommu_platform=on, so its DMA goes
 * through the I/O translation the probe registers: the DMA steps show the
 * effect of each RPCIT, not only its condition code.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* Every symbol binds locally: no GOT, the image runs wherever it is loaded. */
#pragma GCC visibility push(hidden)

#include <stddef.h>
#include <stdint.h>

#include "zpci-bare.h"

/* ---------------------------------------------------------------------- */
/* Freestanding support */

/* The compiler may call these two for structure copies and clears. */
void *memset(void *s, int c, size_t n)
{
    uint8_t *p = s;

    while (n--) {
        *p++ = (uint8_t)c;
    }
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;

    while (n--) {
        *dp++ = *sp++;
    }
    return d;
}

/* A pointer to guest absolute address a, hidden from the optimizer. */
static inline void *absp(uint64_t a)
{
    void *p;

    asm("" : "=a" (p) : "0" (a));
    return p;
}

static inline void barrier(void)
{
    asm volatile("" : : : "memory");
}

/*
 * All loads and stores of guest memory the device, the firmware or the
 * reader also access go through these two, so that none is cached in a
 * register, merged or dropped.
 */
static inline uint8_t peek8(const void *p)
{
    return *(const volatile uint8_t *)p;    /* shared with the device */
}

static inline void poke8(void *p, uint8_t v)
{
    *(volatile uint8_t *)p = v;             /* shared with the device */
}

static inline uint16_t ld16(const void *p)
{
    const uint8_t *b = p;

    return (uint16_t)(peek8(b) << 8 | peek8(b + 1));
}

static inline uint32_t ld32(const void *p)
{
    return (uint32_t)ld16(p) << 16 | ld16((const uint8_t *)p + 2);
}

static inline uint64_t ld64(const void *p)
{
    return (uint64_t)ld32(p) << 32 | ld32((const uint8_t *)p + 4);
}

static inline void st16(void *p, uint16_t v)
{
    uint8_t *b = p;

    poke8(b, v >> 8);
    poke8(b + 1, (uint8_t)v);
}

static inline void st32(void *p, uint32_t v)
{
    st16(p, v >> 16);
    st16((uint8_t *)p + 2, v);
}

static inline void st64(void *p, uint64_t v)
{
    st32(p, v >> 32);
    st32((uint8_t *)p + 4, v);
}

/* Little-endian stores and loads, for the virtio rings. */
static inline void stle16(void *p, uint16_t v)
{
    uint8_t *b = p;

    poke8(b, (uint8_t)v);
    poke8(b + 1, v >> 8);
}

static inline void stle32(void *p, uint32_t v)
{
    stle16(p, v);
    stle16((uint8_t *)p + 2, v >> 16);
}

static inline void stle64(void *p, uint64_t v)
{
    stle32(p, v);
    stle32((uint8_t *)p + 4, v >> 32);
}

static inline uint16_t ldle16(const void *p)
{
    const uint8_t *b = p;

    return (uint16_t)(peek8(b) | peek8(b + 1) << 8);
}

/* The low len bytes of v in reverse order. */
static uint64_t swab(uint64_t v, int len)
{
    uint64_t r = 0;
    int i;

    for (i = 0; i < len; i++) {
        r = r << 8 | (v & 0xff);
        v >>= 8;
    }
    return r;
}

/* ---------------------------------------------------------------------- */
/* Guest memory */

#define LC_PGM_NEW_PSW  0x1d0
#define LC_SAVED_PGM    0xe00   /* interruption code, from pgm_handler */

#define CLP_AREA        0x110000ULL /* 8 KiB request/response block */
#define CHSC_AREA       0x112000ULL /* 4 KiB, page aligned */
#define FIB_AREA        0x113000ULL /* MPCIFC function information block */
#define STFIB_AREA      0x113100ULL /* STPCIFC function information block */
#define RT_AREA         0x120000ULL /* region-third table, 16 KiB */
#define ST_AREA         0x124000ULL /* segment table, 16 KiB */
#define PT0_AREA        0x128000ULL /* page table for sdma .. + 1 MiB */
#define PT1_AREA        0x128800ULL /* page table for sdma + 1 MiB .. */
#define RING_AREA       0x130000ULL /* virtqueue, at ZB_IOVA_RING */
#define HDR_AREA        0x131000ULL /* request header, status: ZB_IOVA_HDR */

#define RES             ((struct zb_results *)absp(ZB_RESULTS_ADDR))

/* ---------------------------------------------------------------------- */
/* Instructions */

static uint64_t tod(void)
{
    uint64_t t;

    asm volatile(".insn s,0xb2050000,%[t]" : [t] "=Q" (t) : : "cc");
    return t;
}

static uint64_t tod_usecs(void)
{
    return tod() >> 12;
}

static uint16_t pgm_code(void)
{
    return ld16(absp(LC_SAVED_PGM));
}

static void pgm_clear(void)
{
    st16(absp(LC_SAVED_PGM), 0);
}

/* CLP with lps 2 (PCI) on the block at CLP_AREA. */
static int clp(void)
{
    uint64_t ignored;
    int cc;

    asm volatile("  .insn rrf,0xb9a00000,%[ign],%[req],0,2\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [ign] "=&d" (ignored)
                 : [req] "a" (absp(CLP_AREA))
                 : "cc", "memory");
    return cc;
}

/* MODIFY PCI FUNCTION CONTROLS; *req gets the status byte back. */
static int mpcifc(uint64_t *req, void *fib)
{
    int cc;

    asm volatile("  .insn rxy,0xe300000000d0,%[req],%[fib]\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [req] "+d" (*req),
                   [fib] "+Q" (*(uint8_t (*)[80])fib)
                 : : "cc", "memory");
    return cc;
}

/* STORE PCI FUNCTION CONTROLS. */
static int stpcifc(uint64_t *req, void *fib)
{
    int cc;

    asm volatile("  .insn rxy,0xe300000000d4,%[req],%[fib]\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [req] "+d" (*req),
                   [fib] "+Q" (*(uint8_t (*)[80])fib)
                 : : "cc", "memory");
    return cc;
}

/* REFRESH PCI TRANSLATIONS of [addr, addr + len). */
static int rpcit(uint64_t *fn, uint64_t addr, uint64_t len)
{
    register uint64_t r2 asm("2") = addr;
    register uint64_t r3 asm("3") = len;
    int cc;

    asm volatile("  .insn rre,0xb9d30000,%[fn],2\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [fn] "+d" (*fn)
                 : "d" (r2), "d" (r3)
                 : "cc", "memory");
    return cc;
}

/* RPCIT naming register 3 as the (even) address register. */
static int rpcit_odd(uint64_t *fn, uint64_t addr, uint64_t len)
{
    register uint64_t r3 asm("3") = addr;
    register uint64_t r4 asm("4") = len;
    int cc;

    asm volatile("  .insn rre,0xb9d30000,%[fn],3\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [fn] "+d" (*fn)
                 : "d" (r3), "d" (r4)
                 : "cc", "memory");
    return cc;
}

/* PCI LOAD; *req gets the status byte back. */
static int pcilg(uint64_t *req, uint64_t offset, uint64_t *data)
{
    register uint64_t r2 asm("2") = *req;
    register uint64_t r3 asm("3") = offset;
    uint64_t d = 0;
    int cc;

    asm volatile("  .insn rre,0xb9d20000,%[d],2\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [d] "+&d" (d), "+d" (r2)
                 : "d" (r3)
                 : "cc", "memory");
    *req = r2;
    *data = d;
    return cc;
}

/* PCI STORE. */
static int pcistg(uint64_t *req, uint64_t offset, uint64_t data)
{
    register uint64_t r2 asm("2") = *req;
    register uint64_t r3 asm("3") = offset;
    int cc;

    asm volatile("  .insn rre,0xb9d00000,%[d],2\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), "+d" (r2)
                 : [d] "d" (data), "d" (r3)
                 : "cc", "memory");
    *req = r2;
    return cc;
}

/* CHANNEL SUBSYSTEM CALL on the block at CHSC_AREA. */
static int chsc(void)
{
    int cc;

    asm volatile("  .insn rre,0xb25f0000,%[area],0\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc)
                 : [area] "d" (absp(CHSC_AREA))
                 : "cc", "memory");
    return cc;
}

/* STORE CHANNEL REPORT WORD. */
static int stcrw(uint32_t *crw)
{
    int cc;

    asm volatile("  .insn s,0xb2390000,%[crw]\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [crw] "=Q" (*crw)
                 : : "cc", "memory");
    return cc;
}

/* ---------------------------------------------------------------------- */
/* Steps */

static struct zb_step *cur;
static uint64_t step_start;
static uint32_t fh;             /* current handle of the virtio-blk function */
static uint32_t fh_disabled;    /* its handle while disabled */
static uint32_t fh2;            /* handle of the second function */
static uint64_t edma;           /* end of the DMA aperture, from CLP */
static uint32_t options;

#define ST_ERROR        0x40    /* function controls: error */
#define ST_BLOCKED      0x20    /* function controls: load/store blocked */

static void fetch_event(struct zb_event *ev)
{
    uint8_t *area = absp(CHSC_AREA);
    uint8_t *rsp = area + 16;
    uint8_t *ccdf = rsp + 64;
    uint32_t crw = 0;

    ev->crw_cc = stcrw(&crw);
    ev->crw = crw;

    memset(area, 0, 4096);
    st16(area, 16);                         /* request length */
    st16(area + 2, 0x000e);                 /* store event information */
    st64(area + 8, 1ULL << 63 | 1ULL << 61); /* notification types 0 and 2 */
    ev->chsc_cc = chsc();
    ev->code = ld16(rsp + 2);
    ev->flags = rsp[8];
    if (ev->code == 0x0001) {
        ev->nt = rsp[7];
        ev->cc = rsp[11];
        ev->fh = ld32(ccdf + 4);
        ev->fid = ld32(ccdf + 8);
        ev->e = ld32(ccdf + 12);
        ev->faddr = ld64(ccdf + 16);
        ev->pec = ld16(ccdf + 30);
    }
}

/* STPCIFC on the virtio-blk function: the function controls byte. */
static uint8_t function_controls(int *cc, uint8_t *fib_out)
{
    uint8_t *fib = absp(STFIB_AREA);
    uint64_t req = (uint64_t)fh << 32;

    memset(fib, 0, 80);
    *cc = stpcifc(&req, fib);
    if (fib_out) {
        memcpy(fib_out, fib, 80);
    }
    return fib[8];
}

static void begin(enum zb_step_id id)
{
    RES->current = id;
    cur = &RES->step[id];
    memset(cur, 0, sizeof(*cur));
    pgm_clear();
    step_start = tod_usecs();
}

static void end(void)
{
    int fc_cc;

    cur->usecs = (uint32_t)(tod_usecs() - step_start);
    cur->pgm = pgm_code();
    if (cur->pgm) {
        cur->cc = ZB_CC_PGM;
        RES->npgm++;
    }
    fetch_event(&cur->ev);
    cur->fc = function_controls(&fc_cc, NULL);
    cur->fc_cc = (uint8_t)fc_cc;
    cur->ran = 1;
    barrier();
}

/* Keep the response block of the last CLP. */
static void keep_block(enum zb_block_id id, uint16_t req_len)
{
    memcpy(RES->block[id], (uint8_t *)absp(CLP_AREA) + req_len, ZB_BLK_SIZE);
}

/* ---------------------------------------------------------------------- */
/* CLP */

#define CLP_LIST_PCI            0x0002
#define CLP_QUERY_PCI_FN        0x0003
#define CLP_QUERY_PCI_FNGRP     0x0004
#define CLP_SET_PCI_FN          0x0005

/* Response lengths Linux 6.12 asks for (sizeof its response structures). */
#define LIST_RSP_LEN            (4096 - 32)
#define QUERY_FN_RSP_LEN        384
#define QUERY_GRP_RSP_LEN       64
#define SET_RSP_LEN             160

/*
 * A fresh block: request header (length, command), response length; the
 * response after its header filled with fill.
 */
static uint8_t *clp_prepare(uint16_t req_len, uint16_t cmd, uint16_t rsp_len,
                            uint8_t fill)
{
    uint8_t *blk = absp(CLP_AREA);

    memset(blk, 0, 8192);
    st16(blk, req_len);
    st16(blk + 2, cmd);
    memset(blk + req_len + 4, fill, rsp_len > 4 ? rsp_len - 4 : 0);
    st16(blk + req_len, rsp_len);
    return blk;
}

/* Run the CLP and record cc and response code in the step. */
static void clp_run(uint16_t req_len)
{
    cur->cc = (uint8_t)clp();
    cur->rsp = ld16((uint8_t *)absp(CLP_AREA) + req_len + 2);
}

static void clp_list(enum zb_step_id id, uint16_t rsp_len, uint64_t token,
                     uint32_t fmt, uint64_t reserved, int blk)
{
    uint8_t *b;

    begin(id);
    b = clp_prepare(32, CLP_LIST_PCI, rsp_len, 0);
    st32(b + 4, fmt);
    st64(b + 8, reserved);
    st64(b + 16, token);
    clp_run(32);
    if (blk >= 0) {
        keep_block(blk, 32);
    }
    end();
}

static void clp_query_fn(enum zb_step_id id, uint32_t handle, uint8_t fill,
                         int blk)
{
    uint8_t *b;

    begin(id);
    b = clp_prepare(32, CLP_QUERY_PCI_FN, QUERY_FN_RSP_LEN, fill);
    st32(b + 16, handle);
    clp_run(32);
    if (blk >= 0) {
        keep_block(blk, 32);
    }
    end();
}

static void clp_query_grp(enum zb_step_id id, uint8_t pfgid, uint8_t fill,
                          int blk)
{
    uint8_t *b;

    begin(id);
    b = clp_prepare(32, CLP_QUERY_PCI_FNGRP, QUERY_GRP_RSP_LEN, fill);
    b[16 + 3] = pfgid;
    clp_run(32);
    if (blk >= 0) {
        keep_block(blk, 32);
    }
    end();
}

/* Set PCI Function; returns the handle from the response (0 if none). */
static uint32_t clp_set(enum zb_step_id id, uint32_t handle, uint8_t oc,
                        uint8_t ndas, int blk)
{
    uint8_t *b;
    uint32_t new_fh = 0;

    begin(id);
    b = clp_prepare(32, CLP_SET_PCI_FN, SET_RSP_LEN, 0);
    st32(b + 16, handle);
    b[22] = oc;
    b[23] = ndas;
    clp_run(32);
    if (cur->cc == 0 && cur->rsp == 0x0010) {
        new_fh = ld32(b + 32 + ZB_SET_FH);
        cur->val[0] = new_fh;
    }
    if (blk >= 0) {
        keep_block(blk, 32);
    }
    return new_fh;
}

static void clp_steps(void)
{
    uint8_t *b;
    uint64_t token;

    clp_list(ZB_CLP_LIST, LIST_RSP_LEN, 0, 0, 0, ZB_BLK_LIST);
    b = RES->block[ZB_BLK_LIST];
    fh = ld32(b + ZB_LIST_ENTRY0 + 12);
    fh_disabled = fh;
    fh2 = ld32(b + ZB_LIST_ENTRY0 + 16 + 12);

    clp_list(ZB_CLP_LIST_ONE, 32 + 16, 0, 0, 0, ZB_BLK_LIST_ONE);
    token = ld64(RES->block[ZB_BLK_LIST_ONE] + ZB_LIST_TOKEN);
    clp_list(ZB_CLP_LIST_RESUME, LIST_RSP_LEN, token, 0, 0,
             ZB_BLK_LIST_RESUME);
    clp_list(ZB_CLP_LIST_BAD_TOKEN, LIST_RSP_LEN, 0x1234, 0, 0, -1);
    clp_list(ZB_CLP_LIST_SHORT, 40, 0, 0, 0, -1);
    clp_list(ZB_CLP_LIST_ODD_LEN, 56, 0, 0, 0, -1);
    clp_list(ZB_CLP_LIST_FMT, LIST_RSP_LEN, 0, 0x10000000, 0, -1);
    clp_list(ZB_CLP_LIST_RESERVED, LIST_RSP_LEN, 0, 0, 1, -1);

    begin(ZB_CLP_REQ_LEN);
    b = clp_prepare(24, CLP_LIST_PCI, 64, 0);
    clp_run(24);
    end();

    begin(ZB_CLP_REQ_LEN_PGM);
    b = clp_prepare(12, CLP_LIST_PCI, 64, 0);
    clp_run(12);
    end();

    begin(ZB_CLP_UNKNOWN_CMD);
    clp_prepare(32, 0x77, 64, 0);
    clp_run(32);
    end();

    begin(ZB_CLP_SLPC);
    clp_prepare(32, 0x0001, 128, 0);
    clp_run(32);
    end();

    clp_query_fn(ZB_CLP_QUERY_FN, fh, 0, ZB_BLK_QUERY_FN);
    edma = ld64(RES->block[ZB_BLK_QUERY_FN] + ZB_QFN_EDMA);
    clp_query_fn(ZB_CLP_QUERY_FN_POISON, fh, ZB_POISON,
                 ZB_BLK_QUERY_FN_POISON);
    clp_query_fn(ZB_CLP_QUERY_FN_BAD_FH, 0x00020777, 0, -1);
    clp_query_grp(ZB_CLP_QUERY_GRP,
                  RES->block[ZB_BLK_QUERY_FN][ZB_QFN_PFGID], 0,
                  ZB_BLK_QUERY_GRP);
    clp_query_grp(ZB_CLP_QUERY_GRP_POISON,
                  RES->block[ZB_BLK_QUERY_FN][ZB_QFN_PFGID], ZB_POISON,
                  ZB_BLK_QUERY_GRP_POISON);
    clp_query_grp(ZB_CLP_QUERY_GRP_BAD, 0x42, 0, -1);
    clp_query_fn(ZB_CLP_QUERY_FN2, fh2, 0, ZB_BLK_QUERY_FN2);

    clp_set(ZB_CLP_DISABLE_DISABLED, fh, 1, 0, -1);
    end();
    clp_set(ZB_CLP_ENABLE_NDAS0, fh, 0, 0, -1);
    end();
    clp_set(ZB_CLP_ENABLE_NDAS2, fh, 0, 2, -1);
    end();
    clp_set(ZB_CLP_SET_MIO, fh, 2, 1, -1);
    end();
    /* the step's STPCIFC must see the new handle */
    fh = clp_set(ZB_CLP_ENABLE, fh_disabled, 0, 1, ZB_BLK_SET_ENABLE);
    end();
    clp_set(ZB_CLP_ENABLE_AGAIN, fh, 0, 1, -1);
    end();
    clp_set(ZB_CLP_ENABLE_STALE_FH, fh_disabled, 0, 1, -1);
    end();
    clp_list(ZB_CLP_LIST_ENABLED, LIST_RSP_LEN, 0, 0, 0, ZB_BLK_LIST_ENABLED);
    clp_query_fn(ZB_CLP_QUERY_FN_ENABLED, fh, 0, ZB_BLK_QUERY_FN_ENABLED);
    clp_query_fn(ZB_CLP_QUERY_FN_STALE_FH, fh_disabled, 0, -1);
}

/* ---------------------------------------------------------------------- */
/* PCI load/store and the virtio transport */

#define PCIAS_CFG       15

static int pci_cc;              /* worst condition code of a sequence */

static uint64_t pci_req(int pcias, int len)
{
    return (uint64_t)fh << 32 | (uint64_t)pcias << 16 | (uint64_t)len;
}

/* Load len bytes at offset of pcias; the value as the device holds it. */
static uint64_t pci_rd(int pcias, uint64_t offset, int len)
{
    uint64_t req = pci_req(pcias, len), data;
    int cc = pcilg(&req, offset, &data);

    if (cc > pci_cc) {
        pci_cc = cc;
    }
    return cc ? ~0ULL : swab(data, len);
}

static void pci_wr(int pcias, uint64_t offset, int len, uint64_t val)
{
    uint64_t req = pci_req(pcias, len);
    int cc = pcistg(&req, offset, swab(val, len));

    if (cc > pci_cc) {
        pci_cc = cc;
    }
}

/* Where the virtio capabilities put their structures. */
static struct {
    int common_bar, notify_bar, isr_bar, device_bar;
    uint32_t common, notify, isr, device, notify_mult;
} vio;

/* virtio_pci_common_cfg */
#define VC_DFSELECT     0x00
#define VC_DF           0x04
#define VC_GFSELECT     0x08
#define VC_GF           0x0c
#define VC_NUMQ         0x12
#define VC_STATUS       0x14
#define VC_Q_SELECT     0x16
#define VC_Q_SIZE       0x18
#define VC_Q_ENABLE     0x1c
#define VC_Q_NOFF       0x1e
#define VC_Q_DESCLO     0x20
#define VC_Q_DESCHI     0x24
#define VC_Q_AVAILLO    0x28
#define VC_Q_AVAILHI    0x2c
#define VC_Q_USEDLO     0x30
#define VC_Q_USEDHI     0x34

#define VS_ACK          1
#define VS_DRIVER       2
#define VS_DRIVER_OK    4
#define VS_FEATURES_OK  8

#define QSIZE           8
#define RING_DESC       0x000
#define RING_AVAIL      0x100
#define RING_USED       0x200

static uint64_t cm_rd(uint32_t off, int len)
{
    return pci_rd(vio.common_bar, vio.common + off, len);
}

static void cm_wr(uint32_t off, int len, uint64_t val)
{
    pci_wr(vio.common_bar, vio.common + off, len, val);
}

static void pci_steps(void)
{
    uint8_t ptr;
    int i, guard;

    begin(ZB_PCI_CFG_IDS);
    pci_cc = 0;
    cur->val[0] = pci_rd(PCIAS_CFG, 0, 4);
    cur->cc = pci_cc;
    end();

    begin(ZB_PCI_CFG_BARS);
    pci_cc = 0;
    for (i = 0; i < 6; i++) {
        cur->val[i] = pci_rd(PCIAS_CFG, 0x10 + 4 * i, 4);
    }
    cur->cc = pci_cc;
    end();

    begin(ZB_PCI_CFG_COMMAND);
    pci_cc = 0;
    pci_wr(PCIAS_CFG, 4, 2, 0x0006);        /* memory space, bus master */
    cur->val[0] = pci_rd(PCIAS_CFG, 4, 2);
    cur->cc = pci_cc;
    end();

    begin(ZB_VIRTIO_CAPS);
    pci_cc = 0;
    ptr = (uint8_t)pci_rd(PCIAS_CFG, 0x34, 1);
    for (guard = 0; ptr && guard < 48; guard++) {
        uint8_t id = (uint8_t)pci_rd(PCIAS_CFG, ptr, 1);
        uint8_t next = (uint8_t)pci_rd(PCIAS_CFG, ptr + 1, 1);

        if (id == 0x09) {
            uint8_t type = (uint8_t)pci_rd(PCIAS_CFG, ptr + 3, 1);
            int bar = (int)pci_rd(PCIAS_CFG, ptr + 4, 1);
            uint32_t off = (uint32_t)pci_rd(PCIAS_CFG, ptr + 8, 4);

            switch (type) {
            case 1:
                vio.common_bar = bar;
                vio.common = off;
                break;
            case 2:
                vio.notify_bar = bar;
                vio.notify = off;
                vio.notify_mult = (uint32_t)pci_rd(PCIAS_CFG, ptr + 16, 4);
                break;
            case 3:
                vio.isr_bar = bar;
                vio.isr = off;
                break;
            case 4:
                vio.device_bar = bar;
                vio.device = off;
                break;
            }
        }
        ptr = next & 0xfc;
    }
    cur->val[0] = (uint64_t)vio.common_bar << 32 | vio.common;
    cur->val[1] = (uint64_t)vio.notify_bar << 32 | vio.notify;
    cur->val[2] = (uint64_t)vio.isr_bar << 32 | vio.isr;
    cur->val[3] = (uint64_t)vio.device_bar << 32 | vio.device;
    cur->val[4] = vio.notify_mult;
    cm_wr(VC_DFSELECT, 4, 1);
    cur->val[5] = cm_rd(VC_DF, 4) << 32;
    cm_wr(VC_DFSELECT, 4, 0);
    cur->val[5] |= cm_rd(VC_DF, 4);
    cur->cc = pci_cc;
    end();
}

static uint16_t avail_idx;

/* Reset the device and set up queue 0 again; returns the device status. */
static uint64_t virtio_setup(uint64_t *qmax, uint64_t *numq)
{
    uint8_t *ring = absp(RING_AREA);
    uint64_t st;
    int guard;

    cm_wr(VC_STATUS, 1, 0);
    for (guard = 0; guard < 100 && cm_rd(VC_STATUS, 1) != 0; guard++) {
        ;
    }
    cm_wr(VC_STATUS, 1, VS_ACK);
    cm_wr(VC_STATUS, 1, VS_ACK | VS_DRIVER);
    /* VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM (bits 32, 33) */
    cm_wr(VC_GFSELECT, 4, 0);
    cm_wr(VC_GF, 4, 0);
    cm_wr(VC_GFSELECT, 4, 1);
    cm_wr(VC_GF, 4, 3);
    cm_wr(VC_STATUS, 1, VS_ACK | VS_DRIVER | VS_FEATURES_OK);

    memset(ring, 0, 4096);
    avail_idx = 0;
    cm_wr(VC_Q_SELECT, 2, 0);
    if (qmax) {
        *qmax = cm_rd(VC_Q_SIZE, 2);
    }
    if (numq) {
        *numq = cm_rd(VC_NUMQ, 2);
    }
    cm_wr(VC_Q_SIZE, 2, QSIZE);
    cm_wr(VC_Q_DESCLO, 4, (uint32_t)(ZB_IOVA_RING + RING_DESC));
    cm_wr(VC_Q_DESCHI, 4, (ZB_IOVA_RING + RING_DESC) >> 32);
    cm_wr(VC_Q_AVAILLO, 4, (uint32_t)(ZB_IOVA_RING + RING_AVAIL));
    cm_wr(VC_Q_AVAILHI, 4, (ZB_IOVA_RING + RING_AVAIL) >> 32);
    cm_wr(VC_Q_USEDLO, 4, (uint32_t)(ZB_IOVA_RING + RING_USED));
    cm_wr(VC_Q_USEDHI, 4, (ZB_IOVA_RING + RING_USED) >> 32);
    cm_wr(VC_Q_ENABLE, 2, 1);
    st = cm_rd(VC_STATUS, 1);
    cm_wr(VC_STATUS, 1, st | VS_DRIVER_OK);
    return cm_rd(VC_STATUS, 1);
}

/*
 * One virtio-blk request of one sector (type 0 read into, 1 write from
 * iova); waits for completion, for the function entering the error state,
 * or 2 s. Fills the ZB_DMA_REQ_STATUS, _USED_IDX and _DEV_STATUS values.
 */
static void blk_io(uint32_t type, uint64_t sector, uint64_t iova)
{
    uint8_t *ring = absp(RING_AREA);
    uint8_t *hdr = absp(HDR_AREA);
    uint8_t *desc = ring + RING_DESC;
    uint8_t *status = hdr + 16;
    uint64_t deadline, grace = 0;
    int fc_cc;

    pci_cc = 0;
    stle32(hdr, type);
    stle32(hdr + 4, 0);
    stle64(hdr + 8, sector);
    poke8(status, 0xff);

    stle64(desc, ZB_IOVA_HDR);
    stle32(desc + 8, 16);
    stle16(desc + 12, 1);                       /* NEXT */
    stle16(desc + 14, 1);
    stle64(desc + 16, iova);
    stle32(desc + 24, ZB_SECTOR_SIZE);
    stle16(desc + 28, type ? 1 : 1 | 2);        /* NEXT, WRITE for a read */
    stle16(desc + 30, 2);
    stle64(desc + 32, ZB_IOVA_HDR + 16);
    stle32(desc + 40, 1);
    stle16(desc + 44, 2);                       /* WRITE */
    stle16(desc + 46, 0);

    stle16(ring + RING_AVAIL + 4 + 2 * (avail_idx % QSIZE), 0);
    avail_idx++;
    barrier();
    stle16(ring + RING_AVAIL + 2, avail_idx);
    barrier();
    pci_wr(vio.notify_bar,
           vio.notify + cm_rd(VC_Q_NOFF, 2) * vio.notify_mult, 2, 0);

    deadline = tod_usecs() + 2000000;
    while (tod_usecs() < deadline) {
        if (peek8(status) != 0xff &&
            ldle16(ring + RING_USED + 2) == avail_idx) {
            break;
        }
        if (!grace && (function_controls(&fc_cc, NULL) & ST_ERROR)) {
            grace = tod_usecs() + 20000;
        }
        if (grace && tod_usecs() > grace) {
            break;
        }
    }
    cur->val[ZB_DMA_REQ_STATUS] = peek8(status);
    cur->val[ZB_DMA_USED_IDX] = ldle16(ring + RING_USED + 2);
    cur->val[ZB_DMA_DEV_STATUS] = cm_rd(VC_STATUS, 1);
}

/* 1 if the sector-sized bytes at phys hold disk sector s. */
static int holds_sector(uint64_t phys, unsigned int s)
{
    const uint8_t *p = absp(phys);
    unsigned int i;

    for (i = 0; i < ZB_SECTOR_SIZE; i++) {
        if (peek8(p + i) != zb_disk_byte(s, i)) {
            return 0;
        }
    }
    return 1;
}

/* 1 if len bytes at phys are all c. */
static int all_bytes(uint64_t phys, uint64_t len, uint8_t c)
{
    const uint8_t *p = absp(phys);
    uint64_t i;

    for (i = 0; i < len; i++) {
        if (peek8(p + i) != c) {
            return 0;
        }
    }
    return 1;
}

static void poison(uint64_t phys, uint64_t len)
{
    memset(absp(phys), ZB_POISON, len);
}

/*
 * A read of sector s into iova that should (land = 1) or should not
 * (land = 0) arrive at phys.
 */
static void dma_read_step(enum zb_step_id id, unsigned int s, uint64_t iova,
                          uint64_t phys)
{
    begin(id);
    poison(phys, 4096);
    blk_io(0, s, iova);
    cur->cc = (uint8_t)pci_cc;
    cur->val[ZB_DMA_FIRST8] = ld64(absp(phys));
    cur->val[ZB_DMA_LANDED] = holds_sector(phys, s);
    cur->val[ZB_DMA_UNTOUCHED] = all_bytes(phys, 4096, ZB_POISON);
    end();
}

/* ---------------------------------------------------------------------- */
/* Translation tables (formats of Linux's arch/s390/include/asm/pci_dma.h) */

#define TBL_INVALID     0x20ULL         /* region and segment entries */
#define TBL_PROTECTED   0x200ULL
#define RTE_TYPE_RTX    0x04ULL
#define RTE_LEN_RTX     0x03ULL
#define PTE_INVALID     0x400ULL
#define IOTA_T          0x800ULL        /* translation enabled */
#define IOTA_DT_RT      0x004ULL        /* region-third table origin */

static uint64_t *rt(void)
{
    return absp(RT_AREA);
}

static uint64_t *st(void)
{
    return absp(ST_AREA);
}

static uint64_t *pt0(void)
{
    return absp(PT0_AREA);
}

static uint64_t *pt1(void)
{
    return absp(PT1_AREA);
}

static unsigned int rtx(uint64_t iova)
{
    return (iova >> 31) & 0x7ff;
}

static uint64_t rte_valid(void)
{
    return ST_AREA | RTE_TYPE_RTX | RTE_LEN_RTX;
}

static void tables_init(void)
{
    int i;

    for (i = 0; i < 2048; i++) {
        rt()[i] = TBL_INVALID;
        st()[i] = TBL_INVALID;
    }
    for (i = 0; i < 256; i++) {
        pt0()[i] = PTE_INVALID;
        pt1()[i] = PTE_INVALID;
    }
    rt()[rtx(ZB_SDMA)] = rte_valid();
    st()[0] = PT0_AREA;
    st()[1] = PT1_AREA;
}

static uint64_t iota(void)
{
    return RT_AREA | IOTA_T | IOTA_DT_RT;
}

static uint64_t mpcifc_req(uint32_t handle, uint8_t dmaas, uint8_t oc)
{
    return (uint64_t)handle << 32 | (uint64_t)dmaas << 16 | oc;
}

#define OC_REG_IOAT     4
#define OC_DEREG_IOAT   5
#define OC_REREG_IOAT   6
#define OC_RESET_ERROR  7
#define OC_RESET_BLOCK  9

/* One MPCIFC as a step: cc and status recorded. */
static void mpcifc_step(enum zb_step_id id, uint32_t handle, uint8_t dmaas,
                        uint8_t oc, uint8_t fmt, uint64_t pba, uint64_t pal,
                        uint64_t iota_value, unsigned int fib_offset)
{
    uint8_t *fib = (uint8_t *)absp(FIB_AREA) + fib_offset;
    uint64_t req = mpcifc_req(handle, dmaas, oc);

    begin(id);
    memset(absp(FIB_AREA), 0, 128);
    fib[0] = fmt;
    st64(fib + 16, pba);
    st64(fib + 24, pal);
    st64(fib + 32, iota_value);
    cur->cc = (uint8_t)mpcifc(&req, fib);
    cur->status = (uint8_t)(req >> 24);
    end();
}

/* What STPCIFC reports as pba, pal and iota. */
static void keep_stpcifc(void)
{
    uint8_t fib[80];
    int cc;

    function_controls(&cc, fib);
    cur->val[0] = ld64(fib + 16);
    cur->val[1] = ld64(fib + 24);
    cur->val[2] = ld64(fib + 32);
}

static void rpcit_step(enum zb_step_id id, uint32_t handle, uint64_t addr,
                       uint64_t len)
{
    uint64_t fn = (uint64_t)handle << 32;

    begin(id);
    cur->cc = (uint8_t)rpcit(&fn, addr, len);
    cur->status = (uint8_t)(fn >> 24);
    end();
}

/*
 * Back to the enabled state if the function is in the error or blocked
 * state (MPCIFC reset error); after a DMA step (dma = 1) the device is then
 * reset and set up again too. val0: 1 if there was something to recover,
 * val1: device status after the set-up, val2: worst PCI cc of the set-up.
 */
static void recover_step(enum zb_step_id id, int dma)
{
    uint64_t req = mpcifc_req(fh, 0, OC_RESET_ERROR);
    int fc_cc;

    begin(id);
    if (function_controls(&fc_cc, NULL) & (ST_ERROR | ST_BLOCKED)) {
        cur->val[0] = 1;
        memset(absp(FIB_AREA), 0, 128);
        cur->cc = (uint8_t)mpcifc(&req, absp(FIB_AREA));
        cur->status = (uint8_t)(req >> 24);
        if (dma) {
            pci_cc = 0;
            cur->val[1] = virtio_setup(NULL, NULL);
            cur->val[2] = pci_cc;
        }
    }
    end();
}

static void translation_steps(void)
{
    uint64_t fn;
    int i;

    tables_init();

    rpcit_step(ZB_RPCIT_NO_IOAT, fh, ZB_SDMA, 4096);
    rpcit_step(ZB_RPCIT_IN_ERROR, fh, ZB_SDMA, 4096);
    mpcifc_step(ZB_MPCIFC_RESET_BLOCK, fh, 0, OC_RESET_BLOCK, 0, 0, 0, 0, 0);
    mpcifc_step(ZB_MPCIFC_RESET_ERROR, fh, 0, OC_RESET_ERROR, 0, 0, 0, 0, 0);
    mpcifc_step(ZB_MPCIFC_RESET_NOT_ERR, fh, 0, OC_RESET_ERROR, 0, 0, 0, 0,
                0);
    mpcifc_step(ZB_MPCIFC_DEREG_NOT_REG, fh, 0, OC_DEREG_IOAT, 0, 0, 0, 0, 0);
    mpcifc_step(ZB_MPCIFC_REG_DMAAS1, fh, 1, OC_REG_IOAT, 0, ZB_SDMA, edma,
                iota(), 0);
    mpcifc_step(ZB_MPCIFC_REG_PBA_LOW, fh, 0, OC_REG_IOAT, 0, ZB_SDMA - 4096,
                edma, iota(), 0);
    mpcifc_step(ZB_MPCIFC_REG_PAL_HIGH, fh, 0, OC_REG_IOAT, 0, ZB_SDMA,
                edma + 1, iota(), 0);
    mpcifc_step(ZB_MPCIFC_REG_PBA_GT_PAL, fh, 0, OC_REG_IOAT, 0,
                ZB_SDMA + 0x10000, ZB_SDMA + 0x1000, iota(), 0);
    mpcifc_step(ZB_MPCIFC_REG_DT_STO, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                ST_AREA | IOTA_T, 0);
    mpcifc_step(ZB_MPCIFC_REG_NO_T, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                RT_AREA | IOTA_DT_RT, 0);
    mpcifc_step(ZB_MPCIFC_FIB_ALIGN, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                iota(), 4);
    mpcifc_step(ZB_MPCIFC_FIB_FMT, fh, 0, OC_REG_IOAT, 1, ZB_SDMA, edma,
                iota(), 0);
    mpcifc_step(ZB_MPCIFC_BAD_OC, fh, 0, 0x20, 0, ZB_SDMA, edma, iota(), 0);
    mpcifc_step(ZB_MPCIFC_BAD_FH, 0x80020777, 0, OC_REG_IOAT, 0, ZB_SDMA,
                edma, iota(), 0);
    mpcifc_step(ZB_MPCIFC_REG_IOAT, fh, 0, OC_REG_IOAT, 0, ZB_SDMA + 0x123,
                edma & ~0xfffULL, iota(), 0);
    keep_stpcifc();
    mpcifc_step(ZB_MPCIFC_REG_AGAIN, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                iota(), 0);

    /* the virtqueue and the request header, then the device */
    pt0()[(ZB_IOVA_RING - ZB_SDMA) >> 12] = RING_AREA;
    pt0()[(ZB_IOVA_HDR - ZB_SDMA) >> 12] = HDR_AREA;
    rpcit_step(ZB_RPCIT_MAP_RING, fh, ZB_IOVA_RING, 0x2000);

    begin(ZB_VIRTIO_INIT);
    pci_cc = 0;
    cur->val[0] = virtio_setup(&cur->val[1], &cur->val[2]);
    /* device-specific configuration, once VIRTIO_F_VERSION_1 is agreed */
    cur->val[3] = pci_rd(vio.device_bar, vio.device, 4) |
                  pci_rd(vio.device_bar, vio.device + 4, 4) << 32;
    cur->cc = (uint8_t)pci_cc;
    end();

    /* map, unmap, map without refresh, map again */
    pt0()[0] = ZB_PHYS_DATA;
    rpcit_step(ZB_RPCIT_MAP, fh, ZB_IOVA_DATA, 4096);
    dma_read_step(ZB_DMA_MAPPED, 0, ZB_IOVA_DATA, ZB_PHYS_DATA);
    pt0()[0] = ZB_PHYS_DATA | PTE_INVALID;
    rpcit_step(ZB_RPCIT_UNMAP, fh, ZB_IOVA_DATA, 4096);
    dma_read_step(ZB_DMA_UNMAPPED, 0, ZB_IOVA_DATA, ZB_PHYS_DATA);
    recover_step(ZB_RECOVER_UNMAPPED, 1);
    pt0()[0] = ZB_PHYS_DATA;
    dma_read_step(ZB_DMA_NO_RPCIT, 0, ZB_IOVA_DATA, ZB_PHYS_DATA);
    recover_step(ZB_RECOVER_NO_RPCIT, 1);
    rpcit_step(ZB_RPCIT_REMAP, fh, ZB_IOVA_DATA, 4096);
    dma_read_step(ZB_DMA_REMAPPED, 0, ZB_IOVA_DATA, ZB_PHYS_DATA);

    /* protection: the device may read the page, not write it */
    pt0()[0] = ZB_PHYS_DATA | TBL_PROTECTED;
    rpcit_step(ZB_RPCIT_PROTECT, fh, ZB_IOVA_DATA, 4096);
    begin(ZB_DMA_WRITE_PROTECTED);
    for (i = 0; i < ZB_SECTOR_SIZE; i++) {
        poke8((uint8_t *)absp(ZB_PHYS_DATA) + i, zb_write_byte(i));
    }
    blk_io(1, ZB_WRITE_SECTOR, ZB_IOVA_DATA);
    cur->cc = (uint8_t)pci_cc;
    end();
    dma_read_step(ZB_DMA_READ_PROTECTED, 0, ZB_IOVA_DATA, ZB_PHYS_DATA);
    recover_step(ZB_RECOVER_PROTECTED, 1);
    pt0()[0] = ZB_PHYS_DATA;
    rpcit_step(ZB_RPCIT_UNPROTECT, fh, ZB_IOVA_DATA, 4096);
    begin(ZB_DMA_READ_BACK);
    poison(ZB_PHYS_DATA, 4096);
    blk_io(0, ZB_WRITE_SECTOR, ZB_IOVA_DATA);
    cur->cc = (uint8_t)pci_cc;
    cur->val[ZB_DMA_FIRST8] = ld64(absp(ZB_PHYS_DATA));
    cur->val[ZB_DMA_LANDED] = 1;
    for (i = 0; i < ZB_SECTOR_SIZE; i++) {
        if (peek8((uint8_t *)absp(ZB_PHYS_DATA) + i) != zb_write_byte(i)) {
            cur->val[ZB_DMA_LANDED] = 0;
        }
    }
    end();

    /* a whole page table of scattered pages, refreshed at once */
    for (i = 0; i < 256; i++) {
        pt1()[i] = ZB_PHYS_BIG + ((uint64_t)zb_big_page(i) << 12);
    }
    rpcit_step(ZB_RPCIT_1M, fh, ZB_IOVA_1M, 1 << 20);
    begin(ZB_DMA_1M);
    poison(ZB_PHYS_BIG, 1 << 20);
    blk_io(0, 2, ZB_IOVA_1M + (ZB_BIG_DMA_PAGE << 12));
    cur->cc = (uint8_t)pci_cc;
    {
        uint64_t land = ZB_PHYS_BIG +
                        ((uint64_t)zb_big_page(ZB_BIG_DMA_PAGE) << 12);

        cur->val[ZB_DMA_FIRST8] = ld64(absp(land));
        cur->val[ZB_DMA_LANDED] = holds_sector(land, 2);
        cur->val[ZB_DMA_UNTOUCHED] =
            all_bytes(ZB_PHYS_BIG + (ZB_BIG_DMA_PAGE << 12), 4096, ZB_POISON);
        cur->val[ZB_DMA_OTHER] = 1;
        for (i = 0; i < 256; i++) {
            uint64_t p = ZB_PHYS_BIG + ((uint64_t)i << 12);

            if (p != land && !all_bytes(p, 4096, ZB_POISON)) {
                cur->val[ZB_DMA_OTHER] = 0;
            }
        }
    }
    end();

    /* an RPCIT range that starts inside a page */
    pt0()[2] = ZB_PHYS_UNAL_A;
    pt0()[3] = ZB_PHYS_UNAL_B;
    rpcit_step(ZB_RPCIT_UNALIGNED, fh, ZB_IOVA_UNAL + 0x800, 4096);
    begin(ZB_DMA_UNALIGNED);
    poison(ZB_PHYS_UNAL_A, 4096);
    poison(ZB_PHYS_UNAL_A_NEXT, 4096);
    poison(ZB_PHYS_UNAL_B, 4096);
    blk_io(0, 3, ZB_IOVA_UNAL + 4096);
    cur->cc = (uint8_t)pci_cc;
    cur->val[ZB_DMA_FIRST8] = ld64(absp(ZB_PHYS_UNAL_B));
    cur->val[ZB_DMA_LANDED] = holds_sector(ZB_PHYS_UNAL_B, 3);
    cur->val[ZB_DMA_UNTOUCHED] = all_bytes(ZB_PHYS_UNAL_A, 4096, ZB_POISON);
    cur->val[ZB_DMA_OTHER] = holds_sector(ZB_PHYS_UNAL_A_NEXT, 3);
    end();
    recover_step(ZB_RECOVER_UNALIGNED, 1);

    /* a range that ends exactly at pba, one 4 TiB above a mapped page */
    rpcit_step(ZB_RPCIT_BELOW_PBA, fh, ZB_SDMA - 4096, 4096);
    recover_step(ZB_RECOVER_BELOW_PBA, 0);
    rpcit_step(ZB_RPCIT_ALIAS_4T, fh, ZB_IOVA_DATA + ZB_RT_SPAN, 4096);
    dma_read_step(ZB_DMA_ALIAS_4T, 4, ZB_IOVA_DATA + ZB_RT_SPAN,
                  ZB_PHYS_DATA);
    recover_step(ZB_RECOVER_ALIAS, 1);

    /* malformed entries */
    pt0()[(ZB_IOVA_ZERO_PTE - ZB_SDMA) >> 12] = 0;
    rpcit_step(ZB_RPCIT_ZERO_PTE, fh, ZB_IOVA_ZERO_PTE, 4096);
    pt0()[(ZB_IOVA_ZERO_PTE - ZB_SDMA) >> 12] = PTE_INVALID;
    recover_step(ZB_RECOVER_ZERO_PTE, 0);

    rt()[rtx(ZB_SDMA) + 1] = 0;
    rpcit_step(ZB_RPCIT_ZERO_RTE, fh, ZB_SDMA + (1ULL << 31), 4096);
    recover_step(ZB_RECOVER_ZERO_RTE, 0);
    rt()[rtx(ZB_SDMA) + 1] = ST_AREA | RTE_TYPE_RTX | 1;
    rpcit_step(ZB_RPCIT_BAD_TL, fh, ZB_SDMA + (1ULL << 31), 4096);
    recover_step(ZB_RECOVER_BAD_TL, 0);
    rt()[rtx(ZB_SDMA) + 1] = ST_AREA | 0x40 | RTE_TYPE_RTX | RTE_LEN_RTX;
    rpcit_step(ZB_RPCIT_BAD_TF, fh, ZB_SDMA + (1ULL << 31), 4096);
    recover_step(ZB_RECOVER_BAD_TF, 0);
    rt()[rtx(ZB_SDMA) + 1] = ST_AREA | RTE_LEN_RTX;
    rpcit_step(ZB_RPCIT_BAD_TT, fh, ZB_SDMA + (1ULL << 31), 4096);
    recover_step(ZB_RECOVER_BAD_TT, 0);
    rt()[rtx(ZB_SDMA) + 1] = TBL_INVALID;

    /* ranges */
    rpcit_step(ZB_RPCIT_2M, fh, ZB_SDMA, 2 << 20);
    rpcit_step(ZB_RPCIT_LEN0, fh, ZB_SDMA, 0);
    begin(ZB_RPCIT_ODD_R2);
    fn = (uint64_t)fh << 32;
    cur->cc = (uint8_t)rpcit_odd(&fn, ZB_SDMA, 4096);
    cur->status = (uint8_t)(fn >> 24);
    end();
    rpcit_step(ZB_RPCIT_BAD_FH, 0x80020777, ZB_SDMA, 4096);

    /* the Linux-like aperture: sdma .. sdma + 128 MiB - 1 */
    mpcifc_step(ZB_MPCIFC_REREG, fh, 0, OC_REREG_IOAT, 0, ZB_SDMA,
                ZB_SDMA + ZB_APERTURE_SMALL - 1, iota(), 0);
    keep_stpcifc();
    rpcit_step(ZB_RPCIT_ABOVE_PAL, fh, ZB_SDMA + ZB_APERTURE_SMALL, 4096);
    recover_step(ZB_RECOVER_ABOVE_PAL, 0);
    rpcit_step(ZB_RPCIT_APERTURE, fh, ZB_SDMA, ZB_APERTURE_SMALL);
    if (options & ZB_OPT_WIDE_RPCIT) {
        rpcit_step(ZB_RPCIT_WIDE, fh, ZB_SDMA, ZB_RT_SPAN - ZB_SDMA);
    }

    /* deregistration and disabling */
    mpcifc_step(ZB_MPCIFC_DEREG, fh, 0, OC_DEREG_IOAT, 0, 0, 0, 0, 0);
    rpcit_step(ZB_RPCIT_AFTER_DEREG, fh, ZB_SDMA, 4096);
    recover_step(ZB_RECOVER_AFTER_DEREG, 0);
    mpcifc_step(ZB_MPCIFC_REG_IOAT2, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                iota(), 0);
}

static void disable_steps(void)
{
    uint32_t enabled_fh = fh;
    uint32_t new_fh;

    new_fh = clp_set(ZB_CLP_DISABLE, fh, 1, 0, -1);
    fh = new_fh ? new_fh : fh;
    end();
    rpcit_step(ZB_RPCIT_DISABLED, fh, ZB_SDMA, 4096);
    rpcit_step(ZB_RPCIT_DISABLED_OLD_FH, enabled_fh, ZB_SDMA, 4096);
    mpcifc_step(ZB_MPCIFC_DISABLED, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                iota(), 0);
    clp_set(ZB_CLP_DISABLE_AGAIN, fh, 1, 0, -1);
    end();
    new_fh = clp_set(ZB_CLP_REENABLE, fh, 0, 1, -1);
    fh = new_fh ? new_fh : fh;
    end();
    mpcifc_step(ZB_MPCIFC_DEREG_AFTER_REENABLE, fh, 0, OC_DEREG_IOAT, 0, 0,
                0, 0, 0);
    new_fh = clp_set(ZB_CLP_DISABLE_FINAL, fh, 1, 0, -1);
    fh = new_fh ? new_fh : fh;
    end();
}

/* ---------------------------------------------------------------------- */

static void start_step(void)
{
    struct zb_event ev;
    uint32_t crw;
    int i;

    begin(ZB_START);
    for (i = 0; i < 16 && stcrw(&crw) == 0; i++) {
        cur->val[0]++;
    }
    for (i = 0; i < 16; i++) {
        fetch_event(&ev);
        if (ev.code != 0x0001) {
            break;
        }
        cur->val[1]++;
    }
    end();
}

/* An enabled wait that nothing ends: no external subclass is enabled. */
static void __attribute__((noreturn)) wait_forever(void)
{
    static const uint64_t psw[2] __attribute__((aligned(8))) = {
        0x0102000180000000ULL, 0
    };

    for (;;) {
        asm volatile("lpswe %0" : : "Q" (psw) : "memory");
    }
}

/* Called by start.S. */
void probe_main(void)
{
    struct zb_results *r = RES;
    uint64_t *pgm_new = absp(LC_PGM_NEW_PSW);
    uint64_t handler;

    memset(r, 0, sizeof(*r));
    r->version = ZB_VERSION;
    r->nsteps = ZB_STEP_NR;
    options = (uint32_t)ld64(absp(ZB_OPTIONS_ADDR));
    r->options = options;
    barrier();
    r->magic = ZB_MAGIC_RUNNING;

    asm("larl %0,pgm_handler" : "=a" (handler));
    pgm_new[0] = 0x0000000180000000ULL;     /* 64-bit, all masked */
    pgm_new[1] = handler;

    start_step();
    clp_steps();
    pci_steps();
    translation_steps();
    disable_steps();

    barrier();
    r->magic = ZB_MAGIC_DONE;
    barrier();
    wait_forever();
}
