//! Backends: any engine's job on the golden model, on the simulated RTL or
//! on the hardware behind a driver transport. The runtime asks a backend to
//! run a [`Job`] on host arrays and gets the outputs (and, from hardware
//! backends, counters); it never sees a register, and a backend never knows
//! which engine a job is for. [`open`] is the one place a backend is opened
//! from a kind, a design, a board and a bitstream manifest.

pub mod open;

#[cfg(feature = "sim")]
pub use open::{devmem_on_device, devmem_on_sim, sim_board, SIM_UDMABUF_BYTES};
pub use open::{open, BackendKind, DeviceOptions, OpenBackend, OpenError};

#[cfg(feature = "sim")]
use std::path::Path;
use std::time::Duration;

#[cfg(feature = "sim")]
use kiln_driver::transport::SimTransport;
use kiln_driver::{
    Accelerator, DesignIdentity, DeviceBuffer, DriverError, ExpectedDesign, Transport,
};
use kiln_spec::{Board, Design};

use crate::engines::bfp::BfpError;
use crate::engines::gemm::GemmError;
use crate::engines::{check_engine, Job, JobRun};

/// Why a backend could not run a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    #[error(transparent)]
    Problem(#[from] GemmError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error(transparent)]
    Spec(#[from] kiln_spec::SpecError),
    #[error(transparent)]
    Format(#[from] crate::formats::FormatError),
    #[error(transparent)]
    Bfp(#[from] BfpError),
    #[error(transparent)]
    Requant(#[from] crate::formats::requant::RequantError),
    /// A backend this build of kiln leaves out.
    #[error("this kiln was built without the {backend} backend: {how}")]
    NotCompiled {
        backend: &'static str,
        how: &'static str,
    },
    #[error("{operand} is {found}; design `{design}` takes {wanted}")]
    OperandFormat {
        operand: &'static str,
        found: String,
        design: String,
        wanted: String,
    },
    #[error("engine `{engine}` is in hw/engines.toml but has no runtime half (runtime/src/engines/{engine}/)")]
    NoEngine { engine: String },
    #[error("a {what} job returned outputs of the other element type")]
    OutputType { what: String },
    #[error("a {what} job takes {wanted} input buffers; {got} were given")]
    Buffers {
        what: &'static str,
        wanted: usize,
        got: usize,
    },
    #[error("call signature `{signature}` is not one of design `{design}`'s engine")]
    Signature { signature: String, design: String },
    /// An engine's own error about a job (its shape, operands or layout).
    #[error(transparent)]
    Engine(Box<dyn std::error::Error + Send + Sync>),
}

/// Something that runs engine jobs: the golden model or a device.
pub trait Backend {
    /// Short name for reports (`golden`, `sim`, `devmem`, `xrt`).
    fn name(&self) -> &'static str;
    /// Runs `job`; outputs follow its engine's golden model bit for bit.
    fn run(&mut self, job: &dyn Job) -> Result<JobRun, BackendError>;
}

/// The bit-exact reference, in plain Rust.
#[derive(Debug)]
pub struct GoldenBackend {
    design: Design,
}

impl GoldenBackend {
    pub fn new(design: &Design) -> Result<Self, BackendError> {
        crate::engines::of(design)?;
        Ok(Self {
            design: design.clone(),
        })
    }
}

impl Backend for GoldenBackend {
    fn name(&self) -> &'static str {
        "golden"
    }

    fn run(&mut self, job: &dyn Job) -> Result<JobRun, BackendError> {
        check_engine(job, &self.design)?;
        Ok(JobRun {
            output: job.golden(&self.design)?,
            counters: None,
        })
    }
}

/// The design on real or simulated hardware behind a driver transport: the
/// same [`Accelerator`] register sequence whether the transport is the
/// Verilated model, /dev/mem on a PYNQ or XRT on a KV260.
#[derive(Debug)]
pub struct DeviceBackend<T: Transport> {
    accel: Accelerator<T>,
    design: Design,
    board: Board,
    name: &'static str,
    /// No run is given less than this (wall-clock transports need slack for
    /// the operating system; the simulator's device time does not).
    min_timeout: Duration,
    /// Reused device buffers: each job's inputs in its slot order, then
    /// its output.
    buffers: Vec<DeviceBuffer>,
}

/// The expected identity of `design`, for the driver's check.
pub fn expected_design(design: &Design) -> Result<ExpectedDesign, kiln_spec::SpecError> {
    let identity = design.identity()?;
    let e = identity.engine;
    Ok(ExpectedDesign {
        name: design.name.clone(),
        identity: DesignIdentity {
            id: identity.id,
            engine: identity.kind,
            block: e.block,
            rows: e.rows,
            cols: e.cols,
            pe_kind: identity.pe_kind,
            weight_bits: e.weight_bits,
            k_depth: e.k_depth,
            m_tiles: e.m_tiles,
            n_tiles: e.n_tiles,
        },
    })
}

impl<T: Transport> DeviceBackend<T> {
    /// Opens the accelerator behind `transport`, checking that it is
    /// `design` (identity registers) before anything else; `name` is the
    /// backend's name in reports (`sim`, `devmem`, `xrt`).
    pub fn new(
        transport: T,
        name: &'static str,
        design: &Design,
        board: &Board,
    ) -> Result<Self, BackendError> {
        crate::engines::of(design)?;
        let accel = Accelerator::open(transport, &expected_design(design)?)?;
        Ok(Self {
            accel,
            design: design.clone(),
            board: board.clone(),
            name,
            min_timeout: Duration::ZERO,
            buffers: Vec::new(),
        })
    }

    /// Gives every run at least `timeout`.
    pub fn with_min_timeout(mut self, timeout: Duration) -> Self {
        self.min_timeout = timeout;
        self
    }

    /// The driver's handle.
    pub fn accelerator(&self) -> &Accelerator<T> {
        &self.accel
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.accel.into_transport()
    }

    /// The buffer of `slot`, reused when it is large enough.
    fn buffer(&mut self, slot: usize, bytes: usize) -> Result<DeviceBuffer, BackendError> {
        match self.buffers.get(slot) {
            Some(buf) if buf.len >= bytes as u64 => Ok(*buf),
            _ => {
                let buf = self.accel.alloc(bytes as u64)?;
                if slot < self.buffers.len() {
                    self.buffers[slot] = buf;
                } else {
                    self.buffers.push(buf);
                }
                Ok(buf)
            }
        }
    }

    /// A watchdog generous enough for any healthy run: ten times the ideal
    /// cycles plus ten cycles per byte moved, plus a fixed margin.
    fn timeout(&self, ideal_cycles: f64, bytes: usize) -> Duration {
        let cycles = 10.0 * ideal_cycles + 10.0 * bytes as f64 + 100_000.0;
        Duration::from_secs_f64(cycles / (self.board.fabric_clock_mhz * 1e6)).max(self.min_timeout)
    }
}

/// The design's RTL in Verilator, on the board's simulated memory, driven by
/// the same [`Accelerator`] code a board uses.
#[cfg(feature = "sim")]
pub type SimBackend = DeviceBackend<SimTransport>;

#[cfg(feature = "sim")]
impl DeviceBackend<SimTransport> {
    /// Opens `design`'s model on `board`, optionally tracing to `trace` (.fst).
    pub fn open(
        design: &Design,
        board: &Board,
        trace: Option<&Path>,
    ) -> Result<Self, BackendError> {
        let transport =
            SimTransport::open(design, open::sim_board(board), trace).map_err(DriverError::from)?;
        Self::new(transport, "sim", design, board)
    }

    /// Finishes the waveform, if one is being written.
    pub fn close(self) -> Result<(), BackendError> {
        self.into_transport()
            .close()
            .map_err(|e| BackendError::Driver(e.into()))
    }
}

/// The simulation backend in a build without the simulator (a board
/// build): the type exists so callers keep one shape, and opening it says
/// what is missing.
#[cfg(not(feature = "sim"))]
#[derive(Debug)]
pub struct SimBackend(std::convert::Infallible);

#[cfg(not(feature = "sim"))]
impl SimBackend {
    pub fn open(
        _design: &Design,
        _board: &Board,
        _trace: Option<&std::path::Path>,
    ) -> Result<Self, BackendError> {
        Err(BackendError::NotCompiled {
            backend: "sim",
            how:
                "build kiln with the `sim` feature where Verilator is installed \
                  (a board build leaves it out); for `kiln run`, pass --no-cycles --verify-sample 0",
        })
    }

    pub fn close(self) -> Result<(), BackendError> {
        match self.0 {}
    }
}

#[cfg(not(feature = "sim"))]
impl Backend for SimBackend {
    fn name(&self) -> &'static str {
        match self.0 {}
    }

    fn run(&mut self, _: &dyn Job) -> Result<JobRun, BackendError> {
        match self.0 {}
    }
}

impl<T: Transport> Backend for DeviceBackend<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    /// Lays the job out, writes its inputs into reused buffers, runs it
    /// through the driver and reads the output back.
    fn run(&mut self, job: &dyn Job) -> Result<JobRun, BackendError> {
        check_engine(job, &self.design)?;
        let image = job.to_device(&self.design)?;
        let mut inputs = Vec::with_capacity(image.inputs().len());
        let mut moved = image.output_bytes();
        for (slot, bytes) in image.inputs().iter().enumerate() {
            let buf = self.buffer(slot, bytes.len())?;
            self.accel.write(&buf, 0, bytes)?;
            inputs.push(buf);
            moved += bytes.len();
        }
        let output = self.buffer(inputs.len(), image.output_bytes())?;
        let timeout = self.timeout(image.ideal_cycles(), moved);
        let descriptor = image.descriptor(&inputs, output)?;
        let counters = self.accel.run(descriptor.as_ref(), timeout)?;
        drop(descriptor);
        let mut bytes = vec![0u8; image.output_bytes()];
        self.accel.read(&output, 0, &mut bytes)?;
        Ok(JobRun {
            output: image.decode(&bytes)?,
            counters: Some(counters),
        })
    }
}
