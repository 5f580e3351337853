//! `kiln bench sim`: simulated PE cycles per second through the Rust handle.
//!
//! Three ways of driving the same harness for the same number of cycles:
//! - `per_call`: one `PeHarness::cycle` per cycle (3 port writes, a step and
//!   3 port reads across the FFI boundary);
//! - `batched`: one `PeHarness::run` for all cycles (inputs and sampled
//!   outputs move as arrays; the loop runs in C++);
//! - `step_only`: `Sim::step` with inputs held, the model's bare speed.

use std::time::Instant;

use kiln_sim::{PeHarness, PeInput, SimError};
use kiln_spec::{PeLibrary, PeSpec};
use serde::Serialize;

use crate::rng::SplitMix64;

#[derive(Debug, Clone, Serialize)]
pub struct SimBench {
    pub pe: String,
    pub cycles: u64,
    pub per_call_cycles_per_s: f64,
    pub batched_cycles_per_s: f64,
    pub step_only_cycles_per_s: f64,
}

fn random_inputs(n: usize, weight_bits: u32, seed: u64) -> Vec<PeInput> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| PeInput {
            valid: rng.below(8) != 0,
            act: rng.below(256),
            wcode: rng.below(1 << weight_bits),
        })
        .collect()
}

fn rate(cycles: u64, start: Instant) -> f64 {
    cycles as f64 / start.elapsed().as_secs_f64()
}

/// Measures one PE's harness for `cycles` cycles each way.
pub fn bench_pe(library: &PeLibrary, pe: &PeSpec, cycles: u64) -> Result<SimBench, SimError> {
    let inputs = random_inputs(cycles as usize, pe.weight_bits, 7);
    let mut harness = PeHarness::open(library, pe, None)?;

    let start = Instant::now();
    let mut sink = 0u64;
    for input in &inputs {
        sink = sink.wrapping_add(harness.cycle(*input)?.prod);
    }
    let per_call = rate(cycles, start);

    let start = Instant::now();
    let outputs = harness.run(&inputs)?;
    let batched = rate(cycles, start);
    sink = sink.wrapping_add(outputs.last().map_or(0, |o| o.prod));

    let start = Instant::now();
    harness.sim().step(cycles);
    let step_only = rate(cycles, start);
    std::hint::black_box(sink);
    harness.close()?;
    Ok(SimBench {
        pe: pe.name.clone(),
        cycles,
        per_call_cycles_per_s: per_call,
        batched_cycles_per_s: batched,
        step_only_cycles_per_s: step_only,
    })
}
