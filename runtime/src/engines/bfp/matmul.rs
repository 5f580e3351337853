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

use super::{BfpError, BfpMatrix, ElementKind};
use crate::kernel;

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
    let (rows, cols, nb) = (a.rows(), w.rows(), a.blocks_per_row());
    // Every block's dot products first, then the accumulation in block
    // order per output, as the engine does it. A block product is exact in
    // i32: |p| <= 64 * 127^2 < 2^20.
    // The accumulators start at block 0 (see `first_block`).
    let mut acc = Vec::with_capacity(rows * cols);
    let mut acc_s = Vec::with_capacity(rows * cols);
    let mut p = vec![0i32; rows * cols];
    // A's rows in the kernels' broadcast layout once, read a block at a
    // time (blocks are 16, 32 or 64 long: whole K pairs).
    // Both operands' elements are int8 (mxint4's lie in -7..=7), so the
    // int8 kernel takes them where the CPU has it.
    let padded_k = nb * fa.block;
    let kernels = a.rows() >= kernel::LANES / 2 && w.rows() >= kernel::LANES;
    let a_words = match (kernels, kernel::quads_available()) {
        (false, _) => BlockOperand::None,
        (true, true) => {
            BlockOperand::Quads(kernel::QuadBroadcast::new(a.all_elems(), rows, padded_k))
        }
        (true, false) => BlockOperand::Pairs(kernel::Broadcast::new(a.all_elems(), rows, padded_k)),
    };
    let mut xw = vec![0u32; cols];
    for j in 0..nb {
        match &a_words {
            BlockOperand::Quads(words) => {
                kernel::quad_products_from(words, j * fa.block / 4, w.block_quads(j), &mut p)
            }
            BlockOperand::Pairs(words) => {
                kernel::products_from(words, j * fa.block / 2, w.block_panels(j), &mut p)
            }
            BlockOperand::None => block_products(a, w, j, &mut p),
        }
        for (x, n) in xw.iter_mut().zip(0..cols) {
            *x = u32::from(w.row_exps(n)[j]);
        }
        for mm in 0..rows {
            let xa = u32::from(a.row_exps(mm)[j]);
            let range = mm * cols..(mm + 1) * cols;
            if j == 0 {
                first_block(&mut acc, &mut acc_s, &p[range], &xw, xa);
                continue;
            }
            accumulate(
                &mut acc[range.clone()],
                &mut acc_s[range.clone()],
                &p[range],
                &xw,
                xa,
            );
        }
    }
    let mut out = vec![0f32; rows * cols];
    to_f32(&acc, &acc_s, e_off, &mut out);
    Ok(out)
}

/// `out = (acc * 2^(acc_s - e_off)) as f32`, one rounding: `|acc| < 2^47`
/// and the power lies in `2^-282 ..= 2^230` (`acc_s <= 508`, `e_off` 278 or
/// 282), a normal f64 built from its bits without [`pow2`]'s subnormal
/// branch, so that the loop vectorises.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn to_f32(acc: &[i64], acc_s: &[u32], e_off: i32, out: &mut [f32]) {
    for ((o, &acc), &s) in out.iter_mut().zip(acc).zip(acc_s) {
        let scale = f64::from_bits(((s as i32 - e_off + 1023) as u64) << 52);
        *o = (acc as f64 * scale) as f32;
    }
}

/// A's elements as a kernel reads them, for every block at once.
enum BlockOperand {
    Quads(kernel::QuadBroadcast),
    Pairs(kernel::Broadcast),
    /// Too few rows for the kernels: `block_products` term by term.
    None,
}

/// Block 0 appended as one row of accumulators: from `acc = 0, acc_s = 0`,
/// the first block always gives `acc = t = p << G` and `acc_s = s`
/// (`s > 0` shifts the zero accumulator away; `s = 0` adds `t >> 0`).
#[multiversion::multiversion(targets("x86_64+avx512f"))]
fn first_block(acc: &mut Vec<i64>, acc_s: &mut Vec<u32>, p: &[i32], xw: &[u32], xa: u32) {
    acc.extend(p.iter().map(|&p| i64::from(p) << GUARD_BITS));
    acc_s.extend(xw.iter().map(|&xw| xa + xw));
}

/// One block into one row of accumulators: `acc = (acc >> d) + t` when the
/// block's exponent `s = xa + xw` is above the accumulator's (which becomes
/// `s`), `acc + (t >> d)` otherwise, `d` the difference capped at 63 and
/// `t = p << G`. Written without a branch (a shift by 0 changes nothing) so
/// that it vectorises; AVX-512 has the 64-bit arithmetic shifts it needs.
#[multiversion::multiversion(targets("x86_64+avx512f"))]
fn accumulate(acc: &mut [i64], acc_s: &mut [u32], p: &[i32], xw: &[u32], xa: u32) {
    for (((acc, acc_s), &p), &xw) in acc.iter_mut().zip(acc_s.iter_mut()).zip(p).zip(xw) {
        let s = xa + xw;
        let t = i64::from(p) << GUARD_BITS;
        let up = s > *acc_s;
        let d = s.abs_diff(*acc_s).min(63);
        let (shift_acc, shift_t) = if up { (d, 0) } else { (0, d) };
        *acc = (*acc >> shift_acc) + (t >> shift_t);
        *acc_s = s.max(*acc_s);
        debug_assert!(
            acc.unsigned_abs() < 1 << 47,
            "accumulator {acc} overflows 48 bits"
        );
    }
}

/// `p[m][n] = sum_i qa[m][j b + i] * qw[n][j b + i]` over block `j`: with
/// rows enough to fill them, the golden GEMM's kernels (exact: every
/// product and sum fits i32); term by term for a few rows (decode), where
/// packing the weights would cost as much as the products.
fn block_products(a: &BfpMatrix, w: &BfpMatrix, j: usize, p: &mut [i32]) {
    let b = a.format().block;
    let range = j * b..(j + 1) * b;
    if a.rows() < kernel::LANES / 2 {
        for (mm, out) in p.chunks_exact_mut(w.rows()).enumerate() {
            let qa = &a.row_elems(mm)[range.clone()];
            for (n, o) in out.iter_mut().enumerate() {
                let qw = &w.row_elems(n)[range.clone()];
                *o = qa
                    .iter()
                    .zip(qw)
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum();
            }
        }
        return;
    }
    if w.rows() < kernel::LANES && a.rows() >= kernel::LANES && kernel::quads_available() {
        // Few outputs (a depthwise convolution's one): the rows of A fill
        // the lanes and the weights are broadcast, both read in place.
        let padded = a.format().padded_k(a.k());
        let acts = kernel::QuadPanels::pack_columns(a.all_elems(), a.rows(), padded, j * b, b);
        let weights =
            kernel::QuadBroadcast::from_columns(w.all_elems(), w.rows(), padded, j * b, b);
        let mut by_output = vec![0i32; w.rows() * a.rows()];
        kernel::quad_products(&weights, &acts, &mut by_output);
        kernel::by_output_into(&by_output, w.rows(), a.rows(), p);
        return;
    }
    if w.rows() < kernel::LANES && a.rows() >= kernel::LANES {
        // The same on the i16 kernel.
        let acts = kernel::Panels::pack(&a.block_elems(j), a.rows(), b);
        let weights = kernel::Broadcast::new(&w.block_elems(j), w.rows(), b);
        let mut by_output = vec![0i32; w.rows() * a.rows()];
        kernel::products(&weights, &acts, &mut by_output);
        kernel::by_output_into(&by_output, w.rows(), a.rows(), p);
        return;
    }
    let acts = kernel::Broadcast::new(&a.block_elems(j), a.rows(), b);
    kernel::products(&acts, w.block_panels(j), p);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::bfp::{pow2, BfpFormat};

    /// The definition, one output at a time with i64 block products.
    fn by_definition(a: &BfpMatrix, w: &BfpMatrix) -> Vec<f32> {
        let (block, e_off) = (a.format().block, e_off(w.format().element));
        let mut out = Vec::new();
        for m in 0..a.rows() {
            for n in 0..w.rows() {
                let (mut acc, mut acc_s) = (0i64, 0u32);
                for (j, (&xa, &xw)) in a.row_exps(m).iter().zip(w.row_exps(n)).enumerate() {
                    let r = j * block..(j + 1) * block;
                    let p: i64 = a.row_elems(m)[r.clone()]
                        .iter()
                        .zip(&w.row_elems(n)[r])
                        .map(|(&x, &y)| i64::from(x) * i64::from(y))
                        .sum();
                    let (s, t) = (u32::from(xa) + u32::from(xw), p << GUARD_BITS);
                    if s > acc_s {
                        acc = (acc >> (s - acc_s).min(63)) + t;
                        acc_s = s;
                    } else {
                        acc += t >> (acc_s - s).min(63);
                    }
                }
                out.push((acc as f64 * pow2(acc_s as i32 - e_off)) as f32);
            }
        }
        out
    }

    /// Both ways of taking the block products (the kernels for many rows,
    /// term by term for few) give the definition's bits, on data spread
    /// over many exponents.
    #[test]
    fn block_products_match_the_definition() {
        let mut rng = crate::rng::SplitMix64::new(11);
        for (kind, block) in [
            (ElementKind::Int8, 32),
            (ElementKind::Int4, 16),
            (ElementKind::Int8, 64),
        ] {
            for (m, n, k) in [
                (1, 5, 70),
                (3, 17, 64),
                (8, 3, 100),
                (21, 19, 129),
                (40, 1, 9),
                (37, 5, 70),
            ] {
                let mut real = |len: usize| -> Vec<f32> {
                    (0..len)
                        .map(|_| {
                            let mag = 2f32.powi(rng.below(40) as i32 - 20);
                            (rng.below(2001) as f32 - 1000.0) / 1000.0 * mag
                        })
                        .collect()
                };
                let a = BfpMatrix::quantise(
                    BfpFormat::new(ElementKind::Int8, block).unwrap(),
                    m,
                    k,
                    &real(m * k),
                )
                .unwrap();
                let w =
                    BfpMatrix::quantise(BfpFormat::new(kind, block).unwrap(), n, k, &real(n * k))
                        .unwrap();
                let got: Vec<u32> = golden_matmul(&a, &w)
                    .unwrap()
                    .iter()
                    .map(|x| x.to_bits())
                    .collect();
                let want: Vec<u32> = by_definition(&a, &w).iter().map(|x| x.to_bits()).collect();
                assert_eq!(got, want, "{m}x{n}x{k}, block {block}");
            }
        }
    }

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
