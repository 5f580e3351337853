//! One GEMM on any backend, checked output by output against the golden
//! model (`kiln gemm`, `kiln bench gemm`).

use kiln_driver::Counters;
use kiln_spec::{Design, GemmArray};

use super::{golden_gemm, GemmProblem, RunGemm};
use crate::backend::{Backend, BackendError};
use crate::engines::words_sha256;
use crate::formats::Codebook;

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
    let array = design.params::<GemmArray>()?;
    let expected = golden_gemm(&Codebook::of_design(design)?, problem)?;
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
        ideal_cycles: (problem.m * problem.n * problem.k) as f64 / f64::from(array.pes()),
        wall_seconds,
        output_sha256: words_sha256(run.output.iter().map(|v| v.to_le_bytes())),
    })
}
