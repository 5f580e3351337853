//! How the GEMM engine takes model layers: the shared matrix lowering
//! (`model::matrix`) with int8 activations and weights quantised per
//! channel onto the design's PE codebook. Each call is an int32 GEMM whose
//! scales, weight zero points and bias remainder the host applies.

use std::any::Any;
use std::collections::HashMap;

use tract_onnx::prelude::*;

use super::channel_major::ChannelMajorCall;
use super::conv_call::ConvCall;
use super::{ChannelParams, GemmProblem, OutputMode, WeightCodes};
use crate::backend::BackendError;
use crate::formats::{quantise_rows, Codebook, ScaleRule};
use crate::model::lower::JobRunner;
use crate::model::matrix::{real_weights, MatrixActs, MatrixArithmetic, MatrixWeights, RowsOut};

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

    /// A channel-major EinSum's calls go out as [`ChannelMajorCall`]s,
    /// whose golden model packs the activations from K x M as they are.
    fn reads_channel_major(&self) -> bool {
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
            | MatrixActs::ChannelMajor {
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
        let by_channel = matches!(a, MatrixActs::ChannelMajor { .. });
        // The accumulators, and each row's sum of A - za when needed.
        let (acc, act_sums) = match a {
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
                let sums = needs_rowsum.then(|| row_sums(&q, k, za));
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
                (runner.run(layer, &problem)?.into_int("GEMM")?, sums)
            }
            MatrixActs::ChannelMajor { q, .. } => {
                let sums = needs_rowsum.then(|| column_sums(&q, m, za));
                let job = ChannelMajorCall::new(
                    m,
                    n,
                    k,
                    q,
                    w.codes.clone(),
                    channels,
                    za,
                    OutputMode::Int32,
                )?;
                (runner.run(layer, &job)?.into_int("GEMM")?, sums)
            }
            MatrixActs::Real(_) | MatrixActs::RealPlanes { .. } => unreachable!("refused above"),
        };
        let dequantise = Dequantise {
            act_sums: act_sums.as_deref(),
            by_channel,
            sa,
            w_zp: &w.zero_points,
            sw: &w.scales,
            residual: &residual,
        };
        out.check(acc.len(), "the GEMM engine")?;
        match out {
            RowsOut::F64(out) => dequantise_f64(&dequantise, &acc, out),
            RowsOut::F32(out) => dequantise_f32(&dequantise, &acc, out),
        }
        Ok(())
    }
}

/// `sum_k (a[m][k] - za)` for each row of `a` (rows of `k`).
fn row_sums(a: &[i8], k: usize, za: i8) -> Vec<i64> {
    a.chunks_exact(k.max(1))
        .map(|row| row.iter().map(|&x| i64::from(x) - i64::from(za)).sum())
        .collect()
}

/// [`row_sums`] of A given as its transpose `a_t` (K rows of `m`).
fn column_sums(a_t: &[i8], m: usize, za: i8) -> Vec<i64> {
    let mut sums = vec![0i64; m];
    for row in a_t.chunks_exact(m.max(1)) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += i64::from(x) - i64::from(za);
        }
    }
    sums
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

/// How an int32 GEMM's accumulators (M x N, or N x M `by_channel`) become
/// real values: `(acc - w_zp[n] * act_sums[m]) * sa * sw[n] + residual[n]`,
/// with `act_sums[m] = sum_k (a[m][k] - za)` needed only when some weight
/// zero point is not 0.
struct Dequantise<'a> {
    act_sums: Option<&'a [i64]>,
    by_channel: bool,
    sa: f64,
    w_zp: &'a [i32],
    sw: &'a [f64],
    residual: &'a [f64],
}

impl Dequantise<'_> {
    /// Each real value, in f64, through `to` into `out` (as long as
    /// `acc`).
    #[inline(always)]
    fn write<T>(&self, acc: &[i32], out: &mut [T], to: impl Fn(f64) -> T) {
        let Dequantise {
            act_sums,
            by_channel,
            sa,
            w_zp,
            sw,
            residual,
        } = *self;
        let n = sw.len();
        let act_sums = act_sums.filter(|_| w_zp.iter().any(|&z| z != 0));
        // The exact sum as f64: the accumulator itself (an i32 to f64
        // conversion, which vectorises where the i64 one does not) unless
        // a zero point takes a multiple of the row's sum off it.
        let exact = |acc: i32, zp: i32, sum: i64| -> f64 {
            match act_sums {
                Some(_) => (i64::from(acc) - i64::from(zp) * sum) as f64,
                None => f64::from(acc),
            }
        };
        if by_channel || n == 1 {
            // A channel's values are one run: one channel's scale over all
            // of them (a depthwise call's single channel, too).
            let m = acc.len() / n.max(1);
            let runs = acc
                .chunks_exact(m.max(1))
                .zip(out.chunks_exact_mut(m.max(1)));
            for (c, (acc_row, out_row)) in runs.enumerate() {
                let (s, r, zp) = (sw[c], residual[c], w_zp[c]);
                let values = acc_row.iter().zip(out_row.iter_mut());
                match act_sums {
                    Some(sums) => {
                        for ((&acc, o), &sum) in values.zip(sums) {
                            *o = to(exact(acc, zp, sum) * sa * s + r);
                        }
                    }
                    None => {
                        for (&acc, o) in values {
                            *o = to(f64::from(acc) * sa * s + r);
                        }
                    }
                }
            }
            return;
        }
        for (i, (acc_row, out_row)) in acc.chunks_exact(n).zip(out.chunks_exact_mut(n)).enumerate()
        {
            let sum = act_sums.map_or(0, |sums| sums[i]);
            let channels = w_zp.iter().zip(sw).zip(residual);
            for ((&acc, o), ((&zp, &s), &r)) in acc_row.iter().zip(out_row.iter_mut()).zip(channels)
            {
                *o = to(exact(acc, zp, sum) * sa * s + r);
            }
        }
    }
}

/// [`Dequantise::write`] into f32, built for the wider vector units too:
/// the binary's baseline has two f64 lanes, AVX-512 eight.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn dequantise_f32<'a>(d: &Dequantise<'a>, acc: &[i32], out: &mut [f32]) {
    d.write(acc, out, |v| v as f32)
}

/// [`dequantise_f32`] into f64.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn dequantise_f64<'a>(d: &Dequantise<'a>, acc: &[i32], out: &mut [f64]) {
    d.write(acc, out, |v| v)
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
