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
use crate::model::lower::JobRunner;
use crate::model::matrix::{real_weights, MatrixActs, MatrixArithmetic, MatrixWeights, RowsOut};

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
        out: RowsOut<'_>,
    ) -> TractResult<()> {
        let Some(w) = weights.as_any().downcast_ref::<BfpMatrix>() else {
            anyhow::bail!("weights prepared for another engine reached the BFP engine");
        };
        let values = match a {
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
        out.check(values.len(), "the BFP engine")?;
        match out {
            RowsOut::F64(out) => add_bias(&values, bias, n, out, |v| v),
            RowsOut::F32(out) => add_bias(&values, bias, n, out, |v| v as f32),
        }
        Ok(())
    }
}

/// `values` (rows of `n`) with `bias[j]` added to column `j` in f64, each
/// then through `to` into `out` (as long as `values`); one flat pass for a
/// single column (a depthwise call's), whose rows would each be a loop of
/// one.
fn add_bias<T>(values: &[f32], bias: &[f64], n: usize, out: &mut [T], to: impl Fn(f64) -> T) {
    if n == 1 {
        let b = bias[0];
        for (o, &v) in out.iter_mut().zip(values) {
            *o = to(f64::from(v) + b);
        }
        return;
    }
    for (row, out_row) in values.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        for ((o, &v), b) in out_row.iter_mut().zip(row).zip(bias) {
            *o = to(f64::from(v) + b);
        }
    }
}
