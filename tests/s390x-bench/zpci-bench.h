/*
 * zPCI RPCIT benchmark: options and results area
 *
 * A freestanding s390x program (zpci-bench.c) runs as the machine's BIOS,
 * builds I/O translation tables that map ZBENCH_PAGES 4 KiB pages (256 MiB)
 * for one emulated virtio-blk function, and times RPCIT over the whole
 * range with the TOD clock: a refresh while every entry is invalid and
 * nothing is mapped (empty), the first refresh after the tables were
 * filled (map), refreshes of the unchanged tables (refresh), and the
 * refresh after every entry was invalidated again (unmap). Its reader (scripts/bench) takes
 * this area from guest memory with QMP pmemsave; all multi-byte fields are
 * big-endian (guest byte order).
 *
 * Machine the program expects (see scripts/bench):
 *   -M s390-ccw-virtio -accel tcg -m 1024 -nodefaults -bios zpci-bench.elf
 *   -drive if=none,id=d0,format=raw,file=DISK  (ZB_DISK_SECTORS sectors of
 *          zb_disk_byte(), as for tests/s390x-bare)
 *   -device zpci,uid=ZB_UID,fid=ZB_FID,target=blk0
 *   -device virtio-blk-pci,id=blk0,drive=d0,iommu_platform=on,
 *           disable-legacy=on
 *   -device loader,addr=ZB_OPTIONS_ADDR,data=OPTIONS,data-len=8,data-be=on
 *
 * Checkpoints (ZBENCH_OPT_CHECKPOINTS): the program stores the checkpoint
 * in "checkpoint", increments "checkpoints" and waits, up to 60 s, for a
 * restart interruption (QMP inject-nmi). Meanwhile the reader notes the
 * QEMU process's memory (/proc/PID/status). Nothing else runs in the
 * guest while it waits.
 *
 * Completion: magic goes from ZBENCH_MAGIC_RUNNING to ZBENCH_MAGIC_DONE,
 * then the CPU loads an enabled-wait PSW that nothing ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ZPCI_BENCH_H
#define ZPCI_BENCH_H

#include <stdint.h>

/* Guest absolute address of struct zbench_results (as for zpci-bare). */
#define ZBENCH_RESULTS_ADDR     0x100000ULL
#define ZBENCH_RESULTS_SIZE     0x4000

#define ZBENCH_MAGIC_RUNNING    0x7a62656e63682d52ULL  /* "zbench-R" */
#define ZBENCH_MAGIC_DONE       0x7a62656e63682d44ULL  /* "zbench-D" */
#define ZBENCH_VERSION          1

/*
 * The options doubleword at ZB_OPTIONS_ADDR (zpci-bare.h), set with
 * -device loader. Zero means ZBENCH_OPT_DEFAULT.
 */
#define ZBENCH_OPT_CONTIGUOUS   0x00000001U /* layout: contiguous frames */
#define ZBENCH_OPT_SCATTERED    0x00000002U /* layout: scattered frames */
#define ZBENCH_OPT_CHECKPOINTS  0x00000004U /* wait at each checkpoint */
#define ZBENCH_OPT_DMA_CHECK    0x00000008U /* DMA through mapped pages */
#define ZBENCH_OPT_ROUNDS(o)    (((o) >> 8) & 0xff)     /* map..unmap */
#define ZBENCH_OPT_REFRESHES(o) (((o) >> 16) & 0xff)    /* per round */
#define ZBENCH_OPT_DEFAULT      (ZBENCH_OPT_CONTIGUOUS | \
                                 ZBENCH_OPT_SCATTERED | \
                                 ZBENCH_OPT_DMA_CHECK | 3U << 8 | 3U << 16)

/*
 * The mapped range: I/O addresses ZB_SDMA .. ZB_SDMA + 256 MiB - 1, also
 * the registered DMA range (pba .. pal), to guest frames in
 * ZBENCH_FRAMES .. + 256 MiB.
 */
#define ZBENCH_PAGES            65536U
#define ZBENCH_FRAMES           0x10000000ULL
/*
 * Page k of the range maps frame zbench_frame(layout, k) of ZBENCH_FRAMES:
 * contiguous, k; scattered, a permutation in which no two neighbouring
 * pages map neighbouring frames.
 */
#define ZBENCH_SCATTER          40503U      /* odd: a bijection mod 2^16 */
static inline uint32_t zbench_frame(int scattered, uint32_t k)
{
    return scattered ? (k * ZBENCH_SCATTER) & (ZBENCH_PAGES - 1) : k;
}

/*
 * Pages the DMA check reads a sector into (page 0 holds the virtqueue,
 * page 1 the request header).
 */
#define ZBENCH_DMA_PAGES        { 2, 0x1234, 0x8001, 0xffff }
#define ZBENCH_DMA_NPAGES       4

/* What a sample times. */
enum zbench_kind {
    ZBENCH_MAP = 1,         /* first RPCIT after the entries were filled */
    ZBENCH_REFRESH = 2,     /* RPCIT of the unchanged, mapped range */
    ZBENCH_UNMAP = 3,       /* RPCIT after every entry was invalidated */
    ZBENCH_EMPTY = 4,       /* RPCIT with every entry invalid, none mapped */
};

/* Where a checkpoint is: layout << 8 | one of these. */
enum zbench_checkpoint {
    ZBENCH_CKPT_EMPTY = 1,  /* entries invalid, after the first empty RPCIT */
    ZBENCH_CKPT_MAPPED = 2, /* after the first map RPCIT */
    ZBENCH_CKPT_UNMAPPED = 3, /* after the first unmap RPCIT */
};

/* What stopped the program early (error; detail says more). */
enum zbench_error {
    ZBENCH_OK = 0,
    ZBENCH_ERR_CLP_LIST = 1,    /* detail: cc << 16 | response code */
    ZBENCH_ERR_NO_FUNCTION = 2, /* detail: the fid of the first entry */
    ZBENCH_ERR_ENABLE = 3,      /* detail: cc << 16 | response code */
    ZBENCH_ERR_REG_IOAT = 4,    /* detail: cc << 8 | status */
    ZBENCH_ERR_RPCIT = 5,       /* detail: kind << 16 | cc << 8 | status */
    ZBENCH_ERR_PGM = 6,         /* detail: program-interruption code */
};

/* One timed RPCIT over the whole range. */
struct zbench_sample {
    uint8_t layout;         /* 0 contiguous, 1 scattered */
    uint8_t kind;           /* enum zbench_kind */
    uint8_t cc;             /* RPCIT condition code */
    uint8_t status;         /* RPCIT status (bits 32-39 of r1) */
    uint32_t round;
    uint64_t tod;           /* TOD clock units (bit 51 = 1 us: 4096/us) */
};

#define ZBENCH_MAX_SAMPLES      480

/* The DMA check of one layout. */
struct zbench_dma {
    uint32_t checked;       /* pages a sector was read into */
    uint32_t landed;        /* of those, the sector is in the page's frame */
    uint32_t device_status; /* virtio device status after the set-up */
    uint32_t pci_cc;        /* worst PCI load/store cc */
};

struct zbench_results {
    uint64_t magic;
    uint32_t version;
    uint32_t options;       /* the options the program used */
    uint32_t pages;         /* ZBENCH_PAGES */
    uint32_t fh;            /* enabled function handle */
    uint32_t checkpoint;    /* the last checkpoint reached */
    uint32_t checkpoints;   /* checkpoints reached so far */
    uint32_t checkpoint_timeouts;
    uint32_t error;         /* enum zbench_error */
    uint64_t detail;
    uint32_t npgm;          /* program interruptions taken */
    uint32_t nsamples;
    struct zbench_dma dma[2];
    struct zbench_sample sample[ZBENCH_MAX_SAMPLES];
};

#endif
