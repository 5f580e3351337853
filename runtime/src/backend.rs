//! Backends: the same quantised GEMM or BFP MatMul on the golden model or
//! on the simulated RTL. The runtime asks a backend for a GEMM or a MatMul
//! on host arrays and gets the outputs (and, from hardware backends,
//! counters); it never sees registers.

#[cfg(feature = "sim")]
use std::path::Path;
use std::time::Duration;

#[cfg(feature = "sim")]
use kiln_driver::transport::{SimBoard, SimTransport};
use kiln_driver::{
    Accelerator, Counters, DesignIdentity, DeviceBuffer, DriverError, ExpectedDesign,
    GemmDescriptor, MatmulDescriptor, Operand, OutputKind, Transport,
};
use kiln_spec::{Board, Design, Engine, EngineConfig};

use crate::bfp::bound::{row_error_terms, RowErrors};
use crate::bfp::{self, golden_matmul, BfpError, BfpFormat, BfpMatrix, ElementKind};
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
    #[error(transparent)]
    Bfp(#[from] BfpError),
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
}

/// A BFP MatMul on quantised operands: C (M x N, f32) = A x W^T.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulProblem {
    /// M x K activations in mxint8.
    pub a: BfpMatrix,
    /// N x K weights (one row per output) in the design's weight format.
    pub w: BfpMatrix,
}

/// Outputs of one MatMul, M x N row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulRun {
    pub output: Vec<f32>,
    /// Hardware counters, from backends that have them.
    pub counters: Option<Counters>,
}

/// Something that runs quantised GEMMs and BFP MatMuls, each on a design of
/// the matching engine.
pub trait Backend {
    /// Short name for reports (`golden`, `sim`).
    fn name(&self) -> &'static str;
    /// Runs `problem`; outputs follow the golden model's definition.
    fn gemm(&mut self, problem: &GemmProblem) -> Result<GemmRun, BackendError>;
    /// Runs `problem`; outputs follow [`golden_matmul`] bit for bit.
    fn matmul(&mut self, problem: &MatmulProblem) -> Result<MatmulRun, BackendError>;
}

/// What a design computes with: a GEMM design's PE codebook (int8
/// activations, weights as the PE's codes) or a BFP design's weight format
/// (mxint8 activations).
#[derive(Debug, Clone)]
pub enum Arithmetic {
    Gemm(Codebook),
    Bfp(BfpFormat),
}

impl Arithmetic {
    pub fn of(design: &Design) -> Result<Self, BackendError> {
        Ok(match &design.config {
            EngineConfig::Gemm(array) => Arithmetic::Gemm(Codebook::named(&array.pe)?),
            EngineConfig::Bfp(_) => Arithmetic::Bfp(weight_format(design)?),
        })
    }

    fn codebook(&self, design: &Design) -> Result<&Codebook, BackendError> {
        match self {
            Arithmetic::Gemm(codebook) => Ok(codebook),
            Arithmetic::Bfp(_) => Err(design.wrong_engine(Engine::Gemm).into()),
        }
    }

    /// Checks that `problem` is in the design's formats.
    fn check_matmul(&self, design: &Design, problem: &MatmulProblem) -> Result<(), BackendError> {
        let weights = match self {
            Arithmetic::Bfp(format) => *format,
            Arithmetic::Gemm(_) => return Err(design.wrong_engine(Engine::Bfp).into()),
        };
        let activations = BfpFormat::new(ElementKind::Int8, weights.block)?;
        for (operand, matrix, wanted) in
            [("A", &problem.a, activations), ("W", &problem.w, weights)]
        {
            if matrix.format() != wanted {
                return Err(BackendError::OperandFormat {
                    operand,
                    found: describe(matrix.format()),
                    design: design.name.clone(),
                    wanted: describe(wanted),
                });
            }
        }
        Ok(())
    }
}

fn describe(format: BfpFormat) -> String {
    format!("{} in blocks of {}", format.name(), format.block)
}

/// The weight format of a BFP design: its element format and block size.
pub fn weight_format(design: &Design) -> Result<BfpFormat, BackendError> {
    let engine = design.bfp()?;
    Ok(BfpFormat::named(&engine.format, engine.block as usize)?)
}

/// The bit-exact reference, in plain Rust.
#[derive(Debug)]
pub struct GoldenBackend {
    arithmetic: Arithmetic,
    design: Design,
}

impl GoldenBackend {
    pub fn new(design: &Design) -> Result<Self, BackendError> {
        Ok(Self {
            arithmetic: Arithmetic::of(design)?,
            design: design.clone(),
        })
    }
}

impl Backend for GoldenBackend {
    fn name(&self) -> &'static str {
        "golden"
    }

    fn gemm(&mut self, problem: &GemmProblem) -> Result<GemmRun, BackendError> {
        Ok(GemmRun {
            output: golden_gemm(self.arithmetic.codebook(&self.design)?, problem)?,
            counters: None,
        })
    }

    fn matmul(&mut self, problem: &MatmulProblem) -> Result<MatmulRun, BackendError> {
        self.arithmetic.check_matmul(&self.design, problem)?;
        Ok(MatmulRun {
            output: golden_matmul(&problem.a, &problem.w)?,
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
    arithmetic: Arithmetic,
    design: Design,
    board: Board,
    name: &'static str,
    /// No run is given less than this (wall-clock transports need slack for
    /// the operating system; the simulator's device time does not).
    min_timeout: Duration,
    /// Reused device buffers: A, B, C, channel parameters.
    buffers: [Option<DeviceBuffer>; 4],
}

/// The expected identity of `design`, for the driver's check.
pub fn expected_design(design: &Design) -> Result<ExpectedDesign, kiln_spec::SpecError> {
    let (rows, cols, m_tiles, n_tiles) = design.geometry();
    Ok(ExpectedDesign {
        name: design.name.clone(),
        identity: DesignIdentity {
            id: design.id(),
            engine: design.engine().kind_code(),
            block: design.block(),
            rows,
            cols,
            pe_kind: design.pe_kind()?,
            weight_bits: design.weight_bits()?,
            k_depth: design.k_depth,
            m_tiles,
            n_tiles,
        },
    })
}

/// The simulated board's memory port and clock, from its board file.
#[cfg(feature = "sim")]
pub fn sim_board(board: &Board) -> SimBoard {
    SimBoard {
        clock_mhz: board.fabric_clock_mhz,
        timing: kiln_sim::MemTiming {
            bytes_per_cycle: board.memory.bytes_per_cycle,
            read_latency: board.memory.read_latency_cycles,
            write_latency: board.memory.write_latency_cycles,
        },
        ddr_base: board.addresses.ddr_base,
        ddr_bytes: board.addresses.ddr_bytes,
    }
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
        let accel = Accelerator::open(transport, &expected_design(design)?)?;
        Ok(Self {
            accel,
            arithmetic: Arithmetic::of(design)?,
            design: design.clone(),
            board: board.clone(),
            name,
            min_timeout: Duration::ZERO,
            buffers: [None; 4],
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
            SimTransport::open(&design.name, sim_board(board), trace).map_err(DriverError::from)?;
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

    fn gemm(&mut self, _: &GemmProblem) -> Result<GemmRun, BackendError> {
        match self.0 {}
    }

    fn matmul(&mut self, _: &MatmulProblem) -> Result<MatmulRun, BackendError> {
        match self.0 {}
    }
}

/// Device-buffer slots of [`DeviceBackend`].
const SLOT_A: usize = 0;
const SLOT_B: usize = 1;
const SLOT_C: usize = 2;
const SLOT_P: usize = 3;

impl<T: Transport> Backend for DeviceBackend<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn gemm(&mut self, p: &GemmProblem) -> Result<GemmRun, BackendError> {
        let codebook = self.arithmetic.codebook(&self.design)?;
        p.validate(codebook)?;
        let bits = codebook.weight_bits();
        let strides = Strides::packed(p.n, p.k, bits, p.output)?;
        let a = layout::pack_a(p, strides.lda)?;
        let b = layout::pack_b(p, bits, strides.ldb)?;
        let params = layout::pack_channels(&p.channels);
        let c_len = layout::c_bytes(p.m, strides.ldc);
        let a_buf = self.buffer(SLOT_A, a.len())?;
        let b_buf = self.buffer(SLOT_B, b.len())?;
        let c_buf = self.buffer(SLOT_C, c_len)?;
        let p_buf = self.buffer(SLOT_P, params.len())?;
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
        let ideal = (p.m * p.n * p.k) as f64 / f64::from(self.design.gemm()?.pes());
        let timeout = self.timeout(ideal, a.len() + b.len() + params.len() + c_len);
        let counters = self.accel.gemm(&desc, timeout)?;
        let mut c = vec![0u8; c_len];
        self.accel.read(&c_buf, 0, &mut c)?;
        Ok(GemmRun {
            output: layout::unpack_c(&c, p.m, p.n, strides.ldc, p.output)?,
            counters: Some(counters),
        })
    }

    fn matmul(&mut self, p: &MatmulProblem) -> Result<MatmulRun, BackendError> {
        self.arithmetic.check_matmul(&self.design, p)?;
        let (m, n, k) = (p.a.rows(), p.w.rows(), p.a.k());
        if p.w.k() != k {
            return Err(BfpError::KMismatch { a: k, w: p.w.k() }.into());
        }
        let strides = bfp::layout::packed_strides(p.w.format(), k, n);
        let a = bfp::layout::pack(&p.a, strides.lda)?;
        let w = bfp::layout::pack(&p.w, strides.ldb)?;
        let c_len = bfp::layout::c_bytes(m, strides.ldc);
        let a_buf = self.buffer(SLOT_A, a.len())?;
        let w_buf = self.buffer(SLOT_B, w.len())?;
        let c_buf = self.buffer(SLOT_C, c_len)?;
        self.accel.write(&a_buf, 0, &a)?;
        self.accel.write(&w_buf, 0, &w)?;
        let operand = |buffer, stride| Operand {
            buffer,
            offset: 0,
            stride: stride as u64,
        };
        let dim = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        let desc = MatmulDescriptor {
            m: dim(m),
            n: dim(n),
            k: dim(k),
            a: operand(a_buf, strides.lda),
            w: operand(w_buf, strides.ldb),
            c: operand(c_buf, strides.ldc),
        };
        let timeout = self.timeout(
            matmul_ideal_cycles(&self.design, m, n, k)?,
            a.len() + w.len() + c_len,
        );
        let counters = self.accel.matmul(&desc, timeout)?;
        let mut c = vec![0u8; c_len];
        self.accel.read(&c_buf, 0, &mut c)?;
        Ok(MatmulRun {
            output: bfp::layout::unpack_c(&c, m, n, strides.ldc)?,
            counters: Some(counters),
        })
    }
}

/// Cycles a BFP design needs for an M x N x K MatMul if its lanes never
/// waited: every weight element beat is multiplied against `lanes` rows, so
/// each tile of `lanes` rows takes one cycle per weight element beat.
pub fn matmul_ideal_cycles(
    design: &Design,
    m: usize,
    n: usize,
    k: usize,
) -> Result<f64, BackendError> {
    let engine = design.bfp()?;
    let format = weight_format(design)?;
    let beats_per_row = (format.padded_k(k) * format.element.bits()).div_ceil(64);
    let tiles = m.div_ceil(engine.lanes as usize);
    Ok((tiles * n * beats_per_row) as f64)
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
    /// sha256 of the backend's outputs (i32, little-endian, row-major): the
    /// same on every machine and backend that computes the same bits.
    pub output_sha256: String,
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
    backend: &mut dyn Backend,
    design: &Design,
    problem: &GemmProblem,
) -> Result<CheckedGemm, BackendError> {
    let expected = golden_gemm(&Codebook::named(&design.gemm()?.pe)?, problem)?;
    let started = std::time::Instant::now();
    let run = backend.gemm(problem)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    // Counted, not collected: a list of every wrong index would cost a
    // usize per output, more than the outputs themselves.
    let mut wrong = (0..expected.len()).filter(|&i| expected[i] != run.output[i]);
    let first = wrong.next();
    let mismatches = first.map_or(0, |_| 1 + wrong.count());
    Ok(CheckedGemm {
        outputs: expected.len(),
        mismatches,
        first_mismatch: first.map(|i| Mismatch {
            row: i / problem.n,
            col: i % problem.n,
            got: run.output[i],
            expected: expected[i],
        }),
        counters: run.counters,
        ideal_cycles: (problem.m * problem.n * problem.k) as f64 / f64::from(design.gemm()?.pes()),
        wall_seconds,
        output_sha256: output_digest(run.output.iter().map(|v| v.to_le_bytes())),
    })
}

/// One BFP MatMul on a backend, from f32 operands: quantised to the
/// design's formats, run, checked bit for bit against the golden model and
/// against the f64 product of the f32 operands within the documented bound
/// (docs/bfp.md).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedMatmul {
    /// Outputs compared (M x N).
    pub outputs: usize,
    /// Outputs whose bits differ from the golden model's.
    pub mismatches: usize,
    pub first_mismatch: Option<MatmulMismatch>,
    /// Largest |C - f64 reference| over the finite outputs.
    pub max_abs_error: f64,
    /// Largest |C - f64 reference| / bound; at most 1 when the bound holds.
    pub worst_bound_ratio: f64,
    /// Finite outputs outside the bound (0 unless the arithmetic is wrong).
    pub outside_bound: usize,
    /// Outputs that overflowed to infinity (not covered by the bound).
    pub infinite: usize,
    /// Hardware counters, from backends that have them.
    pub counters: Option<Counters>,
    /// Cycles the lanes need if operands never keep them waiting.
    pub compute_cycles: f64,
    /// Cycles if every lane did useful MACs every cycle: the compute roof.
    pub peak_compute_cycles: f64,
    /// Wall time of the backend's run alone.
    pub wall_seconds: f64,
    /// sha256 of the backend's outputs (f32 bits, little-endian, row-major).
    pub output_sha256: String,
}

/// sha256 of a sequence of little-endian words, as 64 hex digits.
fn output_digest<const N: usize>(words: impl Iterator<Item = [u8; N]>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for w in words {
        h.update(w);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An output that differs from the golden model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MatmulMismatch {
    pub row: usize,
    pub col: usize,
    pub got: f32,
    pub expected: f32,
}

impl CheckedMatmul {
    /// Share of the lanes' multiply-accumulate capacity used.
    pub fn utilisation(&self) -> Option<f64> {
        self.counters
            .map(|c| self.peak_compute_cycles / c.cycles as f64)
    }

    /// Cycles the bytes read need at the port's sustained `bytes_per_cycle`:
    /// the memory roof for this run.
    pub fn memory_cycles(&self, bytes_per_cycle: f64) -> Option<f64> {
        self.counters.map(|c| c.bytes_read as f64 / bytes_per_cycle)
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

/// Quantises `a` (M x K) and `w` (N x K) to `design`'s formats, runs the
/// MatMul on `backend`, and checks it against the golden model (bit for
/// bit) and against the f64 reference (within the bound of docs/bfp.md).
pub fn run_checked_matmul(
    backend: &mut dyn Backend,
    design: &Design,
    shape: (usize, usize, usize),
    a: &[f32],
    w: &[f32],
) -> Result<CheckedMatmul, BackendError> {
    let (m, n, k) = shape;
    let w_format = weight_format(design)?;
    let a_format = BfpFormat::new(ElementKind::Int8, w_format.block)?;
    let problem = MatmulProblem {
        a: BfpMatrix::quantise(a_format, m, k, a)?,
        w: BfpMatrix::quantise(w_format, n, k, w)?,
    };
    let expected = golden_matmul(&problem.a, &problem.w)?;
    let started = std::time::Instant::now();
    let run = backend.matmul(&problem)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    // Counted, not collected: a list of every wrong index would cost a
    // usize per output, more than the outputs themselves.
    let mut wrong =
        (0..expected.len()).filter(|&i| expected[i].to_bits() != run.output[i].to_bits());
    let first = wrong.next();
    let mismatches = first.map_or(0, |_| 1 + wrong.count());
    let reference = bfp::study::reference_matmul(a, w, k);
    // Each row's share of the bound once, not once per output.
    let a_errors = RowErrors::of_matrix(a, &problem.a);
    let w_errors = RowErrors::of_matrix(w, &problem.w);
    let (mut max_abs_error, mut worst_bound_ratio) = (0.0f64, 0.0f64);
    let (mut outside_bound, mut infinite) = (0, 0);
    for (i, &c) in run.output.iter().enumerate() {
        if !c.is_finite() {
            infinite += 1;
            continue;
        }
        let bound = row_error_terms(&a_errors[i / n], &w_errors[i % n], c).total();
        let error = (f64::from(c) - reference[i]).abs();
        max_abs_error = max_abs_error.max(error);
        if bound > 0.0 {
            worst_bound_ratio = worst_bound_ratio.max(error / bound);
        }
        if error > bound {
            outside_bound += 1;
        }
    }
    let engine = design.bfp()?;
    let padded = w_format.padded_k(k) as f64;
    let macs_per_cycle = f64::from(engine.lanes * engine.elements_per_beat());
    Ok(CheckedMatmul {
        outputs: expected.len(),
        mismatches,
        first_mismatch: first.map(|i| MatmulMismatch {
            row: i / n,
            col: i % n,
            got: run.output[i],
            expected: expected[i],
        }),
        max_abs_error,
        worst_bound_ratio,
        outside_bound,
        infinite,
        counters: run.counters,
        compute_cycles: matmul_ideal_cycles(design, m, n, k)?,
        peak_compute_cycles: (m * n) as f64 * padded / macs_per_cycle,
        wall_seconds,
        output_sha256: output_digest(run.output.iter().map(|v| v.to_bits().to_le_bytes())),
    })
}

/// Size of the DMA region [`devmem_on_sim`] gives the devmem transport, as
/// a board's u-dma-buf would (64 MiB, PYNQ's usual CMA reservation).
#[cfg(feature = "sim")]
pub const SIM_UDMABUF_BYTES: u64 = 64 << 20;

/// The devmem transport with `design`'s Verilated model behind its seams
/// (registers, DMA region, device-time clock) on `board`'s simulated
/// memory: the board transport's own code, exercised without the board.
#[cfg(feature = "sim")]
pub fn devmem_on_sim(
    design: &Design,
    board: &Board,
    trace: Option<&Path>,
) -> Result<kiln_driver::transport::DevmemTransport, BackendError> {
    let device = kiln_driver::transport::SimDevice::open(&design.name, sim_board(board), trace)
        .map_err(DriverError::from)?;
    devmem_on_device(&device, board)
}

/// [`devmem_on_sim`] on an already open simulated device (several
/// transports may share one accelerator, as processes share a board).
#[cfg(feature = "sim")]
pub fn devmem_on_device(
    device: &kiln_driver::transport::SimDevice,
    board: &Board,
) -> Result<kiln_driver::transport::DevmemTransport, BackendError> {
    use kiln_driver::transport::{DevmemTransport, PollIsr};
    // The region sits in the upper half of DDR, where a CMA pool would.
    let phys = board.addresses.ddr_base + board.addresses.ddr_bytes / 2;
    let dma = device
        .dma_region(phys, SIM_UDMABUF_BYTES)
        .map_err(DriverError::from)?;
    let regs = device.registers(u64::from(kiln_driver::regs::WINDOW_BYTES));
    let transport =
        DevmemTransport::new(Box::new(regs), dma, Box::new(PollIsr::new(device.clock())))
            .map_err(DriverError::from)?;
    Ok(transport)
}
