//! The typed view of a PE model: the PE inside its accumulator harness.

use std::path::Path;

use kiln_spec::{PeLibrary, PeSpec};

use crate::{ModelSource, Port, Sim, SimError};

/// Inputs of one cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeInput {
    pub valid: bool,
    /// Activation bits (two's complement, `act_bits` wide).
    pub act: u64,
    /// Weight code.
    pub wcode: u64,
}

/// Outputs sampled after one rising edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeOutput {
    pub valid: bool,
    /// Product bits (two's complement, `product_bits` wide).
    pub prod: u64,
    /// The harness accumulator: the sum of every valid product before this one.
    pub acc: u32,
}

/// A PE kind's harness (`kiln_pe_harness_<pe>`).
#[derive(Debug)]
pub struct PeHarness {
    sim: Sim,
    pe: String,
    inputs: [Port; 3],
    outputs: [Port; 3],
}

impl PeHarness {
    /// Opens the harness of PE `pe` of `library` (built into the
    /// simulator cache on first use) and resets it.
    pub fn open(library: &PeLibrary, pe: &PeSpec, trace: Option<&Path>) -> Result<Self, SimError> {
        let mut sim = Sim::open(&ModelSource::pe_harness(library, pe)?, trace)?;
        let inputs = [
            sim.port("valid_i")?,
            sim.port("act_i")?,
            sim.port("wcode_i")?,
        ];
        let outputs = [
            sim.port("valid_o")?,
            sim.port("prod_o")?,
            sim.port("acc_o")?,
        ];
        sim.reset(2)?;
        Ok(Self {
            sim,
            pe: pe.name.clone(),
            inputs,
            outputs,
        })
    }

    /// Drives one cycle through individual port calls (the slow, flexible path).
    pub fn cycle(&mut self, input: PeInput) -> Result<PeOutput, SimError> {
        let [valid, act, wcode] = self.inputs;
        self.sim.set(valid, u64::from(input.valid))?;
        self.sim.set(act, input.act)?;
        self.sim.set(wcode, input.wcode)?;
        self.sim.step(1);
        let [valid_o, prod_o, acc_o] = self.outputs;
        Ok(PeOutput {
            valid: self.sim.get(valid_o) != 0,
            prod: self.sim.get(prod_o),
            acc: self.sim.get(acc_o) as u32,
        })
    }

    /// Drives one cycle per input inside the model's loop (the fast path).
    /// Inputs cross the FFI boundary in chunks small enough to stay in cache.
    pub fn run(&mut self, inputs: &[PeInput]) -> Result<Vec<PeOutput>, SimError> {
        const CHUNK: usize = 4096;
        let mut outputs = Vec::with_capacity(inputs.len());
        let mut values = Vec::with_capacity(CHUNK * 3);
        for chunk in inputs.chunks(CHUNK) {
            values.clear();
            values.extend(
                chunk
                    .iter()
                    .flat_map(|i| [u64::from(i.valid), i.act, i.wcode]),
            );
            let sampled = self.sim.run(&self.inputs, &values, &self.outputs)?;
            outputs.extend(sampled.chunks_exact(3).map(|row| PeOutput {
                valid: row[0] != 0,
                prod: row[1],
                acc: row[2] as u32,
            }));
        }
        Ok(outputs)
    }

    /// Runs `inputs`, then idles until as many valid outputs have appeared as
    /// there were valid inputs, and returns the valid outputs in order. The
    /// PE may take any fixed or variable latency; if it stays silent for
    /// `watchdog` idle cycles the run fails instead of hanging.
    pub fn stream(&mut self, inputs: &[PeInput], watchdog: u64) -> Result<Vec<PeOutput>, SimError> {
        let expected = inputs.iter().filter(|i| i.valid).count();
        let mut valid: Vec<PeOutput> = self.run(inputs)?.into_iter().filter(|o| o.valid).collect();
        let mut idle = 0;
        while valid.len() < expected {
            if idle == watchdog {
                return Err(SimError::Watchdog {
                    pe: self.pe.clone(),
                    got: valid.len(),
                    expected,
                    cycles: watchdog,
                });
            }
            let out = self.cycle(PeInput::default())?;
            if out.valid {
                valid.push(out);
            }
            idle += 1;
        }
        Ok(valid)
    }

    /// Cycles simulated so far, reset included.
    pub fn cycles(&self) -> u64 {
        self.sim.cycles()
    }

    /// Gives the underlying simulation, e.g. to step idle cycles.
    pub fn sim(&mut self) -> &mut Sim {
        &mut self.sim
    }

    /// Ends the run, finishing any waveform.
    pub fn close(self) -> Result<(), SimError> {
        self.sim.close()
    }
}
