/*
 * kiln's XRT emulation: the types and constants shared by xrt_device.h,
 * xrt_bo.h and xrt_kernel.h.
 *
 * kiln's own declarations of the part of XRT's C API that kiln's xrt
 * transport calls. Names, types and values are those of XRT (so that the
 * same transport builds against a real XRT install); the text is kiln's.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KILN_XRT_EMU_TYPES_H
#define KILN_XRT_EMU_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define XRT_NULL_HANDLE NULL

/* A 16-byte UUID, as <uuid/uuid.h> defines uuid_t. */
typedef unsigned char xuid_t[16];

/* Opaque handles. */
typedef void *xrtDeviceHandle;
typedef void *xrtBufferHandle;
typedef void *xrtKernelHandle;
typedef void *xrtRunHandle;

/* Buffer flags (bits 24..31) and memory bank group of a buffer. */
typedef uint64_t xrtBufferFlags;
typedef uint32_t xrtMemoryGroup;

/* A buffer with a host-side and a device-side copy kept in step by xrtBOSync. */
#define XRT_BO_FLAGS_NONE (0)
/* The same, cached on the host side (embedded platforms). */
#define XRT_BO_FLAGS_CACHEABLE (1U << 24)

/* Which way xrtBOSync copies. */
enum xclBOSyncDirection {
    XCL_BO_SYNC_BO_TO_DEVICE = 0,
    XCL_BO_SYNC_BO_FROM_DEVICE = 1,
    XCL_BO_SYNC_BO_GMIO_TO_AIE = 2,
    XCL_BO_SYNC_BO_AIE_TO_GMIO = 3,
};

/* States of a run (XRT's ert.h). */
enum ert_cmd_state {
    ERT_CMD_STATE_NEW = 1,
    ERT_CMD_STATE_QUEUED = 2,
    ERT_CMD_STATE_RUNNING = 3,
    ERT_CMD_STATE_COMPLETED = 4,
    ERT_CMD_STATE_ERROR = 5,
    ERT_CMD_STATE_ABORT = 6,
    ERT_CMD_STATE_SUBMITTED = 7,
    ERT_CMD_STATE_TIMEOUT = 8,
    ERT_CMD_STATE_NORESPONSE = 9,
    ERT_CMD_STATE_SKERROR = 10,
    ERT_CMD_STATE_SKCRASHED = 11,
    ERT_CMD_STATE_MAX = 12,
};

#endif
