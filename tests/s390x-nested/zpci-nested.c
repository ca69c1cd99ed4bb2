/*
 * zPCI passthrough guest: the L2 machine of the nested test
 *
 * Runs as the BIOS of an s390-ccw-virtio machine whose one zPCI function
 * is a vfio-pci function of the s390x Linux guest running that machine's
 * QEMU (tests/nested/). It drives the function the way Linux does, never
 * letting the device touch an address it has not mapped (an unmapped DMA
 * puts the real function of the guest's kernel in the error state, which
 * vfio-pci has no way to undo):
 *
 *   - CLP List, Query PCI Function and Query PCI Function Group (both
 *     response blocks printed whole), Set PCI Function (enable);
 *   - PCI load/store: ids, BARs, command register, virtio capabilities;
 *   - MPCIFC register I/O address translation over the whole aperture
 *     (the probe's IOVAs taken from the start of the aperture CLP gives);
 *   - RPCIT map, virtio-blk reads by DMA into the mapped pages, checked
 *     against the disk's known bytes, RPCIT unmap;
 *   - 1 MiB of contiguous frames mapped by one RPCIT, a read into it;
 *   - scattered pages mapped one RPCIT each until RPCIT answers CC 1 with
 *     status 16 (insufficient resources) or 256 pages are mapped; all
 *     unmapped by one RPCIT, then one page mapped again and read into.
 *
 * The steps are those of the zPCI probe (tests/s390x-bare, whose code this
 * file includes rather than copies); each prints one line on the SCLP
 * console:
 *
 *   step=NAME cc=N status=N rsp=0xN pgm=0xN fc=0xN pec=0xN v0=0xN ... v7=0xN
 *   block=NAME off=N hex=...      (64 bytes of a CLP response per line)
 *   limit mapped=N cc=N status=N
 *   done
 *
 * After "done" the CPU waits with nothing enabled, so that the machine
 * stays up for the reader's QMP queries.
 *
 * Machine (tests/nested/l1-init):
 *   -M s390-ccw-virtio -accel tcg -m 128M -nodefaults -bios zpci-nested.elf
 *   -chardev file,id=con,path=OUT -device sclpconsole,chardev=con
 *   -device zpci,uid=U,fid=F,target=hostdev0
 *   -device vfio-pci,host=ADDRESS,id=hostdev0
 * The disk behind the function holds zb_disk_byte() (zpci-bare.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdint.h>

/*
 * The probe's IOVAs are offsets from the start of the DMA aperture, which
 * here is what the function's Query PCI Function answer says (a host's
 * sdma, passed through), not the 4 GiB of QEMU's emulated functions.
 */
#include "../s390x-bare/zpci-bare.h"
static uint64_t nested_sdma;    /* set from the answer before any use */
#undef ZB_SDMA
#define ZB_SDMA nested_sdma

/* The probe, whole: its probe_main is renamed and not run here. */
#define probe_main zb_probe_main
#include "../s390x-bare/zpci-bare.c"
#undef probe_main

#define SCCB_AREA       0x0f0000ULL     /* below everything the probe uses */
#define SCLP_LINE_MAX   220
#include "../s390x-common/sclp-console.h"

static void print_step(const char *name, enum zb_step_id id)
{
    const struct zb_step *s = &RES->step[id];
    int i;

    put_str("step=");
    put_str(name);
    put_kv_dec("cc", s->cc);
    put_kv_dec("status", s->status);
    put_kv_hex("rsp", s->rsp);
    put_kv_hex("pgm", s->pgm);
    put_kv_hex("fc", s->fc);
    put_kv_hex("pec", s->ev.code == 0x0001 ? s->ev.pec : 0);
    for (i = 0; i < ZB_NVAL; i++) {
        put_str(" v");
        put_dec((uint64_t)i);
        put_str("=");
        put_hex(s->val[i]);
    }
    line_flush();
}

static void print_block(const char *name, enum zb_block_id id,
                        unsigned int len)
{
    const uint8_t *b = RES->block[id];
    unsigned int off, i;

    for (off = 0; off < len; off += 64) {
        put_str("block=");
        put_str(name);
        put_kv_dec("off", off);
        put_str(" hex=");
        for (i = off; i < off + 64 && i < len; i++) {
            char h[3] = {
                "0123456789abcdef"[b[i] >> 4], "0123456789abcdef"[b[i] & 15], 0
            };

            put_str(h);
        }
        line_flush();
    }
}

static void say(const char *what)
{
    put_str(what);
    line_flush();
}

/* A virtio-blk read of sector s into iova, checked where it must land. */
static void dma_check(const char *name, enum zb_step_id id, unsigned int s,
                      uint64_t iova, uint64_t phys)
{
    dma_read_step(id, s, iova, phys);
    print_step(name, id);
}

/* Map pages one RPCIT each until one is refused; returns how many were. */
static unsigned int map_until_refused(int *cc, uint8_t *status)
{
    unsigned int i;

    *cc = 0;
    *status = 0;
    for (i = 0; i < 256; i++) {
        uint64_t fn = (uint64_t)fh << 32;

        pt1()[i] = ZB_PHYS_BIG + ((uint64_t)zb_big_page(i) << 12);
        *cc = rpcit(&fn, ZB_IOVA_1M + ((uint64_t)i << 12), 4096);
        if (*cc) {
            *status = (uint8_t)(fn >> 24);
            pt1()[i] = PTE_INVALID;
            break;
        }
    }
    return i;
}

static void nested_steps(void)
{
    uint8_t *qfn = RES->block[ZB_BLK_QUERY_FN];
    uint8_t status;
    int i, cc;
    unsigned int n;

    clp_list(ZB_CLP_LIST, LIST_RSP_LEN, 0, 0, 0, ZB_BLK_LIST);
    print_step("clp_list", ZB_CLP_LIST);
    print_block("list", ZB_BLK_LIST, 64);
    fh_disabled = ld32(RES->block[ZB_BLK_LIST] + ZB_LIST_ENTRY0 + 12);

    clp_query_fn(ZB_CLP_QUERY_FN, fh_disabled, 0, ZB_BLK_QUERY_FN);
    print_step("clp_query_fn", ZB_CLP_QUERY_FN);
    print_block("query_fn", ZB_BLK_QUERY_FN, ZB_BLK_SIZE);
    clp_query_grp(ZB_CLP_QUERY_GRP, qfn[ZB_QFN_PFGID], 0, ZB_BLK_QUERY_GRP);
    print_step("clp_query_grp", ZB_CLP_QUERY_GRP);
    print_block("query_grp", ZB_BLK_QUERY_GRP, 64);
    edma = ld64(qfn + ZB_QFN_EDMA);
    nested_sdma = ld64(qfn + ZB_QFN_SDMA);
    /*
     * The tables put sdma at the start of a region-third entry (2 GiB
     * aligned, below 4 TiB) and use its first 2 MiB.
     */
    if ((nested_sdma & 0x7fffffffULL) || nested_sdma >= ZB_RT_SPAN ||
        edma < ZB_IOVA_1M + (1 << 20) - 1) {
        say("error=aperture");
        return;
    }

    fh = fh_disabled;
    fh = clp_set(ZB_CLP_ENABLE, fh_disabled, 0, 1, ZB_BLK_SET_ENABLE);
    end();
    print_step("clp_enable", ZB_CLP_ENABLE);
    if (!fh) {
        return;
    }

    pci_steps();
    print_step("pci_cfg_ids", ZB_PCI_CFG_IDS);
    print_step("pci_cfg_bars", ZB_PCI_CFG_BARS);
    print_step("pci_cfg_command", ZB_PCI_CFG_COMMAND);
    print_step("virtio_caps", ZB_VIRTIO_CAPS);

    tables_init();
    mpcifc_step(ZB_MPCIFC_REG_IOAT, fh, 0, OC_REG_IOAT, 0, ZB_SDMA, edma,
                iota(), 0);
    print_step("mpcifc_reg_ioat", ZB_MPCIFC_REG_IOAT);

    pt0()[(ZB_IOVA_RING - ZB_SDMA) >> 12] = RING_AREA;
    pt0()[(ZB_IOVA_HDR - ZB_SDMA) >> 12] = HDR_AREA;
    rpcit_step(ZB_RPCIT_MAP_RING, fh, ZB_IOVA_RING, 0x2000);
    print_step("rpcit_map_ring", ZB_RPCIT_MAP_RING);

    begin(ZB_VIRTIO_INIT);
    pci_cc = 0;
    cur->val[0] = virtio_setup(&cur->val[1], &cur->val[2]);
    cur->val[3] = pci_rd(vio.device_bar, vio.device, 4) |
                  pci_rd(vio.device_bar, vio.device + 4, 4) << 32;
    cur->cc = (uint8_t)pci_cc;
    end();
    print_step("virtio_init", ZB_VIRTIO_INIT);

    /* one page: two reads, then unmapped */
    pt0()[0] = ZB_PHYS_DATA;
    rpcit_step(ZB_RPCIT_MAP, fh, ZB_IOVA_DATA, 4096);
    print_step("rpcit_map", ZB_RPCIT_MAP);
    dma_check("dma_read_s0", ZB_DMA_MAPPED, 0, ZB_IOVA_DATA, ZB_PHYS_DATA);
    dma_check("dma_read_s4", ZB_DMA_REMAPPED, 4, ZB_IOVA_DATA, ZB_PHYS_DATA);
    pt0()[0] = ZB_PHYS_DATA | PTE_INVALID;
    rpcit_step(ZB_RPCIT_UNMAP, fh, ZB_IOVA_DATA, 4096);
    print_step("rpcit_unmap", ZB_RPCIT_UNMAP);

    /* 1 MiB of contiguous frames, one RPCIT */
    for (i = 0; i < 256; i++) {
        pt1()[i] = ZB_PHYS_BIG + ((uint64_t)i << 12);
    }
    rpcit_step(ZB_RPCIT_1M, fh, ZB_IOVA_1M, 1 << 20);
    print_step("rpcit_map_1m", ZB_RPCIT_1M);
    if (RES->step[ZB_RPCIT_1M].cc == 0) {
        dma_check("dma_read_1m", ZB_DMA_1M, 2,
                  ZB_IOVA_1M + (ZB_BIG_DMA_PAGE << 12),
                  ZB_PHYS_BIG + (ZB_BIG_DMA_PAGE << 12));
    }
    for (i = 0; i < 256; i++) {
        pt1()[i] = PTE_INVALID;
    }
    rpcit_step(ZB_RPCIT_2M, fh, ZB_IOVA_1M, 1 << 20);
    print_step("rpcit_unmap_1m", ZB_RPCIT_2M);

    /* scattered pages until the DMA limit, all unmapped, one mapped again */
    n = map_until_refused(&cc, &status);
    put_str("limit");
    put_kv_dec("mapped", n);
    put_kv_dec("cc", (uint64_t)cc);
    put_kv_dec("status", status);
    line_flush();
    for (i = 0; i < 256; i++) {
        pt1()[i] = PTE_INVALID;
    }
    rpcit_step(ZB_RPCIT_APERTURE, fh, ZB_IOVA_1M, 1 << 20);
    print_step("rpcit_unmap_limit", ZB_RPCIT_APERTURE);
    pt1()[ZB_BIG_DMA_PAGE] = ZB_PHYS_BIG + (ZB_BIG_DMA_PAGE << 12);
    rpcit_step(ZB_RPCIT_REMAP, fh, ZB_IOVA_1M + (ZB_BIG_DMA_PAGE << 12), 4096);
    print_step("rpcit_remap", ZB_RPCIT_REMAP);
    dma_check("dma_read_remapped", ZB_DMA_READ_BACK, 3,
              ZB_IOVA_1M + (ZB_BIG_DMA_PAGE << 12),
              ZB_PHYS_BIG + (ZB_BIG_DMA_PAGE << 12));
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
    r->magic = ZB_MAGIC_RUNNING;
    asm("larl %0,pgm_handler" : "=a" (handler));
    pgm_new[0] = 0x0000000180000000ULL;     /* 64-bit, all masked */
    pgm_new[1] = handler;

    console_setup();
    say("start");
    start_step();
    print_step("start", ZB_START);
    nested_steps();
    r->magic = ZB_MAGIC_DONE;
    say("done");
    wait_forever();
}
