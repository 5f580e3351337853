//! kiln's XRT emulation: `libxrt_coreutil.so` exporting the part of XRT's
//! C API that kiln's xrt transport calls (include/xrt/*.h), with the
//! Verilated accelerator behind it, as XRT's own hardware emulation runs
//! RTL behind the same API. `make xrt-emu` installs it with its headers in
//! the layout of an XRT install (target/xrt-emu/{include,lib}), so that
//! `XILINX_XRT=$PWD/target/xrt-emu` builds and runs the real transport
//! against it. docs/xrt.md describes what it emulates and what it does not.
//!
//! Like XRT, a failing call returns NULL, non-zero, `u64::MAX` or
//! ERT_CMD_STATE_ABORT, sets `errno` and prints the reason on stderr
//! (`[XRT] ERROR: ...`). Every handle is checked: an unknown, closed or
//! NULL handle is such a failure, never a crash, and no panic crosses the
//! C boundary.
//!
//! Handles belong to the thread that made them: the simulator is not
//! `Send`, so each thread has its own devices (tests on parallel threads
//! each get their own emulated board).

#![allow(non_snake_case)]

mod emu;
mod kernel_xml;
mod memory;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use emu::{state, ArgKind, EmuError, Registry};

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// Prints a failure the way XRT does.
pub(crate) fn report(call: &str, message: &str) {
    eprintln!("[XRT] ERROR: {call}: {message}");
}

fn set_errno(errno: i32) {
    // SAFETY: __errno_location returns the calling thread's errno, valid
    // for the thread's lifetime.
    unsafe { *libc::__errno_location() = errno }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// Runs `f` on this thread's registry; on failure (an error or a panic)
/// reports it, sets errno and returns `on_error`.
fn with_registry<T>(
    call: &'static str,
    on_error: T,
    f: impl FnOnce(&mut Registry) -> Result<T, EmuError>,
) -> T {
    let result = catch_unwind(AssertUnwindSafe(|| {
        REGISTRY
            .try_with(|registry| match registry.try_borrow_mut() {
                Ok(mut registry) => f(&mut registry),
                Err(_) => Err(EmuError {
                    errno: libc::EBUSY,
                    message: "called from inside another call".to_string(),
                }),
            })
            .unwrap_or_else(|_| {
                Err(EmuError {
                    errno: libc::ESHUTDOWN,
                    message: "called while the thread is exiting".to_string(),
                })
            })
    }));
    let error = match result {
        Ok(Ok(value)) => return value,
        Ok(Err(e)) => e,
        Err(payload) => EmuError {
            errno: libc::EIO,
            message: format!("internal error in the emulation: {}", panic_text(&*payload)),
        },
    };
    report(call, &error.message);
    set_errno(error.errno);
    on_error
}

/// The number behind a handle.
fn id(handle: *mut c_void) -> usize {
    handle.addr()
}

/// A handle for a number (never dereferenced by anyone).
fn handle(id: usize) -> *mut c_void {
    std::ptr::without_provenance_mut(id)
}

fn status(result: Result<(), EmuError>) -> Result<c_int, EmuError> {
    result.map(|()| 0)
}

// ---- devices (xrt_device.h) ----

#[no_mangle]
pub extern "C" fn xrtDeviceOpen(index: c_uint) -> *mut c_void {
    with_registry("xrtDeviceOpen", std::ptr::null_mut(), |r| {
        r.device_open(index).map(handle)
    })
}

#[no_mangle]
pub extern "C" fn xrtDeviceClose(dhdl: *mut c_void) -> c_int {
    with_registry("xrtDeviceClose", -1, |r| status(r.device_close(id(dhdl))))
}

/// # Safety
/// `xclbin_fnm` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn xrtDeviceLoadXclbinFile(
    dhdl: *mut c_void,
    xclbin_fnm: *const c_char,
) -> c_int {
    with_registry("xrtDeviceLoadXclbinFile", -1, |r| {
        if xclbin_fnm.is_null() {
            return Err(EmuError {
                errno: libc::EINVAL,
                message: "the xclbin file name is NULL".to_string(),
            });
        }
        // SAFETY: non-NULL and NUL-terminated, per the contract above.
        let name = unsafe { CStr::from_ptr(xclbin_fnm) };
        let path = PathBuf::from(OsStr::from_bytes(name.to_bytes()));
        status(r.load_xclbin(id(dhdl), path))
    })
}

/// # Safety
/// `out` is NULL or points to 16 writable bytes (an `xuid_t`).
#[no_mangle]
pub unsafe extern "C" fn xrtDeviceGetXclbinUUID(dhdl: *mut c_void, out: *mut u8) -> c_int {
    with_registry("xrtDeviceGetXclbinUUID", -1, |r| {
        let uuid = r.xclbin_uuid(id(dhdl))?;
        if out.is_null() {
            return Err(EmuError {
                errno: libc::EINVAL,
                message: "the UUID buffer is NULL".to_string(),
            });
        }
        // SAFETY: `out` holds 16 writable bytes, per the contract above.
        unsafe { std::ptr::copy_nonoverlapping(uuid.as_ptr(), out, uuid.len()) };
        Ok(0)
    })
}

// ---- kernels (xrt_kernel.h) ----

/// Reads the UUID and name arguments of the kernel-open calls.
///
/// # Safety
/// `uuid` is NULL or points to 16 bytes; `name` is NULL or NUL-terminated.
unsafe fn kernel_open(
    call: &'static str,
    dhdl: *mut c_void,
    uuid: *const u8,
    name: *const c_char,
    exclusive: bool,
) -> *mut c_void {
    with_registry(call, std::ptr::null_mut(), |r| {
        if uuid.is_null() || name.is_null() {
            return Err(EmuError {
                errno: libc::EINVAL,
                message: "the xclbin UUID or the kernel name is NULL".to_string(),
            });
        }
        let mut id_bytes = [0u8; 16];
        // SAFETY: `uuid` points to 16 readable bytes (an xuid_t).
        unsafe { std::ptr::copy_nonoverlapping(uuid, id_bytes.as_mut_ptr(), 16) };
        // SAFETY: non-NULL and NUL-terminated, per the contract above.
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
        r.kernel_open(id(dhdl), id_bytes, &name, exclusive)
            .map(handle)
    })
}

/// # Safety
/// `xclbin_id` is NULL or points to 16 bytes; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn xrtPLKernelOpen(
    device_handle: *mut c_void,
    xclbin_id: *const u8,
    name: *const c_char,
) -> *mut c_void {
    // SAFETY: the caller's guarantees are the helper's.
    unsafe { kernel_open("xrtPLKernelOpen", device_handle, xclbin_id, name, false) }
}

/// # Safety
/// `xclbin_id` is NULL or points to 16 bytes; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn xrtPLKernelOpenExclusive(
    device_handle: *mut c_void,
    xclbin_id: *const u8,
    name: *const c_char,
) -> *mut c_void {
    // SAFETY: the caller's guarantees are the helper's.
    unsafe {
        kernel_open(
            "xrtPLKernelOpenExclusive",
            device_handle,
            xclbin_id,
            name,
            true,
        )
    }
}

#[no_mangle]
pub extern "C" fn xrtKernelClose(kernel_handle: *mut c_void) -> c_int {
    with_registry("xrtKernelClose", -1, |r| {
        status(r.kernel_close(id(kernel_handle)))
    })
}

#[no_mangle]
pub extern "C" fn xrtKernelArgGroupId(kernel_handle: *mut c_void, argno: c_int) -> c_int {
    with_registry("xrtKernelArgGroupId", -libc::EINVAL, |r| {
        r.arg_group(id(kernel_handle), argno)
    })
}

/// # Safety
/// `datap` is NULL or points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn xrtKernelReadRegister(
    kernel_handle: *mut c_void,
    offset: u32,
    datap: *mut u32,
) -> c_int {
    with_registry("xrtKernelReadRegister", -1, |r| {
        if datap.is_null() {
            return Err(EmuError {
                errno: libc::EINVAL,
                message: "the data pointer is NULL".to_string(),
            });
        }
        let value = r.read_register(id(kernel_handle), offset)?;
        // SAFETY: `datap` is a writable uint32_t, per the contract above.
        unsafe { datap.write_unaligned(value) };
        Ok(0)
    })
}

// ---- buffers (xrt_bo.h) ----

#[no_mangle]
pub extern "C" fn xrtBOAlloc(dhdl: *mut c_void, size: usize, flags: u64, grp: u32) -> *mut c_void {
    with_registry("xrtBOAlloc", std::ptr::null_mut(), |r| {
        r.bo_alloc(id(dhdl), size, flags, grp).map(handle)
    })
}

#[no_mangle]
pub extern "C" fn xrtBOSubAlloc(parent: *mut c_void, size: usize, offset: usize) -> *mut c_void {
    with_registry("xrtBOSubAlloc", std::ptr::null_mut(), |r| {
        r.bo_sub_alloc(id(parent), size, offset).map(handle)
    })
}

#[no_mangle]
pub extern "C" fn xrtBOFree(bhdl: *mut c_void) -> c_int {
    with_registry("xrtBOFree", -1, |r| status(r.bo_free(id(bhdl))))
}

#[no_mangle]
pub extern "C" fn xrtBOMap(bhdl: *mut c_void) -> *mut c_void {
    with_registry("xrtBOMap", std::ptr::null_mut(), |r| {
        r.bo_map(id(bhdl)).map(|p| p.cast())
    })
}

#[no_mangle]
pub extern "C" fn xrtBOSync(bhdl: *mut c_void, dir: c_uint, size: usize, offset: usize) -> c_int {
    with_registry("xrtBOSync", -1, |r| {
        status(r.bo_sync(id(bhdl), dir, size, offset))
    })
}

#[no_mangle]
pub extern "C" fn xrtBOAddress(bhdl: *mut c_void) -> u64 {
    with_registry("xrtBOAddress", u64::MAX, |r| r.bo_address(id(bhdl)))
}

// ---- runs (xrt_kernel.h) ----

/// The Rust side of xrtRunSetArg (src/run_set_arg.c), laid out as its
/// `struct kiln_xrt_emu_hooks`.
#[repr(C)]
struct Hooks {
    arg_kind: extern "C" fn(*mut c_void, c_int) -> c_int,
    set_global: extern "C" fn(*mut c_void, c_int, *mut c_void) -> c_int,
    set_scalar: extern "C" fn(*mut c_void, c_int, u64) -> c_int,
}

/// `enum kiln_arg_kind` of run_set_arg.c.
const KIND_SCALAR32: c_int = 0;
const KIND_SCALAR64: c_int = 1;
const KIND_GLOBAL: c_int = 2;

extern "C" fn hook_arg_kind(run: *mut c_void, index: c_int) -> c_int {
    with_registry("xrtRunSetArg", -1, |r| {
        Ok(match r.arg_kind(id(run), index)? {
            ArgKind::Scalar32 => KIND_SCALAR32,
            ArgKind::Scalar64 => KIND_SCALAR64,
            ArgKind::Global => KIND_GLOBAL,
        })
    })
}

extern "C" fn hook_set_global(run: *mut c_void, index: c_int, bo: *mut c_void) -> c_int {
    with_registry("xrtRunSetArg", -1, |r| {
        status(r.set_global(id(run), index, id(bo)))
    })
}

extern "C" fn hook_set_scalar(run: *mut c_void, index: c_int, value: u64) -> c_int {
    with_registry("xrtRunSetArg", -1, |r| {
        status(r.set_scalar(id(run), index, value))
    })
}

static HOOKS: Hooks = Hooks {
    arg_kind: hook_arg_kind,
    set_global: hook_set_global,
    set_scalar: hook_set_scalar,
};

extern "C" {
    /// Defined in run_set_arg.c (not exported from the library).
    fn kiln_xrt_emu_install_hooks(hooks: *const Hooks);
}

#[no_mangle]
pub extern "C" fn xrtRunOpen(kernel_handle: *mut c_void) -> *mut c_void {
    let run = with_registry("xrtRunOpen", std::ptr::null_mut(), |r| {
        r.run_open(id(kernel_handle)).map(handle)
    });
    if !run.is_null() {
        // SAFETY: HOOKS is a static of the layout run_set_arg.c expects,
        // valid for the life of the library.
        unsafe { kiln_xrt_emu_install_hooks(&HOOKS) };
    }
    run
}

#[no_mangle]
pub extern "C" fn xrtRunStart(rhdl: *mut c_void) -> c_int {
    with_registry("xrtRunStart", -1, |r| status(r.run_start(id(rhdl))))
}

#[no_mangle]
pub extern "C" fn xrtRunWaitFor(rhdl: *mut c_void, timeout_ms: c_uint) -> c_uint {
    with_registry("xrtRunWaitFor", state::ABORT, |r| {
        r.run_wait(id(rhdl), timeout_ms)
    })
}

#[no_mangle]
pub extern "C" fn xrtRunState(rhdl: *mut c_void) -> c_uint {
    with_registry("xrtRunState", state::ABORT, |r| r.run_state(id(rhdl)))
}

#[no_mangle]
pub extern "C" fn xrtRunClose(rhdl: *mut c_void) -> c_int {
    with_registry("xrtRunClose", -1, |r| status(r.run_close(id(rhdl))))
}

#[cfg(test)]
mod tests {
    //! The C API as a C caller sees it: handles, return values and errno,
    //! with the Verilated gemm-pot-8x8 behind it.

    use super::*;
    use kiln_driver::regs;
    use kiln_driver::xclbin::{Xclbin, KERNEL_NAME};

    extern "C" {
        // run_set_arg.c, linked into this test binary too.
        fn xrtRunSetArg(rhdl: *mut c_void, index: c_int, ...) -> c_int;
    }

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    const COMPLETED: c_uint = state::COMPLETED;
    const ERROR: c_uint = state::ERROR;

    /// A device with `design`'s emulation xclbin loaded, and its UUID.
    fn device(test: &str, design: &str) -> (*mut c_void, [u8; 16]) {
        let dir = std::env::temp_dir().join(format!("kiln-xrt-emu-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{test}.xclbin"));
        let x = Xclbin::emulation(design).unwrap();
        x.write(&path).unwrap();
        let dev = xrtDeviceOpen(0);
        assert!(!dev.is_null());
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { xrtDeviceLoadXclbinFile(dev, name.as_ptr()) }, 0);
        (dev, x.uuid)
    }

    fn kernel(dev: *mut c_void, uuid: &[u8; 16], exclusive: bool) -> *mut c_void {
        let name = std::ffi::CString::new(KERNEL_NAME).unwrap();
        // SAFETY: a 16-byte UUID and a NUL-terminated name.
        unsafe {
            if exclusive {
                xrtPLKernelOpenExclusive(dev, uuid.as_ptr(), name.as_ptr())
            } else {
                xrtPLKernelOpen(dev, uuid.as_ptr(), name.as_ptr())
            }
        }
    }

    fn alloc(dev: *mut c_void, size: usize) -> (*mut c_void, *mut u8, u64) {
        let bo = xrtBOAlloc(dev, size, 0, 0);
        assert!(!bo.is_null());
        let map = xrtBOMap(bo).cast::<u8>();
        assert!(!map.is_null());
        (bo, map, xrtBOAddress(bo))
    }

    #[test]
    fn unknown_and_null_handles_fail_with_einval_not_a_crash() {
        let bogus = handle(0xdead_0000);
        for h in [std::ptr::null_mut(), bogus] {
            assert_eq!(xrtDeviceClose(h), -1);
            assert_eq!(errno(), libc::EINVAL);
            assert!(xrtBOMap(h).is_null());
            assert_eq!(xrtBOAddress(h), u64::MAX);
            assert_eq!(xrtBOSync(h, 0, 1, 0), -1);
            assert_eq!(xrtBOFree(h), -1);
            assert!(xrtBOSubAlloc(h, 1, 0).is_null());
            assert!(xrtBOAlloc(h, 64, 0, 0).is_null());
            assert_eq!(xrtKernelClose(h), -1);
            assert!(xrtKernelArgGroupId(h, 0) < 0);
            assert!(xrtRunOpen(h).is_null());
            assert_eq!(xrtRunStart(h), -1);
            assert_eq!(xrtRunWaitFor(h, 1), state::ABORT);
            assert_eq!(xrtRunState(h), state::ABORT);
            assert_eq!(xrtRunClose(h), -1);
            // SAFETY: the variadic argument is the scalar an unknown run
            // would not read anyway.
            assert_eq!(unsafe { xrtRunSetArg(h, 0, 1 as c_uint) }, -1);
            let mut v = 0u32;
            // SAFETY: `v` is a writable u32.
            assert_eq!(unsafe { xrtKernelReadRegister(h, 0, &mut v) }, -1);
        }
        assert!(xrtDeviceOpen(1).is_null());
        assert_eq!(errno(), libc::ENODEV);
        // SAFETY: NULL is allowed and refused.
        assert_eq!(
            unsafe { xrtDeviceLoadXclbinFile(xrtDeviceOpen(0), std::ptr::null()) },
            -1
        );
        assert_eq!(errno(), libc::EINVAL);
    }

    #[test]
    fn kernels_buffers_and_registers_behave_as_under_xrt() {
        let (dev, uuid) = device("kernels", "gemm-pot-8x8");
        let mut got = [0u8; 16];
        // SAFETY: 16 writable bytes.
        assert_eq!(unsafe { xrtDeviceGetXclbinUUID(dev, got.as_mut_ptr()) }, 0);
        assert_eq!(got, uuid);
        assert!(kernel(dev, &[0; 16], false).is_null(), "wrong UUID");

        let shared = kernel(dev, &uuid, false);
        assert!(!shared.is_null());
        let mut v = 0u32;
        // SAFETY: `v` is a writable u32.
        assert_eq!(unsafe { xrtKernelReadRegister(shared, 0, &mut v) }, -1);
        assert_eq!(errno(), libc::EPERM, "register reads need exclusive access");
        assert!(kernel(dev, &uuid, true).is_null(), "already open shared");
        assert_eq!(errno(), libc::EBUSY);
        assert_eq!(xrtKernelClose(shared), 0);

        let k = kernel(dev, &uuid, true);
        assert!(!k.is_null());
        // SAFETY: `v` is a writable u32.
        assert_eq!(
            unsafe { xrtKernelReadRegister(k, regs::MAGIC.offset, &mut v) },
            0
        );
        assert_eq!(v, regs::MAGIC_VALUE);
        // SAFETY: as above.
        assert_eq!(
            unsafe { xrtKernelReadRegister(k, regs::WINDOW_BYTES, &mut v) },
            -1
        );
        for (i, arg) in regs::KERNEL_ARGS.iter().enumerate() {
            let group = xrtKernelArgGroupId(k, i as c_int);
            assert_eq!(group >= 0, arg.pointer, "{}: {group}", arg.name);
        }

        // The host copy reaches the device only through a sync, and back.
        let (bo, map, addr) = alloc(dev, 100);
        assert_eq!(addr % 4096, 0);
        // SAFETY: the mapping holds 100 bytes.
        let host = unsafe { std::slice::from_raw_parts_mut(map, 100) };
        host.fill(7);
        assert_eq!(xrtBOSync(bo, SYNC_FROM, 100, 0), 0);
        assert_eq!(host[0], 0, "never synced to the device: stale");
        host.fill(7);
        assert_eq!(xrtBOSync(bo, SYNC_TO, 50, 50), 0);
        host.fill(1);
        assert_eq!(xrtBOSync(bo, SYNC_FROM, 100, 0), 0);
        assert_eq!((host[49], host[50], host[99]), (0, 7, 7));
        assert_eq!(xrtBOSync(bo, SYNC_TO, 51, 50), -1, "past the end");
        assert_eq!(xrtBOSync(bo, 2, 1, 0), -1, "GMIO direction");

        // A sub-buffer shares memory and outlives its freed parent.
        let sub = xrtBOSubAlloc(bo, 20, 60);
        assert!(!sub.is_null());
        assert_eq!(xrtBOAddress(sub), addr + 60);
        assert_eq!(xrtBOMap(sub).cast::<u8>(), map.wrapping_add(60));
        assert_eq!(xrtBOFree(bo), 0);
        assert!(xrtBOMap(bo).is_null(), "the parent's handle is gone");
        assert_eq!(xrtBOSync(sub, SYNC_FROM, 20, 0), 0);
        assert_eq!(xrtBOFree(sub), 0);
        // Its memory is free again: the next buffer reuses the address.
        let (again, _, addr_again) = alloc(dev, 4096);
        assert_eq!(addr_again, addr);
        assert!(
            xrtBOAlloc(dev, 64, 1 << 28, 0).is_null(),
            "device-only flag"
        );
        assert!(xrtBOAlloc(dev, 64, 0, 1).is_null(), "group 1");
        assert_eq!(xrtBOFree(again), 0);

        // Loading while the kernel is open is refused; closing it all works.
        let path = std::env::temp_dir()
            .join(format!("kiln-xrt-emu-unit-{}", std::process::id()))
            .join("kernels.xclbin");
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { xrtDeviceLoadXclbinFile(dev, name.as_ptr()) }, -1);
        assert_eq!(errno(), libc::EBUSY);
        assert_eq!(xrtKernelClose(k), 0);
        // SAFETY: as above.
        assert_eq!(unsafe { xrtDeviceLoadXclbinFile(dev, name.as_ptr()) }, 0);
        assert_eq!(xrtDeviceClose(dev), 0);
        assert_eq!(xrtDeviceClose(dev), -1, "closed twice");
    }

    const SYNC_TO: c_uint = SYNC_TO_DEVICE;
    const SYNC_FROM: c_uint = SYNC_FROM_DEVICE;
    use emu::{SYNC_FROM_DEVICE, SYNC_TO_DEVICE};

    /// Sets every argument of a 8 x 8 x 8 int32 GEMM on `run`; the output
    /// buffer is `c_len` bytes.
    fn gemm_args(dev: *mut c_void, run: *mut c_void, c_len: usize) -> (*mut c_void, *mut u8) {
        let (a, _, _) = alloc(dev, 64);
        let (b, _, _) = alloc(dev, 64);
        let (p, _, _) = alloc(dev, 128);
        let (c, c_map, _) = alloc(dev, c_len);
        // MODE: the GEMM engine's OUT_INT32 (hw/ip/gemm/engine.toml).
        let out_int32 = kiln_spec::engines::desc("gemm")
            .unwrap()
            .mode_field("OUT_INT32")
            .unwrap()
            .mask();
        let scalars: [c_uint; 7] = [8, 8, 8, 8, 8, 32, out_int32];
        for (i, bo) in [a, b, c, p].into_iter().enumerate() {
            // SAFETY: a global argument takes a buffer handle.
            assert_eq!(unsafe { xrtRunSetArg(run, i as c_int, bo) }, 0);
        }
        for (i, v) in scalars.into_iter().enumerate() {
            // SAFETY: a scalar argument takes an unsigned int.
            assert_eq!(unsafe { xrtRunSetArg(run, (4 + i) as c_int, v) }, 0);
        }
        (c, c_map)
    }

    #[test]
    fn runs_complete_and_a_fault_ends_in_the_error_state() {
        let (dev, uuid) = device("runs", "gemm-pot-8x8");
        let k = kernel(dev, &uuid, true);
        let run = xrtRunOpen(k);
        assert!(!run.is_null());
        assert_eq!(xrtRunState(run), state::NEW);
        assert_eq!(xrtRunWaitFor(run, 1), state::NEW, "nothing to wait for");
        // SAFETY: index 11 does not exist; nothing is read.
        assert_eq!(unsafe { xrtRunSetArg(run, 11, 0 as c_uint) }, -1);

        // Zero activations and weights: every int32 output is 0 (the
        // output buffer starts as 0x55 to see the writes).
        let (c, c_map) = gemm_args(dev, run, 8 * 32);
        // SAFETY: the mapping holds 256 bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(c_map, 8 * 32) };
        out.fill(0x55);
        assert_eq!(xrtBOSync(c, SYNC_TO, out.len(), 0), 0);
        assert_eq!(xrtRunStart(run), 0);
        assert_eq!(xrtRunStart(run), -1, "already running");
        assert_eq!(xrtRunState(run), state::RUNNING);
        assert_eq!(xrtRunWaitFor(run, 10), COMPLETED);
        assert_eq!(xrtBOSync(c, SYNC_FROM, out.len(), 0), 0);
        assert!(out[..8 * 8 * 4].iter().all(|&b| b == 0), "{:?}", &out[..8]);
        let mut ctrl = 0u32;
        // SAFETY: a writable u32.
        assert_eq!(unsafe { xrtKernelReadRegister(k, 0, &mut ctrl) }, 0);
        assert_eq!(ctrl & 0b110, 0b100, "idle and acknowledged: {ctrl:#x}");

        // A second run whose output buffer is too small: the accelerator
        // writes past it, the memory model faults, the run ends in ERROR.
        let run2 = xrtRunOpen(k);
        gemm_args(dev, run2, 8);
        assert_eq!(xrtRunStart(run2), 0);
        assert_eq!(xrtRunWaitFor(run2, 10), ERROR);
        assert_eq!(xrtRunState(run2), ERROR);

        // Closing in any order: the device lives until its last user goes.
        assert_eq!(xrtDeviceClose(dev), 0);
        assert_eq!(xrtKernelClose(k), 0);
        assert_eq!(xrtRunClose(run), 0);
        assert_eq!(xrtRunClose(run2), 0);
    }
}
