//! An a-priori bound on how far [`golden_matmul`](super::golden_matmul) is
//! from the exact dot product of the original f32 data.
//!
//! For one output, with `a_k`, `w_k` the f32 inputs over the real (unpadded)
//! K and `â`, `ŵ` their quantised values, `δ = x - x̂`:
//!
//! ```text
//! a w - â ŵ = a δw + δa w - δa δw
//! ```
//!
//! and `|δx| <= u(x)`, where `u(x)` is half the step of `x`'s block, or one
//! step when `x` saturated (matrix.rs: the saturation rule). Four terms:
//!
//! - **quantisation**: `sum_k |a_k| u(w_k) + u(a_k) |w_k| + u(a_k) u(w_k)`;
//! - **alignment**: each block's arithmetic shift floors at most once (either
//!   the accumulator or the block's product is shifted, never both), losing
//!   less than one unit of the accumulator's exponent, which is at most the
//!   largest block sum `s_max`: `nb * 2^(s_max - E_OFF)`;
//! - **rounding** to f32: half an ulp of the result, `2^-150` when the
//!   result is 0 or subnormal;
//! - **reference**: the f64 reference sums exact products (an f32 times an
//!   f32 fits an f64), so its own error is below `K * 2^-53 * sum_k |a_k
//!   w_k|`; the bound allows `K * 2^-52`.
//!
//! The bound is claimed only for a finite result; an overflow to infinity is
//! outside it. It is evaluated in f64 and inflated by `2^-30` of itself to
//! cover that evaluation's own rounding.

use serde::Serialize;

use super::matrix::{step_exponent, unsaturated_code};
use super::{e_off, floor_log2, pow2, BfpError, BfpFormat, BfpMatrix, ElementKind};

/// The four terms of the bound for one output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErrorTerms {
    pub quantisation: f64,
    pub alignment: f64,
    pub rounding: f64,
    pub reference: f64,
}

impl ErrorTerms {
    /// The sum of the terms, inflated by `2^-30` of itself.
    pub fn total(&self) -> f64 {
        let sum = self.quantisation + self.alignment + self.rounding + self.reference;
        sum * (1.0 + pow2(-30))
    }
}

/// Half an ulp of an f32 result: the most that rounding an exact value to
/// it can have moved it (`2^-150` for 0 and subnormals; infinite for Inf and
/// NaN, which the bound does not cover).
pub fn half_ulp(result: f32) -> f64 {
    if !result.is_finite() {
        return f64::INFINITY;
    }
    if result.abs() < f32::MIN_POSITIVE {
        return pow2(-150);
    }
    pow2(floor_log2(result) - 24)
}

/// What the bound needs of one quantised row, computed once per row so that
/// bounding every output of an M x N product does not re-quantise rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RowErrors {
    kind: ElementKind,
    /// `|x|` of each real element.
    abs: Vec<f64>,
    /// `u(x)`: half the element's step, or the whole step when it saturated.
    u: Vec<f64>,
    /// The row's block exponents.
    exps: Vec<u8>,
}

impl RowErrors {
    /// Row `row` of `data` (the f32 values `q` was quantised from, `q.k()`
    /// per row).
    pub fn of_row(data: &[f32], q: &BfpMatrix, row: usize) -> Self {
        let kind = q.format().element;
        let block = q.format().block;
        let max = f64::from(kind.max_code());
        let exps = q.row_exps(row).to_vec();
        let values = &data[row * q.k()..(row + 1) * q.k()];
        let u = values
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let step_exp = step_exponent(kind, exps[k / block]);
                let saturated = unsaturated_code(x, step_exp).abs() > max;
                pow2(step_exp) * if saturated { 1.0 } else { 0.5 }
            })
            .collect();
        Self {
            kind,
            abs: values.iter().map(|&x| f64::from(x.abs())).collect(),
            u,
            exps,
        }
    }

    /// All rows of `q`.
    pub fn of_matrix(data: &[f32], q: &BfpMatrix) -> Vec<Self> {
        (0..q.rows()).map(|r| Self::of_row(data, q, r)).collect()
    }
}

/// The terms of the bound for the output of activation row `a` and weight
/// row `w` (both from [`RowErrors`]), given the golden `result`.
pub fn row_error_terms(a: &RowErrors, w: &RowErrors, result: f32) -> ErrorTerms {
    let mut quantisation = 0.0;
    let mut abs_products = 0.0;
    for k in 0..a.abs.len() {
        quantisation += a.abs[k] * w.u[k] + a.u[k] * w.abs[k] + a.u[k] * w.u[k];
        abs_products += a.abs[k] * w.abs[k];
    }
    let s_max = a
        .exps
        .iter()
        .zip(&w.exps)
        .map(|(&x, &y)| i32::from(x) + i32::from(y))
        .max()
        .unwrap_or(0);
    ErrorTerms {
        quantisation,
        alignment: a.exps.len() as f64 * pow2(s_max - e_off(w.kind)),
        rounding: half_ulp(result),
        reference: a.abs.len() as f64 * pow2(-52) * abs_products,
    }
}

/// The terms of the bound on `|golden - reference|` for the output that
/// row `a_row` of A (mxint8, W's block) and row `w_row` of W (`format_w`)
/// produce, given the golden `result`. Errors when the rows differ in
/// length, are empty, or hold NaN or infinity.
pub fn error_terms(
    a_row: &[f32],
    w_row: &[f32],
    format_w: BfpFormat,
    result: f32,
) -> Result<ErrorTerms, BfpError> {
    if a_row.len() != w_row.len() {
        return Err(BfpError::KMismatch {
            a: a_row.len(),
            w: w_row.len(),
        });
    }
    let k = a_row.len();
    let format_a = BfpFormat::new(ElementKind::Int8, format_w.block)?;
    let qa = BfpMatrix::quantise(format_a, 1, k, a_row)?;
    let qw = BfpMatrix::quantise(format_w, 1, k, w_row)?;
    Ok(row_error_terms(
        &RowErrors::of_row(a_row, &qa, 0),
        &RowErrors::of_row(w_row, &qw, 0),
        result,
    ))
}

/// The bound itself ([`ErrorTerms::total`]): `f64::INFINITY` when `result`
/// is not finite (the bound does not cover overflow). Errors as
/// [`error_terms`].
pub fn error_bound(
    a_row: &[f32],
    w_row: &[f32],
    format_w: BfpFormat,
    result: f32,
) -> Result<f64, BfpError> {
    Ok(error_terms(a_row, w_row, format_w, result)?.total())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_ulps() {
        assert_eq!(half_ulp(1.0), pow2(-24));
        assert_eq!(half_ulp(-1.5), pow2(-24));
        assert_eq!(half_ulp(0.0), pow2(-150));
        assert_eq!(half_ulp(f32::from_bits(5)), pow2(-150));
        assert_eq!(half_ulp(f32::MIN_POSITIVE), pow2(-150));
        assert_eq!(half_ulp(f32::MAX), pow2(127 - 24));
        assert_eq!(half_ulp(f32::NEG_INFINITY), f64::INFINITY);
    }

    /// One element each, worked by hand: a = 1.0 (X = 127, exact, u = 2^-7),
    /// w = 0.3 in mxint4 (X = 125, step 2^-4, 4.8 -> 5, u = 2^-5).
    #[test]
    fn terms_by_hand() {
        let f = BfpFormat::new(ElementKind::Int4, 16).unwrap();
        let t = error_terms(&[1.0], &[0.3], f, 0.3125).unwrap();
        let w = f64::from(0.3f32);
        assert_eq!(t.quantisation, pow2(-5) + pow2(-7) * w + pow2(-12));
        // s_max = 252, E_OFF = 278.
        assert_eq!(t.alignment, pow2(252 - 278));
        assert_eq!(t.rounding, pow2(-2 - 24));
        assert_eq!(t.reference, pow2(-52) * w);
        assert_eq!(
            error_bound(&[1.0], &[0.3], f, f32::INFINITY).unwrap(),
            f64::INFINITY
        );
        assert!(matches!(
            error_bound(&[1.0], &[0.3, 1.0], f, 0.0),
            Err(BfpError::KMismatch { a: 1, w: 2 })
        ));
    }
}
