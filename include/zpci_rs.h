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

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* ZPCI_RS_H */
