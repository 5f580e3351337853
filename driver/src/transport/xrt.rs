//! The XRT transport (Zynq UltraScale+ boards): the accelerator as an XRT
//! RTL kernel, reached through XRT's C API (crate kiln-xrt-sys).
//!
//! Opening loads the xclbin and opens the kernel [`KERNEL_NAME`] with
//! exclusive access (XRT lets only an exclusive owner read registers).
//! Device memory is XRT buffer objects in the memory group of the kernel's
//! pointer arguments, each mapped once; syncs copy through the mapping and
//! then sync that range. A run is XRT's: the driver's writes to argument
//! registers are kept here, and its write of AP_START becomes
//! xrtRunSetArg for every argument and xrtRunStart; waiting is
//! xrtRunWaitFor. XRT owns the control protocol, so the driver's interrupt
//! register writes are dropped and, while a run is in flight, its reads of
//! CTRL are answered from the run's state (see the `read32` of
//! [`XrtTransport`]). docs/xrt.md has the whole mapping.

use std::ffi::{c_int, c_uint, c_void, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::time::Duration;

use kiln_xrt_sys as sys;

use super::{check_register_offset, DeviceBuffer, Transport, TransportError};
use crate::regs;
use crate::xclbin::{Uuid, Xclbin, KERNEL_NAME};

/// Least time a wait is given: XRT's timeout is in whole milliseconds (and
/// 0 would mean "forever"), and on a board the operating system adds
/// latency the driver's device-time estimate does not include.
pub const DEFAULT_TIMEOUT_FLOOR: Duration = Duration::from_millis(10);

/// `XRT_BO_FLAGS_NONE`: a buffer with host and device copies kept in step
/// by xrtBOSync.
const BO_FLAGS_NONE: sys::xrtBufferFlags = 0;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Clears errno before an XRT call, so that a failure that leaves it alone
/// is not blamed on an earlier one.
fn clear_errno() {
    // SAFETY: __errno_location returns the calling thread's errno, valid
    // for the thread's lifetime.
    unsafe { *libc::__errno_location() = 0 }
}

/// The error of a failed XRT call, from errno (set by XRT) or, from older
/// XRT versions, the negative error code the call returned. Read it right
/// after the call.
fn xrt_error(call: &'static str, returned: Option<i64>) -> TransportError {
    let errno = match returned {
        Some(code) if code < -1 => i32::try_from(-code).unwrap_or(0),
        _ => errno().abs(),
    };
    let message = if errno == 0 {
        "XRT gave no error code; its message is on stderr".to_string()
    } else {
        std::io::Error::from_raw_os_error(errno).to_string()
    };
    TransportError::Xrt {
        call,
        errno,
        message,
    }
}

/// A zero status from an int-returning XRT call, or its error.
fn check(call: &'static str, status: c_int) -> Result<(), TransportError> {
    if status == 0 {
        Ok(())
    } else {
        Err(xrt_error(call, Some(i64::from(status))))
    }
}

/// A non-NULL handle, or the error of the call that returned NULL.
fn non_null(call: &'static str, handle: *mut c_void) -> Result<NonNull<c_void>, TransportError> {
    NonNull::new(handle).ok_or_else(|| xrt_error(call, None))
}

fn state_name(state: sys::ert_cmd_state::Type) -> &'static str {
    use sys::ert_cmd_state::*;
    match state {
        ERT_CMD_STATE_NEW => "NEW",
        ERT_CMD_STATE_QUEUED => "QUEUED",
        ERT_CMD_STATE_RUNNING => "RUNNING",
        ERT_CMD_STATE_COMPLETED => "COMPLETED",
        ERT_CMD_STATE_ERROR => "ERROR",
        ERT_CMD_STATE_ABORT => "ABORT",
        ERT_CMD_STATE_SUBMITTED => "SUBMITTED",
        ERT_CMD_STATE_TIMEOUT => "TIMEOUT",
        ERT_CMD_STATE_NORESPONSE => "NORESPONSE",
        ERT_CMD_STATE_SKERROR => "SKERROR",
        ERT_CMD_STATE_SKCRASHED => "SKCRASHED",
        _ => "unknown",
    }
}

/// An open device; closed on drop.
#[derive(Debug)]
struct Device(NonNull<c_void>);

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: a handle from xrtDeviceOpen, closed only here.
        unsafe { sys::xrtDeviceClose(self.0.as_ptr()) };
    }
}

/// An open kernel; closed on drop.
#[derive(Debug)]
struct Kernel(NonNull<c_void>);

impl Drop for Kernel {
    fn drop(&mut self) {
        // SAFETY: a handle from xrtPLKernelOpenExclusive, closed only here.
        unsafe { sys::xrtKernelClose(self.0.as_ptr()) };
    }
}

/// A buffer object (or sub-buffer); freed on drop.
#[derive(Debug)]
struct Bo(NonNull<c_void>);

impl Drop for Bo {
    fn drop(&mut self) {
        // SAFETY: a handle from xrtBOAlloc or xrtBOSubAlloc, freed only here.
        unsafe { sys::xrtBOFree(self.0.as_ptr()) };
    }
}

/// A run handle; closed on drop.
#[derive(Debug)]
struct Run(NonNull<c_void>);

impl Drop for Run {
    fn drop(&mut self) {
        // SAFETY: a handle from xrtRunOpen, closed only here.
        unsafe { sys::xrtRunClose(self.0.as_ptr()) };
    }
}

/// A buffer object with its host mapping and device address.
#[derive(Debug)]
struct Mapped {
    bo: Bo,
    /// xrtBOMap's pointer: `buf.len` bytes, valid while `bo` lives.
    map: NonNull<u8>,
    buf: DeviceBuffer,
}

/// How one argument is passed to xrtRunSetArg.
#[derive(Debug, Clone, Copy)]
enum ArgValue {
    Scalar(u32),
    Buffer(NonNull<c_void>),
    /// A null pointer: not set (a fresh run passes 0).
    Null,
}

/// The accelerator as an XRT kernel. See the module documentation.
#[derive(Debug)]
pub struct XrtTransport {
    // Fields drop in declaration order: the run, then the sub-buffers it
    // may use, the buffers, the kernel and last the device, the reverse of
    // the order they were opened in.
    run: Option<Run>,
    /// Sub-buffers made for pointer arguments inside a buffer, kept until
    /// the next run starts.
    sub_buffers: Vec<Bo>,
    buffers: Vec<Mapped>,
    kernel: Kernel,
    device: Device,
    /// Memory group of the kernel's pointer arguments.
    group: sys::xrtMemoryGroup,
    /// The argument registers as the driver last wrote them, by word.
    shadow: Vec<u32>,
    /// Pointer arguments set on the current run handle (by index).
    run_pointers: Vec<bool>,
    /// A run was started and not yet waited for to the end.
    in_flight: bool,
    timeout_floor: Duration,
}

impl XrtTransport {
    /// Opens device `device_index`, loads `xclbin` and opens the kernel
    /// [`KERNEL_NAME`] with exclusive access.
    pub fn open(device_index: u32, xclbin: &Path) -> Result<Self, TransportError> {
        // Reading the file first turns a missing or foreign file into a
        // typed error naming it, before the device is touched.
        let file = Xclbin::read(xclbin)?;
        let path = CString::new(xclbin.as_os_str().as_bytes()).map_err(|_| {
            TransportError::Unsupported(format!(
                "the xclbin path {} holds a NUL byte",
                xclbin.display()
            ))
        })?;

        clear_errno();
        // SAFETY: plain call; the handle is owned by `device` from here on.
        let device = Device(non_null("xrtDeviceOpen", unsafe {
            sys::xrtDeviceOpen(device_index)
        })?);
        clear_errno();
        // SAFETY: a live device handle and a NUL-terminated path.
        let status = unsafe { sys::xrtDeviceLoadXclbinFile(device.0.as_ptr(), path.as_ptr()) };
        check("xrtDeviceLoadXclbinFile", status)?;
        let mut uuid = [0u8; 16];
        clear_errno();
        // SAFETY: a live device handle; `uuid` has the 16 bytes of an xuid_t.
        let status = unsafe { sys::xrtDeviceGetXclbinUUID(device.0.as_ptr(), uuid.as_mut_ptr()) };
        check("xrtDeviceGetXclbinUUID", status)?;
        if uuid != file.uuid {
            return Err(TransportError::Xrt {
                call: "xrtDeviceGetXclbinUUID",
                errno: 0,
                message: format!(
                    "the device reports xclbin {} after loading {} (xclbin {})",
                    Uuid(uuid),
                    xclbin.display(),
                    Uuid(file.uuid)
                ),
            });
        }

        let name = CString::new(KERNEL_NAME).expect("the kernel name has no NUL");
        clear_errno();
        // SAFETY: a live device handle, the 16-byte UUID and a
        // NUL-terminated name; the handle is owned by `kernel` from here on.
        let kernel = Kernel(non_null("xrtPLKernelOpenExclusive", unsafe {
            sys::xrtPLKernelOpenExclusive(device.0.as_ptr(), uuid.as_ptr(), name.as_ptr())
        })?);

        // kiln's kernel has one memory port: every pointer argument must
        // be in one memory group, the one buffers are allocated in.
        let mut group: Option<(&str, c_int)> = None;
        for (index, arg) in regs::KERNEL_ARGS.iter().enumerate() {
            if !arg.pointer {
                continue;
            }
            clear_errno();
            // SAFETY: a live kernel handle.
            let id = unsafe { sys::xrtKernelArgGroupId(kernel.0.as_ptr(), index as c_int) };
            if id < 0 {
                return Err(xrt_error("xrtKernelArgGroupId", Some(i64::from(id))));
            }
            match group {
                None => group = Some((arg.name, id)),
                Some((first, first_id)) if first_id != id => {
                    return Err(TransportError::Unsupported(format!(
                        "pointer arguments `{first}` and `{}` are in memory groups {first_id} and {id}; \
                         kiln's kernel has one memory port and needs one group",
                        arg.name
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(Self {
            run: None,
            sub_buffers: Vec::new(),
            buffers: Vec::new(),
            kernel,
            device,
            group: group.map_or(0, |(_, id)| id as sys::xrtMemoryGroup),
            shadow: vec![0; (regs::WINDOW_BYTES / 4) as usize],
            run_pointers: vec![false; regs::KERNEL_ARGS.len()],
            in_flight: false,
            timeout_floor: DEFAULT_TIMEOUT_FLOOR,
        })
    }

    /// Gives every wait at least `floor` (default [`DEFAULT_TIMEOUT_FLOOR`]).
    pub fn with_timeout_floor(mut self, floor: Duration) -> Self {
        self.timeout_floor = floor;
        self
    }

    /// The memory group buffers are allocated in.
    pub fn memory_group(&self) -> u32 {
        self.group
    }

    fn is_argument_word(offset: u32) -> bool {
        regs::KERNEL_ARGS
            .iter()
            .any(|a| offset == a.offset || (a.pointer && offset == a.offset + 4))
    }

    fn shadow_word(&self, offset: u32) -> u32 {
        self.shadow[(offset / 4) as usize]
    }

    fn mapped(&self, buf: &DeviceBuffer) -> Result<&Mapped, TransportError> {
        self.buffers
            .iter()
            .find(|m| m.buf.phys == buf.phys)
            .ok_or_else(|| TransportError::UnknownBuffer {
                what: "the buffer".to_string(),
                address: buf.phys,
            })
    }

    /// The buffer object to pass for a pointer argument holding `address`:
    /// the buffer itself if the address is its base, otherwise a
    /// sub-buffer from the address to the buffer's end.
    fn buffer_for(&mut self, arg: &str, address: u64) -> Result<NonNull<c_void>, TransportError> {
        let m = self
            .buffers
            .iter()
            .find(|m| address >= m.buf.phys && address - m.buf.phys < m.buf.len)
            .ok_or_else(|| TransportError::UnknownBuffer {
                what: format!("argument `{arg}`"),
                address,
            })?;
        let offset = address - m.buf.phys;
        if offset == 0 {
            return Ok(m.bo.0);
        }
        // Both fit usize: the buffer's length did when it was allocated.
        let (size, offset) = ((m.buf.len - offset) as usize, offset as usize);
        clear_errno();
        // SAFETY: a live buffer handle; the range lies inside it.
        let sub = Bo(non_null("xrtBOSubAlloc", unsafe {
            sys::xrtBOSubAlloc(m.bo.0.as_ptr(), size, offset)
        })?);
        let handle = sub.0;
        self.sub_buffers.push(sub);
        Ok(handle)
    }

    /// Whether the run in flight, if any, is still going.
    fn run_state(&self) -> Option<sys::ert_cmd_state::Type> {
        let run = self.run.as_ref().filter(|_| self.in_flight)?;
        // SAFETY: a live run handle.
        Some(unsafe { sys::xrtRunState(run.0.as_ptr()) })
    }

    /// Starts a run with the argument registers as written: every argument
    /// set on the run handle, then xrtRunStart.
    fn start(&mut self) -> Result<(), TransportError> {
        use sys::ert_cmd_state::*;
        if let Some(state) = self.run_state() {
            if matches!(
                state,
                ERT_CMD_STATE_NEW
                    | ERT_CMD_STATE_QUEUED
                    | ERT_CMD_STATE_SUBMITTED
                    | ERT_CMD_STATE_RUNNING
            ) {
                return Err(TransportError::Unsupported(
                    "a run is still in flight; wait for it before starting another".to_string(),
                ));
            }
        }
        self.in_flight = false;
        // The previous run is over: its sub-buffers can go.
        self.sub_buffers.clear();
        let mut values = Vec::with_capacity(regs::KERNEL_ARGS.len());
        for arg in regs::KERNEL_ARGS {
            let low = self.shadow_word(arg.offset);
            let value = if arg.pointer {
                let address = u64::from(self.shadow_word(arg.offset + 4)) << 32 | u64::from(low);
                if address == 0 {
                    ArgValue::Null
                } else {
                    ArgValue::Buffer(self.buffer_for(arg.name, address)?)
                }
            } else {
                ArgValue::Scalar(low)
            };
            values.push(value);
        }
        // XRT has no null buffer handle: an argument a run handle once had
        // cannot be cleared, so a null pointer after a set one takes a
        // fresh run handle (whose arguments start at 0).
        let stale = values
            .iter()
            .zip(&self.run_pointers)
            .any(|(v, &set)| matches!(v, ArgValue::Null) && set);
        if stale {
            self.run = None;
        }
        let run = match &self.run {
            Some(run) => run.0,
            None => {
                clear_errno();
                // SAFETY: a live kernel handle; the run is owned by `self.run`.
                let run = Run(non_null("xrtRunOpen", unsafe {
                    sys::xrtRunOpen(self.kernel.0.as_ptr())
                })?);
                let handle = run.0;
                self.run = Some(run);
                self.run_pointers.fill(false);
                handle
            }
        };
        for (index, value) in values.into_iter().enumerate() {
            clear_errno();
            let status = match value {
                ArgValue::Null => continue,
                // SAFETY: a live run handle; a scalar argument takes an
                // `unsigned int` (kernel.xml type "uint").
                ArgValue::Scalar(v) => unsafe {
                    sys::xrtRunSetArg(run.as_ptr(), index as c_int, v as c_uint)
                },
                // SAFETY: a live run handle; a global argument takes an
                // xrtBufferHandle, here a live buffer.
                ArgValue::Buffer(bo) => unsafe {
                    sys::xrtRunSetArg(run.as_ptr(), index as c_int, bo.as_ptr())
                },
            };
            check("xrtRunSetArg", status)?;
            if matches!(value, ArgValue::Buffer(_)) {
                self.run_pointers[index] = true;
            }
        }
        clear_errno();
        // SAFETY: a live run handle with its arguments set.
        check("xrtRunStart", unsafe { sys::xrtRunStart(run.as_ptr()) })?;
        self.in_flight = true;
        Ok(())
    }
}

impl Transport for XrtTransport {
    fn register_window(&self) -> u32 {
        regs::WINDOW_BYTES
    }

    /// Reads a register through xrtKernelReadRegister, except CTRL while
    /// a run is in flight.
    ///
    /// Reading CTRL clears ap_done, and XRT watches ap_done to complete
    /// the run in flight: a read from here could make XRT miss it. So
    /// while a run is in flight CTRL reads as XRT's view of the run: 0
    /// (busy) while it runs, AP_IDLE once XRT has seen it finish and taken
    /// its ap_done. With no run in flight nobody is watching (the kernel is
    /// open exclusively), and the hardware's own CTRL is read: a compute
    /// unit left busy by an earlier process shows as busy.
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        check_register_offset(offset, regs::WINDOW_BYTES)?;
        if offset == regs::CTRL.offset {
            use sys::ert_cmd_state::*;
            match self.run_state() {
                None => {}
                Some(
                    ERT_CMD_STATE_NEW
                    | ERT_CMD_STATE_QUEUED
                    | ERT_CMD_STATE_SUBMITTED
                    | ERT_CMD_STATE_RUNNING,
                ) => return Ok(0),
                Some(_) => return Ok(regs::ctrl::AP_IDLE.mask()),
            }
        }
        let mut value = 0u32;
        clear_errno();
        // SAFETY: a live kernel handle (opened exclusively, as register
        // reads need); `value` is a writable u32.
        let status =
            unsafe { sys::xrtKernelReadRegister(self.kernel.0.as_ptr(), offset, &mut value) };
        check("xrtKernelReadRegister", status)?;
        Ok(value)
    }

    /// Argument registers are kept until a run starts; AP_START in CTRL
    /// starts one. GIE, IER and ISR belong to XRT, which enables, takes
    /// and clears the interrupt itself, so writes to them are dropped.
    /// Every other software-writable register is a kernel argument
    /// (`KERNEL_ARGS`); the rest are read-only, and writing them does
    /// nothing on the hardware either.
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        check_register_offset(offset, regs::WINDOW_BYTES)?;
        if offset == regs::CTRL.offset {
            if regs::ctrl::AUTO_RESTART.get(value) != 0 {
                return Err(TransportError::Unsupported(
                    "auto-restart is not available through XRT's run API".to_string(),
                ));
            }
            if regs::ctrl::AP_START.get(value) != 0 {
                return self.start();
            }
            return Ok(());
        }
        if Self::is_argument_word(offset) {
            self.shadow[(offset / 4) as usize] = value;
        }
        Ok(())
    }

    fn alloc(&mut self, bytes: u64) -> Result<DeviceBuffer, TransportError> {
        let len = bytes.max(1);
        let size = usize::try_from(len).map_err(|_| TransportError::OutOfMemory {
            bytes,
            available: usize::MAX as u64,
        })?;
        clear_errno();
        // SAFETY: a live device handle; the buffer is owned by `bo`.
        let bo = Bo(non_null("xrtBOAlloc", unsafe {
            sys::xrtBOAlloc(self.device.0.as_ptr(), size, BO_FLAGS_NONE, self.group)
        })?);
        clear_errno();
        // SAFETY: a live buffer handle.
        let map = NonNull::new(unsafe { sys::xrtBOMap(bo.0.as_ptr()) }.cast::<u8>())
            .ok_or_else(|| xrt_error("xrtBOMap", None))?;
        clear_errno();
        // SAFETY: a live buffer handle.
        let phys = unsafe { sys::xrtBOAddress(bo.0.as_ptr()) };
        if phys == u64::MAX {
            return Err(xrt_error("xrtBOAddress", None));
        }
        let buf = DeviceBuffer { phys, len };
        self.buffers.push(Mapped { bo, map, buf });
        Ok(buf)
    }

    fn sync_to_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let m = self.mapped(buf)?;
        m.buf.check_range(offset, data.len() as u64)?;
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: the mapping holds `m.buf.len` bytes while the buffer
        // lives, and the range was checked against it; `data` is a
        // distinct Rust allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                m.map.as_ptr().add(offset as usize),
                data.len(),
            )
        };
        clear_errno();
        // SAFETY: a live buffer handle; the range lies inside it.
        let status = unsafe {
            sys::xrtBOSync(
                m.bo.0.as_ptr(),
                sys::xclBOSyncDirection::XCL_BO_SYNC_BO_TO_DEVICE,
                data.len(),
                offset as usize,
            )
        };
        check("xrtBOSync", status)
    }

    fn sync_from_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), TransportError> {
        let m = self.mapped(buf)?;
        m.buf.check_range(offset, out.len() as u64)?;
        if out.is_empty() {
            return Ok(());
        }
        clear_errno();
        // SAFETY: a live buffer handle; the range lies inside it.
        let status = unsafe {
            sys::xrtBOSync(
                m.bo.0.as_ptr(),
                sys::xclBOSyncDirection::XCL_BO_SYNC_BO_FROM_DEVICE,
                out.len(),
                offset as usize,
            )
        };
        check("xrtBOSync", status)?;
        // SAFETY: as in sync_to_device, with `out` the distinct destination.
        unsafe {
            std::ptr::copy_nonoverlapping(
                m.map.as_ptr().add(offset as usize),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        Ok(())
    }

    /// xrtRunWaitFor on the run in flight, given at least the timeout
    /// floor, in whole milliseconds.
    fn wait_interrupt(&mut self, timeout: Duration) -> Result<(), TransportError> {
        use sys::ert_cmd_state::*;
        let Some(run) = self.run.as_ref().filter(|_| self.in_flight) else {
            return Err(TransportError::Unsupported(
                "no run is in flight to wait for".to_string(),
            ));
        };
        let wait = timeout.max(self.timeout_floor);
        // At least 1 ms: XRT waits without limit for 0.
        let ms = wait
            .as_nanos()
            .div_ceil(1_000_000)
            .clamp(1, u128::from(u32::MAX)) as c_uint;
        clear_errno();
        // SAFETY: a live run handle.
        let state = unsafe { sys::xrtRunWaitFor(run.0.as_ptr(), ms) };
        match state {
            ERT_CMD_STATE_COMPLETED => {
                self.in_flight = false;
                Ok(())
            }
            // XRT returns TIMEOUT; older versions the state of the run
            // still going.
            ERT_CMD_STATE_TIMEOUT
            | ERT_CMD_STATE_RUNNING
            | ERT_CMD_STATE_QUEUED
            | ERT_CMD_STATE_SUBMITTED
            | ERT_CMD_STATE_NEW => Err(TransportError::Timeout {
                waited_us: u64::from(ms) * 1000,
            }),
            // ABORT is also what the call returns when it fails.
            ERT_CMD_STATE_ABORT if errno() != 0 => {
                self.in_flight = false;
                Err(xrt_error("xrtRunWaitFor", None))
            }
            other => {
                self.in_flight = false;
                Err(TransportError::RunFailed {
                    state: state_name(other),
                    code: other,
                })
            }
        }
    }
}
