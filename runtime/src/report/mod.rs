//! The differential report of `kiln run`: what a run measured, as plain
//! data. Computing it is `model`'s job, which fills these structs and
//! formats nothing; showing them is here: [`text`] (the terminal tables)
//! and [`html`] (a page with plots); `--json` serialises them as they are.
//! Nothing here knows an engine: a run's designs, engines and calls are
//! names and labels.

use serde::Serialize;

pub mod html;
pub mod text;

pub use crate::model::task::{Measure, Task, TaskReport, Unit};

/// Everything one `kiln run` found: the model, the data set, the f32
/// reference, and one [`DesignRun`] per design it ran on.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The ONNX file, as given.
    pub model: String,
    /// Inputs compared (images in the bundled set).
    pub inputs: usize,
    /// Whether true labels were given; accuracies are `None` without them.
    pub labelled: bool,
    /// Top-1 accuracy of tract's f32 run against the true labels.
    pub reference_accuracy: Option<f64>,
    /// How activations were calibrated, in words (method and subset size).
    pub calibration: String,
    pub runs: Vec<DesignRun>,
}

/// The model on one system: one design, or designs of several engines
/// sharing its layers (`gemm-pot-8x8+dwconv-pot-16`).
#[derive(Debug, Clone, Serialize)]
pub struct DesignRun {
    /// The system's name: its designs joined by `+`.
    pub design: String,
    /// The designs' engines, joined by `+` (`gemm`, `gemm+dwconv`).
    pub engine: String,
    /// Each design's arithmetic in words, joined by `; `.
    pub arithmetic: String,
    /// `golden` or `sim`.
    pub backend: String,
    /// The tolerance that decides which layer diverged first.
    pub tolerance: Tolerance,
    /// Offloaded and host layers in execution order.
    pub layers: Vec<LayerReport>,
    /// Name of the first offloaded layer whose output breaks the tolerance.
    pub first_divergent: Option<String>,
    /// Where a NaN or an infinity first appeared, on either side.
    pub first_nonfinite: Option<NonFiniteAt>,
    /// The model output against tract's, measured for the model's task.
    pub task: TaskReport,
    pub macs: MacShare,
    pub timing: Timing,
    /// Present when `--verify-sample` replayed calls on the RTL.
    pub verify: Option<VerifyReport>,
    /// Wall time of this design's pass over the data set.
    pub wall_seconds: f64,
}

/// A layer diverges when its SQNR against tract's f32 output falls below
/// `min_sqnr_db` (on the whole data set).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tolerance {
    pub min_sqnr_db: f64,
}

/// One node of the model that computes MACs, or one that was offloaded.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// Node name in the decluttered model (the ONNX node name where kept).
    pub name: String,
    /// What the node is, e.g. "Conv 3x3 (im2col)", "EinSum mk,kn->mn".
    pub op: String,
    /// Whether the accelerator ran it; otherwise tract did, on the host.
    pub offloaded: bool,
    /// The design of the system that ran it.
    pub design: Option<String>,
    /// Why a MAC-bearing node stayed on the host.
    pub reason: Option<String>,
    /// The engine call it makes (`GEMM 64x576x3136 (int32 out)`), for
    /// offloaded layers.
    pub call: Option<String>,
    /// Accelerator calls per inference.
    pub calls_per_inference: f64,
    pub macs_per_inference: u64,
    /// Error of this node's output against the same node in tract's f32 run,
    /// over every finite element of every input.
    pub error: Option<LayerError>,
    /// Accelerator cycles of this layer per board, in the order of
    /// [`Timing::boards`] (offloaded layers of a timed run).
    pub timing: Vec<LayerTiming>,
    pub divergent: bool,
    /// NaN or infinite elements in this layer's output, over all inputs.
    pub nonfinite: NonFiniteCount,
}

impl LayerReport {
    /// Cycles per inference on the first board, when timed.
    pub fn cycles_per_inference(&self) -> Option<f64> {
        self.timing.first().map(|t| t.cycles_per_inference)
    }

    /// PE utilisation on the first board, when timed.
    pub fn pe_utilisation(&self) -> Option<f64> {
        self.timing.first().map(|t| t.pe_utilisation)
    }
}

/// One offloaded layer's accelerator time on one board.
#[derive(Debug, Clone, Serialize)]
pub struct LayerTiming {
    pub board: String,
    /// Exact cycles of all the layer's calls in one inference.
    pub cycles_per_inference: f64,
    /// This layer's share of the board's accelerator cycles per inference.
    pub share: f64,
    /// The layer's MACs over (cycles x the peak MACs per cycle of the
    /// design that ran it).
    pub pe_utilisation: f64,
}

/// NaN and infinite elements seen in one layer's outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NonFiniteCount {
    /// In tract's f32 reference.
    pub reference: u64,
    /// In the accelerator run.
    pub test: u64,
}

/// The first place a NaN or an infinity appeared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NonFiniteAt {
    /// The layer (or `model output`) whose output held it.
    pub layer: String,
    /// `reference` (tract f32), `accelerator`, or `both`.
    pub side: String,
    /// Index of the input sample.
    pub sample: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LayerError {
    pub max_abs: f64,
    /// 10 log10(signal power / error power); infinite when exact.
    pub sqnr_db: f64,
    pub cosine: f64,
}

/// MACs per inference, on the accelerator and on the host.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MacShare {
    pub offloaded: u64,
    pub host: u64,
    /// `offloaded / (offloaded + host)`.
    pub offloaded_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Where the cycles come from: `simulated` (every call on the RTL),
    /// `measured on the board` (every call on the accelerator) or
    /// `exact per call signature` (golden run: each distinct call signature
    /// simulated once on the RTL, every call given its cycles).
    pub source: String,
    /// Distinct call signatures simulated for the timing, per board.
    pub signatures_simulated: usize,
    /// Accelerator time per board (compute on the device only; host work
    /// such as im2col and non-offloaded ops is not included). Empty when
    /// the run was not timed (`--no-cycles`).
    pub boards: Vec<BoardLatency>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardLatency {
    pub board: String,
    pub clock_mhz: f64,
    pub cycles_per_inference: f64,
    pub latency_us: f64,
    /// Offloaded MACs over the MAC capacity of the cycles spent: each
    /// layer's cycles times the peak MACs per cycle of the design that ran
    /// it.
    pub pe_utilisation: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Calls sampled and replayed on the RTL.
    pub sampled: usize,
    /// Of those, how many returned bit-identical outputs.
    pub bit_identical: usize,
    /// Every GEMM call of the run (the population sampled from).
    pub total_calls: usize,
}
