//! The emulated devices, kernels, buffers and runs behind the C API, in
//! plain Rust: every operation takes handle numbers and returns a
//! `Result`, and lib.rs turns errors into XRT's NULL / non-zero / errno.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use kiln_driver::xclbin::{self, Uuid, Xclbin, XclbinError};
use kiln_sim::{AccelSim, AxiMemory, MemTiming, SimError};

use crate::kernel_xml::{self, KernelInfo};
use crate::memory::{Allocator, HostBuffer, ALLOC_START};

/// `enum ert_cmd_state` values the emulation reports.
pub mod state {
    pub const NEW: u32 = 1;
    pub const RUNNING: u32 = 3;
    pub const COMPLETED: u32 = 4;
    pub const ERROR: u32 = 5;
    pub const ABORT: u32 = 6;
    pub const TIMEOUT: u32 = 8;
}

/// `enum xclBOSyncDirection`.
pub const SYNC_TO_DEVICE: u32 = 0;
pub const SYNC_FROM_DEVICE: u32 = 1;

/// `XRT_BO_FLAGS_CACHEABLE`, the one flag accepted besides none.
const FLAG_CACHEABLE: u64 = 1 << 24;

/// The one memory group of the emulated board (all of DDR).
const MEMORY_GROUP: u32 = 0;

/// The control registers XRT's driver writes (XRT's RTL-kernel convention).
const CTRL: u32 = 0x00;
const GIE: u32 = 0x04;
const IER: u32 = 0x08;
const ISR: u32 = 0x0c;
const AP_START: u32 = 1;
const IRQ_DONE: u32 = 1;

/// Environment variable naming the board file (`boards/<name>.toml`).
pub const BOARD_ENV: &str = "KILN_XRT_EMU_BOARD";
/// Environment variable naming an FST waveform to write.
pub const TRACE_ENV: &str = "KILN_XRT_EMU_TRACE";
const DEFAULT_BOARD: &str = "kv260";

/// A failed call: the errno to set and the message to print.
#[derive(Debug)]
pub struct EmuError {
    pub errno: i32,
    pub message: String,
}

fn err<T>(errno: i32, message: impl Into<String>) -> Result<T, EmuError> {
    Err(EmuError {
        errno,
        message: message.into(),
    })
}

fn invalid<T>(message: impl Into<String>) -> Result<T, EmuError> {
    err(libc::EINVAL, message)
}

fn sim_failure(e: SimError) -> EmuError {
    EmuError {
        errno: libc::EIO,
        message: format!("simulation: {e}"),
    }
}

/// What the emulated board looks like, from its board file.
#[derive(Debug, Clone)]
struct Board {
    clock_mhz: f64,
    timing: MemTiming,
    ddr_base: u64,
    ddr_bytes: u64,
}

impl Board {
    /// The board named by `KILN_XRT_EMU_BOARD` (default kv260), with its
    /// fabric clock, memory-port timing and DDR as the simulation
    /// transport uses them (`kiln::backend::sim_board`).
    fn from_env() -> Result<Self, EmuError> {
        let name = std::env::var(BOARD_ENV).unwrap_or_else(|_| DEFAULT_BOARD.to_string());
        let board =
            kiln_spec::Board::by_name(&name).or_else(|e| err(libc::ENODEV, e.to_string()))?;
        if board.transport != "xrt" {
            return err(
                libc::ENODEV,
                format!(
                    "board `{name}` ({BOARD_ENV}) is reached through {}, not XRT; XRT runs on Zynq UltraScale+ boards",
                    board.transport
                ),
            );
        }
        Ok(Self {
            clock_mhz: board.fabric_clock_mhz,
            timing: MemTiming {
                bytes_per_cycle: board.memory.bytes_per_cycle,
                read_latency: board.memory.read_latency_cycles,
                write_latency: board.memory.write_latency_cycles,
            },
            ddr_base: board.addresses.ddr_base,
            ddr_bytes: board.addresses.ddr_bytes,
        })
    }
}

/// An xclbin loaded on a device: the simulated design and its memory.
struct Loaded {
    uuid: [u8; 16],
    kernel: KernelInfo,
    accel: AccelSim,
    alloc: Allocator,
    /// A run has been started and not yet acknowledged.
    cu_busy: bool,
    /// Memory faults recorded before the run in flight started.
    faults_before: usize,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("uuid", &Uuid(self.uuid))
            .field("kernel", &self.kernel.name)
            .field("accel", &self.accel)
            .finish()
    }
}

#[derive(Debug)]
struct Device {
    /// False once closed; the entry lives on while kernels or buffers use it.
    open: bool,
    board: Board,
    loaded: Option<Loaded>,
}

#[derive(Debug)]
struct Kernel {
    device: usize,
    exclusive: bool,
    open: bool,
}

#[derive(Debug)]
struct Buffer {
    device: usize,
    /// Device address of the first byte.
    addr: u64,
    size: u64,
    /// The host-side copy, shared with sub-buffers.
    host: Rc<HostBuffer>,
    host_offset: usize,
    /// The buffer a sub-buffer was cut from (always a top-level buffer).
    parent: Option<usize>,
    /// Sub-buffers not yet freed (top-level buffers only).
    live_subs: usize,
    /// Freed by the caller but kept for its live sub-buffers.
    freed: bool,
}

#[derive(Debug, Clone, Copy)]
enum ArgValue {
    Scalar(u64),
    /// A buffer's device address, taken when the argument was set (as XRT does).
    Address(u64),
}

#[derive(Debug)]
struct Run {
    kernel: usize,
    args: Vec<Option<ArgValue>>,
    state: u32,
}

/// What `xrtRunSetArg` reads from its variable arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// An `unsigned int`.
    Scalar32,
    /// A `uint64_t`.
    Scalar64,
    /// An `xrtBufferHandle`.
    Global,
}

/// Every object of this thread. Handles are numbers from one counter, so
/// a handle of the wrong kind is unknown rather than misread.
#[derive(Debug, Default)]
pub struct Registry {
    last: usize,
    devices: HashMap<usize, Device>,
    kernels: HashMap<usize, Kernel>,
    buffers: HashMap<usize, Buffer>,
    runs: HashMap<usize, Run>,
}

/// Handle numbers are multiples of this, starting above it: never 0 (NULL).
const HANDLE_STEP: usize = 0x10;

impl Registry {
    fn new_handle(&mut self) -> usize {
        self.last += HANDLE_STEP;
        self.last
    }

    fn device(&mut self, h: usize) -> Result<&mut Device, EmuError> {
        match self.devices.get_mut(&h) {
            Some(d) if d.open => Ok(d),
            _ => invalid(format!("unknown device handle {h:#x}")),
        }
    }

    fn kernel(&self, h: usize) -> Result<&Kernel, EmuError> {
        match self.kernels.get(&h) {
            Some(k) if k.open => Ok(k),
            _ => invalid(format!("unknown kernel handle {h:#x}")),
        }
    }

    fn buffer(&self, h: usize) -> Result<&Buffer, EmuError> {
        match self.buffers.get(&h) {
            Some(b) if !b.freed => Ok(b),
            _ => invalid(format!("unknown buffer handle {h:#x}")),
        }
    }

    fn run(&self, h: usize) -> Result<&Run, EmuError> {
        self.runs.get(&h).ok_or_else(|| EmuError {
            errno: libc::EINVAL,
            message: format!("unknown run handle {h:#x}"),
        })
    }

    /// The loaded xclbin of a device that may already be closed (kernels,
    /// buffers and runs keep their device alive, as in XRT).
    fn loaded(&mut self, device: usize) -> Result<&mut Loaded, EmuError> {
        self.devices
            .get_mut(&device)
            .and_then(|d| d.loaded.as_mut())
            .ok_or_else(|| EmuError {
                errno: libc::EINVAL,
                message: "no xclbin is loaded on the device".to_string(),
            })
    }

    // ---- devices ----

    pub fn device_open(&mut self, index: u32) -> Result<usize, EmuError> {
        if index != 0 {
            return err(
                libc::ENODEV,
                format!("no device {index}: the emulation has one device, index 0"),
            );
        }
        let board = Board::from_env()?;
        let h = self.new_handle();
        self.devices.insert(
            h,
            Device {
                open: true,
                board,
                loaded: None,
            },
        );
        Ok(h)
    }

    pub fn device_close(&mut self, h: usize) -> Result<(), EmuError> {
        self.device(h)?.open = false;
        self.collect();
        Ok(())
    }

    pub fn load_xclbin(&mut self, h: usize, path: PathBuf) -> Result<(), EmuError> {
        let in_use = self.kernels.values().any(|k| k.device == h)
            || self.buffers.values().any(|b| b.device == h);
        let device = self.device(h)?;
        if in_use {
            return err(
                libc::EBUSY,
                "the loaded xclbin is in use: close its kernels and free its buffers first",
            );
        }
        let x = Xclbin::read(&path).map_err(|e| {
            let errno = match &e {
                XclbinError::Read { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
                _ => libc::EINVAL,
            };
            EmuError {
                errno,
                message: e.to_string(),
            }
        })?;
        let what = path.display();
        if x.mode != xclbin::mode::HW_EMU {
            return invalid(format!(
                "{what} is a hardware xclbin (mode {}); the emulation runs the emulation xclbins `kiln bitstream emulate` writes",
                x.mode
            ));
        }
        let design = x.emulation_design().or_else(|e| invalid(e.to_string()))?;
        // The emulation runs inside the kiln process, so the project of its
        // working directory (if any) names the design as kiln did.
        let design = kiln_spec::Catalog::discover(None)
            .and_then(|catalog| catalog.design(&design))
            .or_else(|e| invalid(format!("{what}: {e}")))?;
        let xml = x.kernel_xml().or_else(|e| invalid(e.to_string()))?;
        let kernel = kernel_xml::parse(&xml).or_else(|e| invalid(format!("{what}: {e}")))?;
        let board = &device.board;
        let memory = AxiMemory::new(board.ddr_base, board.ddr_bytes, board.timing);
        let trace = std::env::var_os(TRACE_ENV).map(PathBuf::from);
        let accel = AccelSim::open(&design, memory, trace.as_deref()).map_err(|e| EmuError {
            errno: libc::EINVAL,
            message: format!("{what}: {e}"),
        })?;
        let ddr_end = board.ddr_base + board.ddr_bytes;
        let loaded = Loaded {
            uuid: x.uuid,
            kernel,
            accel,
            alloc: Allocator::new(board.ddr_base + ALLOC_START, ddr_end),
            cu_busy: false,
            faults_before: 0,
        };
        if let Some(old) = device.loaded.replace(loaded) {
            finish(old);
        }
        Ok(())
    }

    pub fn xclbin_uuid(&mut self, h: usize) -> Result<[u8; 16], EmuError> {
        self.device(h)?;
        Ok(self.loaded(h)?.uuid)
    }

    // ---- kernels ----

    pub fn kernel_open(
        &mut self,
        device: usize,
        uuid: [u8; 16],
        name: &str,
        exclusive: bool,
    ) -> Result<usize, EmuError> {
        self.device(device)?;
        let loaded = self.loaded(device)?;
        if loaded.uuid != uuid {
            return invalid(format!(
                "xclbin {} is not loaded on the device (xclbin {} is)",
                Uuid(uuid),
                Uuid(loaded.uuid)
            ));
        }
        if name != loaded.kernel.name {
            return invalid(format!(
                "the xclbin has no kernel `{name}`; its kernel is `{}`",
                loaded.kernel.name
            ));
        }
        let mut others = self
            .kernels
            .values()
            .filter(|k| k.device == device && k.open);
        if let Some(other) = others.next() {
            if exclusive || other.exclusive {
                return err(
                    libc::EBUSY,
                    format!(
                        "kernel `{name}`'s compute unit is already open{}",
                        if other.exclusive {
                            " with exclusive access"
                        } else {
                            "; exclusive access needs it to be the only one"
                        }
                    ),
                );
            }
        }
        let h = self.new_handle();
        self.kernels.insert(
            h,
            Kernel {
                device,
                exclusive,
                open: true,
            },
        );
        Ok(h)
    }

    pub fn kernel_close(&mut self, h: usize) -> Result<(), EmuError> {
        self.kernel(h)?;
        if let Some(k) = self.kernels.get_mut(&h) {
            k.open = false;
        }
        self.collect();
        Ok(())
    }

    pub fn arg_group(&mut self, h: usize, index: i32) -> Result<i32, EmuError> {
        let device = self.kernel(h)?.device;
        let kernel = &self.loaded(device)?.kernel;
        let arg = usize::try_from(index)
            .ok()
            .and_then(|i| kernel.args.get(i))
            .ok_or_else(|| EmuError {
                errno: libc::EINVAL,
                message: format!(
                    "kernel `{}` has no argument {index}; it has {}",
                    kernel.name,
                    kernel.args.len()
                ),
            })?;
        if !arg.global {
            return invalid(format!(
                "argument {index} (`{}`) is a scalar; only global arguments have a memory group",
                arg.name
            ));
        }
        Ok(MEMORY_GROUP as i32)
    }

    pub fn read_register(&mut self, h: usize, offset: u32) -> Result<u32, EmuError> {
        let kernel = self.kernel(h)?;
        let device = kernel.device;
        if !kernel.exclusive {
            return err(
                libc::EPERM,
                "reading a kernel register needs the kernel opened with exclusive access (xrtPLKernelOpenExclusive)",
            );
        }
        let loaded = self.loaded(device)?;
        let window = loaded.kernel.window;
        if !offset.is_multiple_of(4) || offset.checked_add(4).is_none_or(|end| end > window) {
            return invalid(format!(
                "register offset {offset:#x} is not a 32-bit register of the {window:#x}-byte window"
            ));
        }
        loaded.accel.read_reg(offset).map_err(sim_failure)
    }

    // ---- buffers ----

    pub fn bo_alloc(
        &mut self,
        device: usize,
        size: usize,
        flags: u64,
        group: u32,
    ) -> Result<usize, EmuError> {
        self.device(device)?;
        let loaded = self.loaded(device)?;
        if size == 0 {
            return invalid("a buffer of 0 bytes");
        }
        if flags & !FLAG_CACHEABLE != 0 {
            return invalid(format!(
                "buffer flags {flags:#x} are not emulated; use XRT_BO_FLAGS_NONE or XRT_BO_FLAGS_CACHEABLE"
            ));
        }
        if group != MEMORY_GROUP {
            return invalid(format!(
                "memory group {group} does not exist; the emulated board has one, group {MEMORY_GROUP}"
            ));
        }
        let bytes = size as u64;
        let addr = loaded.alloc.alloc(bytes).ok_or_else(|| EmuError {
            errno: libc::ENOMEM,
            message: format!(
                "cannot allocate {bytes} bytes of device memory: {} bytes of emulated DDR are free",
                loaded.alloc.available()
            ),
        })?;
        let Some(host) = HostBuffer::zeroed(size) else {
            loaded.alloc.free(addr);
            return err(
                libc::ENOMEM,
                format!("cannot allocate the {size}-byte host copy"),
            );
        };
        // The accelerator may touch this buffer; anything outside every
        // buffer faults in the memory model.
        loaded.accel.memory_mut().add_region(addr, bytes);
        let h = self.new_handle();
        self.buffers.insert(
            h,
            Buffer {
                device,
                addr,
                size: bytes,
                host: Rc::new(host),
                host_offset: 0,
                parent: None,
                live_subs: 0,
                freed: false,
            },
        );
        Ok(h)
    }

    pub fn bo_sub_alloc(
        &mut self,
        parent: usize,
        size: usize,
        offset: usize,
    ) -> Result<usize, EmuError> {
        let p = self.buffer(parent)?;
        let (size64, offset64) = (size as u64, offset as u64);
        if size == 0 || offset64.checked_add(size64).is_none_or(|end| end > p.size) {
            return invalid(format!(
                "a sub-buffer of {size} bytes at offset {offset} does not fit the {}-byte buffer",
                p.size
            ));
        }
        let root = p.parent.unwrap_or(parent);
        let sub = Buffer {
            device: p.device,
            addr: p.addr + offset64,
            size: size64,
            host: Rc::clone(&p.host),
            host_offset: p.host_offset + offset,
            parent: Some(root),
            live_subs: 0,
            freed: false,
        };
        if let Some(r) = self.buffers.get_mut(&root) {
            r.live_subs += 1;
        }
        let h = self.new_handle();
        self.buffers.insert(h, sub);
        Ok(h)
    }

    pub fn bo_free(&mut self, h: usize) -> Result<(), EmuError> {
        self.buffer(h)?;
        if let Some(b) = self.buffers.get_mut(&h) {
            b.freed = true;
        }
        self.collect();
        Ok(())
    }

    pub fn bo_map(&self, h: usize) -> Result<*mut u8, EmuError> {
        let b = self.buffer(h)?;
        // Inside the allocation: a sub-buffer's range was checked when it was made.
        Ok(b.host.as_ptr().wrapping_add(b.host_offset))
    }

    pub fn bo_address(&self, h: usize) -> Result<u64, EmuError> {
        Ok(self.buffer(h)?.addr)
    }

    pub fn bo_sync(
        &mut self,
        h: usize,
        direction: u32,
        size: usize,
        offset: usize,
    ) -> Result<(), EmuError> {
        let b = self.buffer(h)?;
        if offset
            .checked_add(size)
            .is_none_or(|end| end as u64 > b.size)
        {
            return invalid(format!(
                "syncing {size} bytes at offset {offset} leaves the {}-byte buffer",
                b.size
            ));
        }
        let (device, addr, host, host_at) = (
            b.device,
            b.addr + offset as u64,
            Rc::clone(&b.host),
            b.host_offset + offset,
        );
        let memory = self.loaded(device)?.accel.memory_mut();
        let mut bytes = vec![0u8; size];
        let outside = || EmuError {
            errno: libc::EIO,
            message: format!("buffer at {addr:#x} is outside the emulated DDR"),
        };
        match direction {
            SYNC_TO_DEVICE => {
                host.read(host_at, &mut bytes);
                memory.write(addr, &bytes).ok_or_else(outside)
            }
            SYNC_FROM_DEVICE => {
                memory.read(addr, &mut bytes).ok_or_else(outside)?;
                host.write(host_at, &bytes);
                Ok(())
            }
            other => invalid(format!(
                "sync direction {other} is not emulated (only to and from the device)"
            )),
        }
    }

    // ---- runs ----

    pub fn run_open(&mut self, kernel: usize) -> Result<usize, EmuError> {
        let device = self.kernel(kernel)?.device;
        let args = self.loaded(device)?.kernel.args.len();
        let h = self.new_handle();
        self.runs.insert(
            h,
            Run {
                kernel,
                args: vec![None; args],
                state: state::NEW,
            },
        );
        Ok(h)
    }

    pub fn run_close(&mut self, h: usize) -> Result<(), EmuError> {
        self.run(h)?;
        self.runs.remove(&h);
        self.collect();
        Ok(())
    }

    /// The kernel info and device of a run.
    fn run_kernel(&mut self, h: usize) -> Result<(usize, &mut Loaded), EmuError> {
        let kernel = self.run(h)?.kernel;
        let device = self
            .kernels
            .get(&kernel)
            .map(|k| k.device)
            .ok_or_else(|| EmuError {
                errno: libc::EINVAL,
                message: "the run's kernel is gone".to_string(),
            })?;
        Ok((device, self.loaded(device)?))
    }

    pub fn arg_kind(&mut self, h: usize, index: i32) -> Result<ArgKind, EmuError> {
        let (_, loaded) = self.run_kernel(h)?;
        let kernel = &loaded.kernel;
        let arg = usize::try_from(index)
            .ok()
            .and_then(|i| kernel.args.get(i))
            .ok_or_else(|| EmuError {
                errno: libc::EINVAL,
                message: format!(
                    "kernel `{}` has no argument {index}; it has {}",
                    kernel.name,
                    kernel.args.len()
                ),
            })?;
        Ok(match (arg.global, arg.size) {
            (true, _) => ArgKind::Global,
            (false, 4) => ArgKind::Scalar32,
            _ => ArgKind::Scalar64,
        })
    }

    pub fn set_scalar(&mut self, h: usize, index: i32, value: u64) -> Result<(), EmuError> {
        if self.arg_kind(h, index)? == ArgKind::Global {
            return invalid(format!("argument {index} is global, not a scalar"));
        }
        self.set_arg(h, index, ArgValue::Scalar(value))
    }

    pub fn set_global(&mut self, h: usize, index: i32, bo: usize) -> Result<(), EmuError> {
        if self.arg_kind(h, index)? != ArgKind::Global {
            return invalid(format!("argument {index} is a scalar, not global"));
        }
        let (device, _) = self.run_kernel(h)?;
        let b = self.buffer(bo)?;
        if b.device != device {
            return invalid("the buffer belongs to another device");
        }
        let addr = b.addr;
        self.set_arg(h, index, ArgValue::Address(addr))
    }

    fn set_arg(&mut self, h: usize, index: i32, value: ArgValue) -> Result<(), EmuError> {
        let run = self.runs.get_mut(&h).ok_or_else(|| EmuError {
            errno: libc::EINVAL,
            message: format!("unknown run handle {h:#x}"),
        })?;
        if run.state == state::RUNNING {
            return err(libc::EBUSY, "the run is in progress; wait for it first");
        }
        // `arg_kind` checked the index.
        run.args[index as usize] = Some(value);
        Ok(())
    }

    /// Writes the arguments, enables the done interrupt as XRT's driver
    /// does, and sets ap_start.
    pub fn run_start(&mut self, h: usize) -> Result<(), EmuError> {
        let run_state = self.run(h)?.state;
        if run_state == state::RUNNING {
            return err(libc::EBUSY, "the run is already in progress");
        }
        let values = self.run(h)?.args.clone();
        let (_, loaded) = self.run_kernel(h)?;
        if loaded.cu_busy {
            return err(
                libc::EBUSY,
                "the compute unit is still busy with an earlier run (the emulation does not queue runs)",
            );
        }
        let accel = &mut loaded.accel;
        for (arg, value) in loaded.kernel.args.iter().zip(&values) {
            let word = match value {
                None => 0,
                Some(ArgValue::Scalar(v) | ArgValue::Address(v)) => *v,
            };
            accel
                .write_reg(arg.offset, word as u32)
                .map_err(sim_failure)?;
            if arg.size == 8 {
                accel
                    .write_reg(arg.offset + 4, (word >> 32) as u32)
                    .map_err(sim_failure)?;
            }
        }
        accel.write_reg(GIE, 1).map_err(sim_failure)?;
        accel.write_reg(IER, IRQ_DONE).map_err(sim_failure)?;
        accel.write_reg(CTRL, AP_START).map_err(sim_failure)?;
        loaded.faults_before = loaded.accel.memory().faults().len();
        loaded.cu_busy = true;
        if let Some(run) = self.runs.get_mut(&h) {
            run.state = state::RUNNING;
        }
        Ok(())
    }

    /// Runs the simulation until the interrupt, at most `timeout_ms` of
    /// device time at the board's fabric clock (0: without limit). Returns
    /// the run's state, or TIMEOUT.
    pub fn run_wait(&mut self, h: usize, timeout_ms: u32) -> Result<u32, EmuError> {
        let run_state = self.run(h)?.state;
        if run_state != state::RUNNING {
            return Ok(run_state);
        }
        let (device, _) = self.run_kernel(h)?;
        let Some(dev) = self.devices.get_mut(&device) else {
            return invalid("the run's device is gone");
        };
        let clock_mhz = dev.board.clock_mhz;
        let Some(loaded) = dev.loaded.as_mut() else {
            return invalid("no xclbin is loaded on the device");
        };
        let cycles = if timeout_ms == 0 {
            u64::MAX
        } else {
            (f64::from(timeout_ms) * clock_mhz * 1e3).ceil() as u64
        };
        let waited = loaded.accel.run_until_irq(cycles);
        let faults: Vec<String> = loaded
            .accel
            .memory()
            .faults()
            .get(loaded.faults_before..)
            .unwrap_or_default()
            .iter()
            .map(|f| format!("cycle {}: {}", f.cycle, f.what))
            .collect();
        let outcome = match waited {
            Ok(_) => {
                loaded.cu_busy = false;
                // Acknowledge as XRT's driver does: reading CTRL clears
                // ap_done, writing ISR clears the interrupt.
                let ack = loaded
                    .accel
                    .read_reg(CTRL)
                    .and_then(|_| loaded.accel.write_reg(ISR, IRQ_DONE));
                match ack {
                    Ok(()) if faults.is_empty() => Ok(state::COMPLETED),
                    Ok(()) => Ok(state::ERROR),
                    Err(e) => Err(sim_failure(e)),
                }
            }
            Err(SimError::Timeout { .. }) if faults.is_empty() => return Ok(state::TIMEOUT),
            Err(SimError::Timeout { .. }) => {
                loaded.cu_busy = false;
                Ok(state::ERROR)
            }
            Err(e) => {
                loaded.cu_busy = false;
                Err(sim_failure(e))
            }
        };
        if let Some(run) = self.runs.get_mut(&h) {
            run.state = *outcome.as_ref().unwrap_or(&state::ABORT);
        }
        if outcome.as_ref().is_ok_and(|&s| s == state::ERROR) {
            crate::report(
                "xrtRunWaitFor",
                &format!(
                    "the kernel faulted on its memory port: {}",
                    faults.join("; ")
                ),
            );
        }
        outcome
    }

    pub fn run_state(&self, h: usize) -> Result<u32, EmuError> {
        Ok(self.run(h)?.state)
    }

    /// Drops what is closed and no longer used: runs keep kernels, kernels
    /// and buffers keep devices, sub-buffers keep their parent buffer.
    fn collect(&mut self) {
        let gone: Vec<usize> = self
            .buffers
            .iter()
            .filter(|(_, b)| b.freed && b.live_subs == 0)
            .map(|(&h, _)| h)
            .collect();
        for h in gone {
            let Some(b) = self.buffers.remove(&h) else {
                continue;
            };
            match b.parent {
                Some(root) => {
                    if let Some(r) = self.buffers.get_mut(&root) {
                        r.live_subs -= 1;
                    }
                }
                None => {
                    if let Some(loaded) = self
                        .devices
                        .get_mut(&b.device)
                        .and_then(|d| d.loaded.as_mut())
                    {
                        loaded.alloc.free(b.addr);
                    }
                }
            }
        }
        // A sub-buffer's release may have freed its parent.
        if self.buffers.values().any(|b| b.freed && b.live_subs == 0) {
            return self.collect();
        }
        let runs = &self.runs;
        self.kernels
            .retain(|&h, k| k.open || runs.values().any(|r| r.kernel == h));
        let (kernels, buffers) = (&self.kernels, &self.buffers);
        let gone: Vec<usize> = self
            .devices
            .iter()
            .filter(|&(&h, d)| {
                !d.open
                    && !kernels.values().any(|k| k.device == h)
                    && !buffers.values().any(|b| b.device == h)
            })
            .map(|(&h, _)| h)
            .collect();
        for h in gone {
            if let Some(loaded) = self.devices.remove(&h).and_then(|d| d.loaded) {
                finish(loaded);
            }
        }
    }
}

/// Ends a loaded design's simulation, finishing its waveform if any.
fn finish(loaded: Loaded) {
    if let Err(e) = loaded.accel.close() {
        crate::report("xrtDeviceClose", &format!("simulation: {e}"));
    }
}
