//! GEMM backends: the same quantised GEMM on the golden model or on the
//! simulated RTL. The runtime asks a backend for a GEMM on host arrays and
//! gets the outputs (and, from hardware backends, counters); it never sees
//! registers.

use std::path::Path;
use std::time::Duration;

use kiln_driver::transport::{SimBoard, SimTransport};
use kiln_driver::{
    Accelerator, Counters, DesignIdentity, DeviceBuffer, DriverError, ExpectedDesign,
    GemmDescriptor, Operand, OutputKind,
};
use kiln_sim::MemTiming;
use kiln_spec::{Board, Design};

use crate::formats::Codebook;
use crate::gemm::{golden_gemm, layout, layout::Strides, GemmError, GemmProblem, OutputMode};

/// Outputs of one GEMM, M x N row-major (int8 values sign-extended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmRun {
    pub output: Vec<i32>,
    /// Hardware counters, from backends that have them.
    pub counters: Option<Counters>,
}

/// Why a backend could not run a GEMM.
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
}

/// Something that runs quantised GEMMs.
pub trait GemmBackend {
    /// Short name for reports (`golden`, `sim`).
    fn name(&self) -> &'static str;
    /// Runs `problem`; outputs follow the golden model's definition.
    fn gemm(&mut self, problem: &GemmProblem) -> Result<GemmRun, BackendError>;
}

/// The bit-exact reference, in plain Rust.
#[derive(Debug)]
pub struct GoldenBackend {
    codebook: Codebook,
}

impl GoldenBackend {
    pub fn new(design: &Design) -> Result<Self, BackendError> {
        Ok(Self {
            codebook: Codebook::named(&design.pe)?,
        })
    }
}

impl GemmBackend for GoldenBackend {
    fn name(&self) -> &'static str {
        "golden"
    }

    fn gemm(&mut self, problem: &GemmProblem) -> Result<GemmRun, BackendError> {
        Ok(GemmRun {
            output: golden_gemm(&self.codebook, problem)?,
            counters: None,
        })
    }
}

/// The design's RTL in Verilator, on the board's simulated memory, driven by
/// the same [`Accelerator`] code a board uses.
#[derive(Debug)]
pub struct SimBackend {
    accel: Accelerator<SimTransport>,
    codebook: Codebook,
    design: Design,
    board: Board,
    /// Reused device buffers: A, B, C, channel parameters.
    buffers: [Option<DeviceBuffer>; 4],
}

/// The expected identity of `design`, for the driver's check.
pub fn expected_design(design: &Design) -> Result<ExpectedDesign, kiln_spec::SpecError> {
    Ok(ExpectedDesign {
        name: design.name.clone(),
        identity: DesignIdentity {
            id: design.id(),
            rows: design.rows,
            cols: design.cols,
            pe_kind: design.pe_kind()?,
            weight_bits: design.weight_bits()?,
            k_depth: design.k_depth,
            m_tiles: design.m_tiles,
            n_tiles: design.n_tiles,
        },
    })
}

/// The simulated board's memory port and clock, from its board file.
pub fn sim_board(board: &Board) -> SimBoard {
    SimBoard {
        clock_mhz: board.fabric_clock_mhz,
        timing: MemTiming {
            bytes_per_cycle: board.memory.bytes_per_cycle,
            read_latency: board.memory.read_latency_cycles,
            write_latency: board.memory.write_latency_cycles,
        },
        ddr_base: board.addresses.ddr_base,
        ddr_bytes: board.addresses.ddr_bytes,
    }
}

impl SimBackend {
    /// Opens `design`'s model on `board`, optionally tracing to `trace` (.fst).
    pub fn open(
        design: &Design,
        board: &Board,
        trace: Option<&Path>,
    ) -> Result<Self, BackendError> {
        let transport =
            SimTransport::open(&design.name, sim_board(board), trace).map_err(DriverError::from)?;
        let accel = Accelerator::open(transport, &expected_design(design)?)?;
        Ok(Self {
            accel,
            codebook: Codebook::named(&design.pe)?,
            design: design.clone(),
            board: board.clone(),
            buffers: [None; 4],
        })
    }

    /// Finishes the waveform, if one is being written.
    pub fn close(self) -> Result<(), BackendError> {
        self.accel
            .into_transport()
            .close()
            .map_err(|e| BackendError::Driver(e.into()))
    }

    fn buffer(&mut self, slot: usize, bytes: usize) -> Result<DeviceBuffer, BackendError> {
        match self.buffers[slot] {
            Some(buf) if buf.len >= bytes as u64 => Ok(buf),
            _ => {
                let buf = self.accel.alloc(bytes as u64)?;
                self.buffers[slot] = Some(buf);
                Ok(buf)
            }
        }
    }

    /// A watchdog generous enough for any healthy run: ten times the ideal
    /// cycles plus ten cycles per byte moved, plus a fixed margin.
    fn timeout(&self, p: &GemmProblem) -> Duration {
        let ideal = (p.m * p.n * p.k) as f64 / f64::from(self.design.pes());
        let bytes = (p.m * p.k + p.n * p.k + 4 * p.m * p.n + 16 * p.n) as f64;
        let cycles = 10.0 * ideal + 10.0 * bytes + 100_000.0;
        Duration::from_secs_f64(cycles / (self.board.fabric_clock_mhz * 1e6))
    }
}

impl GemmBackend for SimBackend {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn gemm(&mut self, p: &GemmProblem) -> Result<GemmRun, BackendError> {
        p.validate(&self.codebook)?;
        let bits = self.codebook.weight_bits();
        let strides = Strides::packed(p.n, p.k, bits, p.output)?;
        let a = layout::pack_a(p, strides.lda)?;
        let b = layout::pack_b(p, bits, strides.ldb)?;
        let params = layout::pack_channels(&p.channels);
        let c_len = layout::c_bytes(p.m, strides.ldc);
        let a_buf = self.buffer(0, a.len())?;
        let b_buf = self.buffer(1, b.len())?;
        let c_buf = self.buffer(2, c_len)?;
        let p_buf = self.buffer(3, params.len())?;
        self.accel.write(&a_buf, 0, &a)?;
        self.accel.write(&b_buf, 0, &b)?;
        self.accel.write(&p_buf, 0, &params)?;
        let operand = |buffer, stride| Operand {
            buffer,
            offset: 0,
            stride: stride as u64,
        };
        let desc = GemmDescriptor {
            m: p.m as u32,
            n: p.n as u32,
            k: p.k as u32,
            a: operand(a_buf, strides.lda),
            b: operand(b_buf, strides.ldb),
            c: operand(c_buf, strides.ldc),
            params: operand(p_buf, 0),
            act_zero_point: p.act_zero_point,
            output: match p.output {
                OutputMode::Int8 { zero_point } => OutputKind::Int8 { zero_point },
                OutputMode::Int32 => OutputKind::Int32,
            },
        };
        let timeout = self.timeout(p);
        let counters = self.accel.gemm(&desc, timeout)?;
        let mut c = vec![0u8; c_len];
        self.accel.read(&c_buf, 0, &mut c)?;
        Ok(GemmRun {
            output: layout::unpack_c(&c, p.m, p.n, strides.ldc, p.output)?,
            counters: Some(counters),
        })
    }
}

/// An output that differs from the golden model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub row: usize,
    pub col: usize,
    pub got: i32,
    pub expected: i32,
}

/// One GEMM on a backend, checked output by output against the golden model.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedGemm {
    /// Outputs compared (M x N).
    pub outputs: usize,
    /// How many differ.
    pub mismatches: usize,
    pub first_mismatch: Option<Mismatch>,
    /// Hardware counters, from backends that have them.
    pub counters: Option<Counters>,
    /// M*N*K over the design's PE count.
    pub ideal_cycles: f64,
    /// Wall time of the backend's run alone (the golden reference excluded).
    pub wall_seconds: f64,
}

impl CheckedGemm {
    /// Ideal over measured cycles.
    pub fn utilisation(&self) -> Option<f64> {
        self.counters.map(|c| self.ideal_cycles / c.cycles as f64)
    }

    /// Device time at a fabric clock of `clock_mhz`.
    pub fn projected_us(&self, clock_mhz: f64) -> Option<f64> {
        self.counters.map(|c| c.cycles as f64 / clock_mhz)
    }

    /// Simulated cycles per wall-clock second.
    pub fn cycles_per_second(&self) -> Option<f64> {
        self.counters.map(|c| c.cycles as f64 / self.wall_seconds)
    }
}

/// Runs `problem` on `backend` and compares every output with the golden
/// model of `design`'s PE.
pub fn run_checked(
    backend: &mut dyn GemmBackend,
    design: &Design,
    problem: &GemmProblem,
) -> Result<CheckedGemm, BackendError> {
    let expected = golden_gemm(&Codebook::named(&design.pe)?, problem)?;
    let started = std::time::Instant::now();
    let run = backend.gemm(problem)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let wrong: Vec<usize> = (0..expected.len())
        .filter(|&i| expected[i] != run.output[i])
        .collect();
    Ok(CheckedGemm {
        outputs: expected.len(),
        mismatches: wrong.len(),
        first_mismatch: wrong.first().map(|&i| Mismatch {
            row: i / problem.n,
            col: i % problem.n,
            got: run.output[i],
            expected: expected[i],
        }),
        counters: run.counters,
        ideal_cycles: (problem.m * problem.n * problem.k) as f64 / f64::from(design.pes()),
        wall_seconds,
    })
}
