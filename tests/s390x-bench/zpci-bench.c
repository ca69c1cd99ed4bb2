/*
 * zPCI RPCIT benchmark
 *
 * Runs as the BIOS of an s390-ccw-virtio machine (no Linux), enables one
 * emulated virtio-blk function, registers I/O translation tables that map
 * 256 MiB page by page, the way Linux's s390-iommu.c builds them (one
 * region-third table, one segment table, a page table per MiB), and times
 * RPCIT over the whole range with the TOD clock. zpci-bench.h says what it
 * records and where.
 *
 * The entry point, the program-interruption handler and the linker script
 * are those of the zPCI probe (tests/s390x-bare).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* Every symbol binds locally: no GOT, the image runs wherever it is loaded. */
#pragma GCC visibility push(hidden)

#include <stddef.h>
#include <stdint.h>

#include "../s390x-common/zpci-insn.h"
#include "zpci-bare.h"
#include "zpci-bench.h"

/* ---------------------------------------------------------------------- */
/* Byte order and time (the instructions are ../s390x-common's) */

/* Little-endian, for the virtio rings. */
static inline void stle16(void *p, uint16_t v)
{
    uint8_t *b = p;

    poke8(b, (uint8_t)v);
    poke8(b + 1, v >> 8);
}

static inline void stle32(void *p, uint32_t v)
{
    stle16(p, (uint16_t)v);
    stle16((uint8_t *)p + 2, v >> 16);
}

static inline void stle64(void *p, uint64_t v)
{
    stle32(p, (uint32_t)v);
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

/* The TOD clock in microseconds. */
static uint64_t tod_usecs(void)
{
    return tod() >> 12;
}

/* ---------------------------------------------------------------------- */
/* Guest memory */

#define LC_RESTART_OLD_PSW  0x120
#define LC_RESTART_NEW_PSW  0x1a0
#define LC_PGM_NEW_PSW      0x1d0
#define LC_SAVED_PGM        0xe00   /* interruption code, from pgm_handler */
#define LC_RESTART_FLAG     0xe10   /* set by restart_handler */

#define CLP_AREA        0x110000ULL /* 8 KiB request/response block */
#define FIB_AREA        0x113000ULL /* function information block */
#define RT_AREA         0x400000ULL /* region-third table, 16 KiB */
#define ST_AREA         0x404000ULL /* segment table, 16 KiB */
#define PT_AREA         0x408000ULL /* 256 page tables of 2 KiB */
#define PT_SIZE         0x800ULL

#define RES             ((struct zbench_results *)absp(ZBENCH_RESULTS_ADDR))

/*
 * Restart new PSW target (QMP inject-nmi): set the flag a checkpoint waits
 * for and go on where the program was.
 */
#define STR_(x)         #x
#define STR(x)          STR_(x)
asm("   .text\n"
    "   .globl  restart_handler\n"
    "   .hidden restart_handler\n"
    "restart_handler:\n"
    "   mvi     " STR(LC_RESTART_FLAG) ", 1\n"
    "   lpswe   " STR(LC_RESTART_OLD_PSW) "\n");

/* ---------------------------------------------------------------------- */
/* Results */

static uint32_t options;
static uint32_t fh;

/* Stop here: record why, mark the run done, wait. */
static void __attribute__((noreturn)) finish(void);

static void __attribute__((noreturn)) fail(enum zbench_error e,
                                           uint64_t detail)
{
    RES->error = e;
    RES->detail = detail;
    finish();
}

/* A program interruption so far means the run is not to be trusted. */
static void check_pgm(void)
{
    uint16_t code = ld16(absp(LC_SAVED_PGM));

    if (code) {
        RES->npgm++;
        fail(ZBENCH_ERR_PGM, code);
    }
}

static void record(int layout, enum zbench_kind kind, uint32_t round,
                   int cc, uint8_t status, uint64_t ticks)
{
    struct zbench_sample *s;
    uint32_t n = RES->nsamples;

    if (n >= ZBENCH_MAX_SAMPLES) {
        return;
    }
    s = &RES->sample[n];
    s->layout = (uint8_t)layout;
    s->kind = (uint8_t)kind;
    s->cc = (uint8_t)cc;
    s->status = status;
    s->round = round;
    s->tod = ticks;
    barrier();
    RES->nsamples = n + 1;
}

/*
 * Wait for the reader (ZBENCH_OPT_CHECKPOINTS): announce the checkpoint,
 * then spin until the restart interruption sets the flag, 60 s at most.
 */
static void checkpoint(int layout, enum zbench_checkpoint where)
{
    uint64_t deadline;

    if (!(options & ZBENCH_OPT_CHECKPOINTS)) {
        return;
    }
    poke8(absp(LC_RESTART_FLAG), 0);
    barrier();
    RES->checkpoint = (uint32_t)layout << 8 | where;
    barrier();
    RES->checkpoints++;
    deadline = tod_usecs() + 60000000;
    while (!peek8(absp(LC_RESTART_FLAG))) {
        if (tod_usecs() > deadline) {
            RES->checkpoint_timeouts++;
            break;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* CLP: find the function, enable it */

#define CLP_LIST_PCI            0x0002
#define CLP_SET_PCI_FN          0x0005
#define CLP_RSP_OK              0x0010
#define LIST_RSP_LEN            (4096 - 32)
#define SET_RSP_LEN             160

static uint8_t *clp_prepare(uint16_t cmd, uint16_t rsp_len)
{
    uint8_t *blk = absp(CLP_AREA);

    memset(blk, 0, 8192);
    st16(blk, 32);
    st16(blk + 2, cmd);
    st16(blk + 32, rsp_len);
    return blk;
}

static void enable_function(void)
{
    uint8_t *b;
    uint16_t rsp;
    int cc;

    b = clp_prepare(CLP_LIST_PCI, LIST_RSP_LEN);
    cc = clp_insn(CLP_AREA);
    rsp = ld16(b + 32 + ZB_RSP_CODE);
    if (cc || rsp != CLP_RSP_OK) {
        fail(ZBENCH_ERR_CLP_LIST, (uint64_t)cc << 16 | rsp);
    }
    if (ld32(b + 32 + ZB_LIST_ENTRY0 + 8) != ZB_FID) {
        fail(ZBENCH_ERR_NO_FUNCTION, ld32(b + 32 + ZB_LIST_ENTRY0 + 8));
    }
    fh = ld32(b + 32 + ZB_LIST_ENTRY0 + 12);

    b = clp_prepare(CLP_SET_PCI_FN, SET_RSP_LEN);
    st32(b + 16, fh);
    b[22] = 0;                              /* oc: enable */
    b[23] = 1;                              /* one DMA address space */
    cc = clp_insn(CLP_AREA);
    rsp = ld16(b + 32 + ZB_RSP_CODE);
    if (cc || rsp != CLP_RSP_OK) {
        fail(ZBENCH_ERR_ENABLE, (uint64_t)cc << 16 | rsp);
    }
    fh = ld32(b + 32 + ZB_SET_FH);
    RES->fh = fh;
}

/* ---------------------------------------------------------------------- */
/* Translation tables (formats of Linux's arch/s390/include/asm/pci_dma.h) */

#define TBL_INVALID     0x20ULL         /* region and segment entries */
#define RTE_TYPE_RTX    0x04ULL
#define RTE_LEN_RTX     0x03ULL
#define PTE_INVALID     0x400ULL
#define IOTA_T          0x800ULL        /* translation enabled */
#define IOTA_DT_RT      0x004ULL        /* region-third table origin */
#define OC_REG_IOAT     4

#define RANGE_BYTES     ((uint64_t)ZBENCH_PAGES << 12)

static uint64_t *pte(uint32_t k)
{
    return (uint64_t *)absp(PT_AREA) + k;
}

/* Region-third and segment tables; every page entry invalid. */
static void tables_init(void)
{
    uint64_t *rt = absp(RT_AREA);
    uint64_t *st = absp(ST_AREA);
    uint32_t i;

    for (i = 0; i < 2048; i++) {
        st64(&rt[i], TBL_INVALID);
        st64(&st[i], TBL_INVALID);
    }
    st64(&rt[(ZB_SDMA >> 31) & 0x7ff], ST_AREA | RTE_TYPE_RTX | RTE_LEN_RTX);
    for (i = 0; i < ZBENCH_PAGES / 256; i++) {
        st64(&st[((ZB_SDMA >> 20) & 0x7ff) + i], PT_AREA + i * PT_SIZE);
    }
    for (i = 0; i < ZBENCH_PAGES; i++) {
        st64(pte(i), PTE_INVALID);
    }
}

/* Every page entry of the range: its frame, valid or not. */
static void tables_fill(int scattered, uint64_t flags)
{
    uint32_t k;

    for (k = 0; k < ZBENCH_PAGES; k++) {
        st64(pte(k), ZBENCH_FRAMES +
                     ((uint64_t)zbench_frame(scattered, k) << 12) + flags);
    }
}

static void register_ioat(void)
{
    uint8_t *fib = absp(FIB_AREA);
    uint64_t req = (uint64_t)fh << 32 | OC_REG_IOAT;
    int cc;

    memset(fib, 0, 128);
    st64(fib + 16, ZB_SDMA);                        /* pba */
    st64(fib + 24, ZB_SDMA + RANGE_BYTES - 1);      /* pal */
    st64(fib + 32, RT_AREA | IOTA_T | IOTA_DT_RT);  /* iota */
    cc = mpcifc(&req, fib);
    if (cc) {
        fail(ZBENCH_ERR_REG_IOAT, (uint64_t)cc << 8 | (uint8_t)(req >> 24));
    }
}

/* One timed RPCIT of the whole range. */
static void timed_rpcit(int layout, enum zbench_kind kind, uint32_t round)
{
    uint64_t fn = (uint64_t)fh << 32;
    uint64_t t0, t1;
    uint8_t status;
    int cc;

    t0 = tod();
    cc = rpcit(&fn, ZB_SDMA, RANGE_BYTES);
    t1 = tod();
    status = (uint8_t)(fn >> 24);
    record(layout, kind, round, cc, status, t1 - t0);
    check_pgm();
    if (cc) {
        fail(ZBENCH_ERR_RPCIT, (uint64_t)kind << 16 | (uint64_t)cc << 8 |
                               status);
    }
}

/* ---------------------------------------------------------------------- */
/* The DMA check: virtio-blk reads through the mapped range */

#define PCIAS_CFG       15

static int pci_cc;

static uint64_t pci_rd(int pcias, uint64_t offset, int len)
{
    uint64_t req = (uint64_t)fh << 32 | (uint64_t)pcias << 16 | len;
    uint64_t data;
    int cc = pcilg(&req, offset, &data);

    if (cc > pci_cc) {
        pci_cc = cc;
    }
    return cc ? ~0ULL : swab(data, len);
}

static void pci_wr(int pcias, uint64_t offset, int len, uint64_t val)
{
    uint64_t req = (uint64_t)fh << 32 | (uint64_t)pcias << 16 | len;
    int cc = pcistg(&req, offset, swab(val, len));

    if (cc > pci_cc) {
        pci_cc = cc;
    }
}

static struct {
    int common_bar, notify_bar;
    uint32_t common, notify, notify_mult;
} vio;

/* virtio_pci_common_cfg */
#define VC_GFSELECT     0x08
#define VC_GF           0x0c
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

/* The virtqueue is in range page 0, the request header in page 1. */
#define IOVA_RING       ZB_SDMA
#define IOVA_HDR        (ZB_SDMA + 0x1000)

static uint64_t frame_addr(int scattered, uint32_t k)
{
    return ZBENCH_FRAMES + ((uint64_t)zbench_frame(scattered, k) << 12);
}

static void find_virtio_caps(void)
{
    uint8_t ptr;
    int guard;

    pci_wr(PCIAS_CFG, 4, 2, 0x0006);        /* memory space, bus master */
    ptr = (uint8_t)pci_rd(PCIAS_CFG, 0x34, 1);
    for (guard = 0; ptr && guard < 48; guard++) {
        uint8_t id = (uint8_t)pci_rd(PCIAS_CFG, ptr, 1);
        uint8_t next = (uint8_t)pci_rd(PCIAS_CFG, ptr + 1, 1);

        if (id == 0x09) {
            uint8_t type = (uint8_t)pci_rd(PCIAS_CFG, ptr + 3, 1);
            int bar = (int)pci_rd(PCIAS_CFG, ptr + 4, 1);
            uint32_t off = (uint32_t)pci_rd(PCIAS_CFG, ptr + 8, 4);

            if (type == 1) {
                vio.common_bar = bar;
                vio.common = off;
            } else if (type == 2) {
                vio.notify_bar = bar;
                vio.notify = off;
                vio.notify_mult = (uint32_t)pci_rd(PCIAS_CFG, ptr + 16, 4);
            }
        }
        ptr = next & 0xfc;
    }
}

static uint64_t cm_rd(uint32_t off, int len)
{
    return pci_rd(vio.common_bar, vio.common + off, len);
}

static void cm_wr(uint32_t off, int len, uint64_t val)
{
    pci_wr(vio.common_bar, vio.common + off, len, val);
}

static uint16_t avail_idx;

/* Reset the device, set up queue 0 in range page 0; the device status. */
static uint64_t virtio_setup(int scattered)
{
    uint8_t *ring = absp(frame_addr(scattered, 0));
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
    cm_wr(VC_Q_SIZE, 2, QSIZE);
    cm_wr(VC_Q_DESCLO, 4, (uint32_t)(IOVA_RING + RING_DESC));
    cm_wr(VC_Q_DESCHI, 4, (IOVA_RING + RING_DESC) >> 32);
    cm_wr(VC_Q_AVAILLO, 4, (uint32_t)(IOVA_RING + RING_AVAIL));
    cm_wr(VC_Q_AVAILHI, 4, (IOVA_RING + RING_AVAIL) >> 32);
    cm_wr(VC_Q_USEDLO, 4, (uint32_t)(IOVA_RING + RING_USED));
    cm_wr(VC_Q_USEDHI, 4, (IOVA_RING + RING_USED) >> 32);
    cm_wr(VC_Q_ENABLE, 2, 1);
    cm_wr(VC_STATUS, 1, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
    return cm_rd(VC_STATUS, 1);
}

/* Read sector s into iova; 1 when the device completed it, 2 s at most. */
static int blk_read(int scattered, uint64_t sector, uint64_t iova)
{
    uint8_t *ring = absp(frame_addr(scattered, 0));
    uint8_t *hdr = absp(frame_addr(scattered, 1));
    uint8_t *desc = ring + RING_DESC;
    uint8_t *status = hdr + 16;
    uint64_t deadline;

    stle32(hdr, 0);                             /* VIRTIO_BLK_T_IN */
    stle32(hdr + 4, 0);
    stle64(hdr + 8, sector);
    poke8(status, 0xff);

    stle64(desc, IOVA_HDR);
    stle32(desc + 8, 16);
    stle16(desc + 12, 1);                       /* NEXT */
    stle16(desc + 14, 1);
    stle64(desc + 16, iova);
    stle32(desc + 24, ZB_SECTOR_SIZE);
    stle16(desc + 28, 1 | 2);                   /* NEXT, WRITE */
    stle16(desc + 30, 2);
    stle64(desc + 32, IOVA_HDR + 16);
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
        if (peek8(status) == 0 && ldle16(ring + RING_USED + 2) == avail_idx) {
            return 1;
        }
    }
    return 0;
}

/* 1 if the first sector of the frame at phys holds disk sector s. */
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

/*
 * Sectors read through pages of the mapped range must land in the frames
 * the page entries name (for the scattered layout, far from the frame of
 * the same number).
 */
static void dma_check(int layout)
{
    static const uint32_t pages[ZBENCH_DMA_NPAGES] = ZBENCH_DMA_PAGES;
    struct zbench_dma *d = &RES->dma[layout];
    unsigned int i, s;

    pci_cc = 0;
    if (!vio.notify_mult && !vio.notify) {
        find_virtio_caps();
    }
    d->device_status = (uint32_t)virtio_setup(layout);
    for (i = 0; i < ZBENCH_DMA_NPAGES; i++) {
        uint64_t phys = frame_addr(layout, pages[i]);

        s = (i + 1) % ZB_DISK_SECTORS;
        memset(absp(phys), ZB_POISON, ZB_SECTOR_SIZE);
        d->checked++;
        if (blk_read(layout, s, ZB_SDMA + ((uint64_t)pages[i] << 12)) &&
            holds_sector(phys, s)) {
            d->landed++;
        }
    }
    /*
     * Reset the device before its queue is unmapped: a running queue is
     * looked at again when the machine resumes from a pause (QMP stop and
     * cont at checkpoints), and a translation fault would put the function
     * in the error state.
     */
    cm_wr(VC_STATUS, 1, 0);
    d->pci_cc = (uint32_t)pci_cc;
    check_pgm();
}

/* ---------------------------------------------------------------------- */

/*
 * Each round: RPCIT with nothing mapped, fill the entries, map, refresh,
 * invalidate the entries, unmap. The checkpoints are in the first round;
 * the one before the map comes after an RPCIT and a checkpoint have run
 * once, so that the memory QEMU takes between it and the next is the
 * IOTLB's, not the translated code of the loop.
 */
static void run_layout(int layout)
{
    uint32_t rounds = ZBENCH_OPT_ROUNDS(options);
    uint32_t refreshes = ZBENCH_OPT_REFRESHES(options);
    uint32_t r, j;

    tables_fill(layout, PTE_INVALID);
    for (r = 0; r < rounds; r++) {
        timed_rpcit(layout, ZBENCH_EMPTY, r);
        if (r == 0) {
            checkpoint(layout, ZBENCH_CKPT_EMPTY);
        }
        tables_fill(layout, 0);
        timed_rpcit(layout, ZBENCH_MAP, r);
        if (r == 0) {
            checkpoint(layout, ZBENCH_CKPT_MAPPED);
        }
        for (j = 0; j < refreshes; j++) {
            timed_rpcit(layout, ZBENCH_REFRESH, r);
        }
        if (r == 0 && (options & ZBENCH_OPT_DMA_CHECK)) {
            dma_check(layout);
        }
        tables_fill(layout, PTE_INVALID);
        timed_rpcit(layout, ZBENCH_UNMAP, r);
        if (r == 0) {
            checkpoint(layout, ZBENCH_CKPT_UNMAPPED);
        }
    }
}

/* An enabled wait that nothing ends: no external subclass is enabled. */
static void __attribute__((noreturn)) finish(void)
{
    static const uint64_t psw[2] __attribute__((aligned(8))) = {
        0x0102000180000000ULL, 0
    };

    barrier();
    RES->magic = ZBENCH_MAGIC_DONE;
    barrier();
    for (;;) {
        asm volatile("lpswe %0" : : "Q" (psw) : "memory");
    }
}

/* Called by start.S. */
void probe_main(void)
{
    struct zbench_results *r = RES;
    uint64_t *pgm_new = absp(LC_PGM_NEW_PSW);
    uint64_t *restart_new = absp(LC_RESTART_NEW_PSW);
    uint64_t handler;

    memset(r, 0, sizeof(*r));
    r->version = ZBENCH_VERSION;
    r->pages = ZBENCH_PAGES;
    options = (uint32_t)ld64(absp(ZB_OPTIONS_ADDR));
    if (!options) {
        options = ZBENCH_OPT_DEFAULT;
    }
    r->options = options;
    barrier();
    r->magic = ZBENCH_MAGIC_RUNNING;

    st16(absp(LC_SAVED_PGM), 0);
    asm("larl %0,pgm_handler" : "=a" (handler));
    pgm_new[0] = 0x0000000180000000ULL;     /* 64-bit, all masked */
    pgm_new[1] = handler;
    asm("larl %0,restart_handler" : "=a" (handler));
    restart_new[0] = 0x0000000180000000ULL;
    restart_new[1] = handler;

    enable_function();
    tables_init();
    register_ioat();
    check_pgm();
    if (options & ZBENCH_OPT_CONTIGUOUS) {
        run_layout(0);
    }
    if (options & ZBENCH_OPT_SCATTERED) {
        run_layout(1);
    }
    finish();
}
