//! How the BFP engine takes model layers: the shared matrix lowering
//! (`model::matrix`) with real activations quantised block by block to
//! mxint8 on every call (no calibration), and weights in the design's
//! format. The MatMul's f32 results get the bias on the host.

use std::any::Any;

use tract_onnx::prelude::*;

use super::conv_call::ConvCall;
use super::job::MatmulProblem;
use super::{BfpFormat, BfpMatrix, ElementKind};
use crate::backend::BackendError;
use crate::model::lower::{JobRunner, NodeValues};
use crate::model::matrix::{real_weights, MatrixActs, MatrixArithmetic, MatrixWeights, RowType};

/// A BFP design's arithmetic: its weight format.
#[derive(Debug, Clone, Copy)]
pub struct BfpArithmetic {
    pub weights: BfpFormat,
}

impl MatrixWeights for BfpMatrix {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl MatrixArithmetic for BfpArithmetic {
    fn int8_activations(&self) -> bool {
        false
    }

    fn weights_from_real(
        &self,
        w: &[f32],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError> {
        Ok(Box::new(BfpMatrix::quantise(self.weights, n, k, w)?))
    }

    fn weights_from_ints(
        &self,
        w: &[i32],
        zero_points: &[i32],
        scales: &[f64],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError> {
        self.weights_from_real(&real_weights(w, zero_points, scales, k), n, k)
    }

    /// A depthwise convolution's calls go out as [`ConvCall`]s, whose
    /// golden model reads the input planes without an im2col.
    fn reads_conv_planes(&self) -> bool {
        true
    }

    fn call(
        &self,
        runner: &mut dyn JobRunner,
        layer: usize,
        a: MatrixActs,
        weights: &dyn MatrixWeights,
        bias: &[f64],
        [m, k, n]: [usize; 3],
        rows: RowType,
    ) -> TractResult<NodeValues> {
        let Some(w) = weights.as_any().downcast_ref::<BfpMatrix>() else {
            anyhow::bail!("weights prepared for another engine reached the BFP engine");
        };
        let out = match a {
            MatrixActs::Real(a) => {
                let format = BfpFormat::new(ElementKind::Int8, w.format().block)?;
                let problem = MatmulProblem {
                    a: BfpMatrix::quantise(format, m, k, &a)?,
                    w: w.clone(),
                };
                runner.run(layer, &problem)?
            }
            MatrixActs::RealPlanes { x, site, group } => {
                let job = ConvCall::new(x, site, group, w.clone())?;
                runner.run(layer, &job)?
            }
            _ => anyhow::bail!("the BFP engine takes real activations"),
        }
        .into_float("BFP MatMul")?;
        Ok(match rows {
            RowType::F64 => NodeValues::F64(add_bias(&out, bias, n, |v| v)),
            RowType::F32 => NodeValues::F32(add_bias(&out, bias, n, |v| v as f32)),
        })
    }
}

/// `out` (rows of `n`) with `bias[j]` added to column `j` in f64, each
/// value then through `to`; one flat pass for a single column (a depthwise
/// call's), whose rows would each be a loop of one.
fn add_bias<T>(out: &[f32], bias: &[f64], n: usize, to: impl Fn(f64) -> T) -> Vec<T> {
    if n == 1 {
        let b = bias[0];
        return out.iter().map(|&v| to(f64::from(v) + b)).collect();
    }
    // Sized up front: a flat_map's collect cannot know its length and
    // grows (and copies) its buffer as it goes.
    let mut with_bias = Vec::with_capacity(out.len());
    for row in out.chunks_exact(n) {
        with_bias.extend(row.iter().zip(bias).map(|(&v, b)| to(f64::from(v) + b)));
    }
    with_bias
}
