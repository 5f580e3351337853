//! The error measurements behind docs/bfp.md (`kiln bench bfp-error`):
//! the golden BFP MatMul against f64 on Gaussian data with and without
//! activation outliers, next to per-tensor int8; and the llama.cpp
//! converters against the blocks they convert.

use serde::Serialize;

use super::ggml::{dequantise_q4_0, dequantise_q8_0, q4_0_to_mxint4, q8_0_to_mxint8};
use super::ggml::{quantise_q4_0, quantise_q8_0, QK};
use super::matrix::step_exponent;
use super::{golden_matmul, pow2, BfpError, BfpFormat, BfpMatrix, ElementKind, BLOCK_SIZES};
use crate::rng::SplitMix64;

/// Activations multiplied by this factor in the outlier data set.
pub const OUTLIER_FACTOR: f32 = 100.0;
/// One activation in this many is an outlier (0.1%).
pub const OUTLIER_ONE_IN: u64 = 1000;

/// The data a measurement runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSet {
    /// A and W with independent N(0, 1) elements.
    Gaussian,
    /// The same, with one activation in [`OUTLIER_ONE_IN`] (at random
    /// positions) multiplied by [`OUTLIER_FACTOR`], like the outlier
    /// features of LLM activations.
    Outliers,
}

impl DataSet {
    pub fn name(self) -> &'static str {
        match self {
            DataSet::Gaussian => "gaussian",
            DataSet::Outliers => "outliers",
        }
    }
}

/// One scheme's error on one data set.
#[derive(Debug, Clone, Serialize)]
pub struct MatmulError {
    pub data: DataSet,
    /// `int8 per-tensor`, or the weight format such as `mxint4/32`
    /// (activations are then mxint8 with the same block).
    pub scheme: String,
    /// Storage per weight, a shared exponent's share included.
    pub bits_per_weight: f64,
    /// `max |C - ref| / max |ref|`.
    pub max_rel: f64,
    /// `rms(C - ref) / rms(ref)`.
    pub rms_rel: f64,
}

/// `(max |c - r| / max |r|, rms(c - r) / rms(r))`.
fn relative_errors(c: &[f32], reference: &[f64]) -> (f64, f64) {
    let (mut max_err, mut max_ref, mut sq_err, mut sq_ref) = (0.0f64, 0.0f64, 0.0, 0.0);
    for (&c, &r) in c.iter().zip(reference) {
        let e = f64::from(c) - r;
        max_err = max_err.max(e.abs());
        max_ref = max_ref.max(r.abs());
        sq_err += e * e;
        sq_ref += r * r;
    }
    (max_err / max_ref, (sq_err / sq_ref).sqrt())
}

/// `C = A W^T` in f64 from the f32 inputs: the reference.
pub fn reference_matmul(a: &[f32], w: &[f32], k: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for a_row in a.chunks_exact(k) {
        for w_row in w.chunks_exact(k) {
            out.push(
                a_row
                    .iter()
                    .zip(w_row)
                    .map(|(&x, &y)| f64::from(x) * f64::from(y))
                    .sum(),
            );
        }
    }
    out
}

/// Symmetric per-tensor int8: `scale = amax / 127`, codes rounded half to
/// even.
fn per_tensor_int8(x: &[f32]) -> (Vec<i64>, f64) {
    let amax = x.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
    if amax == 0.0 {
        return (vec![0; x.len()], 0.0);
    }
    let scale = amax / 127.0;
    let q = x
        .iter()
        .map(|&v| {
            (f64::from(v) / scale)
                .round_ties_even()
                .clamp(-127.0, 127.0) as i64
        })
        .collect();
    (q, scale)
}

/// `C` from per-tensor int8 A and W: an exact integer dot product times
/// both scales.
pub fn per_tensor_int8_matmul(a: &[f32], w: &[f32], k: usize) -> Vec<f32> {
    let ((qa, sa), (qw, sw)) = (per_tensor_int8(a), per_tensor_int8(w));
    let mut out = Vec::new();
    for a_row in qa.chunks_exact(k) {
        for w_row in qw.chunks_exact(k) {
            let dot: i64 = a_row.iter().zip(w_row).map(|(x, y)| x * y).sum();
            out.push((dot as f64 * sa * sw) as f32);
        }
    }
    out
}

/// `m x k` activations and `n x k` weights for `data`: N(0, 1), then for
/// [`DataSet::Outliers`] the outliers on top of the same Gaussian values.
pub fn generate(data: DataSet, seed: u64, m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = SplitMix64::new(seed);
    let mut a: Vec<f32> = (0..m * k).map(|_| rng.gaussian() as f32).collect();
    let w: Vec<f32> = (0..n * k).map(|_| rng.gaussian() as f32).collect();
    if data == DataSet::Outliers {
        for x in &mut a {
            if rng.below(OUTLIER_ONE_IN) == 0 {
                *x *= OUTLIER_FACTOR;
            }
        }
    }
    (a, w)
}

/// The MatMul error of per-tensor int8 and of every BFP weight format and
/// block, on both data sets, for an `m x k` by `k x n` product.
pub fn matmul_error(m: usize, k: usize, n: usize, seed: u64) -> Result<Vec<MatmulError>, BfpError> {
    let mut rows = Vec::new();
    for data in [DataSet::Gaussian, DataSet::Outliers] {
        let (a, w) = generate(data, seed, m, k, n);
        let reference = reference_matmul(&a, &w, k);
        let (max_rel, rms_rel) = relative_errors(&per_tensor_int8_matmul(&a, &w, k), &reference);
        rows.push(MatmulError {
            data,
            scheme: "int8 per-tensor".into(),
            bits_per_weight: 8.0,
            max_rel,
            rms_rel,
        });
        for element in [ElementKind::Int8, ElementKind::Int4] {
            for block in BLOCK_SIZES {
                let fw = BfpFormat::new(element, block)?;
                let fa = BfpFormat::new(ElementKind::Int8, block)?;
                let qa = BfpMatrix::quantise(fa, m, k, &a)?;
                let qw = BfpMatrix::quantise(fw, n, k, &w)?;
                let (max_rel, rms_rel) = relative_errors(&golden_matmul(&qa, &qw)?, &reference);
                rows.push(MatmulError {
                    data,
                    scheme: fw.to_string(),
                    bits_per_weight: fw.bits_per_element(),
                    max_rel,
                    rms_rel,
                });
            }
        }
    }
    Ok(rows)
}

/// One converter's error over many llama.cpp-style blocks.
#[derive(Debug, Clone, Serialize)]
pub struct ConversionError {
    /// `Q8_0 -> mxint8` or `Q4_0 -> mxint4`.
    pub conversion: &'static str,
    pub blocks: usize,
    /// Largest `|converted - ggml| / amax` of a block (amax of the ggml
    /// block's values).
    pub max_rel: f64,
    /// `rms(converted - ggml) / rms(ggml)`.
    pub rms_rel: f64,
    /// Largest `|converted - ggml|` in steps of the new block: at most 0.5,
    /// below 1 for a saturated element.
    pub max_steps: f64,
    /// For context: `rms(ggml - source) / rms(source)`, the ggml format's
    /// own error on the source f32 data.
    pub ggml_rms_rel: f64,
    /// `rms(converted - source) / rms(source)`: both roundings together.
    pub converted_rms_rel: f64,
    /// `rms(direct - source) / rms(source)`, quantising the source straight
    /// to the BFP format.
    pub direct_rms_rel: f64,
}

fn rms_rel(x: &[f32], reference: &[f32]) -> f64 {
    let (mut e2, mut r2) = (0.0, 0.0);
    for (&x, &r) in x.iter().zip(reference) {
        let (x, r) = (f64::from(x), f64::from(r));
        e2 += (x - r) * (x - r);
        r2 += r * r;
    }
    (e2 / r2).sqrt()
}

/// The converters' error on `blocks` blocks of 32 Gaussian values, each
/// block scaled by `10^-u` with `u` uniform in `[0, 3)` (so that the fp16
/// scales are spread over their significands and three decades, like a
/// model's weights), quantised by llama.cpp's reference quantisers.
pub fn conversion_error(blocks: usize, seed: u64) -> Result<Vec<ConversionError>, BfpError> {
    let mut rng = SplitMix64::new(seed);
    let mut source = Vec::with_capacity(blocks * QK);
    for _ in 0..blocks {
        let scale = 10f64.powf(-3.0 * rng.below(1 << 20) as f64 / f64::from(1 << 20));
        source.extend((0..QK).map(|_| (rng.gaussian() * scale) as f32));
    }
    let k = blocks * QK;
    let q8 = quantise_q8_0(&source)?;
    let q4 = quantise_q4_0(&source)?;
    let cases = [
        (
            "Q8_0 -> mxint8",
            dequantise_q8_0(&q8)?,
            q8_0_to_mxint8(&q8, 1, k)?,
        ),
        (
            "Q4_0 -> mxint4",
            dequantise_q4_0(&q4)?,
            q4_0_to_mxint4(&q4, 1, k)?,
        ),
    ];
    let mut rows = Vec::new();
    for (conversion, ggml, converted) in cases {
        let kind = converted.format().element;
        let values = converted.dequantise();
        let (mut max_rel, mut max_steps) = (0.0f64, 0.0f64);
        for (j, (g, c)) in ggml
            .chunks_exact(QK)
            .zip(values.chunks_exact(QK))
            .enumerate()
        {
            let amax = g.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
            let step = pow2(step_exponent(kind, converted.exps()[j]));
            for (&g, &c) in g.iter().zip(c) {
                let err = (f64::from(c) - f64::from(g)).abs();
                if amax > 0.0 {
                    max_rel = max_rel.max(err / amax);
                }
                max_steps = max_steps.max(err / step);
            }
        }
        let direct = BfpMatrix::quantise(converted.format(), 1, k, &source)?.dequantise();
        rows.push(ConversionError {
            conversion,
            blocks,
            max_rel,
            rms_rel: rms_rel(&values, &ggml),
            max_steps,
            ggml_rms_rel: rms_rel(&ggml, &source),
            converted_rms_rel: rms_rel(&values, &source),
            direct_rms_rel: rms_rel(&direct, &source),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a small shape: BFP beats per-tensor int8 once there are outliers,
    /// and mxint4 is worse than mxint8.
    #[test]
    fn small_study_is_sane() {
        let rows = matmul_error(4, 256, 8, 1).unwrap();
        assert_eq!(rows.len(), 2 * 7);
        let get = |data, scheme: &str| {
            rows.iter()
                .find(|r| r.data == data && r.scheme == scheme)
                .unwrap()
                .rms_rel
        };
        let d = DataSet::Outliers;
        assert!(get(d, "mxint8/32") < get(d, "int8 per-tensor"));
        assert!(get(d, "mxint8/32") < get(d, "mxint4/32"));
        let conv = conversion_error(64, 1).unwrap();
        assert!(conv.iter().all(|c| c.max_steps < 1.0));
    }
}
