/*
 * zpci-rs: s390x zPCI firmware interfaces for QEMU, in Rust.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Generated from the zpci-rs crate by cbindgen; do not edit.
 */

#ifndef ZPCI_RS_H
#define ZPCI_RS_H

#include <stddef.h>
#include <stdint.h>

/*
 Result of every `zpci_rs_*` call. Codes other than `Ok` are in their own
 range so they cannot be mistaken for a CLP response code or an errno.
 */
enum ZpciRsStatus
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /*
   The call did what it says.
   */
  ZPCI_RS_STATUS_OK = 0,
  /*
   A required pointer argument was null.
   */
  ZPCI_RS_STATUS_NULL_ARGUMENT = 2054160385,
  /*
   zpci-rs hit an internal error; nothing was written.
   */
  ZPCI_RS_STATUS_PANIC = 2054160386,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum ZpciRsStatus ZpciRsStatus;
#else
typedef uint32_t ZpciRsStatus;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/*
 The kind of an IOMMU notifier event, with the values of QEMU's
 `IOMMUNotifierFlag`.
 */
enum ZpciRsIommuEventKind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /*
   `IOMMU_NOTIFIER_UNMAP`: every mapping in the range goes.
   */
  ZPCI_RS_IOMMU_EVENT_KIND_UNMAP = 1,
  /*
   `IOMMU_NOTIFIER_MAP`: a new mapping.
   */
  ZPCI_RS_IOMMU_EVENT_KIND_MAP = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum ZpciRsIommuEventKind ZpciRsIommuEventKind;
#else
typedef uint32_t ZpciRsIommuEventKind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/*
 What an IOAT registration or deregistration did.
 */
enum ZpciRsIoatResult
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /*
   Registered with translation: QEMU adds the IOMMU region.
   */
  ZPCI_RS_IOAT_RESULT_TRANSLATED = 0,
  /*
   Registered with direct mapping: QEMU maps an alias of guest RAM at
   the aperture start.
   */
  ZPCI_RS_IOAT_RESULT_DIRECT = 1,
  /*
   Deregistered: QEMU removes the region.
   */
  ZPCI_RS_IOAT_RESULT_DEREGISTERED = 2,
  /*
   Refused, CC 1 status 24: an IOAT is already registered.
   */
  ZPCI_RS_IOAT_RESULT_ALREADY_REGISTERED = 3,
  /*
   Refused, CC 1 status 24: no IOAT is registered.
   */
  ZPCI_RS_IOAT_RESULT_NOT_REGISTERED = 4,
  /*
   Refused, operand exception: the DMA range is empty or leaves the
   aperture.
   */
  ZPCI_RS_IOAT_RESULT_RANGE = 5,
  /*
   Refused, operand exception: translation with a designation type
   other than a region-third table (QEMU reports "unsupported ioat dt
   %d t %d").
   */
  ZPCI_RS_IOAT_RESULT_UNSUPPORTED_DESIGNATION = 6,
  /*
   Refused, operand exception: direct mapping without relaxed
   translation (QEMU reports "relaxed translation not allowed").
   */
  ZPCI_RS_IOAT_RESULT_RELAXED_NOT_AVAILABLE = 7,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum ZpciRsIoatResult ZpciRsIoatResult;
#else
typedef uint32_t ZpciRsIoatResult;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/*
 What a plug does to the DMA counts.
 */
enum ZpciRsDmaCountAction
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /*
   No count: no DMA limit for this function.
   */
  ZPCI_RS_DMA_COUNT_ACTION_NONE = 0,
  /*
   Start a count for container `dma_count_id` with `dma_count_avail`
   mappings (`S390PCIDMACount`, one user; `max_dma_limit` = avail).
   */
  ZPCI_RS_DMA_COUNT_ACTION_START = 1,
  /*
   Use container `dma_count_id`'s existing count, which now has
   `dma_count_users` users.
   */
  ZPCI_RS_DMA_COUNT_ACTION_JOIN = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum ZpciRsDmaCountAction ZpciRsDmaCountAction;
#else
typedef uint32_t ZpciRsDmaCountAction;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/*
 Which CLP answer a described value belongs to.
 */
enum ZpciRsDescribedBlock
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /*
   Query PCI Function.
   */
  ZPCI_RS_DESCRIBED_BLOCK_FUNCTION = 0,
  /*
   Query PCI Function Group.
   */
  ZPCI_RS_DESCRIBED_BLOCK_GROUP = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum ZpciRsDescribedBlock ZpciRsDescribedBlock;
#else
typedef uint32_t ZpciRsDescribedBlock;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/*
 The values of one function's CLP answers, described (opaque).
 */
typedef struct ZpciRsDescription ZpciRsDescription;

/*
 The host-side state of one PCI host bridge (opaque).
 */
typedef struct ZpciRsHostBridge ZpciRsHostBridge;

/*
 A host profile loaded from a file (opaque).
 */
typedef struct ZpciRsHostProfile ZpciRsHostProfile;

/*
 The DMA translation state of one PCI function (opaque).
 */
typedef struct ZpciRsIommu ZpciRsIommu;

/*
 The values of a Query PCI Function Group answer, in host byte order.
 */
typedef struct ZpciRsFunctionGroup {
  /*
   DMA address space mask.
   */
  uint64_t dasm;
  /*
   MSI address.
   */
  uint64_t msia;
  /*
   Number of interrupts (12 bits).
   */
  uint16_t noi;
  /*
   Maximum store block size (13 bits).
   */
  uint16_t maxstbl;
  /*
   Measurement update interval.
   */
  uint16_t mui;
  /*
   Group version.
   */
  uint8_t version;
  /*
   Flags (0x01 refresh, 0x02 frame, 0x20 relaxed translation).
   */
  uint8_t flags;
  /*
   Supported designation type mask.
   */
  uint8_t dtsm;
} ZpciRsFunctionGroup;

/*
 The values of a Query PCI Function answer, in host byte order.
 */
typedef struct ZpciRsPciFunction {
  /*
   First address of the DMA aperture.
   */
  uint64_t sdma;
  /*
   Last address of the DMA aperture.
   */
  uint64_t edma;
  /*
   Function id.
   */
  uint32_t fid;
  /*
   User-defined id.
   */
  uint32_t uid;
  /*
   The six BAR register values, as in configuration space.
   */
  uint32_t bar[6];
  /*
   Virtual function number.
   */
  uint16_t vfn;
  /*
   Physical channel id.
   */
  uint16_t pchid;
  /*
   Flags (0x01: utility string available).
   */
  uint8_t flags;
  /*
   PCI function group id.
   */
  uint8_t pfgid;
  /*
   PCI function type.
   */
  uint8_t pft;
  /*
   Function measurement block length.
   */
  uint8_t fmbl;
  /*
   log2 of each BAR's size; 0 for no BAR.
   */
  uint8_t bar_size[6];
  /*
   PCI function internal path.
   */
  uint8_t pfip[4];
  /*
   Utility string.
   */
  uint8_t util_str[64];
} ZpciRsPciFunction;

/*
 Reads `len` bytes of guest memory at guest absolute address `gpa` into
 `buf`. Returns 0 when every byte was read from guest RAM, anything else
 otherwise. QEMU: `address_space_read` on `address_space_memory`.
 */
typedef int (*ZpciRsReadGuestFn)(void *opaque, uint64_t gpa, uint8_t *buf, size_t len);

/*
 Writes into `start` and `end` the bounds (`end` exclusive) of the block
 of guest RAM holding guest absolute address `gpa`, and returns 0; returns
 anything else when `gpa` is not RAM. One DMA mapping never spans two
 blocks: this is the piece VFIO's `memory_get_xlat_addr` accepts.
 */
typedef int (*ZpciRsRamBlockFn)(void *opaque, uint64_t gpa, uint64_t *start, uint64_t *end);

/*
 One IOMMU notifier event: the fields of QEMU's `IOMMUTLBEvent` (the
 target address space is guest memory).
 */
typedef struct ZpciRsIommuEvent {
  /*
   I/O address, a multiple of `addr_mask + 1`.
   */
  uint64_t iova;
  /*
   Guest absolute address of a map; 0 for an unmap.
   */
  uint64_t translated_addr;
  /*
   Size minus one; the size is a power of two, at least 4 KiB.
   */
  uint64_t addr_mask;
  /*
   `IOMMUAccessFlags`: 1 read-only, 3 read-write; 0 for an unmap.
   */
  uint32_t perm;
  /*
   Map or unmap.
   */
  ZpciRsIommuEventKind kind;
} ZpciRsIommuEvent;

/*
 Delivers one IOMMU notifier event; `event` is valid for the call only.
 QEMU: `memory_region_notify_iommu` on the function's IOMMU region.
 */
typedef void (*ZpciRsNotifyFn)(void *opaque, const struct ZpciRsIommuEvent *event);

/*
 How the library reaches QEMU; every member must be set.
 */
typedef struct ZpciRsIommuCallbacks {
  /*
   Reads guest memory (the translation tables).
   */
  ZpciRsReadGuestFn read_guest;
  /*
   The RAM block of a guest address.
   */
  ZpciRsRamBlockFn ram_block;
  /*
   Delivers an IOMMU notifier event.
   */
  ZpciRsNotifyFn notify;
} ZpciRsIommuCallbacks;

/*
 The IOAT fields of a Modify PCI Function Controls FIB, as the guest gave
 them.
 */
typedef struct ZpciRsIoatRequest {
  /*
   I/O translation anchor.
   */
  uint64_t iota;
  /*
   PCI base address of the DMA range.
   */
  uint64_t pba;
  /*
   PCI address limit of the DMA range.
   */
  uint64_t pal;
} ZpciRsIoatRequest;

/*
 What the function offers for DMA.
 */
typedef struct ZpciRsFunctionDma {
  /*
   Start of the DMA aperture.
   */
  uint64_t sdma;
  /*
   End of the DMA aperture, inclusive.
   */
  uint64_t edma;
  /*
   1 when relaxed translation (direct mapping) may be registered
   (QEMU's `rtr_avail`), else 0.
   */
  uint8_t relaxed_translation;
} ZpciRsFunctionDma;

/*
 The answer to an IOAT registration or deregistration, as QEMU 10.0.2's
 `mpcifc_service_call` and `reg_ioat` give it.
 */
typedef struct ZpciRsIoatAnswer {
  /*
   The registered IOTA (0 unless registered).
   */
  uint64_t iota;
  /*
   The registered DMA range base, page-aligned down (0 unless
   registered).
   */
  uint64_t pba;
  /*
   The registered DMA range limit, extended to its page end (0 unless
   registered).
   */
  uint64_t pal;
  /*
   Mappings dropped by a deregistration; their DMA entries went back.
   */
  uint64_t dropped_mappings;
  /*
   What happened.
   */
  ZpciRsIoatResult result;
  /*
   1 when the guest gets an operand exception (`PGM_OPERAND`).
   */
  uint8_t operand_exception;
  /*
   The condition code: 0, or 1 with `status`.
   */
  uint8_t cc;
  /*
   With CC 1, the status: 24 for a sequence error; 16 after an operand
   exception (what QEMU sets when `reg_ioat` fails, seen by a guest
   only where the exception returns, as under KVM).
   */
  uint8_t status;
} ZpciRsIoatAnswer;

/*
 The answer to RPCIT, as QEMU 10.0.2's `rpcit_service_call` gives it
 once the function is found enabled, and what the refresh did.
 */
typedef struct ZpciRsRpcitAnswer {
  /*
   With `pec`: the failing PCI address for the error event.
   */
  uint64_t faddr;
  /*
   Map events sent.
   */
  uint64_t map_events;
  /*
   Unmap events sent.
   */
  uint64_t unmap_events;
  /*
   Pages mapped.
   */
  uint64_t mapped_pages;
  /*
   Pages of mappings torn down.
   */
  uint64_t unmapped_pages;
  /*
   Pages left unmapped for want of DMA entries.
   */
  uint64_t refused_pages;
  /*
   Not 0: the function enters the error state and QEMU raises the
   error event with this code (`s390_pci_generate_error_event`) at
   `faddr`. The FMB RPCIT counter is counted only when this is 0.
   */
  uint16_t pec;
  /*
   The condition code: 0 or 1.
   */
  uint8_t cc;
  /*
   With CC 1: 8 (function in error, with `pec`) or 16 (insufficient
   resources); 0 with CC 0.
   */
  uint8_t status;
} ZpciRsRpcitAnswer;

/*
 The answer of the translate callback: the fields of QEMU's
 `IOMMUTLBEntry` (the target address space is guest memory), and the
 error event to raise.
 */
typedef struct ZpciRsIommuTlbEntry {
  /*
   I/O address of the translated block.
   */
  uint64_t iova;
  /*
   Guest absolute address of the block.
   */
  uint64_t translated_addr;
  /*
   Mask of the address bits inside the block.
   */
  uint64_t addr_mask;
  /*
   `IOMMUAccessFlags` of the block: 0 none, 1 read, 3 read-write.
   */
  uint32_t perm;
  /*
   Not 0: the function enters the error state and QEMU raises the
   error event with this code at the translated address.
   */
  uint16_t pec;
} ZpciRsIommuTlbEntry;

/*
 Counters of one function's DMA translation, since its handle was made.
 */
typedef struct ZpciRsIommuStats {
  /*
   RPCIT calls.
   */
  uint64_t rpcit_calls;
  /*
   RPCIT answered CC 0.
   */
  uint64_t rpcit_cc0;
  /*
   RPCIT answered CC 1 status 16 (insufficient resources: no DMA entry
   left, or the work bound was reached).
   */
  uint64_t rpcit_insufficient_resources;
  /*
   RPCIT answered CC 1 status 8 (function in error).
   */
  uint64_t rpcit_errors;
  /*
   RPCITs cut short by the work bound.
   */
  uint64_t rpcit_work_exhausted;
  /*
   Map events sent.
   */
  uint64_t map_events;
  /*
   Unmap events sent.
   */
  uint64_t unmap_events;
  /*
   Pages mapped.
   */
  uint64_t pages_mapped;
  /*
   Pages of mappings torn down (by RPCIT; a deregistration drops its
   mappings without events, see `dropped_mappings`).
   */
  uint64_t pages_unmapped;
  /*
   Pages left unmapped for want of DMA entries.
   */
  uint64_t pages_refused;
  /*
   Guest memory reads of the table walks.
   */
  uint64_t table_reads;
  /*
   Translate callback calls.
   */
  uint64_t translate_calls;
  /*
   IOAT registrations accepted.
   */
  uint64_t ioat_registered;
  /*
   IOAT deregistrations.
   */
  uint64_t ioat_deregistered;
  /*
   IOAT registrations and deregistrations refused.
   */
  uint64_t ioat_refused;
  /*
   Mappings dropped by deregistrations.
   */
  uint64_t dropped_mappings;
  /*
   Error events with code `ERR_EVENT_INVALAS` (RPCIT and translate).
   */
  uint64_t err_invalid_address_space;
  /*
   Error events with code `ERR_EVENT_OORANGE`.
   */
  uint64_t err_out_of_range;
  /*
   Error events with code `ERR_EVENT_TPROTE`.
   */
  uint64_t err_translation_protection;
  /*
   Error events with code `ERR_EVENT_INVALTE`.
   */
  uint64_t err_invalid_table_entry;
  /*
   Error events with code `ERR_EVENT_INVALTL`.
   */
  uint64_t err_invalid_table_length;
  /*
   Error events with code `ERR_EVENT_TT`.
   */
  uint64_t err_translation_type;
  /*
   Pages mapped now.
   */
  uint64_t mapped_pages_now;
  /*
   Mappings now (the DMA entries they take in a VFIO container).
   */
  uint64_t mappings_now;
  /*
   Bytes of memory the IOTLB takes now.
   */
  uint64_t iotlb_bytes;
} ZpciRsIommuStats;

/*
 What QEMU knows about a function it plugs.
 */
typedef struct ZpciRsFunctionRequest {
  /*
   Function id.
   */
  uint32_t fid;
  /*
   User-defined id.
   */
  uint16_t uid;
  /*
   1 when the function runs interpreted (after QEMU's fallback), else 0.
   */
  uint8_t interpreted;
  /*
   1 when relaxed translation may be offered (the `relaxed-translation`
   property; 0 for emulated functions), else 0.
   */
  uint8_t relaxed_translation;
} ZpciRsFunctionRequest;

/*
 Receives one message for the operator, a NUL-terminated string valid
 only during the call. Called on the caller's thread, never after the
 call that was given it returns.
 */
typedef void (*ZpciRsWarnFn)(void *opaque, const char *message);

/*
 The answers for one plugged function, in host byte order.
 */
typedef struct ZpciRsHostAnswer {
  /*
   Query PCI Function values; `fid` and `uid` are the request's, BARs
   are zero (they are read from configuration space at query time).
   */
  struct ZpciRsPciFunction function;
  /*
   Query PCI Function Group values of group `function.pfgid`.
   */
  struct ZpciRsFunctionGroup group;
  /*
   What to do with the DMA counts.
   */
  ZpciRsDmaCountAction dma_count;
  /*
   The container's key (its fd; negative for a replayed function).
   */
  int32_t dma_count_id;
  /*
   For `Start`: DMA mappings available.
   */
  uint32_t dma_count_avail;
  /*
   For `Start` and `Join`: the count's users, this function included.
   */
  uint32_t dma_count_users;
  /*
   The host function handle, when `host_fh_present`.
   */
  uint32_t host_fh;
  /*
   1 when this function created its group (`s390_group_create`), else 0.
   */
  uint8_t group_created;
  /*
   The host group id the group was made for (`S390PCIGroup.host_id`).
   */
  uint8_t group_host_id;
  /*
   The id the next simulated group would get (`next_sim_grp`).
   */
  uint8_t next_simulated_group;
  /*
   The host's function type (`pbdev->pft`), 0 when unknown.
   */
  uint8_t host_pft;
  /*
   1 when the guest may use relaxed translation (`pbdev->rtr_avail`).
   */
  uint8_t relaxed_translation;
  /*
   1 when `host_fh` holds the host function handle, else 0.
   */
  uint8_t host_fh_present;
} ZpciRsHostAnswer;

/*
 One value a guest is shown, and where it came from. The strings are
 NUL-terminated and live as long as the description that holds them.
 */
typedef struct ZpciRsDescribedValue {
  /*
   The answer it is in.
   */
  ZpciRsDescribedBlock block;
  /*
   Its name: `fid`, `uid`, `sdma`, ..., `msia`.
   */
  const char *name;
  /*
   The value, when `hex` is null.
   */
  uint64_t number;
  /*
   Null for a number; else the value's bytes as lowercase hex (empty
   when there are none, as a utility string the guest is not given).
   */
  const char *hex;
  /*
   Where the value came from, in words.
   */
  const char *provenance;
} ZpciRsDescribedValue;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 The library's version, as a NUL-terminated string with static lifetime.
 */
const char *zpci_rs_version(void);

/*
 Fills `out` with the values of the default function group (0xFF).

 # Safety
 `out` is null or points to writable memory for one `ZpciRsFunctionGroup`.
 */
ZpciRsStatus zpci_rs_default_function_group(struct ZpciRsFunctionGroup *out);

/*
 Fills `out` with the Query PCI Function values of an emulated function
 with function id `fid` and user-defined id `uid` (BARs zero).

 # Safety
 `out` is null or points to writable memory for one `ZpciRsPciFunction`.
 */
ZpciRsStatus zpci_rs_default_pci_function(uint32_t fid,
                                          uint16_t uid,
                                          struct ZpciRsPciFunction *out);

/*
 Writes the answer to CLP Query PCI Function for `function` into the
 response block at `rsp` (starting at its header), `rsp_len` bytes long:
 the response code OK and every architected field; reserved bytes and the
 header length are left as they are.

 # Safety
 `function` is null or points to one valid `ZpciRsPciFunction`; `rsp` is
 null or valid for reads and writes of `rsp_len` bytes.
 */
ZpciRsStatus zpci_rs_clp_query_pci_fn(const struct ZpciRsPciFunction *function,
                                      uint8_t *rsp,
                                      size_t rsp_len);

/*
 Writes the answer to CLP Query PCI Function Group for `group` into the
 response block at `rsp`, `rsp_len` bytes long, as
 `zpci_rs_clp_query_pci_fn` does.

 # Safety
 `group` is null or points to one valid `ZpciRsFunctionGroup`; `rsp` is
 null or valid for reads and writes of `rsp_len` bytes.
 */
ZpciRsStatus zpci_rs_clp_query_pci_fngrp(const struct ZpciRsFunctionGroup *group,
                                         uint8_t *rsp,
                                         size_t rsp_len);

/*
 Makes the DMA translation state of one PCI function: no IOAT
 registered, nothing mapped. `callbacks` is copied; `opaque` is handed to
 every callback. Returns null when `callbacks` is null, any of its
 members is null, or on an internal error. Free it with
 `zpci_rs_iommu_free`.

 # Safety
 `callbacks` is null or points to one valid `ZpciRsIommuCallbacks`.
 Each callback, given `opaque`, must do what its type's documentation
 says for as long as the handle lives: `read_guest` writes at most `len`
 bytes to `buf`, `ram_block` writes only `*start` and `*end`, `notify`
 only reads `*event`. None may call into this handle (such a call is
 refused).
 */
struct ZpciRsIommu *zpci_rs_iommu_new(const struct ZpciRsIommuCallbacks *callbacks, void *opaque);

/*
 Frees a handle and everything it holds, without events (QEMU removes
 the IOMMU region first); null is allowed and does nothing.

 # Safety
 `iommu` is null or was returned by `zpci_rs_iommu_new` and not freed
 yet; no other call on it is running, and it is not used afterwards.
 */
void zpci_rs_iommu_free(struct ZpciRsIommu *iommu);

/*
 Registers an IOAT (Modify PCI Function Controls, register I/O address
 translation parameters) with QEMU's `reg_ioat` checks, and writes the
 answer to `answer`: [`ZpciRsIoatResult::Translated`] or
 [`ZpciRsIoatResult::Direct`] with the registered values, or a refusal
 with the guest's answer.

 # Safety
 `iommu` is null or a live handle from `zpci_rs_iommu_new`; `request`
 and `dma` are null or point to one valid value each; `answer` is null
 or valid for one write of a `ZpciRsIoatAnswer`.
 */
ZpciRsStatus zpci_rs_iommu_register_ioat(const struct ZpciRsIommu *iommu,
                                         const struct ZpciRsIoatRequest *request,
                                         const struct ZpciRsFunctionDma *dma,
                                         struct ZpciRsIoatAnswer *answer);

/*
 Deregisters the IOAT: the IOTLB is emptied without events (QEMU removes
 the IOMMU region, on which VFIO unmaps the whole range) and the DMA
 entries of the dropped mappings go back to `*dma_avail` (null: no
 limit). Writes [`ZpciRsIoatResult::Deregistered`] or
 [`ZpciRsIoatResult::NotRegistered`] to `answer`. On a handle an
 internal error left unusable, this starts it again from nothing and
 answers `Deregistered`.

 # Safety
 `iommu` is null or a live handle from `zpci_rs_iommu_new`; `dma_avail`
 is null or valid for a read and a write; `answer` is null or valid for
 one write of a `ZpciRsIoatAnswer`.
 */
ZpciRsStatus zpci_rs_iommu_deregister_ioat(const struct ZpciRsIommu *iommu,
                                           uint32_t *dma_avail,
                                           struct ZpciRsIoatAnswer *answer);

/*
 RPCIT over `start .. start + len` (registers R2 and R2+1; the end wraps
 as in QEMU): refreshes the IOTLB from the guest's tables, read through
 `read_guest`, and sends what changed to `notify`. New mappings take DMA
 entries from `*dma_avail` and removed ones give them back (null: no
 limit). Writes the guest's answer to `answer`: CC 0; CC 1 status 16
 when no DMA entry is left (or the work bound was reached); CC 1
 status 8 with an error event code when the function enters the error
 state.

 The function state checks (CC 3, CC 1 status 40) come first and are the
 caller's.

 # Safety
 `iommu` is null or a live handle from `zpci_rs_iommu_new`; `dma_avail`
 is null or valid for a read and a write, and not touched by the
 callbacks; `answer` is null or valid for one write of a
 `ZpciRsRpcitAnswer`.
 */
ZpciRsStatus zpci_rs_iommu_rpcit(const struct ZpciRsIommu *iommu,
                                 uint64_t start,
                                 uint64_t len,
                                 uint32_t *dma_avail,
                                 struct ZpciRsRpcitAnswer *answer);

/*
 The translate callback of the function's IOMMU region (QEMU's
 `s390_translate_iommu`) for a function in the enabled or blocked state
 with an IOAT registered (the caller checks both): translates `addr` for
 an access with `IOMMUAccessFlags` `flags` (bits above 1 ignored) and
 writes the answer to `out`. Outside the DMA range: no translation and
 error event `ERR_EVENT_OORANGE`; an access none of whose bits the page
 allows (an unmapped page allows none): error event `ERR_EVENT_TPROTE`.
 A mapped page is answered with the whole mapping it belongs to.

 # Safety
 `iommu` is null or a live handle from `zpci_rs_iommu_new`; `out` is
 null or valid for one write of a `ZpciRsIommuTlbEntry`.
 */
ZpciRsStatus zpci_rs_iommu_translate(const struct ZpciRsIommu *iommu,
                                     uint64_t addr,
                                     uint32_t flags,
                                     struct ZpciRsIommuTlbEntry *out);

/*
 Writes the function's counters to `out`.

 # Safety
 `iommu` is null or a live handle from `zpci_rs_iommu_new`; `out` is
 null or valid for one write of a `ZpciRsIommuStats`.
 */
ZpciRsStatus zpci_rs_iommu_stats(const struct ZpciRsIommu *iommu, struct ZpciRsIommuStats *out);

/*
 A new host bridge state: only the default function group, no DMA
 counts. Null only on an internal error. Free it with
 `zpci_rs_host_bridge_free`.
 */
struct ZpciRsHostBridge *zpci_rs_host_bridge_new(void);

/*
 Frees a host bridge state; null is allowed and does nothing.

 # Safety
 `bridge` is null or was returned by `zpci_rs_host_bridge_new` and not
 freed yet; it is not used afterwards.
 */
void zpci_rs_host_bridge_free(struct ZpciRsHostBridge *bridge);

/*
 Plugs a vfio-pci function: reads `VFIO_DEVICE_GET_INFO` from
 `device_fd` and, when `container_fd` is not negative,
 `VFIO_IOMMU_GET_INFO` from that type1 container, then writes the
 function's answers into `answer` and adds its group and DMA count to
 `bridge`. What the host does not say, or says wrongly, gets QEMU's
 defaults and a message to `warn` (may be null).

 # Safety
 `bridge` is null or a live handle from `zpci_rs_host_bridge_new`;
 `request` is null or points to one valid `ZpciRsFunctionRequest`;
 `answer` is null or valid for one write of a `ZpciRsHostAnswer`;
 `device_fd` and `container_fd` are open VFIO device and container
 descriptors (or negative for the container) that stay open during the
 call; `warn`, when not null, may be called with `opaque`.
 */
ZpciRsStatus zpci_rs_host_bridge_plug_vfio(const struct ZpciRsHostBridge *bridge,
                                           int device_fd,
                                           int container_fd,
                                           const struct ZpciRsFunctionRequest *request,
                                           ZpciRsWarnFn warn,
                                           void *opaque,
                                           struct ZpciRsHostAnswer *answer);

/*
 Plugs an emulated function that replays `profile`: its answers are
 those a vfio-pci function with the profile's VFIO answers would get,
 alone in a container of its own (a DMA count is started when the
 profile has `DMA_AVAIL`).

 # Safety
 As `zpci_rs_host_bridge_plug_vfio`, and `profile` is null or a live
 handle from `zpci_rs_host_profile_load`.
 */
ZpciRsStatus zpci_rs_host_bridge_plug_profile(const struct ZpciRsHostBridge *bridge,
                                              const struct ZpciRsHostProfile *profile,
                                              const struct ZpciRsFunctionRequest *request,
                                              ZpciRsWarnFn warn,
                                              void *opaque,
                                              struct ZpciRsHostAnswer *answer);

/*
 One user of container `id`'s DMA count is gone
 (`s390_pci_end_dma_count`); `users_left` receives the users that
 remain, 0 when the count ended (or `id` had none).

 # Safety
 `bridge` is null or a live handle; `users_left` is null or valid for
 one write of a `uint32_t`.
 */
ZpciRsStatus zpci_rs_host_bridge_dma_count_end(const struct ZpciRsHostBridge *bridge,
                                               int32_t id,
                                               uint32_t *users_left);

/*
 Loads the host profile in the file `path`. On failure returns null and
 writes into `err` (up to `err_len` bytes, NUL-terminated) a message
 naming the file and what is wrong with it. Free the profile with
 `zpci_rs_host_profile_free`.

 # Safety
 `path` is null or a NUL-terminated string; `err` is null or valid for
 writes of `err_len` bytes.
 */
struct ZpciRsHostProfile *zpci_rs_host_profile_load(const char *path, char *err, size_t err_len);

/*
 Frees a host profile; null is allowed and does nothing.

 # Safety
 `profile` is null or was returned by `zpci_rs_host_profile_load` and
 not freed yet; it is not used afterwards.
 */
void zpci_rs_host_profile_free(struct ZpciRsHostProfile *profile);

/*
 Reads the host function handle of the vfio-pci device `device_fd` (its
 zPCI base capability, version 2 or later), as `s390_pci_get_host_fh`:
 `present` receives 1 and `fh` the handle, or `present` 0 when it cannot
 be read.

 # Safety
 `fh` and `present` are null or valid for one write each; `device_fd` is
 an open VFIO device descriptor (or anything the kernel refuses).
 */
ZpciRsStatus zpci_rs_vfio_host_fh(int device_fd, uint32_t *fh, uint8_t *present);

/*
 Reads the DMA mappings still available in the type1 container
 `container_fd`, as `s390_pci_update_dma_avail`: `present` receives 1
 and `avail` the count, or `present` 0 when the container sets no limit
 or cannot be read.

 # Safety
 `avail` and `present` are null or valid for one write each;
 `container_fd` is an open VFIO container descriptor (or anything the
 kernel refuses).
 */
ZpciRsStatus zpci_rs_vfio_dma_avail(int container_fd, uint32_t *avail, uint8_t *present);

/*
 Describes the CLP answers function `fid` is `presented` (its Query
 PCI Function values, as QEMU answers them) with its group (`group`,
 the Query PCI Function Group values of `presented.pfgid`): each value
 with where it came from. What zpci-rs built for a vfio-pci function or
 a replayed profile is credited to the host capability or policy that
 decided it; anything else is QEMU's default. `*out` receives the
 description, to be freed with `zpci_rs_description_free`.

 # Safety
 `bridge` is null or a live handle; `presented` and `group` are null or
 point to one valid struct each; `out` is null or valid for one write of
 a pointer.
 */
ZpciRsStatus zpci_rs_host_bridge_describe(const struct ZpciRsHostBridge *bridge,
                                          uint32_t fid,
                                          const struct ZpciRsPciFunction *presented,
                                          const struct ZpciRsFunctionGroup *group,
                                          struct ZpciRsDescription **out);

/*
 The values of `description`: `*len` receives their number, and the
 result points to the first (null, with `*len` 0, when `description` is
 null). They stay valid until the description is freed.

 # Safety
 `description` is null or a live description; `len` is null or valid
 for one write of a `size_t`.
 */
const struct ZpciRsDescribedValue *zpci_rs_description_values(const struct ZpciRsDescription *description,
                                                              size_t *len);

/*
 Frees a description; null is allowed and does nothing.

 # Safety
 `description` is null or came from `zpci_rs_host_bridge_describe` and
 was not freed yet; neither it nor its values are used afterwards.
 */
void zpci_rs_description_free(struct ZpciRsDescription *description);

/*
 QEMU unplugged function `fid`: the bridge forgets what its answers
 were built from (its group and DMA count are kept, as QEMU keeps them).

 # Safety
 `bridge` is null or a live handle.
 */
ZpciRsStatus zpci_rs_host_bridge_unplug(const struct ZpciRsHostBridge *bridge, uint32_t fid);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* ZPCI_RS_H */
