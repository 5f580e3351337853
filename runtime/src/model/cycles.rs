//! Exact accelerator cycles for every call of a model run.
//!
//! An engine's cycles depend on the call's shape, its layout, the design and
//! the board, never on the data (the engines have no data-dependent skips or
//! early exits; docs/models.md). So each distinct call signature is
//! simulated once on the RTL, on seeded random operands of that shape, and
//! every call with that signature gets those cycles. No fitted model: the
//! golden backend's cycles per inference equal the sim backend's, where
//! every call is simulated (tests/model_cycles.rs), and every replay of a
//! real call must take exactly its signature's cycles (`run` checks it).

use std::collections::HashMap;

use kiln_spec::{Board, Design, EngineConfig};

use crate::backend::{weight_format, Arithmetic, Backend, BackendError, MatmulProblem, SimBackend};
use crate::bfp::{BfpFormat, BfpMatrix, ElementKind};
use crate::budget::{check_gemm, check_matmul, Budget, BudgetError};
use crate::gemm::{random_problem, GemmProblem, OutputMode};
use crate::rng::SplitMix64;

/// What the cycles of one accelerator call depend on, besides the design
/// and the board: the engine's operation and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallSignature {
    /// A GEMM of M x K by K x N, writing int32 or int8.
    Gemm {
        m: usize,
        k: usize,
        n: usize,
        int8_output: bool,
    },
    /// A BFP MatMul of M x K by N x K (weights in the design's format).
    Matmul { m: usize, k: usize, n: usize },
}

impl CallSignature {
    pub fn of_gemm(p: &GemmProblem) -> Self {
        CallSignature::Gemm {
            m: p.m,
            k: p.k,
            n: p.n,
            int8_output: matches!(p.output, OutputMode::Int8 { .. }),
        }
    }

    pub fn of_matmul(p: &MatmulProblem) -> Self {
        CallSignature::Matmul {
            m: p.a.rows(),
            k: p.a.k(),
            n: p.w.rows(),
        }
    }

    /// The signature of an offloaded layer's calls of `[m, k, n]` on
    /// `design`, as the offload op issues them (GEMMs write int32, whose
    /// scales the host applies).
    pub fn of_layer(design: &Design, [m, k, n]: [usize; 3]) -> Self {
        match design.config {
            EngineConfig::Gemm(_) => CallSignature::Gemm {
                m,
                k,
                n,
                int8_output: false,
            },
            EngineConfig::Bfp(_) => CallSignature::Matmul { m, k, n },
        }
    }

    /// The device memory a call of this signature needs on `design`,
    /// checked against `board`'s DDR and the design's limits before
    /// anything is allocated.
    pub fn check_fits(&self, design: &Design, board: &Board) -> Result<Budget, BudgetError> {
        match *self {
            CallSignature::Gemm {
                m,
                k,
                n,
                int8_output,
            } => {
                let output = if int8_output {
                    OutputMode::Int8 { zero_point: 0 }
                } else {
                    OutputMode::Int32
                };
                check_gemm(design, board, m, n, k, output)
            }
            CallSignature::Matmul { m, k, n } => check_matmul(design, board, m, k, n),
        }
    }

    /// Multiply-accumulates of one call.
    pub fn macs(&self) -> u64 {
        let (CallSignature::Gemm { m, k, n, .. } | CallSignature::Matmul { m, k, n }) = *self;
        (m as u64) * (k as u64) * (n as u64)
    }

    /// `M x K x N`, for messages.
    pub fn describe(&self) -> String {
        match *self {
            CallSignature::Gemm {
                m,
                k,
                n,
                int8_output,
            } => format!(
                "GEMM {m}x{k}x{n} ({} out)",
                if int8_output { "int8" } else { "int32" }
            ),
            CallSignature::Matmul { m, k, n } => format!("MatMul {m}x{k}x{n}"),
        }
    }
}

/// The design's peak multiply-accumulates per cycle: every PE of a GEMM
/// array, or every lane's multipliers (one 64-bit weight beat) of a BFP
/// engine. Utilisation is MACs over cycles times this.
pub fn peak_macs_per_cycle(design: &Design) -> f64 {
    match &design.config {
        EngineConfig::Gemm(a) => f64::from(a.pes()),
        EngineConfig::Bfp(b) => f64::from(b.lanes * b.elements_per_beat()),
    }
}

/// Operands of `signature`'s shape for `design`, seeded: the cycles do not
/// depend on them, only on their shape.
fn synthetic_call(
    design: &Design,
    arithmetic: &Arithmetic,
    signature: CallSignature,
    rng: &mut SplitMix64,
) -> Result<Synthetic, BackendError> {
    Ok(match (signature, arithmetic) {
        (
            CallSignature::Gemm {
                m,
                k,
                n,
                int8_output,
            },
            Arithmetic::Gemm(codebook),
        ) => {
            let output = if int8_output {
                OutputMode::Int8 { zero_point: 0 }
            } else {
                OutputMode::Int32
            };
            Synthetic::Gemm(random_problem(rng, codebook, m, n, k, output))
        }
        (CallSignature::Matmul { m, k, n }, Arithmetic::Bfp(_)) => {
            let mut values = |len: usize| -> Vec<f32> {
                (0..len)
                    .map(|_| (rng.below(1 << 16) as f32 / 32768.0) - 1.0)
                    .collect()
            };
            let a_format = BfpFormat::new(ElementKind::Int8, weight_format(design)?.block)?;
            let a = BfpMatrix::quantise(a_format, m, k, &values(m * k))?;
            let w = BfpMatrix::quantise(weight_format(design)?, n, k, &values(n * k))?;
            Synthetic::Matmul(MatmulProblem { a, w })
        }
        _ => {
            return Err(BackendError::OperandFormat {
                operand: "the call",
                found: signature.describe(),
                design: design.name.clone(),
                wanted: design.engine().name().to_string(),
            })
        }
    })
}

enum Synthetic {
    Gemm(GemmProblem),
    Matmul(MatmulProblem),
}

/// Cycles of each call signature on one board, each simulated once.
#[derive(Debug, Clone, Default)]
pub struct CycleTable {
    cycles: HashMap<CallSignature, u64>,
}

impl CycleTable {
    /// Simulates every signature of `signatures` not yet in the table on
    /// `design`'s RTL on `board`; `tick` is called after each.
    pub fn simulate(
        &mut self,
        design: &Design,
        board: &Board,
        signatures: &[CallSignature],
        seed: u64,
        tick: &mut dyn FnMut(),
    ) -> Result<(), BackendError> {
        let todo: Vec<CallSignature> = signatures
            .iter()
            .filter(|s| !self.cycles.contains_key(s))
            .copied()
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let arithmetic = Arithmetic::of(design)?;
        let mut sim = SimBackend::open(design, board, None)?;
        let mut rng = SplitMix64::new(seed);
        for signature in todo {
            let counters = match synthetic_call(design, &arithmetic, signature, &mut rng)? {
                Synthetic::Gemm(p) => sim.gemm(&p)?.counters,
                Synthetic::Matmul(p) => sim.matmul(&p)?.counters,
            };
            // The simulator always counts; a backend without counters
            // cannot time a call.
            let cycles = counters
                .map(|c| c.cycles)
                .ok_or(BackendError::NotCompiled {
                    backend: "sim",
                    how: "the simulator returned no counters",
                })?;
            self.cycles.insert(signature, cycles);
            tick();
        }
        sim.close()
    }

    pub fn get(&self, signature: &CallSignature) -> Option<u64> {
        self.cycles.get(signature).copied()
    }

    pub fn len(&self) -> usize {
        self.cycles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cycles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_engine_and_count_macs() {
        let gemm = Design::by_name("gemm-pot-8x8").unwrap();
        let bfp = Design::by_name("bfp-mxint8-b16").unwrap();
        let s = CallSignature::of_layer(&gemm, [12, 27, 16]);
        assert_eq!(
            s,
            CallSignature::Gemm {
                m: 12,
                k: 27,
                n: 16,
                int8_output: false
            }
        );
        assert_eq!(s.macs(), 12 * 27 * 16);
        assert_eq!(
            CallSignature::of_layer(&bfp, [1, 64, 8]),
            CallSignature::Matmul { m: 1, k: 64, n: 8 }
        );
        assert_eq!(peak_macs_per_cycle(&gemm), 64.0);
        let lanes = bfp.bfp().unwrap().lanes;
        assert_eq!(peak_macs_per_cycle(&bfp), f64::from(lanes * 8));
    }
}
