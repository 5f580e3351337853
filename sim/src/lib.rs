//! Cycle-accurate simulation of kiln's RTL.
//!
//! Models are built at run time, not when kiln is compiled: a
//! [`ModelSource`] (a PE of the library in its accumulator harness, or a
//! design in the engine shell; built-in or from a user's project) is
//! Verilated and compiled on first use into a content-addressed cache
//! ([`cache`]) and loaded with libloading; later opens load it from there.
//! [`AccelSim`] puts a design on a simulated board: the [`AxiMemory`] model
//! behind its memory port and a bus-functional AXI4-Lite master on its
//! control port. [`Sim`] is the safe handle on one instance: reset, step N
//! cycles, set and read ports by name, drive a batch of input vectors in
//! one call, and optionally write a waveform. [`PeHarness`] is the typed
//! view of a PE model that the runtime's checks use.
//!
//! This crate knows nothing of the driver or the runtime: it takes plain
//! values and returns plain values.

mod accel;
mod axi_mem;
pub mod cache;
mod error;
mod loaded;
mod model;
mod pe;
mod source;
mod verilate;
pub use verilate::{toolchain, Toolchain};

pub use accel::AccelSim;
pub use axi_mem::{AxiMemory, MasterSignals, MemDrive, MemFault, MemTiming};
pub use cache::{set_build_observer, BuildEvent, CacheEntry};
pub use error::{BuildError, SimError};
pub use model::{Port, PortDir, PortList, Sim, TraceFormat};
pub use pe::{PeHarness, PeInput, PeOutput};
pub use source::{ModelSource, PortSpec};
