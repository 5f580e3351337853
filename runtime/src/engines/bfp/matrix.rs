//! A matrix in BFP form, the quantiser that makes one from f32 data, and the
//! exact way back.
//!
//! The quantiser, per block of one row (elements past K are zeros and never
//! count towards the exponent):
//!
//! 1. A NaN or infinite input is an error naming its row and column.
//! 2. `amax` is the largest magnitude in the block. A block of zeros
//!    (`-0.0` included) gets `X = 0` and all-zero elements: one canonical
//!    encoding, so that packing is deterministic.
//! 3. Otherwise `X = clamp(floor(log2(amax)) + 127, 0, 254)`, with the
//!    floor taken exactly from the f32 bits. This puts `amax / step` in
//!    `[2^F, 2^(F+1))`: the largest element uses the top bit of the code.
//!    **Subnormal rule**: a block whose `amax` is below `2^-127` would need
//!    `X < 0`; it gets `X = 0`, the smallest scale, and its elements may
//!    round to 0. (`X = 254` is never exceeded: the largest finite f32 has
//!    `floor(log2) = 127`.)
//! 4. `q = round_half_even(x / step)` with `step = 2^(X - 127 - F)`, in f64,
//!    where the division by a power of two is exact; then `q` saturates to
//!    `-max_code..=max_code`. **Saturation rule**: since `amax < 2^(F+1)
//!    step`, saturation happens only for `|x| >= (max_code + 0.5) * step`
//!    (that is, `x` rounds to `2^(F+1)`), and its error is below one step.
//!    Every other element is within half a step.
//!
//! Dequantisation, `q * step` to f32, is exact for every valid block: `q`
//! has at most 7 significant bits and `step` is at least `2^-133`, which an
//! f32 subnormal holds; at most `127 * 2^121 < 2^128`.

use std::sync::{Arc, OnceLock};

use super::{floor_log2, pow2, BfpError, BfpFormat, ElementKind};
use crate::kernel::{Panels, QuadPanels};

/// A `rows x k` matrix in BFP form: one exponent per block and the padded
/// rows of elements. Always valid: every constructor checks. A clone shares
/// the data (a layer's weights go into every call's job), and the
/// golden model's packed form of each block is made once.
#[derive(Clone)]
pub struct BfpMatrix {
    format: BfpFormat,
    rows: usize,
    k: usize,
    /// `rows * blocks_per_row` exponents, row-major.
    exps: Arc<[u8]>,
    /// `rows * padded_k` elements, row-major; elements `k..padded_k` are 0.
    elems: Arc<[i8]>,
    /// Per block, its elements packed for [`crate::kernel`]'s i16 kernel.
    panels: Arc<OnceLock<Vec<Panels>>>,
    /// Per block, its elements packed for the int8 kernel.
    quads: Arc<OnceLock<Vec<QuadPanels>>>,
}

impl PartialEq for BfpMatrix {
    fn eq(&self, other: &Self) -> bool {
        (self.format, self.rows, self.k) == (other.format, other.rows, other.k)
            && self.exps == other.exps
            && self.elems == other.elems
    }
}

impl Eq for BfpMatrix {}

impl std::fmt::Debug for BfpMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BfpMatrix")
            .field("format", &self.format)
            .field("rows", &self.rows)
            .field("k", &self.k)
            .field("exps", &self.exps)
            .field("elems", &self.elems)
            .finish()
    }
}

/// The E8M0 exponent of a block whose largest magnitude is `amax` (finite):
/// 0 for a zero block, else `floor(log2(amax)) + 127` clamped to `0..=254`.
pub(crate) fn block_exponent(amax: f32) -> u8 {
    if amax == 0.0 {
        return 0;
    }
    (floor_log2(amax) + 127).clamp(0, 254) as u8
}

/// Whether every value is finite, in a pass that does not stop at each
/// value (so that it vectorises).
pub(crate) fn all_finite(values: &[f32]) -> bool {
    values
        .chunks(256)
        .all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite()))
}

/// `log2(step)` of a block with exponent `x`: `X - 127 - F`.
pub(crate) fn step_exponent(kind: ElementKind, x: u8) -> i32 {
    i32::from(x) - 127 - kind.frac_bits()
}

/// `round_half_even(value / 2^step_exp)` before saturation, exactly: the
/// scaling is by a power of two, in f64, where every f32 times `2^-125 ..=
/// 2^133` is exact.
#[inline(always)]
pub(crate) fn unsaturated_code(value: f32, step_exp: i32) -> f64 {
    (f64::from(value) * pow2(-step_exp)).round_ties_even()
}

/// Every block of `data` (rows of `k`) into `exps` and `elems` (rows of
/// `padded_k`), compiled for AVX2 and AVX-512 where the CPU has them:
/// their rounding instructions replace the `rint` call of the default
/// x86-64 target.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn quantise_rows(format: BfpFormat, k: usize, data: &[f32], exps: &mut [u8], elems: &mut [i8]) {
    let (padded, nb) = (format.padded_k(k), format.blocks(k));
    for ((src, dst), row_exps) in data
        .chunks_exact(k)
        .zip(elems.chunks_exact_mut(padded))
        .zip(exps.chunks_exact_mut(nb))
    {
        for ((x, out), e) in src
            .chunks(format.block)
            .zip(dst.chunks_exact_mut(format.block))
            .zip(row_exps.iter_mut())
        {
            *e = quantise_block(format.element, x, out);
        }
    }
}

/// Quantises the real elements `x` of one block into `out` (the block's
/// `block` elements; those past `x.len()` are left 0) and returns `X`.
#[inline(always)]
pub(crate) fn quantise_block(kind: ElementKind, x: &[f32], out: &mut [i8]) -> u8 {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let exp = block_exponent(amax);
    if amax == 0.0 {
        return exp;
    }
    let step_exp = step_exponent(kind, exp);
    let max = f64::from(kind.max_code());
    // `unsaturated_code` with the power of two taken once per block.
    let scale = pow2(-step_exp);
    for (q, &v) in out.iter_mut().zip(x) {
        let code = (f64::from(v) * scale).round_ties_even().clamp(-max, max);
        // SAFETY: `code` is a whole number within +-127: `v` is finite
        // (checked by the caller), so is `v * scale`, and clamp bounds it.
        // Unlike `as`, the conversion vectorises.
        *q = unsafe { code.to_int_unchecked::<i32>() } as i8;
    }
    exp
}

fn check_dims(rows: usize, k: usize) -> Result<(), BfpError> {
    if rows == 0 {
        return Err(BfpError::ZeroDim { dim: "rows" });
    }
    if k == 0 {
        return Err(BfpError::ZeroDim { dim: "K" });
    }
    Ok(())
}

fn check_len(what: &'static str, len: usize, rows: usize, per_row: usize) -> Result<(), BfpError> {
    match rows.checked_mul(per_row) {
        Some(expected) if expected == len => Ok(()),
        expected => Err(BfpError::Length {
            what,
            len,
            rows,
            per_row,
            expected: expected.map_or_else(|| "more than usize::MAX".into(), |e| e.to_string()),
        }),
    }
}

impl BfpMatrix {
    /// Quantises `data`, `rows x k` row-major f32, as the module
    /// documentation says. Errors on a NaN or infinity (naming the first,
    /// row-major), on a zero dimension, or when `data.len() != rows * k`.
    pub fn quantise(
        format: BfpFormat,
        rows: usize,
        k: usize,
        data: &[f32],
    ) -> Result<Self, BfpError> {
        check_dims(rows, k)?;
        check_len("data", data.len(), rows, k)?;
        // The search for the first culprit only when there is one.
        if let Some(i) = (!all_finite(data))
            .then(|| data.iter().position(|v| !v.is_finite()))
            .flatten()
        {
            return Err(BfpError::NonFinite {
                row: i / k,
                col: i % k,
                value: data[i],
            });
        }
        let nb = format.blocks(k);
        let padded = format.padded_k(k);
        let mut exps = vec![0u8; rows * nb];
        let mut elems = vec![0i8; rows * padded];
        quantise_rows(format, k, data, &mut exps, &mut elems);
        Ok(Self {
            format,
            rows,
            k,
            exps: exps.into(),
            elems: elems.into(),
            panels: Arc::default(),
            quads: Arc::default(),
        })
    }

    /// A matrix from its exponents (`rows * blocks(k)`) and padded elements
    /// (`rows * padded_k(k)`), row-major. Errors on a zero dimension, a
    /// length mismatch, an exponent of 255 (NaN in E8M0), an element outside
    /// `-max_code..=max_code`, or a non-zero padding element.
    pub fn from_parts(
        format: BfpFormat,
        rows: usize,
        k: usize,
        exps: Vec<u8>,
        elems: Vec<i8>,
    ) -> Result<Self, BfpError> {
        check_dims(rows, k)?;
        let nb = format.blocks(k);
        let padded = format.padded_k(k);
        check_len("exps", exps.len(), rows, nb)?;
        check_len("elems", elems.len(), rows, padded)?;
        if let Some(i) = exps.iter().position(|&x| x == 255) {
            return Err(BfpError::ExponentNaN {
                row: i / nb,
                block: i % nb,
            });
        }
        let max = format.element.max_code();
        for (i, &q) in elems.iter().enumerate() {
            let (row, col) = (i / padded, i % padded);
            if !(-max..=max).contains(&q) {
                return Err(BfpError::ElementRange {
                    row,
                    col,
                    value: q,
                    format: format.name(),
                    max,
                });
            }
            if col >= k && q != 0 {
                return Err(BfpError::Padding {
                    row,
                    col,
                    value: q,
                    k,
                    padded_k: padded,
                });
            }
        }
        Ok(Self {
            format,
            rows,
            k,
            exps: exps.into(),
            elems: elems.into(),
            panels: Arc::default(),
            quads: Arc::default(),
        })
    }

    /// The values, `rows x k` row-major: `q * 2^(X - 127 - F)`, exactly.
    pub fn dequantise(&self) -> Vec<f32> {
        let nb = self.blocks_per_row();
        let mut out = Vec::with_capacity(self.rows * self.k);
        for row in 0..self.rows {
            let exps = &self.exps[row * nb..(row + 1) * nb];
            let elems = self.row_elems(row);
            for (col, &q) in elems[..self.k].iter().enumerate() {
                let step_exp = step_exponent(self.format.element, exps[col / self.format.block]);
                out.push((f64::from(q) * pow2(step_exp)) as f32);
            }
        }
        out
    }

    pub fn format(&self) -> BfpFormat {
        self.format
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Elements per row before padding.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Exponents, `rows * blocks_per_row()`, row-major.
    pub fn exps(&self) -> &[u8] {
        &self.exps
    }

    /// Elements, `rows * padded_k`, row-major.
    pub fn elems(&self) -> &[i8] {
        &self.elems
    }

    /// `ceil(k / block)`.
    pub fn blocks_per_row(&self) -> usize {
        self.format.blocks(self.k)
    }

    /// The exponents of one row (`row < rows()`).
    pub fn row_exps(&self, row: usize) -> &[u8] {
        let nb = self.blocks_per_row();
        &self.exps[row * nb..(row + 1) * nb]
    }

    /// Block `j` of every row, packed for [`crate::kernel`] (made once).
    pub(crate) fn block_panels(&self, j: usize) -> &Panels {
        &self.panels.get_or_init(|| {
            (0..self.blocks_per_row())
                .map(|j| Panels::pack(&self.block_elems(j), self.rows, self.format.block))
                .collect()
        })[j]
    }

    /// Block `j` of every row, packed for the int8 kernel (made once).
    pub(crate) fn block_quads(&self, j: usize) -> &QuadPanels {
        &self.quads.get_or_init(|| {
            (0..self.blocks_per_row())
                .map(|j| {
                    let (b, padded) = (self.format.block, self.format.padded_k(self.k));
                    QuadPanels::pack_columns(&self.elems, self.rows, padded, j * b, b)
                })
                .collect()
        })[j]
    }

    /// Every row's padded elements, `rows x padded_k` row-major.
    pub(crate) fn all_elems(&self) -> &[i8] {
        &self.elems
    }

    /// Block `j` of every row, `rows x block` row-major.
    pub(crate) fn block_elems(&self, j: usize) -> Vec<i8> {
        let b = self.format.block;
        let mut out = Vec::with_capacity(self.rows * b);
        for r in 0..self.rows {
            out.extend_from_slice(&self.row_elems(r)[j * b..(j + 1) * b]);
        }
        out
    }

    /// The padded elements of one row (`row < rows()`).
    pub fn row_elems(&self, row: usize) -> &[i8] {
        let padded = self.format.padded_k(self.k);
        &self.elems[row * padded..(row + 1) * padded]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(kind: ElementKind, block: usize) -> BfpFormat {
        BfpFormat::new(kind, block).unwrap()
    }

    fn one_block(kind: ElementKind, x: &[f32]) -> BfpMatrix {
        BfpMatrix::quantise(fmt(kind, 16), 1, x.len(), x).unwrap()
    }

    #[test]
    fn floor_log2_of_normals_and_subnormals() {
        assert_eq!(floor_log2(1.0), 0);
        assert_eq!(floor_log2(-1.5), 0);
        assert_eq!(floor_log2(0.999_999_94), -1);
        assert_eq!(floor_log2(f32::MAX), 127);
        assert_eq!(floor_log2(f32::MIN_POSITIVE), -126);
        // The smallest subnormal is 2^-149; the largest is just below 2^-126.
        assert_eq!(floor_log2(f32::from_bits(1)), -149);
        assert_eq!(floor_log2(f32::from_bits(3)), -148);
        assert_eq!(floor_log2(f32::from_bits(0x0040_0000)), -127);
        assert_eq!(floor_log2(f32::from_bits(0x007f_ffff)), -127);
        assert_eq!(floor_log2(f32::from_bits(0x003f_ffff)), -128);
    }

    #[test]
    fn pow2_is_exact_over_the_f64_range() {
        assert_eq!(pow2(0), 1.0);
        assert_eq!(pow2(-282), 2f64.powi(-282));
        assert_eq!(pow2(230), 2f64.powi(230));
        assert_eq!(pow2(-1074), f64::from_bits(1));
        assert_eq!(pow2(-1023), f64::from_bits(1 << 51));
        assert_eq!(pow2(1023), f64::MAX / (2.0 - f64::EPSILON));
    }

    #[test]
    fn ties_round_to_even() {
        // amax 1 -> X = 127, step 2^-6: x * 64 is the unrounded code.
        let m = one_block(
            ElementKind::Int8,
            &[
                1.0,
                0.5 / 64.0,
                1.5 / 64.0,
                2.5 / 64.0,
                -2.5 / 64.0,
                -0.5 / 64.0,
                0.7 / 64.0,
            ],
        );
        assert_eq!(m.exps(), [127]);
        assert_eq!(&m.elems()[..7], [64, 0, 2, 2, -2, 0, 1]);
        // mxint4, amax 4 -> X = 129, step 2^0: codes are x rounded.
        let m = one_block(ElementKind::Int4, &[4.0, 2.5, 3.5, -0.5, -1.5]);
        assert_eq!(m.exps(), [129]);
        assert_eq!(&m.elems()[..5], [4, 2, 4, 0, -2]);
    }

    #[test]
    fn saturation_only_at_the_top() {
        // amax = 127.5 steps of 2^-6: rounds (to even) to 128, saturates to 127.
        let x = 127.5 / 64.0;
        let m = one_block(ElementKind::Int8, &[x, -x, 127.4 / 64.0]);
        assert_eq!(m.exps(), [127]);
        assert_eq!(&m.elems()[..3], [127, -127, 127]);
        // Just below 2: the largest value in the binade still saturates.
        let m = one_block(ElementKind::Int8, &[f32::from_bits(0x3fff_ffff)]);
        assert_eq!(m.elems()[0], 127);
        // mxint4: amax 7.5 steps of 2^0 (X = 129 for amax in [4, 8)).
        let m = one_block(ElementKind::Int4, &[7.5, 7.49, -7.6]);
        assert_eq!(m.exps(), [129]);
        assert_eq!(&m.elems()[..3], [7, 7, -7]);
    }

    #[test]
    fn zero_blocks_are_canonical() {
        let m = BfpMatrix::quantise(fmt(ElementKind::Int8, 16), 1, 20, &[-0.0; 20]).unwrap();
        assert_eq!(m.exps(), [0, 0]);
        assert!(m.elems().iter().all(|&q| q == 0));
        // A zero block next to a non-zero one.
        let mut x = vec![0.0f32; 20];
        x[17] = 3.0;
        let m = BfpMatrix::quantise(fmt(ElementKind::Int8, 16), 1, 20, &x).unwrap();
        assert_eq!(m.exps(), [0, 128]);
        assert_eq!(m.elems()[17], 96);
        assert!(m.elems()[20..].iter().all(|&q| q == 0), "padding is zero");
    }

    #[test]
    fn exponent_clamps_at_both_ends() {
        // Largest f32: floor(log2) = 127 -> X = 254, no clamp needed.
        let m = one_block(ElementKind::Int8, &[f32::MAX, -1e38]);
        assert_eq!(m.exps(), [254]);
        // f32::MAX / 2^121 = 128 - 2^-17 rounds to 128 and saturates;
        // 1e38 / 2^121 = 37.6 rounds to 38.
        assert_eq!(&m.elems()[..2], [127, -38]);
        // The low end: the smallest normal, 2^-126, gets X = 1.
        let m = one_block(ElementKind::Int4, &[f32::MIN_POSITIVE]);
        assert_eq!((m.exps()[0], m.elems()[0]), (1, 4));
    }

    #[test]
    fn subnormal_blocks_use_the_smallest_scale() {
        // amax 2^-127 -> X = 0 exactly; step 2^-133 (mxint8).
        let a = f32::from_bits(0x0040_0000); // 2^-127
        let m = one_block(ElementKind::Int8, &[a, -a / 2.0, f32::from_bits(1)]);
        assert_eq!(m.exps(), [0]);
        assert_eq!(&m.elems()[..3], [64, -32, 0]);
        // amax 2^-140 would need X = -13: clamped to 0, everything rounds to 0.
        let b = f32::from_bits(1 << 9); // 2^-140
        let m = one_block(ElementKind::Int8, &[b, -b]);
        assert_eq!(m.exps(), [0]);
        assert_eq!(&m.elems()[..2], [0, 0]);
        // 2^-134 = half a step: a tie, rounds to even (0); 3 * 2^-134 -> 2.
        let m = one_block(
            ElementKind::Int8,
            &[f32::from_bits(1 << 15), f32::from_bits(3 << 15), a],
        );
        assert_eq!(&m.elems()[..3], [0, 2, 64]);
    }

    #[test]
    fn dequantise_is_exact_at_the_extremes() {
        for kind in [ElementKind::Int8, ElementKind::Int4] {
            let max = kind.max_code();
            let f = kind.frac_bits();
            for x in [0u8, 1, 127, 253, 254] {
                let codes: Vec<i8> = (-max..=max).collect();
                let mut elems = vec![0i8; 16 * codes.len().div_ceil(16)];
                elems[..codes.len()].copy_from_slice(&codes);
                let nb = elems.len() / 16;
                let m = BfpMatrix::from_parts(fmt(kind, 16), 1, codes.len(), vec![x; nb], elems)
                    .unwrap();
                let v = m.dequantise();
                for (&q, &y) in codes.iter().zip(&v) {
                    // Exact: y * 2^(127 + F - X) in f64 gives back q.
                    let back = f64::from(y) * 2f64.powi(127 + f - i32::from(x));
                    assert_eq!(back, f64::from(q), "{kind:?} X={x} q={q}");
                    assert!(y.is_finite());
                }
            }
        }
    }

    #[test]
    fn bad_input_is_named() {
        let f = fmt(ElementKind::Int8, 32);
        let mut x = vec![1.0f32; 2 * 20];
        x[20 + 17] = f32::NAN;
        assert_eq!(
            BfpMatrix::quantise(f, 2, 20, &x).unwrap_err().to_string(),
            "element [1][17] is NaN; BFP quantisation needs finite values"
        );
        assert!(matches!(
            BfpMatrix::quantise(f, 2, 21, &x),
            Err(BfpError::Length { .. })
        ));
        assert!(matches!(
            BfpMatrix::from_parts(f, 1, 20, vec![1], vec![-128; 32]),
            Err(BfpError::ElementRange { value: -128, .. })
        ));
        let mut elems = vec![0i8; 32];
        elems[25] = 1;
        assert_eq!(
            BfpMatrix::from_parts(f, 1, 20, vec![1], elems)
                .unwrap_err()
                .to_string(),
            "padding element [0][25] is 1; K = 20 is padded to 32 with zeros only"
        );
        assert!(matches!(
            BfpMatrix::from_parts(f, 1, 20, vec![255], vec![0; 32]),
            Err(BfpError::ExponentNaN { row: 0, block: 0 })
        ));
        let f4 = fmt(ElementKind::Int4, 16);
        assert!(matches!(
            BfpMatrix::from_parts(f4, 1, 16, vec![1], vec![-8; 16]),
            Err(BfpError::ElementRange { max: 7, .. })
        ));
    }
}
