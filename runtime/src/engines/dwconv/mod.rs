//! The depthwise-convolution engine (hw/ip/dwconv): channel-parallel lanes,
//! one PE each, every lane a line-buffered K x K window over one channel.
//! hw/ip/dwconv/doc/README.md describes the engine and its arguments.
//!
//! - [`golden`]: the arithmetic, bit for bit, and its reference checks;
//! - [`layout`]: where the operands sit in device memory;
//! - [`job`]: a convolution as a job, and the driver's descriptor;
//! - [`lower`]: which model layers it takes and how;
//! - `engine`: its entry in kiln's registry.

mod engine;
pub mod golden;
pub mod job;
pub mod layout;
pub mod lower;
pub mod mode;
#[cfg(all(test, feature = "sim"))]
mod sim_tests;

pub use engine::{DwconvEngine, DWCONV};
pub use golden::{golden_dwconv, random_problem, DwconvError, DwconvProblem};
pub use job::{DwconvDescriptor, RunDwconv};
