//! The golden BFP MatMul: the one definition of the engine's arithmetic.
//!
//! Per output `C[m][n]` and per block `j`, the block dot product is an exact
//! integer `p` and the block's scale is a power of two whose exponent is the
//! *sum* of the two E8M0 exponents, `s = Xa + Xw`, so no multiplier is
//! needed for scales. The products of the blocks are added in a 48-bit
//! accumulator that keeps one exponent, `acc_s`, the largest `s` seen so far:
//! a block with a smaller `s` is shifted right to meet it, one with a larger
//! `s` shifts the accumulator instead. `G = 16` guard bits under each product
//! keep what those shifts drop small, and the only rounding to a float is the
//! last one, to f32.
//!
//! What a unit of the accumulator is worth: an element pair contributes
//! `qa * 2^(Xa - 127 - Fa) * qw * 2^(Xw - 127 - Fw)`, so `p * 2^(s - 254 - Fa
//! - Fw)` per block, and `t = p << G` is in units of `2^(s - E_OFF)` with
//! `E_OFF = 254 + Fa + Fw + G` (282 for mxint8 weights, 278 for mxint4).
//!
//! Worked example (mxint8 x mxint8, block 16, K = 20, one output; the same
//! numbers are the hand-worked test in tests/bfp_golden.rs):
//!
//! ```text
//! block 0: a = [1.5, -0.75]  -> Xa = 127, qa = [96, -48]   (step 2^-6)
//!          w = [0.5, 2.0]    -> Xw = 128, qw = [16, 64]    (step 2^-5)
//!          p = 96*16 - 48*64 = -1536, s = 255, t = -1536 << 16 = -100663296
//! block 1: a = [40.0, 0.3]   -> Xa = 132, qa = [80, 1]     (step 2^-1)
//!          w = [-0.125, 0.25] -> Xw = 125, qw = [-32, 64]  (step 2^-8)
//!          p = -2560 + 64 = -2496, s = 257, t = -163577856
//! acc = 0, acc_s = 0
//! j = 0: s = 255 > 0:   acc = (0 >> 63) + t = -100663296,          acc_s = 255
//! j = 1: s = 257 > 255: acc = (-100663296 >> 2) + t = -188743680,  acc_s = 257
//! C = -188743680 * 2^(257 - 282) = -188743680 / 2^25 = -5.625
//! ```
//!
//! The f64 reference is -5.675: 0.3 became 0.5 (one step of 2^-1 in block
//! 1 of A). docs/bfp.md derives the error bound this obeys
//! ([`super::bound`]).

use super::{pow2, BfpError, BfpMatrix, ElementKind};

/// Guard bits `G` appended under each block product before alignment.
pub const GUARD_BITS: u32 = 16;

/// Largest K the engine accepts. With it, `|acc| <= K * 127^2 * 2^G < 2^46`,
/// inside the 48-bit signed accumulator.
pub const MAX_K: usize = 65536;

/// `E_OFF = 254 + Fa + Fw + G` for mxint8 activations and weights of kind
/// `w`: a unit of the accumulator at exponent `s` is worth `2^(s - E_OFF)`.
pub fn e_off(w: ElementKind) -> i32 {
    254 + ElementKind::Int8.frac_bits() + w.frac_bits() + GUARD_BITS as i32
}

/// `C = A * W^T`, M x N f32 row-major, exactly as the engine computes it.
///
/// A is M x K activations in mxint8, W is N x K weights (each row one output
/// feature, like `nn.Linear`'s weight) in mxint8 or mxint4, both with the
/// same block size and K. For every `(m, n)`:
///
/// ```text
/// acc: i64 = 0; acc_s: u32 = 0
/// for block j in 0..nb:
///     p = sum_i qa[m][j*b+i] * qw[n][j*b+i]          exact integer
///     s = Xa[m][j] + Xw[n][j]                        0..=508
///     t = p << G
///     if s > acc_s { acc = (acc >> min(s - acc_s, 63)) + t; acc_s = s }
///     else         { acc = acc + (t >> min(acc_s - s, 63)) }
/// C[m][n] = ((acc as f64) * 2^(acc_s - E_OFF)) as f32
/// ```
///
/// Shifts are arithmetic (they round towards minus infinity). The product
/// `acc * 2^(acc_s - E_OFF)` is exact in f64 (`|acc| < 2^47`, and the power
/// is within `2^-282 ..= 2^230`); the conversion to f32 rounds to nearest
/// even, overflows to infinity and rounds into the subnormals as IEEE 754
/// says. `acc == 0` gives `+0.0`; a negative `acc` too small for f32 gives
/// `-0.0`.
///
/// Errors when A is not mxint8, the block sizes or K differ, or K is above
/// [`MAX_K`].
pub fn golden_matmul(a: &BfpMatrix, w: &BfpMatrix) -> Result<Vec<f32>, BfpError> {
    let (fa, fw) = (a.format(), w.format());
    if fa.element != ElementKind::Int8 {
        return Err(BfpError::ActivationFormat { format: fa.name() });
    }
    if fa.block != fw.block {
        return Err(BfpError::BlockMismatch {
            a: fa.block,
            w: fw.block,
        });
    }
    if a.k() != w.k() {
        return Err(BfpError::KMismatch { a: a.k(), w: w.k() });
    }
    if a.k() > MAX_K {
        return Err(BfpError::KTooLarge {
            k: a.k(),
            max: MAX_K,
        });
    }
    let e_off = e_off(fw.element);
    let block = fa.block;
    let mut out = Vec::with_capacity(a.rows() * w.rows());
    for m in 0..a.rows() {
        let (a_exps, a_elems) = (a.row_exps(m), a.row_elems(m));
        for n in 0..w.rows() {
            let (w_exps, w_elems) = (w.row_exps(n), w.row_elems(n));
            let mut acc: i64 = 0;
            let mut acc_s: u32 = 0;
            for (j, (&xa, &xw)) in a_exps.iter().zip(w_exps).enumerate() {
                let range = j * block..(j + 1) * block;
                let p: i64 = a_elems[range.clone()]
                    .iter()
                    .zip(&w_elems[range])
                    .map(|(&qa, &qw)| i64::from(qa) * i64::from(qw))
                    .sum();
                let s = u32::from(xa) + u32::from(xw);
                let t = p << GUARD_BITS;
                if s > acc_s {
                    acc = (acc >> (s - acc_s).min(63)) + t;
                    acc_s = s;
                } else {
                    acc += t >> (acc_s - s).min(63);
                }
                debug_assert!(
                    acc.unsigned_abs() < 1 << 47,
                    "accumulator {acc} overflows 48 bits"
                );
            }
            out.push((acc as f64 * pow2(acc_s as i32 - e_off)) as f32);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::bfp::BfpFormat;

    #[test]
    fn offsets() {
        assert_eq!(e_off(ElementKind::Int8), 282);
        assert_eq!(e_off(ElementKind::Int4), 278);
    }

    /// The largest accumulator: K = MAX_K, every code 127 or -127, all blocks
    /// at the same exponent. It stays below 2^47 and the result is exact.
    #[test]
    fn worst_case_accumulator_fits() {
        let f = BfpFormat::new(ElementKind::Int8, 64).unwrap();
        let k = MAX_K;
        let nb = f.blocks(k);
        let a = BfpMatrix::from_parts(f, 1, k, vec![127; nb], vec![-127; k]).unwrap();
        let w = BfpMatrix::from_parts(f, 1, k, vec![127; nb], vec![127; k]).unwrap();
        // Each product is -127^2 * 2^-12; there are 2^16 of them.
        let c = golden_matmul(&a, &w).unwrap();
        assert_eq!(c, [-(127.0f32 * 127.0) * 16.0]);
        let long = BfpMatrix::from_parts(f, 1, k + 1, vec![127; nb + 1], vec![0; k + 64]).unwrap();
        assert_eq!(
            golden_matmul(&long, &long).unwrap_err(),
            BfpError::KTooLarge { k: k + 1, max: k }
        );
    }

    /// A negative block far below the accumulator's exponent floors to -1,
    /// not to 0: the shift is arithmetic.
    #[test]
    fn alignment_floors() {
        let f = BfpFormat::new(ElementKind::Int8, 16).unwrap();
        let mut ea = vec![0i8; 32];
        let mut ew = vec![0i8; 32];
        (ea[0], ew[0], ea[16], ew[16]) = (-64, 64, 64, 64);
        // Block 0: p = -2^12, s = 254; block 1: p = 2^12, s = 284.
        let a = BfpMatrix::from_parts(f, 1, 32, vec![127, 142], ea).unwrap();
        let w = BfpMatrix::from_parts(f, 1, 32, vec![127, 142], ew).unwrap();
        // acc = (-2^28 >> 30) + 2^28 = 2^28 - 1 at s = 284:
        // C = (2^28 - 1) * 2^2, which rounds to 2^30 in f32.
        assert_eq!(golden_matmul(&a, &w).unwrap(), [2f32.powi(30)]);
    }
}
