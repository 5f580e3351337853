//! One BFP MatMul on any backend from f32 operands, checked bit for bit
//! against the golden model and within the documented bound against f64
//! (`kiln matmul`).

use kiln_driver::Counters;
use kiln_spec::{BfpEngine, Design};

use super::bound::{row_error_terms, RowErrors};
use super::job::{ideal_cycles, weight_format, MatmulProblem, RunMatmul};
use super::{golden_matmul, study, BfpFormat, BfpMatrix, ElementKind};
use crate::backend::{Backend, BackendError};
use crate::engines::words_sha256;

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
    let reference = study::reference_matmul(a, w, k);
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
    let engine = design.params::<BfpEngine>()?;
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
        compute_cycles: ideal_cycles(design, m, n, k)?,
        peak_compute_cycles: (m * n) as f64 * padded / macs_per_cycle,
        wall_seconds,
        output_sha256: words_sha256(run.output.iter().map(|v| v.to_bits().to_le_bytes())),
    })
}
