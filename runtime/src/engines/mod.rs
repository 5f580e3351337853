//! The engines' runtime halves: each engine's golden model, its jobs (how
//! a call is laid out in device memory and handed to the driver), its
//! cycle signatures and how it takes model layers, one folder each.
//!
//! The rest of kiln names no engine: a backend runs any [`Job`], `kiln run`
//! asks every registered [`Engine`] which layers it takes, and the cycle
//! tables simulate any [`Signature`]. hw/engines.toml is the list of
//! engines; [`all`] is its Rust side (a test holds them equal).

pub mod bfp;
pub mod dwconv;
pub mod gemm;

use std::fmt;

use kiln_driver::{Counters, DeviceBuffer};
use kiln_spec::{Board, Design};

use crate::backend::BackendError;
use crate::budget::{Budget, BudgetError};
use crate::model::lower::{LayerContext, Lowering};
use crate::model::site::Site;
use crate::rng::SplitMix64;

/// Every engine's runtime half, in hw/engines.toml's order.
pub fn all() -> [&'static dyn Engine; 3] {
    [&gemm::GEMM, &bfp::BFP, &dwconv::DWCONV]
}

/// The runtime half of `design`'s engine.
pub fn of(design: &Design) -> Result<&'static dyn Engine, BackendError> {
    let name = design.engine_name();
    all()
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| BackendError::NoEngine {
            engine: name.to_string(),
        })
}

/// One engine's runtime half.
pub trait Engine: Sync + fmt::Debug {
    /// The engine's name in hw/engines.toml.
    fn name(&self) -> &'static str;

    /// What a design of this engine computes with, in one line (reports).
    fn describe(&self, design: &Design) -> Result<String, BackendError>;

    /// Multiply-accumulates per cycle with every multiplier busy: the
    /// denominator of PE utilisation.
    fn peak_macs_per_cycle(&self, design: &Design) -> Result<f64, BackendError>;

    /// Whether the engine takes every kind of MAC layer (so a design of it
    /// can run a model by itself), rather than one kind beside a general
    /// engine.
    fn general(&self) -> bool;

    /// How much this engine wants `site` (of a layer on already-quantised
    /// operands when `quantised`), or `None` if it cannot take it. Among
    /// the designs of a run, each layer goes to the one whose engine bids
    /// highest ([`Bid`]).
    fn bid(&self, design: &Design, site: &Site, quantised: bool) -> Option<Bid>;

    /// The engine calls one evaluation of `site` makes on `design`: each
    /// signature with its count. Known from the site alone, so every
    /// call's memory is checked and its cycles simulated before the run.
    fn calls(&self, design: &Design, site: &Site) -> Vec<(Signature, u64)>;

    /// The layer as this engine runs it: weights prepared in the design's
    /// format, activations quantised as the engine needs them.
    fn lower(&self, design: &Design, layer: &LayerContext<'_>)
        -> anyhow::Result<Box<dyn Lowering>>;

    /// Whether float activations of a layer this engine takes need an
    /// int8 scale calibrated before the run.
    fn needs_calibration(&self) -> bool;

    /// A job with `signature`'s shape on seeded operands: cycles depend on
    /// shapes, never on data, so one run of it times every call of the
    /// signature.
    fn synthetic(
        &self,
        design: &Design,
        signature: &Signature,
        rng: &mut SplitMix64,
    ) -> Result<Box<dyn Job>, BackendError>;

    /// The device and host memory a job of `signature` needs on `design`,
    /// checked against `board` and the design's limits before anything is
    /// allocated.
    fn check_fits(
        &self,
        design: &Design,
        board: &Board,
        signature: &Signature,
    ) -> Result<Budget, BudgetError>;
}

/// An engine's claim on a layer: the higher, the better the engine suits
/// it. A general engine bids [`Bid::GENERAL`]; an engine built for a kind
/// of layer bids [`Bid::SPECIALIST`] for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bid(pub u8);

impl Bid {
    pub const GENERAL: Bid = Bid(1);
    pub const SPECIALIST: Bid = Bid(2);
}

/// What the cycles of one engine call depend on besides the design and the
/// board: the engine, its operation and the shape. Two calls with the same
/// signature take the same cycles.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    /// The engine's name.
    pub engine: &'static str,
    /// The engine's own key: the shape and layout choices, as it defines.
    pub key: Vec<u64>,
    /// The call for messages and reports: `GEMM 12x27x16 (int32 out)`.
    pub label: String,
    /// Useful multiply-accumulates of one call.
    pub macs: u64,
}

impl Signature {
    /// The error for a signature that is not one of `design`'s engine's.
    pub fn foreign_to(&self, design: &Design) -> BackendError {
        BackendError::Signature {
            signature: self.label.clone(),
            design: design.name.clone(),
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// The outputs of a job, in the engine's element type.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Integer outputs (int8 values sign-extended, or int32).
    Int(Vec<i32>),
    /// f32 outputs.
    Float(Vec<f32>),
}

impl Output {
    pub fn len(&self) -> usize {
        match self {
            Output::Int(v) => v.len(),
            Output::Float(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Outputs whose bits differ from `other`'s (f32 by its bits, so -0.0
    /// and 0.0 differ); outputs of another type all differ.
    pub fn differing(&self, other: &Output) -> usize {
        match (self, other) {
            (Output::Int(a), Output::Int(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
            (Output::Float(a), Output::Float(b)) => a
                .iter()
                .zip(b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count(),
            _ => self.len().max(other.len()),
        }
    }

    /// sha256 of the outputs as little-endian words, row-major: the same on
    /// every machine and backend that computes the same bits.
    pub fn sha256(&self) -> String {
        match self {
            Output::Int(v) => words_sha256(v.iter().map(|x| x.to_le_bytes())),
            Output::Float(v) => words_sha256(v.iter().map(|x| x.to_bits().to_le_bytes())),
        }
    }

    /// The integer outputs, or an error naming the job that gave floats.
    pub fn into_int(self, what: &str) -> Result<Vec<i32>, BackendError> {
        match self {
            Output::Int(v) => Ok(v),
            Output::Float(_) => Err(BackendError::OutputType {
                what: what.to_string(),
            }),
        }
    }

    /// The f32 outputs, or an error naming the job that gave integers.
    pub fn into_float(self, what: &str) -> Result<Vec<f32>, BackendError> {
        match self {
            Output::Float(v) => Ok(v),
            Output::Int(_) => Err(BackendError::OutputType {
                what: what.to_string(),
            }),
        }
    }
}

/// sha256 of a sequence of little-endian words, as 64 hex digits.
pub fn words_sha256<const N: usize>(words: impl Iterator<Item = [u8; N]>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for w in words {
        h.update(w);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One call of an engine on host arrays. Each engine's jobs live in its
/// folder; backends run any of them.
pub trait Job: fmt::Debug + Send + Sync {
    /// The engine that runs it.
    fn engine(&self) -> &'static str;
    /// What its cycles depend on.
    fn signature(&self) -> Signature;
    /// The golden model's outputs on `design`.
    fn golden(&self, design: &Design) -> Result<Output, BackendError>;
    /// The job laid out for `design`'s device memory.
    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError>;
    /// A copy, for calls kept to replay.
    fn clone_box(&self) -> Box<dyn Job>;
}

/// A job in device layout: the bytes of each input buffer, the size of the
/// output buffer, and the driver's view once the buffers exist.
pub trait DeviceImage {
    /// Bytes of each input buffer, in the engine's slot order.
    fn inputs(&self) -> &[Vec<u8>];
    /// Bytes of the output buffer.
    fn output_bytes(&self) -> usize;
    /// Cycles the run takes if the engine never waits (the watchdog's base).
    fn ideal_cycles(&self) -> f64;
    /// The driver's job over `inputs` (one buffer per input, in order) and
    /// `output`.
    fn descriptor(
        &self,
        inputs: &[DeviceBuffer],
        output: DeviceBuffer,
    ) -> Result<Box<dyn kiln_driver::Job + '_>, BackendError>;
    /// The outputs read back from the output buffer.
    fn decode(&self, output: &[u8]) -> Result<Output, BackendError>;
}

/// Outputs of one job, and the hardware's counters from backends that have
/// them.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub output: Output,
    pub counters: Option<Counters>,
}

/// Checks that `job` is for `design`'s engine.
pub fn check_engine(job: &dyn Job, design: &Design) -> Result<(), BackendError> {
    if job.engine() == design.engine_name() {
        Ok(())
    } else {
        Err(design.wrong_engine(job.engine()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_hw_engines_toml() {
        let listed: Vec<&str> = kiln_spec::engines::descs()
            .unwrap()
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        let registered: Vec<&str> = all().iter().map(|e| e.name()).collect();
        assert_eq!(registered, listed);
        for design in Design::all().unwrap() {
            assert_eq!(of(&design).unwrap().name(), design.engine_name());
        }
    }
}
