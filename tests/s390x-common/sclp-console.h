/*
 * SCLP console output for the freestanding s390x programs: one line per
 * write-event-data SCCB (an ASCII console data event), which QEMU's
 * sclpconsole device hands to its chardev.
 *
 * The including program defines SCCB_AREA (the guest absolute address of a
 * free 4 KiB block) and provides absp(), memset(), poke8(), st16() and st32(), as
 * tests/s390x-common/zpci-insn.h and tests/s390x-bare/zpci-bare.c do.
 *
 *   console_setup();                         once
 *   put_str("case=x"); put_kv_dec("cc", 0);  build a line
 *   line_flush();                            write it, newline added
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SCLP_CONSOLE_H
#define SCLP_CONSOLE_H

#include <stdint.h>

#ifndef SCLP_LINE_MAX
#define SCLP_LINE_MAX           200     /* longer lines are cut */
#endif

#define SCLP_WRITE_EVENT_DATA   0x00760005U
#define SCLP_WRITE_EVENT_MASK   0x00780005U
#define SCLP_MASK_MSG_ASCII     0x00000040U
#define SCLP_EVENT_ASCII        0x1a

/* SERVICE CALL (SCLP) with command cmd on the SCCB at absolute sccb. */
static inline int servc(uint32_t cmd, uint64_t sccb)
{
    int cc;

    asm volatile("  .insn rre,0xb2200000,%[cmd],%[sccb]\n"
                 "  ipm %[cc]\n"
                 "  srl %[cc],28\n"
                 : [cc] "=&d" (cc)
                 : [cmd] "d" ((uint64_t)cmd), [sccb] "a" (absp(sccb))
                 : "cc", "memory");
    return cc;
}

static char line[SCLP_LINE_MAX];
static unsigned int line_len;

static void console_setup(void)
{
    uint8_t *s = absp(SCCB_AREA);

    memset(s, 0, 64);
    st16(s, 28);                            /* header length */
    st16(s + 10, 4);                        /* mask length */
    st32(s + 12, 0);                        /* receive mask */
    st32(s + 16, SCLP_MASK_MSG_ASCII);      /* send mask */
    servc(SCLP_WRITE_EVENT_MASK, SCCB_AREA);
}

static void put_str(const char *str)
{
    while (*str && line_len < sizeof(line) - 1) {
        line[line_len++] = *str++;
    }
}

static void put_dec(uint64_t v)
{
    char d[24];
    int n = 0;

    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && line_len < sizeof(line) - 1) {
        line[line_len++] = d[--n];
    }
}

static void put_hex(uint64_t v)
{
    char d[20];
    int n = 0;

    do {
        d[n++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v);
    put_str("0x");
    while (n && line_len < sizeof(line) - 1) {
        line[line_len++] = d[--n];
    }
}

static void put_kv_dec(const char *k, uint64_t v)
{
    put_str(" ");
    put_str(k);
    put_str("=");
    put_dec(v);
}

static void put_kv_hex(const char *k, uint64_t v)
{
    put_str(" ");
    put_str(k);
    put_str("=");
    put_hex(v);
}

static void line_flush(void)
{
    uint8_t *s = absp(SCCB_AREA);
    unsigned int i;

    line[line_len++] = '\n';
    memset(s, 0, 16);
    for (i = 0; i < line_len; i++) {
        poke8(s + 14 + i, (uint8_t)line[i]);
    }
    st16(s, (uint16_t)(14 + line_len));     /* SCCB length */
    s[2] = 0;                               /* normal write */
    st16(s + 8, (uint16_t)(6 + line_len));  /* event buffer length */
    s[10] = SCLP_EVENT_ASCII;
    servc(SCLP_WRITE_EVENT_DATA, SCCB_AREA);
    line_len = 0;
}

#endif
