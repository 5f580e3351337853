//! Exact accelerator cycles for every call of a model run.
//!
//! An engine's cycles depend on the call's shape, its layout, the design and
//! the board, never on the data (the engines have no data-dependent skips or
//! early exits; docs/models.md). So each distinct call signature is
//! simulated once on the RTL, on seeded random operands of that shape (the
//! engine's [`crate::engines::Engine::synthetic`] job), and every call with
//! that signature gets those cycles. No fitted model: the golden backend's
//! cycles per inference equal the sim backend's, where every call is
//! simulated (tests/model_cycles.rs), and every replay of a real call must
//! take exactly its signature's cycles (`run` checks it).

use std::collections::HashMap;

use kiln_spec::{Board, Design};

use crate::backend::{Backend, BackendError, SimBackend};
use crate::engines::{self, Signature};
use crate::rng::SplitMix64;

/// Cycles of each call signature on one board, each simulated once.
#[derive(Debug, Clone, Default)]
pub struct CycleTable {
    cycles: HashMap<Signature, u64>,
}

impl CycleTable {
    /// Simulates every signature of `signatures` not yet in the table on
    /// `design`'s RTL on `board`; `tick` is called after each.
    pub fn simulate(
        &mut self,
        design: &Design,
        board: &Board,
        signatures: &[Signature],
        seed: u64,
        tick: &mut dyn FnMut(),
    ) -> Result<(), BackendError> {
        let todo: Vec<&Signature> = signatures
            .iter()
            .filter(|s| !self.cycles.contains_key(*s))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let engine = engines::of(design)?;
        let mut sim = SimBackend::open(design, board, None)?;
        let mut rng = SplitMix64::new(seed);
        for signature in todo {
            let job = engine.synthetic(design, signature, &mut rng)?;
            // The simulator always counts; a backend without counters
            // cannot time a call.
            let cycles = sim.run(job.as_ref())?.counters.map(|c| c.cycles).ok_or(
                BackendError::NotCompiled {
                    backend: "sim",
                    how: "the simulator returned no counters",
                },
            )?;
            self.cycles.insert(signature.clone(), cycles);
            tick();
        }
        sim.close()
    }

    pub fn get(&self, signature: &Signature) -> Option<u64> {
        self.cycles.get(signature).copied()
    }

    pub fn len(&self) -> usize {
        self.cycles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cycles.is_empty()
    }
}
