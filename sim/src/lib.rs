//! Cycle-accurate simulation of kiln's RTL.
//!
//! `build.rs` Verilates every hardware top: each PE of the library inside an
//! accumulator harness (untraced, FST and VCD variants) and each accelerator
//! design of hw/designs (untraced and FST). [`AccelSim`] puts a design on a
//! simulated board: the [`AxiMemory`] model behind its memory port and a
//! bus-functional AXI4-Lite master on its control port. [`Sim`] is the safe handle on one instance: reset, step N
//! cycles, set and read ports by name, drive a batch of input vectors in one
//! call, and optionally write a waveform. [`PeHarness`] is the typed view of
//! a PE model that the runtime's checks use.
//!
//! This crate knows nothing of the driver or the runtime: it takes plain
//! values and returns plain values.

mod accel;
mod axi_mem;
mod error;
mod model;
mod pe;

pub use accel::AccelSim;
pub use axi_mem::{AxiMemory, MasterSignals, MemDrive, MemFault, MemTiming};
pub use error::SimError;
pub use model::{models, ModelInfo, Port, PortDir, PortInfo, Sim, TraceFormat};
pub use pe::{PeHarness, PeInput, PeOutput};
