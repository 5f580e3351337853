//! Cycle-accurate simulation of kiln's RTL.
//!
//! `build.rs` Verilates every hardware top (for now: each PE of the library
//! inside an accumulator harness) in three variants: untraced, FST-traced and
//! VCD-traced. [`Sim`] is the safe handle on one instance: reset, step N
//! cycles, set and read ports by name, drive a batch of input vectors in one
//! call, and optionally write a waveform. [`PeHarness`] is the typed view of
//! a PE model that the runtime's checks use.
//!
//! This crate knows nothing of the driver or the runtime: it takes plain
//! values and returns plain values.

mod error;
mod model;
mod pe;

pub use error::SimError;
pub use model::{models, ModelInfo, Port, PortDir, PortInfo, Sim, TraceFormat};
pub use pe::{PeHarness, PeInput, PeOutput};
