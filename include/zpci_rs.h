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
 The host-side state of one PCI host bridge (opaque).
 */
typedef struct ZpciRsHostBridge ZpciRsHostBridge;

/*
 A host profile loaded from a file (opaque).
 */
typedef struct ZpciRsHostProfile ZpciRsHostProfile;

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

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* ZPCI_RS_H */
