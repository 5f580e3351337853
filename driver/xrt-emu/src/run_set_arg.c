/*
 * xrtRunSetArg for kiln's XRT emulation.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The one C-variadic function of the API. Stable Rust cannot define one,
 * so this file reads the variable argument with va_arg, of the type the
 * argument's kind calls for (a buffer handle for a global argument, the
 * value for a scalar), and passes it on to the Rust side through hooks
 * that Rust installs when it opens a run. Nothing here is exported but
 * xrtRunSetArg (build.rs adds it to the library's export list).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <xrt/xrt_kernel.h>

/* What the variable argument of argument `index` is (lib.rs, ArgKind). */
enum kiln_arg_kind {
    KILN_ARG_SCALAR32 = 0, /* unsigned int */
    KILN_ARG_SCALAR64 = 1, /* uint64_t */
    KILN_ARG_GLOBAL = 2,   /* xrtBufferHandle */
};

/* Entry points into the Rust side. Each returns -1 with errno set (and the
 * reason printed) on failure. */
struct kiln_xrt_emu_hooks {
    /* A kiln_arg_kind, or -1 for an unknown run or argument. */
    int (*arg_kind)(xrtRunHandle run, int index);
    int (*set_global)(xrtRunHandle run, int index, xrtBufferHandle bo);
    int (*set_scalar)(xrtRunHandle run, int index, uint64_t value);
};

static const struct kiln_xrt_emu_hooks *installed;

/* Called by the Rust side whenever it opens a run: a run handle can only
 * exist after that, so xrtRunSetArg never needs the hooks earlier. */
void kiln_xrt_emu_install_hooks(const struct kiln_xrt_emu_hooks *hooks)
{
    __atomic_store_n(&installed, hooks, __ATOMIC_RELEASE);
}

int xrtRunSetArg(xrtRunHandle rhdl, int index, ...)
{
    const struct kiln_xrt_emu_hooks *hooks = __atomic_load_n(&installed, __ATOMIC_ACQUIRE);
    if (hooks == NULL) {
        fprintf(stderr, "[XRT] ERROR: xrtRunSetArg: unknown run handle %p\n", rhdl);
        errno = EINVAL;
        return -1;
    }
    int kind = hooks->arg_kind(rhdl, index);
    if (kind < 0)
        return -1;

    va_list args;
    va_start(args, index);
    int result;
    switch (kind) {
    case KILN_ARG_GLOBAL: {
        xrtBufferHandle bo = va_arg(args, xrtBufferHandle);
        result = hooks->set_global(rhdl, index, bo);
        break;
    }
    case KILN_ARG_SCALAR32: {
        unsigned int value = va_arg(args, unsigned int);
        result = hooks->set_scalar(rhdl, index, value);
        break;
    }
    case KILN_ARG_SCALAR64: {
        uint64_t value = va_arg(args, uint64_t);
        result = hooks->set_scalar(rhdl, index, value);
        break;
    }
    default:
        fprintf(stderr, "[XRT] ERROR: xrtRunSetArg: argument kind %d is unknown\n", kind);
        errno = EINVAL;
        result = -1;
        break;
    }
    va_end(args);
    return result;
}
