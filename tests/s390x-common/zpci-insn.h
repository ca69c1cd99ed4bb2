/*
 * The zPCI instructions and guest-memory helpers of the freestanding s390x
 * programs that run as the machine's BIOS (tests/s390x-hostile,
 * tests/s390x-bench; the probe in tests/s390x-bare keeps its own copy,
 * byte for byte the one QEMU's qtest embeds). Each program is one
 * translation unit that includes this header once, after
 * "#pragma GCC visibility push(hidden)".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ZPCI_INSN_H
#define ZPCI_INSN_H

#include <stddef.h>
#include <stdint.h>

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
 * Memory the device, the firmware or the reader also access: volatile, so
 * that no access is cached in a register, merged or dropped. The guest is
 * big-endian, as the tables, the firmware blocks and the results areas
 * are; the accesses are naturally aligned.
 */
static inline uint8_t peek8(const void *p)
{
    return *(const volatile uint8_t *)p;
}

static inline void poke8(void *p, uint8_t v)
{
    *(volatile uint8_t *)p = v;
}

static inline uint16_t ld16(const void *p)
{
    return *(const volatile uint16_t *)p;
}

static inline uint32_t ld32(const void *p)
{
    return *(const volatile uint32_t *)p;
}

static inline uint64_t ld64(const void *p)
{
    return *(const volatile uint64_t *)p;
}

static inline void st16(void *p, uint16_t v)
{
    *(volatile uint16_t *)p = v;
}

static inline void st32(void *p, uint32_t v)
{
    *(volatile uint32_t *)p = v;
}

static inline void st64(void *p, uint64_t v)
{
    *(volatile uint64_t *)p = v;
}

/* STORE CLOCK: the TOD clock (bit 51 is one microsecond). */
static inline uint64_t tod(void)
{
    uint64_t t;

    asm volatile(".insn s,0xb2050000,%[t]" : [t] "=Q" (t) : : "cc");
    return t;
}

/* CLP with lps 2 (PCI) on the request block at absolute address blk. */
static inline int clp_insn(uint64_t blk)
{
    uint64_t ignored;
    int cc;

    asm volatile("  .insn rrf,0xb9a00000,%[ign],%[req],0,2\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [ign] "=&d" (ignored)
                 : [req] "a" (absp(blk))
                 : "cc", "memory");
    return cc;
}

/* MODIFY PCI FUNCTION CONTROLS; *req gets the status byte back. */
static inline int mpcifc(uint64_t *req, void *fib)
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
static inline int stpcifc(uint64_t *req, void *fib)
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
static inline int rpcit(uint64_t *fn, uint64_t addr, uint64_t len)
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

/* PCI LOAD; *req gets the status byte back. */
static inline int pcilg(uint64_t *req, uint64_t offset, uint64_t *data)
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
static inline int pcistg(uint64_t *req, uint64_t offset, uint64_t data)
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

/* CHANNEL SUBSYSTEM CALL on the block at absolute address area. */
static inline int chsc(uint64_t area)
{
    int cc;

    asm volatile("  .insn rre,0xb25f0000,%[area],0\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc)
                 : [area] "d" (absp(area))
                 : "cc", "memory");
    return cc;
}

/* STORE CHANNEL REPORT WORD. */
static inline int stcrw(uint32_t *crw)
{
    int cc;

    asm volatile("  .insn s,0xb2390000,%[crw]\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc), [crw] "=Q" (*crw)
                 : : "cc", "memory");
    return cc;
}

#endif
