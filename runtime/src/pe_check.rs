//! `kiln pe verify`: the RTL of a PE against its golden model.
//!
//! Two phases on the Verilated harness: every (activation, weight code) pair
//! back to back, then a seeded random accumulate chain with idle gaps, where
//! both each product and the harness's running sum are compared.

use std::path::PathBuf;

use kiln_sim::{PeHarness, PeInput, PeOutput, SimError};
use kiln_spec::{PeLibrary, PeSpec};
use serde::Serialize;

use crate::formats::{Codebook, FormatError};
use crate::rng::SplitMix64;

/// Idle cycles allowed after the last input before a silent PE is an error.
pub const WATCHDOG_CYCLES: u64 = 64;
/// Mismatches kept in a report (all are counted).
const KEPT_MISMATCHES: usize = 10;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Seed of the random chain.
    pub seed: u64,
    /// Valid MAC steps in the random chain.
    pub chain_steps: usize,
    /// Waveform of the whole check (`.fst` or `.vcd`).
    pub trace: Option<PathBuf>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            chain_steps: 10_000,
            trace: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// Which signal disagreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Product,
    Accumulator,
}

/// One disagreement between RTL and golden model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// `exhaustive` or `chain`.
    pub phase: &'static str,
    /// Position of the operand pair in its phase.
    pub index: usize,
    pub act: i8,
    pub wcode: u32,
    pub signal: Signal,
    pub expected: i64,
    pub got: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseReport {
    pub cases: usize,
    pub mismatches: usize,
}

/// The outcome for one PE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeReport {
    pub pe: String,
    /// The codebook the RTL was held to.
    pub golden: String,
    pub exhaustive: PhaseReport,
    pub chain: PhaseReport,
    /// Idle cycles inserted between chain steps.
    pub chain_idle_cycles: usize,
    pub seed: u64,
    /// Cycles simulated, reset included.
    pub cycles: u64,
    pub mismatches: usize,
    /// The first mismatches, in stimulus order.
    pub first_mismatches: Vec<Mismatch>,
    pub passed: bool,
}

/// Two's-complement bits to a signed integer.
fn sign_extend(bits: u64, width: u32) -> i64 {
    let shift = 64 - width;
    ((bits << shift) as i64) >> shift
}

fn act_bits(act: i8) -> u64 {
    u64::from(act as u8)
}

/// Verifies one PE's RTL.
pub fn check_pe(
    library: &PeLibrary,
    spec: &PeSpec,
    options: &CheckOptions,
) -> Result<PeReport, CheckError> {
    let codebook = Codebook::for_pe(library, spec)?;
    let mut harness = PeHarness::open(library, spec, options.trace.as_deref())?;
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut count = 0usize;
    let mut record = |m: Mismatch| {
        count += 1;
        if mismatches.len() < KEPT_MISMATCHES {
            mismatches.push(m);
        }
    };
    let product_bits = codebook.product_bits();

    // Phase 1: every pair, one per cycle.
    let pairs: Vec<(i8, u32)> = (i8::MIN..=i8::MAX)
        .flat_map(|a| (0..codebook.len() as u32).map(move |c| (a, c)))
        .collect();
    let inputs: Vec<PeInput> = pairs
        .iter()
        .map(|&(a, c)| PeInput {
            valid: true,
            act: act_bits(a),
            wcode: u64::from(c),
        })
        .collect();
    let outputs = harness.stream(&inputs, WATCHDOG_CYCLES)?;
    let mut exhaustive_mismatches = 0;
    for (index, (&(act, wcode), out)) in pairs.iter().zip(&outputs).enumerate() {
        let expected = i64::from(codebook.product(act, wcode)?);
        let got = sign_extend(out.prod, product_bits);
        if got != expected {
            exhaustive_mismatches += 1;
            record(Mismatch {
                phase: "exhaustive",
                index,
                act,
                wcode,
                signal: Signal::Product,
                expected,
                got,
            });
        }
    }

    // Phase 2: a random accumulate chain from a cleared accumulator.
    harness.sim().reset(2)?;
    let mut rng = SplitMix64::new(options.seed);
    let mut steps: Vec<(i8, u32)> = Vec::with_capacity(options.chain_steps);
    let mut inputs = Vec::with_capacity(options.chain_steps * 5 / 4);
    let mut idle = 0;
    while steps.len() < options.chain_steps {
        // One cycle in four is idle, so valid gaps and back-to-back runs both occur.
        if rng.below(4) == 0 {
            inputs.push(PeInput {
                valid: false,
                act: rng.below(256),
                wcode: rng.below(codebook.len() as u64),
            });
            idle += 1;
            continue;
        }
        // Extremes are drawn often: they are where widths go wrong.
        let act = match rng.below(8) {
            0 => i8::MIN,
            1 => i8::MAX,
            _ => rng.below(256) as u8 as i8,
        };
        let wcode = rng.below(codebook.len() as u64) as u32;
        steps.push((act, wcode));
        inputs.push(PeInput {
            valid: true,
            act: act_bits(act),
            wcode: u64::from(wcode),
        });
    }
    let outputs = harness.stream(&inputs, WATCHDOG_CYCLES)?;
    let mut chain_mismatches = 0;
    let mut sum: i32 = 0;
    for (index, (&(act, wcode), out)) in steps.iter().zip(&outputs).enumerate() {
        let product = codebook.product(act, wcode)?;
        let got_prod = sign_extend(out.prod, product_bits);
        let mut chain_record = |signal, expected: i64, got: i64| {
            chain_mismatches += 1;
            record(Mismatch {
                phase: "chain",
                index,
                act,
                wcode,
                signal,
                expected,
                got,
            });
        };
        if got_prod != i64::from(product) {
            chain_record(Signal::Product, i64::from(product), got_prod);
        }
        // acc_o beside a valid product holds the sum of the products before it.
        if out.acc as i32 != sum {
            chain_record(
                Signal::Accumulator,
                i64::from(sum),
                i64::from(out.acc as i32),
            );
        }
        sum = sum.wrapping_add(product);
    }
    let last = harness.cycle(PeInput::default())?;
    if last.acc as i32 != sum {
        chain_mismatches += 1;
        record(final_sum_mismatch(steps.len(), sum, last));
    }
    let cycles = harness.cycles();
    harness.close()?;
    Ok(PeReport {
        pe: spec.name.clone(),
        golden: codebook.pe().to_string(),
        exhaustive: PhaseReport {
            cases: pairs.len(),
            mismatches: exhaustive_mismatches,
        },
        chain: PhaseReport {
            cases: steps.len(),
            mismatches: chain_mismatches,
        },
        chain_idle_cycles: idle,
        seed: options.seed,
        cycles,
        mismatches: count,
        first_mismatches: mismatches,
        passed: count == 0,
    })
}

fn final_sum_mismatch(index: usize, sum: i32, out: PeOutput) -> Mismatch {
    Mismatch {
        phase: "chain",
        index,
        act: 0,
        wcode: 0,
        signal: Signal::Accumulator,
        expected: i64::from(sum),
        got: i64::from(out.acc as i32),
    }
}
