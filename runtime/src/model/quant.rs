//! Operands in the design's formats: activations to int8 with a scale and
//! zero point, weights to the design's codes (or BFP blocks) with one scale
//! per output channel.
//!
//! Real values are recovered as
//! - activation: `(q - zero_point) * scale`;
//! - GEMM weight: `(value(code) - zero_point[n]) * scale[n]`, where the zero
//!   point is non-zero only for already-quantised weights carried over
//!   exactly (see [`Weights::from_ints`]);
//! - BFP weight: the block's shared power of two times the element.

use std::collections::HashMap;

use crate::backend::{Arithmetic, BackendError};
use crate::bfp::BfpMatrix;
use crate::formats::quantise_per_channel;
use crate::formats::Codebook;

/// Affine int8 quantisation of activations: `q = clamp(round(x / scale) +
/// zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActQuant {
    pub scale: f32,
    pub zero_point: i8,
}

impl ActQuant {
    /// Maps the observed range `[lo, hi]`, widened to contain 0 so that zero
    /// (padding, ReLU's floor) is exact, onto the 256 int8 levels.
    pub fn from_range(lo: f32, hi: f32) -> Self {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let span = hi - lo;
        if !(span.is_finite() && span > 0.0) {
            return Self {
                scale: 1.0,
                zero_point: 0,
            };
        }
        let scale = span / 255.0;
        let zero_point = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
        Self { scale, zero_point }
    }

    pub fn quantise(&self, x: f32) -> i8 {
        let q = (x / self.scale).round() + f32::from(self.zero_point);
        q.clamp(-128.0, 127.0) as i8
    }

    /// [`ActQuant::quantise`] of every element.
    pub fn quantise_all(&self, x: &[f32]) -> Vec<i8> {
        x.iter().map(|&v| self.quantise(v)).collect()
    }
}

/// Weights ready for the accelerator: one matrix, N output channels by K.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    Gemm {
        n: usize,
        k: usize,
        /// N x K codes of the design's PE.
        codes: Vec<u8>,
        /// Per channel, in the codes' value units.
        zero_points: Vec<i32>,
        /// Per channel.
        scales: Vec<f64>,
    },
    Bfp(BfpMatrix),
}

impl Weights {
    /// Quantises real weights (N x K row-major) to the design: per-channel
    /// MSE-optimal scales onto the PE's codebook, or BFP blocks along K.
    pub fn from_real(
        arithmetic: &Arithmetic,
        w: &[f32],
        n: usize,
        k: usize,
    ) -> Result<Self, BackendError> {
        match arithmetic {
            Arithmetic::Gemm(codebook) => {
                let q = quantise_per_channel(codebook, w, n, k)?;
                Ok(Weights::Gemm {
                    n,
                    k,
                    codes: q.codes.iter().map(|&c| c as u8).collect(),
                    zero_points: vec![0; n],
                    scales: q.scales.iter().map(|&s| f64::from(s)).collect(),
                })
            }
            Arithmetic::Bfp(format) => Ok(Weights::Bfp(BfpMatrix::quantise(*format, n, k, w)?)),
        }
    }

    /// Already-quantised integer weights `(w - zero_point[n]) * scale[n]`.
    /// When every integer is a value of the design's codebook (an int8
    /// multiplier design and int8 weights, say) they are carried over
    /// exactly, zero points included; otherwise the real weights are
    /// quantised again with [`Weights::from_real`].
    pub fn from_ints(
        arithmetic: &Arithmetic,
        w: &[i32],
        zero_points: &[i32],
        scales: &[f64],
        n: usize,
        k: usize,
    ) -> Result<Self, BackendError> {
        if let Arithmetic::Gemm(codebook) = arithmetic {
            if let Some(exact) = exact_codes(codebook, w, zero_points) {
                let (codes, zero_points) = exact;
                return Ok(Weights::Gemm {
                    n,
                    k,
                    codes,
                    zero_points,
                    scales: scales.to_vec(),
                });
            }
        }
        let real: Vec<f32> = w
            .chunks_exact(k)
            .enumerate()
            .flat_map(|(row, ws)| {
                ws.iter()
                    .map(move |&x| (f64::from(x - zero_points[row]) * scales[row]) as f32)
            })
            .collect();
        Self::from_real(arithmetic, &real, n, k)
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
    fn activation_range_keeps_zero_exact() {
        let q = ActQuant::from_range(0.0, 2.55);
        assert_eq!(q.zero_point, -128);
        assert_eq!(q.quantise(0.0), -128);
        assert_eq!(q.quantise(2.55), 127);
        let sym = ActQuant::from_range(-1.0, 1.0);
        assert_eq!(sym.quantise(0.0), sym.zero_point);
        assert!(
            (f32::from(sym.quantise(0.5) - sym.zero_point) * sym.scale - 0.5).abs() < sym.scale
        );
    }

    #[test]
    fn uint8_weights_are_exact_on_an_int8_codebook() {
        let cb = Codebook::named("mac_dsp").unwrap();
        let w = [0, 255, 128, 7];
        let ws = Weights::from_ints(
            &Arithmetic::Gemm(cb.clone()),
            &w,
            &[3, 200],
            &[1.0, 0.5],
            2,
            2,
        )
        .unwrap();
        let Weights::Gemm {
            codes, zero_points, ..
        } = ws
        else {
            panic!()
        };
        let values: Vec<i32> = codes
            .iter()
            .map(|&c| cb.value(u32::from(c)).unwrap())
            .collect();
        let diffs: Vec<i32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| v - zero_points[i / 2])
            .collect();
        assert_eq!(diffs, vec![-3, 252, -72, -193]);
    }
}
