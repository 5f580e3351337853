//! kiln: co-design DNN accelerators for Zynq FPGAs.
//!
//! The runtime library behind the `kiln` binary: number formats with their
//! golden models, RTL checks on the Verilated models, synthesis reports and
//! simulator benchmarks. The CLI in `main.rs` is a thin layer over it.

pub mod backend;
#[cfg(feature = "sim")]
pub mod bench;
pub mod bitstream;
pub mod budget;
pub mod engines;
pub mod formats;
pub mod kernel;
pub mod model;
pub mod new;
pub mod parallel;
#[cfg(feature = "sim")]
pub mod pe_check;
pub mod pe_docs;
pub mod report;
pub mod rng;
pub mod synth;
pub mod workload;
