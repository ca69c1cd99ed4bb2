/*
 * zPCI firmware-instruction probe: the results area
 *
 * A freestanding s390x program (zpci-bare.c) runs as the machine's BIOS,
 * issues CLP, MPCIFC, RPCIT, STPCIFC, PCI load/store and CHSC against one
 * emulated function, and records every answer here, at a fixed guest
 * absolute address. Its readers (QEMU's tests/qtest/s390x-zpci-test.c,
 * zpci-rs's scripts/bare-run) take this area from guest memory, so this
 * header is the only contract between them; all multi-byte fields are
 * big-endian (guest byte order).
 *
 * Machine the program expects (see scripts/bare-run and the qtest):
 *   -M s390-ccw-virtio -accel tcg -m 128M -nodefaults -bios zpci-bare.elf
 *   -drive if=none,id=d0,format=raw,file=DISK  (ZB_DISK_SECTORS sectors,
 *          filled with zb_disk_byte())
 *   -device zpci,uid=ZB_UID,fid=ZB_FID,target=blk0
 *   -device virtio-blk-pci,id=blk0,drive=d0,iommu_platform=on,
 *           disable-legacy=on
 *   -device zpci,uid=ZB_UID2,fid=ZB_FID2,target=rng0
 *   -device virtio-rng-pci,id=rng0
 *
 * Completion: header.magic goes from ZB_MAGIC_RUNNING to ZB_MAGIC_DONE, then
 * the CPU loads an enabled-wait PSW that no interruption can end (no
 * external subclass is enabled), so the machine stays up for the reader.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ZPCI_BARE_H
#define ZPCI_BARE_H

#include <stdint.h>

/* Guest absolute address of struct zb_results. */
#define ZB_RESULTS_ADDR     0x100000ULL
/*
 * Guest absolute address of the options doubleword (zero unless
 * "-device loader,addr=ZB_OPTIONS_ADDR,data=...,data-len=8,data-be=on"
 * sets it).
 */
#define ZB_OPTIONS_ADDR     0x10f000ULL
/* Option: also run RPCIT over sdma..4 TiB - 1 (slow under QEMU). */
#define ZB_OPT_WIDE_RPCIT   0x00000001U

#define ZB_MAGIC_RUNNING    0x7a7063692d52554eULL /* "zpci-RUN" */
#define ZB_MAGIC_DONE       0x7a7063692d444f4eULL /* "zpci-DON" */
#define ZB_VERSION          1

/* The functions on the command line. */
#define ZB_UID              5
#define ZB_FID              42
#define ZB_UID2             0xa
#define ZB_FID2             12

/* The disk behind the virtio-blk function. */
#define ZB_DISK_SECTORS     8
#define ZB_SECTOR_SIZE      512

/* Byte i of sector s of the disk as the reader creates it. */
static inline uint8_t zb_disk_byte(unsigned int s, unsigned int i)
{
    return (uint8_t)(s * 0x35 + i * 7 + (i >> 8));
}

/* Byte i of the sector the program writes to ZB_WRITE_SECTOR. */
#define ZB_WRITE_SECTOR     1
static inline uint8_t zb_write_byte(unsigned int i)
{
    return (uint8_t)(0xc3 ^ (i * 13));
}

/*
 * Guest absolute memory the program uses (below 3 MiB) and the I/O virtual
 * addresses (IOVAs) it maps. ZB_SDMA is QEMU's start of the DMA aperture
 * of emulated functions; page table 0 translates ZB_SDMA .. + 1 MiB, page
 * table 1 the next MiB.
 */
#define ZB_SDMA             0x100000000ULL
#define ZB_IOVA_DATA        (ZB_SDMA + 0x0000)      /* page 0 */
#define ZB_IOVA_UNAL        (ZB_SDMA + 0x2000)      /* pages 2, 3 */
#define ZB_IOVA_ZERO_PTE    (ZB_SDMA + 0x5000)      /* page 5 */
#define ZB_IOVA_RING        (ZB_SDMA + 0x10000)     /* page 0x10 */
#define ZB_IOVA_HDR         (ZB_SDMA + 0x11000)     /* page 0x11 */
#define ZB_IOVA_1M          (ZB_SDMA + 0x100000)    /* page table 1 */
#define ZB_RT_SPAN          (1ULL << 42)    /* reach of a region-third table */

#define ZB_PHYS_DATA        0x140000ULL     /* IOVA page 0 */
#define ZB_PHYS_UNAL_A      0x141000ULL     /* IOVA page 2 */
#define ZB_PHYS_UNAL_A_NEXT 0x142000ULL     /* ZB_PHYS_UNAL_A + 4 KiB */
#define ZB_PHYS_UNAL_B      0x148000ULL     /* IOVA page 3 */
#define ZB_PHYS_BIG         0x200000ULL     /* 1 MiB, page table 1 */

/* Page i of page table 1 maps ZB_PHYS_BIG + zb_big_page(i) * 4 KiB. */
static inline unsigned int zb_big_page(unsigned int i)
{
    return (i * 37 + 11) & 0xff;
}
#define ZB_BIG_DMA_PAGE     0x80    /* the page of ZB_IOVA_1M read into */

/* The Linux-like aperture of ZB_MPCIFC_REREG: sdma .. sdma + 128 MiB - 1 */
#define ZB_APERTURE_SMALL   (128ULL << 20)

/* One CHSC store-event-information answer, preceded by one STCRW. */
struct zb_event {
    uint32_t crw;           /* channel report word stored by STCRW */
    uint8_t crw_cc;         /* STCRW cc: 0 a CRW was stored, 1 none pending */
    uint8_t chsc_cc;        /* CHSC condition code */
    uint16_t code;          /* CHSC response code: 1 event stored, 5 none */
    uint8_t flags;          /* 0x80: more event information pending */
    uint8_t nt;             /* notification type, 2 = PCI */
    uint8_t cc;             /* content code: 1 error, 2 availability */
    uint8_t pad0;
    uint16_t pec;           /* PCI event code */
    uint16_t pad1;
    uint32_t fh;            /* function handle */
    uint32_t fid;           /* function id */
    uint32_t e;             /* ett, mvn, dmaas, q, rw */
    uint32_t pad2;
    uint64_t faddr;         /* failing address */
};

#define ZB_NVAL             8

/*
 * One step: an instruction (or short sequence) under test, then an STCRW,
 * a CHSC store-event-information and an STPCIFC on the function.
 */
struct zb_step {
    uint8_t ran;            /* 1 once the step has run */
    uint8_t cc;             /* cc of the instruction under test */
    uint8_t status;         /* status: bits 32-39 of the request register */
    uint8_t fc;             /* STPCIFC function controls after the step */
    uint8_t fc_cc;          /* STPCIFC condition code */
    uint8_t pad0;
    uint16_t pgm;           /* program-interruption code, 0 if none */
    uint16_t rsp;           /* CLP response code, 0 if not a CLP step */
    uint16_t pad1;
    uint32_t usecs;         /* TOD microseconds the step took (information) */
    uint64_t val[ZB_NVAL];  /* step-specific values, see enum zb_step_id */
    struct zb_event ev;     /* event information pending after the step */
};

/* The cc recorded when the instruction took a program interruption */
#define ZB_CC_PGM           0xff

/* DMA steps fill val[] the same way. */
enum {
    ZB_DMA_REQ_STATUS = 0,  /* virtio-blk status byte, 0xff if not completed */
    ZB_DMA_USED_IDX,        /* used-ring index after the wait */
    ZB_DMA_DEV_STATUS,      /* virtio device status after the wait */
    ZB_DMA_FIRST8,          /* first 8 bytes at the expected landing page */
    ZB_DMA_LANDED,          /* 1: 512 bytes at the expected place are right */
    ZB_DMA_UNTOUCHED,       /* 1: the place that must not change did not */
    ZB_DMA_OTHER,           /* step-specific, see the step */
};

/*
 * The steps, in the order they run. "fh" is the function handle of the
 * virtio-blk function at that point (ZB_CLP_ENABLE returns the enabled one).
 * Unless a step says otherwise, val[] is unused (zero). IOVA_x and PHYS_x
 * stand for ZB_IOVA_x and ZB_PHYS_x.
 */
enum zb_step_id {
    /* val0: CRWs drained, val1: events drained */
    ZB_START = 0,

    /* CLP List PCI Functions */
    ZB_CLP_LIST,            /* whole block: ZB_BLK_LIST */
    ZB_CLP_LIST_ONE,        /* room for one entry: ZB_BLK_LIST_ONE */
    ZB_CLP_LIST_RESUME,     /* token of LIST_ONE: ZB_BLK_LIST_RESUME */
    ZB_CLP_LIST_BAD_TOKEN,  /* resume token 0x1234 */
    ZB_CLP_LIST_SHORT,      /* response length 40 */
    ZB_CLP_LIST_ODD_LEN,    /* response length 56 (not 32 + n * 16) */
    ZB_CLP_LIST_FMT,        /* request format 1 */
    ZB_CLP_LIST_RESERVED,   /* reserved request field not zero */

    /* CLP, any command */
    ZB_CLP_REQ_LEN,         /* request length 24 */
    ZB_CLP_REQ_LEN_PGM,     /* request length 12 */
    ZB_CLP_UNKNOWN_CMD,     /* command 0x77 */
    ZB_CLP_SLPC,            /* command 1, store logical-processor chars. */

    /* CLP Query PCI Function, Query PCI Function Group */
    ZB_CLP_QUERY_FN,        /* disabled fh, zeroed: ZB_BLK_QUERY_FN */
    ZB_CLP_QUERY_FN_POISON, /* same, response pre-filled with ZB_POISON */
    ZB_CLP_QUERY_FN_BAD_FH, /* fh 0x00020777 */
    ZB_CLP_QUERY_GRP,       /* the function's pfgid: ZB_BLK_QUERY_GRP */
    ZB_CLP_QUERY_GRP_POISON,
    ZB_CLP_QUERY_GRP_BAD,   /* pfgid 0x42 */
    ZB_CLP_QUERY_FN2,       /* the second function: ZB_BLK_QUERY_FN2 */

    /* CLP Set PCI Function */
    ZB_CLP_DISABLE_DISABLED,
    ZB_CLP_ENABLE_NDAS0,
    ZB_CLP_ENABLE_NDAS2,
    ZB_CLP_SET_MIO,         /* oc 2, enable MIO */
    ZB_CLP_ENABLE,          /* val0: fh returned */
    ZB_CLP_ENABLE_AGAIN,    /* the enabled fh */
    ZB_CLP_ENABLE_STALE_FH, /* the disabled fh */
    ZB_CLP_LIST_ENABLED,    /* ZB_BLK_LIST_ENABLED */
    ZB_CLP_QUERY_FN_ENABLED, /* ZB_BLK_QUERY_FN_ENABLED */
    ZB_CLP_QUERY_FN_STALE_FH,

    /* PCI configuration space and the virtio transport */
    ZB_PCI_CFG_IDS,         /* val0: dword 0 (device << 16 | vendor) */
    ZB_PCI_CFG_BARS,        /* val0..5: BAR0..BAR5 as PCI LOAD reads them */
    ZB_PCI_CFG_COMMAND,     /* PCI STORE command = 6; val0: read back */
    /*
     * val0..3: (bar << 32 | offset) of the common, notify, isr and device
     * configuration; val4: notify multiplier; val5: device features
     */
    ZB_VIRTIO_CAPS,

    /* MPCIFC and RPCIT before any translation is registered */
    ZB_RPCIT_NO_IOAT,       /* RPCIT(sdma, 4 KiB) */
    ZB_RPCIT_IN_ERROR,      /* the same, function now in the error state */
    ZB_MPCIFC_RESET_BLOCK,  /* oc 9 from the error state */
    ZB_MPCIFC_RESET_ERROR,  /* oc 7 from the blocked state */
    ZB_MPCIFC_RESET_NOT_ERR, /* oc 7 again */
    ZB_MPCIFC_DEREG_NOT_REG, /* oc 5 */
    ZB_MPCIFC_REG_DMAAS1,   /* oc 4 with DMA address space 1 */
    ZB_MPCIFC_REG_PBA_LOW,  /* pba below sdma */
    ZB_MPCIFC_REG_PAL_HIGH, /* pal above edma */
    ZB_MPCIFC_REG_PBA_GT_PAL,
    ZB_MPCIFC_REG_DT_STO,   /* IOTA designation type 0 (segment table) */
    ZB_MPCIFC_REG_NO_T,     /* IOTA without the translation bit */
    ZB_MPCIFC_FIB_ALIGN,    /* FIB address not on a doubleword */
    ZB_MPCIFC_FIB_FMT,      /* FIB format 1 */
    ZB_MPCIFC_BAD_OC,       /* oc 0x20 */
    ZB_MPCIFC_BAD_FH,       /* fh 0x80020777 */
    /* pba sdma + 0x123, pal edma & ~0xfff; val0..2: STPCIFC pba, pal, iota */
    ZB_MPCIFC_REG_IOAT,
    ZB_MPCIFC_REG_AGAIN,

    /* RPCIT and DMA through the translation */
    ZB_RPCIT_MAP_RING,      /* ring and header pages, RPCIT 8 KiB */
    /* val0: device status, val1: max queue size, val2: queues, val3: size */
    ZB_VIRTIO_INIT,
    ZB_RPCIT_MAP,           /* IOVA_DATA -> PHYS_DATA, RPCIT 4 KiB */
    ZB_DMA_MAPPED,          /* read sector 0 into IOVA_DATA */
    ZB_RPCIT_UNMAP,         /* entry invalidated, RPCIT 4 KiB */
    ZB_DMA_UNMAPPED,        /* read sector 0 into IOVA_DATA */
    /*
     * If the function is in the error or blocked state: MPCIFC oc 7, then
     * virtio reset and set-up. val0: 1 if it was, val1: device status after
     * the set-up, val2: worst PCI cc of the set-up. The other ZB_RECOVER_x
     * steps are the same; those after RPCIT steps leave the device alone.
     */
    ZB_RECOVER_UNMAPPED,
    ZB_DMA_NO_RPCIT,        /* entry valid again, no RPCIT, read sector 0 */
    ZB_RECOVER_NO_RPCIT,
    ZB_RPCIT_REMAP,         /* RPCIT 4 KiB */
    ZB_DMA_REMAPPED,        /* read sector 0 */
    ZB_RPCIT_PROTECT,       /* entry with the protection bit, RPCIT */
    ZB_DMA_WRITE_PROTECTED, /* write sector 1 from the protected page */
    ZB_DMA_READ_PROTECTED,  /* read sector 0 into the protected page */
    ZB_RECOVER_PROTECTED,
    ZB_RPCIT_UNPROTECT,
    ZB_DMA_READ_BACK,       /* read sector 1: what WRITE_PROTECTED wrote */
    ZB_RPCIT_1M,            /* 256 scattered pages, RPCIT(IOVA_1M, 1 MiB) */
    /*
     * read sector 2 into page ZB_BIG_DMA_PAGE of IOVA_1M; val[ZB_DMA_OTHER]:
     * 1 if no other page of PHYS_BIG changed
     */
    ZB_DMA_1M,
    /* pages 2, 3 of IOVA_UNAL to PHYS_UNAL_A, _B; RPCIT(+ 0x800, 4 KiB) */
    ZB_RPCIT_UNALIGNED,
    /*
     * read sector 3 into IOVA_UNAL + 4 KiB: LANDED means at PHYS_UNAL_B (by
     * its own entry); val[ZB_DMA_OTHER]: 1 if at PHYS_UNAL_A_NEXT instead
     */
    ZB_DMA_UNALIGNED,
    ZB_RECOVER_UNALIGNED,
    ZB_RPCIT_BELOW_PBA,     /* RPCIT(pba - 4 KiB, 4 KiB) */
    ZB_RECOVER_BELOW_PBA,
    ZB_RPCIT_ALIAS_4T,      /* RPCIT(IOVA_DATA + 4 TiB, 4 KiB) */
    /* read sector 4 into IOVA_DATA + 4 TiB; LANDED means at PHYS_DATA */
    ZB_DMA_ALIAS_4T,
    ZB_RECOVER_ALIAS,
    ZB_RPCIT_ZERO_PTE,      /* page-table entry of all zeros, RPCIT 4 KiB */
    ZB_RECOVER_ZERO_PTE,
    ZB_RPCIT_ZERO_RTE,      /* region-third entry of all zeros */
    ZB_RECOVER_ZERO_RTE,
    ZB_RPCIT_BAD_TL,        /* region-third entry with table length 1 */
    ZB_RECOVER_BAD_TL,
    ZB_RPCIT_BAD_TF,        /* region-third entry with table offset 1 */
    ZB_RECOVER_BAD_TF,
    ZB_RPCIT_BAD_TT,        /* region-third entry of segment-table type */
    ZB_RECOVER_BAD_TT,
    ZB_RPCIT_2M,            /* RPCIT(sdma, 2 MiB), both page tables */
    ZB_RPCIT_LEN0,          /* RPCIT(sdma, 0) */
    ZB_RPCIT_ODD_R2,        /* RPCIT with an odd second register */
    ZB_RPCIT_BAD_FH,        /* fh 0x80020777 */
    /* oc 6 to pba sdma, pal sdma + 128 MiB - 1; val0..2 as REG_IOAT */
    ZB_MPCIFC_REREG,
    ZB_RPCIT_ABOVE_PAL,     /* RPCIT(pal + 1, 4 KiB) */
    ZB_RECOVER_ABOVE_PAL,
    /* RPCIT(pba, pal - pba + 1), tables mostly invalid; usecs is the cost */
    ZB_RPCIT_APERTURE,
    /* only with ZB_OPT_WIDE_RPCIT: RPCIT(sdma, 4 TiB - sdma); usecs */
    ZB_RPCIT_WIDE,

    /* deregistration and disabling */
    ZB_MPCIFC_DEREG,        /* oc 5 */
    ZB_RPCIT_AFTER_DEREG,   /* RPCIT(sdma, 4 KiB) */
    ZB_RECOVER_AFTER_DEREG,
    ZB_MPCIFC_REG_IOAT2,    /* register again */
    ZB_CLP_DISABLE,         /* with the translation registered; val0: fh */
    ZB_RPCIT_DISABLED,      /* disabled fh */
    ZB_RPCIT_DISABLED_OLD_FH, /* the fh that was enabled */
    ZB_MPCIFC_DISABLED,     /* oc 4, disabled fh */
    ZB_CLP_DISABLE_AGAIN,
    ZB_CLP_REENABLE,        /* val0: fh */
    ZB_MPCIFC_DEREG_AFTER_REENABLE, /* oc 5: the translation is gone */
    ZB_CLP_DISABLE_FINAL,   /* val0: fh */
    ZB_STEP_NR
};

/* Response blocks kept whole, from the response header on. */
enum zb_block_id {
    ZB_BLK_LIST = 0,
    ZB_BLK_LIST_ONE,
    ZB_BLK_LIST_RESUME,
    ZB_BLK_LIST_ENABLED,
    ZB_BLK_QUERY_FN,
    ZB_BLK_QUERY_FN_POISON,
    ZB_BLK_QUERY_FN_ENABLED,
    ZB_BLK_QUERY_FN2,
    ZB_BLK_QUERY_GRP,
    ZB_BLK_QUERY_GRP_POISON,
    ZB_BLK_SET_ENABLE,
    ZB_BLK_NR
};
#define ZB_BLK_SIZE         384     /* Linux's Query PCI Function response */
#define ZB_POISON           0xa5

/* Offsets in the blocks, as Linux's asm/pci_clp.h has them */
#define ZB_RSP_LEN          0       /* u16 response length */
#define ZB_RSP_CODE         2       /* u16 response code */
#define ZB_LIST_TOKEN       16      /* u64 resume token */
#define ZB_LIST_MDD         24      /* u32 (reserved in Linux) */
#define ZB_LIST_MAX_FN      28      /* u16 */
#define ZB_LIST_FLAGS       30      /* u8: 0x01 uid checking */
#define ZB_LIST_ENTRY_SIZE  31      /* u8 */
/* 16-byte entries: u16 device, u16 vendor, u32 config, u32 fid, u32 fh */
#define ZB_LIST_ENTRY0      32
#define ZB_QFN_VFN          16      /* u16 */
#define ZB_QFN_FLAGS        18      /* u8 */
#define ZB_QFN_PFGID        19      /* u8 */
#define ZB_QFN_FID          20      /* u32 */
#define ZB_QFN_BAR_SIZE     24      /* u8[6] */
#define ZB_QFN_PCHID        30      /* u16 */
#define ZB_QFN_BAR          32      /* __le32[6] */
#define ZB_QFN_PFIP         56      /* u8[4] */
#define ZB_QFN_PORT         60      /* u16, low 4 bits */
#define ZB_QFN_FMBL         62      /* u8 */
#define ZB_QFN_PFT          63      /* u8 */
#define ZB_QFN_SDMA         64      /* u64 */
#define ZB_QFN_EDMA         72      /* u64 */
#define ZB_QFN_RID          80      /* u16 */
#define ZB_QFN_TID          86      /* u16 */
#define ZB_QFN_UID          124     /* u32 */
#define ZB_QFN_UTIL_STR     128     /* u8[64] */
#define ZB_QFN_END          192     /* end of the fields QEMU writes */
#define ZB_QFN_MIO          256     /* struct mio_info, to the end (384) */
#define ZB_QGRP_NOI         16      /* u16, low 12 bits */
#define ZB_QGRP_VERSION     18      /* u8 */
#define ZB_QGRP_FLAGS       19      /* u8: 0x02 frame, 0x01 refresh */
#define ZB_QGRP_MAXSTBL     20      /* u16, low 13 bits */
#define ZB_QGRP_MUI         22      /* u16 */
#define ZB_QGRP_DTSM        24      /* u8 */
#define ZB_QGRP_MAXFAAL     26      /* u16 */
#define ZB_QGRP_DNOI        28      /* u16, low 12 bits */
#define ZB_QGRP_MAXCPU      30      /* u16 */
#define ZB_QGRP_DASM        32      /* u64 */
#define ZB_QGRP_MSIA        40      /* u64 */
#define ZB_QGRP_END         64
#define ZB_SET_FH           16      /* u32 */

struct zb_results {
    uint64_t magic;
    uint32_t version;
    uint32_t nsteps;        /* ZB_STEP_NR of the program */
    uint32_t current;       /* the step running (or last run) */
    uint32_t options;       /* the options the program saw */
    uint32_t npgm;          /* program interruptions taken */
    uint32_t pad;
    struct zb_step step[ZB_STEP_NR];
    uint8_t block[ZB_BLK_NR][ZB_BLK_SIZE];
};

#endif
