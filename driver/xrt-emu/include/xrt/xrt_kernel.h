/*
 * kiln's XRT emulation: kernels and runs (the subset of XRT's
 * xrt/xrt_kernel.h C API that kiln calls, declared in kiln's words with
 * XRT's signatures).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KILN_XRT_EMU_KERNEL_H
#define KILN_XRT_EMU_KERNEL_H

#include "kiln_xrt_emu_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens kernel `name` of the loaded xclbin `xclbinId` with shared access; NULL on failure. */
xrtKernelHandle xrtPLKernelOpen(xrtDeviceHandle deviceHandle, const xuid_t xclbinId,
                                const char *name);

/* The same with exclusive access, which register reads need; NULL on failure. */
xrtKernelHandle xrtPLKernelOpenExclusive(xrtDeviceHandle deviceHandle, const xuid_t xclbinId,
                                         const char *name);

/* Closes a kernel; 0 on success. */
int xrtKernelClose(xrtKernelHandle kernelHandle);

/* The memory group to allocate argument `argno`'s buffers in; negative on failure. */
int xrtKernelArgGroupId(xrtKernelHandle kernelHandle, int argno);

/* Reads the kernel register at byte `offset` into `*datap`; 0 on success. */
int xrtKernelReadRegister(xrtKernelHandle kernelHandle, uint32_t offset, uint32_t *datap);

/* A run of a kernel, reusable for any number of starts; NULL on failure. */
xrtRunHandle xrtRunOpen(xrtKernelHandle kernelHandle);

/* Sets argument `index` of a run: an xrtBufferHandle for a global
 * (pointer) argument, the value itself for a scalar; 0 on success. */
int xrtRunSetArg(xrtRunHandle rhdl, int index, ...);

/* Starts a run with its arguments; 0 on success. */
int xrtRunStart(xrtRunHandle rhdl);

/* Waits at most `timeout_ms` milliseconds (0: without limit) for a run to
 * finish; its state, ERT_CMD_STATE_TIMEOUT if it did not finish in time. */
enum ert_cmd_state xrtRunWaitFor(xrtRunHandle rhdl, unsigned int timeout_ms);

/* The state of a run. */
enum ert_cmd_state xrtRunState(xrtRunHandle rhdl);

/* Closes a run; 0 on success. */
int xrtRunClose(xrtRunHandle rhdl);

#ifdef __cplusplus
}
#endif

#endif
