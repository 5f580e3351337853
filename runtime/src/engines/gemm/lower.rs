//! How the GEMM engine takes model layers: the shared matrix lowering
//! (`model::matrix`) with int8 activations and weights quantised per
//! channel onto the design's PE codebook. Each call is an int32 GEMM whose
//! scales, weight zero points and bias remainder the host applies.

use std::any::Any;
use std::collections::HashMap;

use tract_onnx::prelude::*;

use super::conv_call::ConvCall;
use super::{ChannelParams, GemmProblem, OutputMode, WeightCodes};
use crate::backend::BackendError;
use crate::formats::{quantise_rows, Codebook, ScaleRule};
use crate::model::lower::{JobRunner, NodeValues};
use crate::model::matrix::{real_weights, MatrixActs, MatrixArithmetic, MatrixWeights, RowType};

/// A GEMM design's arithmetic: its PE's codebook.
#[derive(Debug, Clone)]
pub struct GemmArithmetic {
    pub codebook: Codebook,
}

/// Weights ready for the GEMM engine: one matrix, N output channels by K.
#[derive(Debug, Clone, PartialEq)]
pub struct GemmWeights {
    pub n: usize,
    pub k: usize,
    /// N x K codes of the design's PE, shared by every call of the layer.
    pub codes: WeightCodes,
    /// Per channel, in the codes' value units: `(value(code) -
    /// zero_point[n]) * scale[n]` is the real weight. Non-zero only for
    /// already-quantised weights carried over exactly.
    pub zero_points: Vec<i32>,
    /// Per channel.
    pub scales: Vec<f64>,
}

impl MatrixWeights for GemmWeights {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl GemmArithmetic {
    /// Real weights (N x K row-major): per-channel scales onto the PE's
    /// codebook, chosen by `rule`.
    pub fn quantise(
        &self,
        w: &[f32],
        n: usize,
        k: usize,
        rule: ScaleRule,
    ) -> Result<GemmWeights, BackendError> {
        let q = quantise_rows(&self.codebook, w, n, k, rule)?;
        Ok(GemmWeights {
            n,
            k,
            codes: q.codes.iter().map(|&c| c as u8).collect::<Vec<u8>>().into(),
            zero_points: vec![0; n],
            scales: q.scales.iter().map(|&s| f64::from(s)).collect(),
        })
    }

    /// Integer weights `(w - zero_point[n]) * scale[n]`: carried over
    /// exactly, zero points included, when every integer is a value of the
    /// codebook (an int8 multiplier design and int8 weights, say); quantised
    /// again from their real values otherwise.
    pub fn from_ints(
        &self,
        w: &[i32],
        zero_points: &[i32],
        scales: &[f64],
        n: usize,
        k: usize,
    ) -> Result<GemmWeights, BackendError> {
        if let Some((codes, zero_points)) = exact_codes(&self.codebook, w, zero_points) {
            return Ok(GemmWeights {
                n,
                k,
                codes: codes.into(),
                zero_points,
                scales: scales.to_vec(),
            });
        }
        self.quantise(
            &real_weights(w, zero_points, scales, k),
            n,
            k,
            ScaleRule::LeastSquares,
        )
    }
}

impl MatrixArithmetic for GemmArithmetic {
    fn int8_activations(&self) -> bool {
        true
    }

    fn weights_from_real(
        &self,
        w: &[f32],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError> {
        Ok(Box::new(self.quantise(w, n, k, ScaleRule::LeastSquares)?))
    }

    /// Per-channel max-abs scales: the exact least-squares search per call
    /// would cost more than the product.
    fn weights_at_run_time(
        &self,
        w: &[f32],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError> {
        Ok(Box::new(self.quantise(w, n, k, ScaleRule::MaxAbs)?))
    }

    fn weights_from_ints(
        &self,
        w: &[i32],
        zero_points: &[i32],
        scales: &[f64],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError> {
        Ok(Box::new(self.from_ints(w, zero_points, scales, n, k)?))
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
        let Some(w) = weights.as_any().downcast_ref::<GemmWeights>() else {
            anyhow::bail!("weights prepared for another engine reached the GEMM engine");
        };
        // A weight zero point needs each row's sum of A: gather it.
        let needs_rowsum = w.zero_points.iter().any(|&z| z != 0);
        let a = if needs_rowsum { a.gathered() } else { a };
        let (za, sa) = match &a {
            MatrixActs::Int {
                zero_point, scale, ..
            }
            | MatrixActs::Planes {
                zero_point, scale, ..
            } => (*zero_point, *scale),
            MatrixActs::Real(_) | MatrixActs::RealPlanes { .. } => {
                anyhow::bail!("the GEMM engine takes int8 activations")
            }
        };
        let (channels, residual) = bias_in_accumulator_units(bias, sa, &w.scales);
        // The accumulators, and A's rows when the row sums are needed.
        let (acc, a_rows) = match a {
            MatrixActs::Planes { x, site, group, .. } => {
                let job = ConvCall::new(
                    x,
                    site,
                    group,
                    w.codes.clone(),
                    channels,
                    za,
                    OutputMode::Int32,
                )?;
                (runner.run(layer, &job)?.into_int("GEMM")?, None)
            }
            MatrixActs::Int { q, .. } => {
                let problem = GemmProblem {
                    m,
                    n,
                    k,
                    a: q,
                    b: w.codes.clone(),
                    channels,
                    act_zero_point: za,
                    output: OutputMode::Int32,
                };
                let acc = runner.run(layer, &problem)?.into_int("GEMM")?;
                (acc, Some(problem.a))
            }
            MatrixActs::Real(_) | MatrixActs::RealPlanes { .. } => unreachable!("refused above"),
        };
        let dequantise = Dequantise {
            a: a_rows.as_deref().map(|a| (a, k)),
            za,
            sa,
            w_zp: &w.zero_points,
            sw: &w.scales,
            residual: &residual,
        };
        Ok(dequantise.rows(&acc, rows))
    }
}

/// The bias in accumulator units (activation scale `sa` times each
/// channel's weight scale), as the accelerator adds it, and what rounding
/// leaves over, which the host adds.
fn bias_in_accumulator_units(bias: &[f64], sa: f64, sw: &[f64]) -> (Vec<ChannelParams>, Vec<f64>) {
    bias.iter()
        .zip(sw)
        .map(|(&b, &s)| {
            let unit = sa * s;
            let q = if unit > 0.0 { (b / unit).round() } else { 0.0 };
            let q = if q.abs() < f64::from(1 << 30) { q } else { 0.0 };
            let channel = ChannelParams {
                bias: q as i32,
                multiplier: 0,
                shift: 0,
            };
            (channel, b - q * unit)
        })
        .unzip()
}

/// How an int32 GEMM's accumulators (M x N) become real values: `(acc -
/// w_zp[n] * rowsum(a - za)[m]) * sa * sw[n] + residual[n]`. `a` (with its
/// K) is needed only when some weight zero point is not 0.
struct Dequantise<'a> {
    a: Option<(&'a [i8], usize)>,
    za: i8,
    sa: f64,
    w_zp: &'a [i32],
    sw: &'a [f64],
    residual: &'a [f64],
}

impl Dequantise<'_> {
    /// The real values in `rows`' type, each computed in f64 and rounded
    /// once when that type is f32.
    fn rows(&self, acc: &[i32], rows: RowType) -> NodeValues {
        match rows {
            RowType::F64 => NodeValues::F64(self.values(acc, |v| v)),
            RowType::F32 => NodeValues::F32(self.values(acc, |v| v as f32)),
        }
    }

    /// Each real value, in f64, through `to`.
    #[inline(always)]
    fn values<T>(&self, acc: &[i32], to: impl Fn(f64) -> T) -> Vec<T> {
        let Dequantise {
            a,
            za,
            sa,
            w_zp,
            sw,
            residual,
        } = *self;
        let n = sw.len();
        // Filled row by row as it is computed: no zeroing pass first.
        let mut out = Vec::with_capacity(acc.len());
        let Some((a, k)) = a.filter(|_| w_zp.iter().any(|&z| z != 0)) else {
            // The accumulator is the exact sum: an i32 to f64 conversion, which
            // vectorises where the i64 one below does not; a depthwise call's
            // one channel over the whole output at once, not in thousands of
            // one-element rows.
            if n == 1 {
                let (s, r) = (sw[0], residual[0]);
                out.extend(acc.iter().map(|&acc| to(f64::from(acc) * sa * s + r)));
                return out;
            }
            for acc_row in acc.chunks_exact(n) {
                out.extend(
                    acc_row
                        .iter()
                        .zip(sw)
                        .zip(residual)
                        .map(|((&acc, &s), &r)| to(f64::from(acc) * sa * s + r)),
                );
            }
            return out;
        };
        for (row, acc_row) in a.chunks_exact(k).zip(acc.chunks_exact(n)) {
            let rowsum: i64 = row.iter().map(|&x| i64::from(x) - i64::from(za)).sum();
            out.extend(acc_row.iter().zip(w_zp).zip(sw).zip(residual).map(
                |(((&acc, &zp), &s), &r)| {
                    let exact = i64::from(acc) - i64::from(zp) * rowsum;
                    to(exact as f64 * sa * s + r)
                },
            ));
        }
        out
    }
}

/// Codes for `w` when the codebook holds every value, directly or after a
/// common shift that keeps `w - zero_point` unchanged (uint8 weights on an
/// int8 codebook are shifted by 128, zero points with them).
fn exact_codes(codebook: &Codebook, w: &[i32], zero_points: &[i32]) -> Option<(Vec<u8>, Vec<i32>)> {
    let lookup: HashMap<i32, u8> = codebook
        .values()
        .iter()
        .enumerate()
        .rev() // the lowest code wins for a repeated value
        .map(|(code, &v)| (v, code as u8))
        .collect();
    let (lo, hi) = w
        .iter()
        .fold((i32::MAX, i32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let shift = if lo >= 0 && hi > 127 { 128 } else { 0 };
    let codes = w
        .iter()
        .map(|&x| lookup.get(&(x - shift)).copied())
        .collect::<Option<Vec<u8>>>()?;
    Some((codes, zero_points.iter().map(|&z| z - shift).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint8_weights_are_exact_on_an_int8_codebook() {
        let cb = Codebook::named("mac_dsp").unwrap();
        let arithmetic = GemmArithmetic {
            codebook: cb.clone(),
        };
        let w = [0, 255, 128, 7];
        let ws = arithmetic
            .from_ints(&w, &[3, 200], &[1.0, 0.5], 2, 2)
            .unwrap();
        let values: Vec<i32> = ws
            .codes
            .iter()
            .map(|&c| cb.value(u32::from(c)).unwrap())
            .collect();
        let diffs: Vec<i32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| v - ws.zero_points[i / 2])
            .collect();
        assert_eq!(diffs, vec![-3, 252, -72, -193]);
    }
}
