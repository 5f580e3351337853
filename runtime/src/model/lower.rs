//! The seam between a model and the engines: how an offloaded layer runs.
//!
//! `graph` finds the MAC-bearing nodes and describes each as a [`Site`];
//! every engine of the run bids for it ([`crate::engines::Engine::bid`]),
//! and the winner lowers it into a [`Lowering`]: the node's evaluation with
//! its engine calls sent to a [`JobRunner`] and the rest done on the host.
//! Matrix engines share one lowering ([`super::matrix`]); an engine with
//! its own kind of call brings its own.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::quant::ActQuant;
use super::site::Site;
use crate::engines::{Job, Output};

/// Everything an engine needs to lower one layer.
#[derive(Debug, Clone, Copy)]
pub struct LayerContext<'a> {
    /// The node's name.
    pub name: &'a str,
    /// The layer's index in the run.
    pub index: usize,
    pub site: &'a Site,
    /// The node consumes already-quantised operands (QLinear*).
    pub quantised: bool,
    /// The activation's int8 quantisation, calibrated before the run (float
    /// layers of engines that want int8 activations).
    pub calibration: Option<ActQuant>,
    /// The node's inputs that are constants (its weights and their
    /// parameters), `None` elsewhere; `None` as a whole when some input
    /// besides the activation is not constant.
    pub constants: Option<&'a [Option<Arc<Tensor>>]>,
    /// Elements of the node's output.
    pub output_len: usize,
    /// The node's output is a float tensor (f32, or a narrower float
    /// made from f32).
    pub float_output: bool,
}

/// A layer lowered onto an engine, evaluated by kiln's executor.
pub trait Lowering: std::fmt::Debug + Send + Sync {
    /// Evaluates the node on its `inputs`: engine calls on `runner`, the
    /// rest on the host. Returns the node's real-valued output in its own
    /// element order.
    fn run(&self, inputs: &[&Tensor], runner: &mut dyn JobRunner) -> TractResult<NodeValues>;
    /// One line for tract's node listing.
    fn info(&self) -> String;
}

/// A lowered node's real-valued output, in its own element order: f64
/// where the host goes on computing with it (requantising an integer
/// output, adding a deconvolution's taps), f32 where the values only move
/// into an f32 tensor (rounded once, as the tensor would round them). The
/// f32 values are that tensor already (flat), written where they are
/// computed, so that the output is not copied once more into tract's
/// storage.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValues {
    F64(Vec<f64>),
    F32(Tensor),
}

/// Runs the engine calls of offloaded layers on whichever backend the run
/// uses.
pub trait JobRunner {
    /// `layer` identifies the op for the run's records.
    fn run(&mut self, layer: usize, job: &dyn Job) -> anyhow::Result<Output>;
}
