/*
 * kiln's XRT emulation: devices (the subset of XRT's xrt/xrt_device.h C API
 * that kiln calls, declared in kiln's words with XRT's signatures).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Failing calls return NULL or non-zero, set errno and print the reason on
 * stderr, as XRT does.
 */
#ifndef KILN_XRT_EMU_DEVICE_H
#define KILN_XRT_EMU_DEVICE_H

#include "kiln_xrt_emu_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens device `index`; NULL on failure. */
xrtDeviceHandle xrtDeviceOpen(unsigned int index);

/* Closes a device; 0 on success. */
int xrtDeviceClose(xrtDeviceHandle dhdl);

/* Reads the xclbin file at `xclbin_fnm` and loads it; 0 on success. */
int xrtDeviceLoadXclbinFile(xrtDeviceHandle dhdl, const char *xclbin_fnm);

/* Writes the UUID of the loaded xclbin to `out`; 0 on success. */
int xrtDeviceGetXclbinUUID(xrtDeviceHandle dhdl, xuid_t out);

#ifdef __cplusplus
}
#endif

#endif
