/*
 * kiln's XRT emulation: buffer objects (the subset of XRT's xrt/xrt_bo.h C
 * API that kiln calls, declared in kiln's words with XRT's signatures).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KILN_XRT_EMU_BO_H
#define KILN_XRT_EMU_BO_H

#include "kiln_xrt_emu_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocates `size` bytes of device memory in memory group `grp`; NULL on failure. */
xrtBufferHandle xrtBOAlloc(xrtDeviceHandle dhdl, size_t size, xrtBufferFlags flags,
                           xrtMemoryGroup grp);

/* A buffer of `size` bytes at `offset` inside `parent`, sharing its memory; NULL on failure. */
xrtBufferHandle xrtBOSubAlloc(xrtBufferHandle parent, size_t size, size_t offset);

/* Frees a buffer; 0 on success. */
int xrtBOFree(xrtBufferHandle bhdl);

/* The host-side copy of a buffer, valid until the buffer is freed; NULL on failure. */
void *xrtBOMap(xrtBufferHandle bhdl);

/* Copies `size` bytes at `offset` between the host-side and device-side
 * copies, in direction `dir`; 0 on success. */
int xrtBOSync(xrtBufferHandle bhdl, enum xclBOSyncDirection dir, size_t size, size_t offset);

/* The device (bus) address of a buffer; all ones on failure. */
uint64_t xrtBOAddress(xrtBufferHandle bhdl);

#ifdef __cplusplus
}
#endif

#endif
