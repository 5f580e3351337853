//! The accelerator: identify, submit, wait, read counters. The one register
//! sequence every transport shares.

use std::time::Duration;

use crate::descriptor::DescriptorError;
use crate::regs;
use crate::transport::{DeviceBuffer, Transport, TransportError};

/// What a design fixes and the identity registers report: the design id
/// and the geometry the driver relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesignIdentity {
    /// FNV-1a of the design name (DESIGN_ID).
    pub id: u32,
    /// ENGINE.KIND: the engine's code in hw/engines.toml.
    pub engine: u32,
    /// ENGINE.BLOCK: elements per BFP block (0 for other engines).
    pub block: u32,
    pub rows: u32,
    pub cols: u32,
    pub pe_kind: u32,
    pub weight_bits: u32,
    pub k_depth: u32,
    pub m_tiles: u32,
    pub n_tiles: u32,
}

impl std::fmt::Display for DesignIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:#010x}: ENGINE.KIND {} BLOCK {}, ARRAY {}x{} PE_KIND {} WEIGHT_BITS {}, \
             BUFFERS K_DEPTH {} M_TILES {} N_TILES {}",
            self.id,
            self.engine,
            self.block,
            self.rows,
            self.cols,
            self.pe_kind,
            self.weight_bits,
            self.k_depth,
            self.m_tiles,
            self.n_tiles
        )
    }
}

/// One run of an engine: its argument registers, checked in full against
/// the opened accelerator before any of them is written. Each engine's
/// jobs implement it in the engine's own folder; the driver sequences any
/// of them the same way.
pub trait Job {
    /// What the job is, for messages (`GEMM`, `BFP MatMul`).
    fn what(&self) -> &'static str;
    /// ENGINE.KIND of the engine that runs it.
    fn engine_kind(&self) -> u32;
    /// Checks shapes, layouts and buffer bounds against the accelerator's
    /// identity registers.
    fn validate(&self, identity: &DesignIdentity) -> Result<(), DescriptorError>;
    /// The argument registers' values.
    fn args(&self) -> RunArgs;
}

/// The argument registers of one run, whichever engine it is for: what
/// each means is the engine's (hw/ip/<engine>/doc/registers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunArgs {
    /// (name for messages, device address, row stride in bytes) of A, B and C.
    pub operands: [(&'static str, u64, u64); 3],
    /// P_ADDR (0 for an engine without channel parameters).
    pub params: u64,
    /// M, N, K.
    pub mnk: [u32; 3],
    /// The engine's MODE word.
    pub mode: u32,
}

/// What the identity registers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub magic: u32,
    pub version: u32,
    pub design: DesignIdentity,
}

/// The design the caller expects to find (from hw/designs/<name>.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedDesign {
    pub name: String,
    pub identity: DesignIdentity,
}

/// Performance counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Cycles from start to done.
    pub cycles: u64,
    /// Cycles the PE array issued a step.
    pub busy: u64,
    /// Cycles the PE array waited for operands (or for the output path).
    pub stall: u64,
    /// Useful multiply-accumulates.
    pub macs: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

/// The engines' state, for timeout reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineState {
    pub loader: u32,
    pub compute: u32,
    pub drain: u32,
    pub reads_in_flight: u32,
    pub writes_in_flight: u32,
    pub bus_error: bool,
    pub jobs_loaded: u32,
    pub jobs_computed: u32,
    pub blocks_drained: u32,
    pub ctrl: u32,
}

impl std::fmt::Display for EngineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CTRL={:#x} loader state {} compute state {} drain state {}, {} read and {} write bursts in flight, \
             {} jobs loaded, {} computed, {} blocks drained{}",
            self.ctrl,
            self.loader,
            self.compute,
            self.drain,
            self.reads_in_flight,
            self.writes_in_flight,
            self.jobs_loaded,
            self.jobs_computed,
            self.blocks_drained,
            if self.bus_error { ", bus error" } else { "" }
        )
    }
}

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    #[error("no kiln accelerator here: MAGIC reads {found:#010x}, expected {expected:#010x}")]
    NotKiln { found: u32, expected: u32 },
    #[error("the accelerator implements register-map version {found}; this driver speaks version {expected}")]
    Version { found: u32, expected: u32 },
    #[error("wrong design: expected `{name}` ({expected}), the hardware reports {found}")]
    WrongDesign {
        name: String,
        expected: DesignIdentity,
        found: DesignIdentity,
    },
    #[error(
        "the accelerator is busy with an earlier run (a run that timed out, or another process \
         using it): {state}; wait for it, or reload the bitstream to reset it"
    )]
    Busy { state: EngineState },
    #[error("bad descriptor: {0}")]
    Descriptor(#[from] DescriptorError),
    #[error("the accelerator did not finish within {timeout:?}: {state}")]
    Timeout {
        timeout: Duration,
        state: EngineState,
    },
    #[error(
        "the accelerator finished but reported a bus error (a SLVERR or DECERR response): {state}"
    )]
    BusError { state: EngineState },
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// One accelerator behind a transport.
#[derive(Debug)]
pub struct Accelerator<T: Transport> {
    transport: T,
    identity: Identity,
}

impl<T: Transport> Accelerator<T> {
    /// Reads the identity registers and checks them against `expected`.
    pub fn open(mut transport: T, expected: &ExpectedDesign) -> Result<Self, DriverError> {
        let identity = read_identity(&mut transport)?;
        if identity.magic != regs::MAGIC_VALUE {
            return Err(DriverError::NotKiln {
                found: identity.magic,
                expected: regs::MAGIC_VALUE,
            });
        }
        if identity.version != regs::REG_VERSION {
            return Err(DriverError::Version {
                found: identity.version,
                expected: regs::REG_VERSION,
            });
        }
        if identity.design != expected.identity {
            return Err(DriverError::WrongDesign {
                name: expected.name.clone(),
                expected: expected.identity,
                found: identity.design,
            });
        }
        let mut accel = Self {
            transport,
            identity,
        };
        // Arguments written now would change a run in flight under its feet.
        let state = accel.state()?;
        if regs::ctrl::AP_IDLE.get(state.ctrl) == 0 {
            return Err(DriverError::Busy { state });
        }
        Ok(accel)
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Gives the transport back (to close a waveform, say).
    pub fn into_transport(self) -> T {
        self.transport
    }

    pub fn alloc(&mut self, bytes: u64) -> Result<DeviceBuffer, DriverError> {
        Ok(self.transport.alloc(bytes)?)
    }

    pub fn write(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        data: &[u8],
    ) -> Result<(), DriverError> {
        Ok(self.transport.sync_to_device(buf, offset, data)?)
    }

    pub fn read(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), DriverError> {
        Ok(self.transport.sync_from_device(buf, offset, out)?)
    }

    /// Runs one job and returns its counters. The job is validated in full
    /// before any register is written.
    pub fn run(&mut self, job: &dyn Job, timeout: Duration) -> Result<Counters, DriverError> {
        let found = self.identity.design.engine;
        if found != job.engine_kind() {
            return Err(DescriptorError::WrongEngine {
                job: job.what(),
                wanted: job.engine_kind(),
                found,
            }
            .into());
        }
        job.validate(&self.identity.design)?;
        self.start(&job.args(), timeout)
    }

    /// Writes a validated run's arguments, starts it, waits for the
    /// interrupt and returns the counters.
    fn start(&mut self, args: &RunArgs, timeout: Duration) -> Result<Counters, DriverError> {
        let t = &mut self.transport;
        let split = |x: u64| (x as u32, (x >> 32) as u32);
        let [(_, a, _), (_, b, _), (_, c, _)] = args.operands;
        for (lo, hi, addr) in [
            (regs::A_ADDR_LO, regs::A_ADDR_HI, a),
            (regs::B_ADDR_LO, regs::B_ADDR_HI, b),
            (regs::C_ADDR_LO, regs::C_ADDR_HI, c),
            (regs::P_ADDR_LO, regs::P_ADDR_HI, args.params),
        ] {
            let (l, h) = split(addr);
            t.write32(lo.offset, l)?;
            t.write32(hi.offset, h)?;
        }
        let [m, n, k] = args.mnk;
        t.write32(regs::M.offset, m)?;
        t.write32(regs::N.offset, n)?;
        t.write32(regs::K.offset, k)?;
        // Strides were checked to be at most the buffer sizes; the register is 32 bits.
        for (reg, (operand, _, stride)) in [regs::LDA, regs::LDB, regs::LDC]
            .into_iter()
            .zip(args.operands)
        {
            let value = u32::try_from(stride).map_err(|_| {
                DriverError::Descriptor(DescriptorError::StrideTooShort {
                    operand,
                    stride,
                    row: u64::from(u32::MAX),
                })
            })?;
            t.write32(reg.offset, value)?;
        }
        t.write32(regs::MODE.offset, args.mode)?;
        t.write32(regs::GIE.offset, regs::gie::ENABLE.set(0, 1))?;
        t.write32(regs::IER.offset, regs::ier::DONE.set(0, 1))?;
        t.write32(regs::CTRL.offset, regs::ctrl::AP_START.set(0, 1))?;

        match t.wait_interrupt(timeout) {
            Ok(()) => {}
            Err(TransportError::Timeout { .. }) => {
                let state = self.state()?;
                return Err(DriverError::Timeout { timeout, state });
            }
            Err(e) => return Err(e.into()),
        }
        let t = &mut self.transport;
        // Reading CTRL clears AP_DONE; writing 1 toggles ISR.DONE back to 0.
        t.read32(regs::CTRL.offset)?;
        t.write32(regs::ISR.offset, regs::isr::DONE.set(0, 1))?;
        let state = self.state()?;
        if state.bus_error {
            return Err(DriverError::BusError { state });
        }
        self.counters()
    }

    /// Reads the performance counters of the last run.
    pub fn counters(&mut self) -> Result<Counters, DriverError> {
        let mut read64 = |lo: regs::Register, hi: regs::Register| -> Result<u64, DriverError> {
            let l = self.transport.read32(lo.offset)?;
            let h = self.transport.read32(hi.offset)?;
            Ok(u64::from(h) << 32 | u64::from(l))
        };
        Ok(Counters {
            cycles: read64(regs::CYCLES_LO, regs::CYCLES_HI)?,
            busy: read64(regs::BUSY_LO, regs::BUSY_HI)?,
            stall: read64(regs::STALL_LO, regs::STALL_HI)?,
            macs: read64(regs::MACS_LO, regs::MACS_HI)?,
            bytes_read: read64(regs::RD_BYTES_LO, regs::RD_BYTES_HI)?,
            bytes_written: read64(regs::WR_BYTES_LO, regs::WR_BYTES_HI)?,
        })
    }

    /// Reads the engines' state registers.
    pub fn state(&mut self) -> Result<EngineState, DriverError> {
        let t = &mut self.transport;
        let s = t.read32(regs::STATE.offset)?;
        Ok(EngineState {
            loader: regs::state::LOADER.get(s),
            compute: regs::state::COMPUTE.get(s),
            drain: regs::state::DRAIN.get(s),
            reads_in_flight: regs::state::RD_OUTSTANDING.get(s),
            writes_in_flight: regs::state::WR_OUTSTANDING.get(s),
            bus_error: regs::state::BUS_ERROR.get(s) != 0,
            jobs_loaded: t.read32(regs::JOBS_LOADED.offset)?,
            jobs_computed: t.read32(regs::JOBS_COMPUTED.offset)?,
            blocks_drained: t.read32(regs::BLOCKS_DRAINED.offset)?,
            ctrl: t.read32(regs::CTRL.offset)?,
        })
    }
}

fn read_identity<T: Transport>(t: &mut T) -> Result<Identity, DriverError> {
    let array = t.read32(regs::ARRAY.offset)?;
    let buffers = t.read32(regs::BUFFERS.offset)?;
    let engine = t.read32(regs::ENGINE.offset)?;
    Ok(Identity {
        magic: t.read32(regs::MAGIC.offset)?,
        version: t.read32(regs::VERSION.offset)?,
        design: DesignIdentity {
            id: t.read32(regs::DESIGN_ID.offset)?,
            engine: regs::engine::KIND.get(engine),
            block: regs::engine::BLOCK.get(engine),
            rows: regs::array::ROWS.get(array),
            cols: regs::array::COLS.get(array),
            pe_kind: regs::array::PE_KIND.get(array),
            weight_bits: regs::array::WEIGHT_BITS.get(array),
            k_depth: regs::buffers::K_DEPTH.get(buffers),
            m_tiles: regs::buffers::M_TILES.get(buffers),
            n_tiles: regs::buffers::N_TILES.get(buffers),
        },
    })
}
