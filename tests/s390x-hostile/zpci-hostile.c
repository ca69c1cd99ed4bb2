/*
 * zPCI hostile guest
 *
 * Runs as the BIOS of an s390-ccw-virtio machine (no Linux) and does to one
 * emulated PCI function what no well-behaved guest does: I/O translation
 * tables that point back at themselves or at each other, tables and pages
 * outside guest RAM, RPCIT over the whole registered aperture with every
 * level valid (one page table per MiB, every page mapped), RPCIT over
 * ranges where every table aliases one, an IOAT registered twice, RPCIT
 * on a disabled function, and a storm of CLP requests with bad lengths and
 * bad commands. Each case prints one line on the SCLP console:
 *
 *   case=NAME cc=N status=N pgm=0xN rsp=0xN pec=0xN events=N ns=N [k=v...]
 *
 * cc/status: the condition code and status byte of the instruction under
 * test (cc=pgm when it took a program interruption, pgm its code); rsp:
 * the CLP response code; pec/events: the first PCI error event code the
 * event facility (CHSC store event information) held after the case, and
 * how many events there were; ns: the TOD time the instruction took. The
 * function is brought back to the enabled state after every case
 * (MPCIFC reset error), which the line reports as fc=0xN (the function
 * controls before) when it was needed.
 *
 * The program ends with "done cases=N" and a disabled wait with address
 * 0xfff, which QEMU takes as a shutdown request: the process exits 0.
 *
 * Machine (scripts/hostile):
 *   -M s390-ccw-virtio -accel tcg -m 256M -nodefaults -bios zpci-hostile.elf
 *   -chardev file,id=con,path=OUT -device sclpconsole,chardev=con
 *   -device zpci,uid=5,fid=42,target=blk0
 *   -device virtio-blk-pci,id=blk0,drive=d0,iommu_platform=on,
 *           disable-legacy=on
 *   -device loader,addr=0x10f000,data=OPTIONS,data-len=8,data-be=on
 *
 * OPTIONS (0: the quick sizes):
 *   bits 0-7    log2 of the full-tree aperture in MiB (1..12; quick 6)
 *   bits 8-15   log2 of the aliased range in GiB (0..10; quick 0)
 *   bits 16-23  CLP storm requests in thousands (1..255; quick 5)
 *   bit 24      also RPCIT 1 TiB of aliased tables (past the work bound)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* Every symbol binds locally: no GOT, the image runs wherever it is loaded. */
#pragma GCC visibility push(hidden)

#include <stddef.h>
#include <stdint.h>

#include "../s390x-common/zpci-insn.h"

/* ---------------------------------------------------------------------- */
/* Guest memory (256 MiB; the image itself sits in the top 2 MiB) */

#define LC_PGM_NEW_PSW  0x1d0
#define LC_SAVED_PGM    0xe00   /* interruption code, from pgm_handler */

#define SCCB_AREA       0x0f0000ULL /* SCLP console block, 4 KiB */
#define OPTIONS_ADDR    0x10f000ULL
#define CLP_AREA        0x110000ULL /* 8 KiB request/response block */
#define CHSC_AREA       0x114000ULL
#define FIB_AREA        0x115000ULL
#define STFIB_AREA      0x115100ULL
#define RT_AREA         0x120000ULL /* region-third table, 16 KiB */
#define ST_AREA         0x124000ULL /* segment table, 0 .. 2 GiB of sdma */
#define ST2_AREA        0x128000ULL /* segment table, 2 .. 4 GiB */
#define ST_ALIAS        0x12c000ULL /* every entry: PT_ALIAS */
#define ST_LOOP_A       0x130000ULL /* loops: tables naming each other */
#define ST_LOOP_B       0x134000ULL
#define PT_ALIAS        0x138000ULL /* 256 valid scattered pages */
#define PT_OOB          0x138800ULL /* a page outside guest RAM */
#define PT_FULL         0x1000000ULL /* 4096 page tables of 2 KiB */
#define FRAMES          0x2000000ULL /* 64 MiB of frames the pages map */
#define NFRAMES         16384U

/* Outside the 256 MiB of RAM. */
#define OOB_TABLE       0x7fff00000000ULL
#define OOB_PAGE        0x40000000ULL

#define SDMA            0x100000000ULL  /* QEMU's sdma of emulated functions */
#define EDMA            0x01ffffffffffffffULL
#define IOVA_ALIAS      (1ULL << 40)    /* region-third entries 512 .. */
#define IOVA_LOOP       (3ULL << 40)    /* region-third entries 1536 .. */
#define GIB             (1ULL << 30)
#define MIB             (1ULL << 20)

/* Translation-table formats (Linux's arch/s390/include/asm/pci_dma.h). */
#define TBL_INVALID     0x20ULL
#define RTE_TYPE_RTX    0x04ULL
#define RTE_LEN_RTX     0x03ULL
#define PTE_INVALID     0x400ULL
#define IOTA_T          0x800ULL
#define IOTA_DT_RT      0x004ULL

#define OPT_BIG_ALIAS   0x01000000U

#include "../s390x-common/sclp-console.h"

static uint64_t *rt(void)
{
    return absp(RT_AREA);
}

static uint64_t rte(uint64_t st)
{
    return st | RTE_TYPE_RTX | RTE_LEN_RTX;
}

static unsigned int rtx(uint64_t iova)
{
    return (iova >> 31) & 0x7ff;
}

/* Page k of a range maps a frame no neighbour maps next to. */
static uint64_t frame(uint64_t k)
{
    return FRAMES + (((k * 40503U) & (NFRAMES - 1)) << 12);
}

/* ---------------------------------------------------------------------- */
/* One case */

struct outcome {
    int cc;                 /* -1: program interruption */
    uint8_t status;
    uint16_t pgm;
    uint16_t rsp;
    uint64_t ticks;         /* TOD units the instruction took */
};

static uint32_t fh;             /* the function's current handle */
static uint32_t ncases;

static uint16_t pgm_take(void)
{
    uint16_t code = ld16(absp(LC_SAVED_PGM));

    st16(absp(LC_SAVED_PGM), 0);
    return code;
}

/* The first PCI error event pending, and how many were (at most 64). */
static unsigned int events(uint16_t *first_pec)
{
    uint8_t *area = absp(CHSC_AREA);
    uint8_t *rsp = area + 16;
    unsigned int n = 0;
    uint32_t crw;
    int i;

    *first_pec = 0;
    for (i = 0; i < 64; i++) {
        memset(area, 0, 128);
        st16(area, 16);                     /* request length */
        st16(area + 2, 0x000e);             /* store event information */
        st64(area + 8, 1ULL << 63 | 1ULL << 61);
        if (chsc(CHSC_AREA) != 0 || ld16(rsp + 2) != 0x0001) {
            break;
        }
        if (rsp[7] == 2 && rsp[11] == 1) {  /* PCI, error */
            if (!n) {
                *first_pec = ld16(rsp + 64 + 30);
            }
            n++;
        }
    }
    for (i = 0; i < 64 && stcrw(&crw) == 0; i++) {
        ;
    }
    return n;
}

static uint8_t function_controls(void)
{
    uint8_t *fib = absp(STFIB_AREA);
    uint64_t req = (uint64_t)fh << 32;

    memset(fib, 0, 80);
    if (stpcifc(&req, fib) != 0) {
        return 0xff;
    }
    return fib[8];
}

#define FC_ERROR        0x40
#define FC_BLOCKED      0x20
#define OC_REG_IOAT     4
#define OC_DEREG_IOAT   5
#define OC_RESET_ERROR  7

static int mpcifc_do(uint8_t oc, uint64_t pba, uint64_t pal, uint64_t iota,
                     struct outcome *o)
{
    uint8_t *fib = absp(FIB_AREA);
    uint64_t req = (uint64_t)fh << 32 | oc;
    uint64_t t0;

    memset(fib, 0, 128);
    st64(fib + 16, pba);
    st64(fib + 24, pal);
    st64(fib + 32, iota);
    pgm_take();
    t0 = tod();
    o->cc = mpcifc(&req, fib);
    o->ticks = tod() - t0;
    o->status = (uint8_t)(req >> 24);
    o->pgm = pgm_take();
    if (o->pgm) {
        o->cc = -1;
    }
    return o->cc;
}

static void rpcit_do(uint32_t handle, uint64_t addr, uint64_t len,
                     struct outcome *o)
{
    uint64_t fn = (uint64_t)handle << 32;
    uint64_t t0;

    pgm_take();
    t0 = tod();
    o->cc = rpcit(&fn, addr, len);
    o->ticks = tod() - t0;
    o->status = (uint8_t)(fn >> 24);
    o->pgm = pgm_take();
    if (o->pgm) {
        o->cc = -1;
    }
}

/*
 * Print the case line: the outcome, the events, the function controls
 * (brought back to enabled when in error), then "extra" key-values the
 * caller added to the line already.
 */
static void report(const char *name, const struct outcome *o)
{
    uint16_t pec;
    unsigned int n = events(&pec);
    uint8_t fc = function_controls();
    char extra[sizeof(line)];
    unsigned int extra_len = line_len;
    unsigned int i;

    for (i = 0; i < extra_len; i++) {
        extra[i] = line[i];
    }
    line_len = 0;
    put_str("case=");
    put_str(name);
    if (o->cc < 0) {
        put_str(" cc=pgm");
    } else {
        put_kv_dec("cc", (uint64_t)o->cc);
    }
    put_kv_dec("status", o->status);
    put_kv_hex("pgm", o->pgm);
    put_kv_hex("rsp", o->rsp);
    put_kv_hex("pec", pec);
    put_kv_dec("events", n);
    put_kv_dec("ns", o->ticks * 125 / 512);
    if (fc != 0xff && (fc & (FC_ERROR | FC_BLOCKED))) {
        struct outcome r;

        put_kv_hex("fc", fc);
        mpcifc_do(OC_RESET_ERROR, 0, 0, 0, &r);
        events(&pec);
    }
    for (i = 0; i < extra_len && line_len < sizeof(line) - 1; i++) {
        line[line_len++] = extra[i];
    }
    line_flush();
    ncases++;
}

/* ---------------------------------------------------------------------- */
/* CLP */

#define CLP_LIST_PCI            0x0002
#define CLP_QUERY_PCI_FN        0x0003
#define CLP_QUERY_PCI_FNGRP     0x0004
#define CLP_SET_PCI_FN          0x0005
#define CLP_RSP_OK              0x0010
#define CLP_BLK                 8192
#define POISON                  0xa5

static uint8_t *clp_block(void)
{
    return absp(CLP_AREA);
}

/* A block poisoned after the request header, with the two lengths. */
static uint8_t *clp_prepare(uint16_t req_len, uint16_t cmd, uint16_t rsp_len)
{
    uint8_t *b = clp_block();
    unsigned int at = req_len < CLP_BLK - 2 ? req_len : CLP_BLK - 2;

    memset(b, 0, 32);
    memset(b + 32, POISON, CLP_BLK - 32);
    st16(b, req_len);
    st16(b + 2, cmd);
    st16(b + at, rsp_len);
    return b;
}

static void clp_do(uint16_t req_len, struct outcome *o)
{
    unsigned int at = req_len < CLP_BLK - 4 ? req_len : CLP_BLK - 4;
    uint64_t t0;

    pgm_take();
    t0 = tod();
    o->cc = clp_insn(CLP_AREA);
    o->ticks = tod() - t0;
    o->pgm = pgm_take();
    if (o->pgm) {
        o->cc = -1;
    }
    o->rsp = ld16(clp_block() + at + 2);
    o->status = 0;
}

/*
 * 1 if no byte from off to the end of the block changed, but for the
 * response length field the program wrote itself at "at".
 */
static int clp_guard(unsigned int off, unsigned int at)
{
    uint8_t *b = clp_block();
    unsigned int i;

    for (i = off < 32 ? 32 : off; i < CLP_BLK; i++) {
        if (i == at || i == at + 1) {
            continue;
        }
        if (peek8(b + i) != POISON) {
            return 0;
        }
    }
    return 1;
}

static uint32_t clp_find_function(void)
{
    struct outcome o = { 0 };
    uint8_t *b = clp_prepare(32, CLP_LIST_PCI, 4096 - 32);

    clp_do(32, &o);
    put_kv_hex("fid", ld32(b + 32 + 32 + 8));
    put_kv_hex("fh", ld32(b + 32 + 32 + 12));
    report("clp_list", &o);
    return ld32(b + 32 + 32 + 12);
}

static uint32_t clp_set(const char *name, uint32_t handle, uint8_t oc)
{
    struct outcome o = { 0 };
    uint8_t *b = clp_prepare(32, CLP_SET_PCI_FN, 160);
    uint32_t new_fh = handle;

    st32(b + 16, handle);
    b[22] = oc;
    b[23] = oc == 0 ? 1 : 0;                /* one DMA address space */
    clp_do(32, &o);
    if (o.cc == 0 && o.rsp == CLP_RSP_OK) {
        new_fh = ld32(b + 32 + 16);
    }
    put_kv_hex("fh", new_fh);
    report(name, &o);
    return new_fh;
}

/* The requests of the storm: bad lengths, bad commands, bad operands. */
struct storm_kind {
    char name[20];
    uint16_t req_len;
    uint16_t cmd;
    uint16_t rsp_len;
    uint32_t operand;       /* fh, pfgid or resume token */
};

static const struct storm_kind storm_kinds[] = {
    { "req_len_0", 0, CLP_LIST_PCI, 64, 0 },
    { "req_len_8", 8, CLP_LIST_PCI, 64, 0 },
    { "req_len_odd", 33, CLP_LIST_PCI, 64, 0 },
    { "req_len_24", 24, CLP_LIST_PCI, 64, 0 },
    { "req_len_8184", 8184, CLP_LIST_PCI, 8, 0 },
    { "req_len_ffff", 0xffff, CLP_LIST_PCI, 64, 0 },
    { "rsp_len_0", 32, CLP_LIST_PCI, 0, 0 },
    { "rsp_len_12", 32, CLP_LIST_PCI, 12, 0 },
    { "rsp_len_over", 32, CLP_LIST_PCI, 8168, 0 },
    { "rsp_len_ffff", 32, CLP_LIST_PCI, 0xffff, 0 },
    { "cmd_0", 32, 0, 64, 0 },
    { "cmd_77", 32, 0x77, 64, 0 },
    { "cmd_ffff", 32, 0xffff, 64, 0 },
    { "list_rsp_8", 32, CLP_LIST_PCI, 8, 0 },
    { "list_bad_token", 32, CLP_LIST_PCI, 4064, 0x1234 },
    { "query_fn_rsp_16", 32, CLP_QUERY_PCI_FN, 16, 0 },
    { "query_fn_rsp_200", 32, CLP_QUERY_PCI_FN, 200, 0 },
    { "query_fn_bad_fh", 32, CLP_QUERY_PCI_FN, 384, 0x00020777 },
    { "query_grp_rsp_8", 32, CLP_QUERY_PCI_FNGRP, 8, 0xff },
    { "query_grp_bad", 32, CLP_QUERY_PCI_FNGRP, 64, 0x42 },
    { "set_bad_fh", 32, CLP_SET_PCI_FN, 160, 0x00020777 },
};

#define NKINDS (sizeof(storm_kinds) / sizeof(storm_kinds[0]))

/* Sets up the block of one storm request kind. */
static void storm_prepare(const struct storm_kind *sk)
{
    uint8_t *b = clp_prepare(sk->req_len, sk->cmd, sk->rsp_len);

    if (sk->req_len < 32) {
        return;
    }
    if (sk->cmd == CLP_QUERY_PCI_FNGRP) {
        b[16 + 3] = (uint8_t)sk->operand;
    } else if (sk->cmd == CLP_LIST_PCI) {
        st64(b + 16, sk->operand);
    } else {
        st32(b + 16, sk->operand ? sk->operand : fh);
    }
}

/*
 * The storm: "total" requests, the same number of each kind, each kind
 * issued back to back on its block. One line per kind: the answer of its
 * first request (ns: the slowest), same=1 when every request of the kind
 * got that answer, guard=1 when no byte past the response block (for a
 * refused length: past the request header) changed.
 */
static void clp_storm(uint32_t total)
{
    uint32_t per = total / NKINDS ? total / NKINDS : 1;
    unsigned int k;

    for (k = 0; k < NKINDS; k++) {
        const struct storm_kind *sk = &storm_kinds[k];
        struct outcome first = { 0 }, o;
        uint32_t i, same = 1;
        uint64_t sum = 0, worst = 0;
        unsigned int end = 32;
        char name[64];
        unsigned int j = 0;
        const char *p = "clp_storm_";

        storm_prepare(sk);
        for (i = 0; i < per; i++) {
            o = (struct outcome){ 0 };
            clp_do(sk->req_len, &o);
            sum += o.ticks;
            if (o.ticks > worst) {
                worst = o.ticks;
            }
            if (i == 0) {
                first = o;
            } else if (o.cc != first.cc || o.pgm != first.pgm ||
                       o.rsp != first.rsp) {
                same = 0;
            }
        }
        if (sk->req_len >= 32 && (unsigned int)sk->req_len + sk->rsp_len <=
                                 CLP_BLK) {
            end = sk->req_len + (sk->rsp_len > 4 ? sk->rsp_len : 4);
        }
        while (*p) {
            name[j++] = *p++;
        }
        for (p = sk->name; *p && j < sizeof(name) - 1; p++) {
            name[j++] = *p;
        }
        name[j] = 0;
        first.ticks = worst;
        put_kv_dec("n", per);
        put_kv_dec("same", same);
        put_kv_dec("guard", (uint64_t)clp_guard(end, sk->req_len < CLP_BLK - 2
                                                     ? sk->req_len
                                                     : CLP_BLK - 2));
        put_kv_dec("avg_ns", sum * 125 / 512 / per);
        report(name, &first);
    }
}

/* ---------------------------------------------------------------------- */
/* Translation tables */

static void table_fill(uint64_t addr, unsigned int entries, uint64_t value)
{
    uint64_t *t = absp(addr);
    unsigned int i;

    for (i = 0; i < entries; i++) {
        t[i] = value;
    }
}

/* Everything invalid; the three region-third entries of sdma's 4 GiB. */
static void tables_init(void)
{
    table_fill(RT_AREA, 2048, TBL_INVALID);
    table_fill(ST_AREA, 2048, TBL_INVALID);
    table_fill(ST2_AREA, 2048, TBL_INVALID);
    rt()[rtx(SDMA)] = rte(ST_AREA);
    rt()[rtx(SDMA) + 1] = rte(ST2_AREA);
}

/* Segment s (from sdma) of the full tree. */
static uint64_t *full_ste(unsigned int s)
{
    uint64_t *t = absp(s < 2048 ? ST_AREA : ST2_AREA);

    return &t[s & 2047];
}

/* Every page of the first "mib" MiB from sdma mapped, or all invalid. */
static void full_tree(unsigned int mib, int valid)
{
    unsigned int s, p;

    for (s = 0; s < mib; s++) {
        uint64_t ptab = PT_FULL + (uint64_t)s * 2048;
        uint64_t *pt = absp(ptab);

        for (p = 0; p < 256; p++) {
            uint64_t k = (uint64_t)s * 256 + p;

            pt[p] = valid ? frame(k) : frame(k) | PTE_INVALID;
        }
        *full_ste(s) = ptab;
    }
}

static uint64_t iota(uint64_t rto)
{
    return rto | IOTA_T | IOTA_DT_RT;
}

static void rpcit_case(const char *name, uint64_t addr, uint64_t len)
{
    struct outcome o = { 0 };

    rpcit_do(fh, addr, len, &o);
    put_kv_hex("addr", addr);
    put_kv_hex("len", len);
    report(name, &o);
}

static void mpcifc_case(const char *name, uint8_t oc, uint64_t pba,
                        uint64_t pal, uint64_t io)
{
    struct outcome o = { 0 };

    mpcifc_do(oc, pba, pal, io, &o);
    report(name, &o);
}

/* ---------------------------------------------------------------------- */

static void __attribute__((noreturn)) shutdown(void)
{
    /* disabled wait, address 0xfff: QEMU's "quiesce", a clean shutdown */
    static const uint64_t psw[2] __attribute__((aligned(8))) = {
        0x0002000180000000ULL, 0xfff
    };

    for (;;) {
        asm volatile("lpswe %0" : : "Q" (psw) : "memory");
    }
}

/* Called by start.S. */
void probe_main(void)
{
    uint64_t *pgm_new = absp(LC_PGM_NEW_PSW);
    uint64_t handler, opt, full, alias, pal;
    uint32_t storm, enabled_fh;
    unsigned int mib, s;
    uint16_t pec;

    asm("larl %0,pgm_handler" : "=a" (handler));
    pgm_new[0] = 0x0000000180000000ULL;     /* 64-bit, all masked */
    pgm_new[1] = handler;
    pgm_take();

    console_setup();
    opt = ld64(absp(OPTIONS_ADDR));
    mib = (opt & 0xff) ? 1U << ((opt & 0xff) > 12 ? 12 : (opt & 0xff)) : 64;
    full = (uint64_t)mib * MIB;
    alias = GIB << (((opt >> 8) & 0xff) > 10 ? 10 : ((opt >> 8) & 0xff));
    storm = ((opt >> 16) & 0xff) ? (uint32_t)((opt >> 16) & 0xff) * 1000
                                 : 5000;
    line_len = 0;
    put_str("hostile options=");
    put_hex(opt);
    put_kv_dec("full_mib", mib);
    put_kv_dec("alias_gib", alias / GIB);
    put_kv_dec("storm", storm);
    line_flush();
    events(&pec);

    fh = clp_find_function();
    fh = clp_set("clp_enable", fh, 0);

    /* the whole aperture pba .. pal, every level valid */
    tables_init();
    pal = SDMA + full - 1;
    mpcifc_case("reg_ioat", OC_REG_IOAT, SDMA, pal, iota(RT_AREA));
    mpcifc_case("reg_ioat_twice", OC_REG_IOAT, SDMA, pal, iota(RT_AREA));
    full_tree(mib, 1);
    rpcit_case("full_tree_map", SDMA, full);
    rpcit_case("full_tree_refresh", SDMA, full);
    full_tree(mib, 0);
    rpcit_case("full_tree_unmap", SDMA, full);
    rpcit_case("above_pal", pal + 1, 4096);

    /* a wide aperture for the rest: sdma .. 4 TiB - 1 */
    mpcifc_case("dereg_ioat", OC_DEREG_IOAT, 0, 0, 0);
    mpcifc_case("reg_ioat_wide", OC_REG_IOAT, SDMA, (4ULL << 40) - 1,
                iota(RT_AREA));

    /* every region-third entry names one segment table, whose every entry
     * names one page table of 256 valid pages */
    table_fill(PT_ALIAS, 256, 0);
    for (s = 0; s < 256; s++) {
        ((uint64_t *)absp(PT_ALIAS))[s] = frame(s);
    }
    table_fill(ST_ALIAS, 2048, PT_ALIAS);
    for (s = 0; s < alias / (2 * GIB) || s == 0; s++) {
        rt()[rtx(IOVA_ALIAS) + s] = rte(ST_ALIAS);
    }
    rpcit_case("alias_map", IOVA_ALIAS, alias);
    rpcit_case("alias_refresh", IOVA_ALIAS, alias);
    if (opt & OPT_BIG_ALIAS) {
        for (s = 0; s < 512; s++) {
            rt()[rtx(IOVA_ALIAS) + s] = rte(ST_ALIAS);
        }
        rpcit_case("alias_1t", IOVA_ALIAS, 1ULL << 40);
    }
    for (s = 0; s < 512; s++) {
        rt()[rtx(IOVA_ALIAS) + s] = TBL_INVALID;
    }
    rpcit_case("alias_unmap", IOVA_ALIAS, alias);

    /* loops: a segment entry naming its own table; two segment tables
     * naming each other; a region-third entry naming the region-third
     * table */
    table_fill(ST_LOOP_A, 2048, TBL_INVALID);
    table_fill(ST_LOOP_B, 2048, TBL_INVALID);
    ((uint64_t *)absp(ST_LOOP_A))[0] = ST_LOOP_A;
    rt()[rtx(IOVA_LOOP)] = rte(ST_LOOP_A);
    rpcit_case("loop_ste_self", IOVA_LOOP, MIB);
    ((uint64_t *)absp(ST_LOOP_A))[0] = ST_LOOP_B;
    ((uint64_t *)absp(ST_LOOP_B))[0] = ST_LOOP_A;
    rt()[rtx(IOVA_LOOP) + 1] = rte(ST_LOOP_B);
    rpcit_case("loop_ste_mutual", IOVA_LOOP, 4 * GIB);
    rt()[rtx(IOVA_LOOP) + 2] = rte(RT_AREA);
    rpcit_case("loop_rte_self", IOVA_LOOP + 4 * GIB, 2 * GIB);
    rt()[rtx(IOVA_LOOP)] = TBL_INVALID;
    rt()[rtx(IOVA_LOOP) + 1] = TBL_INVALID;
    rt()[rtx(IOVA_LOOP) + 2] = TBL_INVALID;
    rpcit_case("loop_unmap", IOVA_LOOP, 6 * GIB);

    /* outside guest RAM: a segment table, a page table, a page */
    rt()[rtx(IOVA_LOOP)] = rte(OOB_TABLE);
    rpcit_case("oob_segment_table", IOVA_LOOP, MIB);
    rt()[rtx(IOVA_LOOP)] = rte(ST_LOOP_A);
    table_fill(ST_LOOP_A, 2048, TBL_INVALID);
    ((uint64_t *)absp(ST_LOOP_A))[0] = OOB_TABLE;
    rpcit_case("oob_page_table", IOVA_LOOP, MIB);
    table_fill(PT_OOB, 256, PTE_INVALID);
    ((uint64_t *)absp(PT_OOB))[0] = OOB_PAGE;
    ((uint64_t *)absp(ST_LOOP_A))[0] = PT_OOB;
    rpcit_case("oob_page", IOVA_LOOP, MIB);
    rt()[rtx(IOVA_LOOP)] = TBL_INVALID;
    rpcit_case("oob_unmap", IOVA_LOOP, MIB);

    /* an IOTA whose region-third table is outside RAM */
    mpcifc_case("dereg_ioat_2", OC_DEREG_IOAT, 0, 0, 0);
    mpcifc_case("reg_ioat_oob", OC_REG_IOAT, SDMA, (4ULL << 40) - 1,
                iota(OOB_TABLE));
    rpcit_case("oob_region_table", SDMA, MIB);
    mpcifc_case("dereg_ioat_3", OC_DEREG_IOAT, 0, 0, 0);

    clp_storm(storm);

    /* the function disabled: RPCIT with its new and its old handle */
    mpcifc_case("reg_ioat_again", OC_REG_IOAT, SDMA, pal, iota(RT_AREA));
    enabled_fh = fh;
    fh = clp_set("clp_disable", fh, 1);
    {
        struct outcome o = { 0 };

        rpcit_do(fh, SDMA, 4096, &o);
        report("rpcit_disabled", &o);
        rpcit_do(enabled_fh, SDMA, 4096, &o);
        report("rpcit_disabled_old_fh", &o);
    }
    mpcifc_case("reg_ioat_disabled", OC_REG_IOAT, SDMA, pal, iota(RT_AREA));

    line_len = 0;
    put_str("done");
    put_kv_dec("cases", ncases);
    line_flush();
    shutdown();
}
