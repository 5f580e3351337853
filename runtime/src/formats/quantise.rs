//! Per-output-channel weight quantisation onto a PE's codebook.
//!
//! Each row of the weight matrix (an output channel) gets its own scale `s`;
//! a weight `w` becomes the code whose value `v` is nearest to `w / s`, and
//! dequantises to `s * v`. The scale is chosen to minimise the row's squared
//! error `sum (w - s * v)^2`, exactly (see `best_scale`); docs/quantisation.md
//! explains the search and its tie rules.

use super::{Codebook, FormatError};

/// Quantised weights: one code per weight and one scale per row.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantisedMatrix {
    pub rows: usize,
    pub cols: usize,
    /// Row-major codes.
    pub codes: Vec<u32>,
    /// One scale per row (output channel).
    pub scales: Vec<f32>,
    /// Squared error of each row, computed in f64 against the f32 input.
    pub row_sq_error: Vec<f64>,
}

/// The index in `lo..=hi` (consecutive integers) nearest to `x`: round
/// half toward zero (the smaller magnitude), then clamp. `x - trunc(x)` is
/// exact, so the tie test is too.
#[inline(always)]
#[allow(clippy::manual_clamp)] // max and min drop a NaN, clamp keeps it
fn round_into(x: f64, lo: f64, hi: f64) -> usize {
    // A NaN (0 / 0 under a scale that underflowed) goes to the lowest
    // value rather than reach the conversion below.
    let x = x.max(lo - 1.0).min(hi + 1.0);
    let t = x.trunc();
    let r = if (x - t).abs() > 0.5 {
        t + x.signum()
    } else {
        t
    };
    let i = r.clamp(lo, hi) - lo;
    // SAFETY: `i` is a whole number in 0..=hi-lo (below 2^16 for any
    // codebook), never NaN: the conversion is exact, and vectorises.
    (unsafe { i.to_int_unchecked::<u32>() }) as usize
}

/// Distinct codebook values in ascending order, each with the code that
/// represents it (the lowest code holding that value).
struct Levels {
    values: Vec<f64>,
    codes: Vec<u32>,
    /// The lowest value when the values are consecutive integers (a
    /// two's-complement codebook): the nearest level is then a rounding,
    /// not a search.
    consecutive_from: Option<f64>,
    /// For other codebooks (PoT, APoT, MSQ) whose values span at most
    /// [`MAX_BUCKETS`]: `below[u]` is the last level at or under
    /// `values[0] + u`. Values are integers, so `x` in `[u, u + 1)` lies
    /// between that level and the next, and one comparison replaces the
    /// binary search.
    below: Option<Vec<u32>>,
    /// `tie_up[i]`: a point midway between levels `i` and `i + 1` takes
    /// `i + 1` (see [`Levels::tie`]).
    tie_up: Vec<bool>,
}

/// The widest value span given a bucket table (16-bit codebooks fit).
const MAX_BUCKETS: usize = 1 << 17;

impl Levels {
    fn new(codebook: &Codebook) -> Self {
        let mut pairs: Vec<(i32, u32)> = codebook
            .values()
            .iter()
            .enumerate()
            .map(|(code, &v)| (v, code as u32))
            .collect();
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let consecutive = pairs.windows(2).all(|p| p[1].0 == p[0].0 + 1);
        let (first, last) = (pairs[0].0, pairs[pairs.len() - 1].0);
        let span = (i64::from(last) - i64::from(first)) as usize;
        let below = (!consecutive && span <= MAX_BUCKETS).then(|| {
            let mut level = 0usize;
            (0..span)
                .map(|u| {
                    let at = i64::from(first) + u as i64;
                    while level + 1 < pairs.len() && i64::from(pairs[level + 1].0) <= at {
                        level += 1;
                    }
                    level as u32
                })
                .collect()
        });
        let mut levels = Self {
            values: pairs.iter().map(|p| f64::from(p.0)).collect(),
            codes: pairs.iter().map(|p| p.1).collect(),
            consecutive_from: consecutive.then(|| f64::from(first)),
            below,
            tie_up: Vec::new(),
        };
        levels.tie_up = (0..pairs.len() - 1)
            .map(|i| levels.tie(i) == i + 1)
            .collect();
        levels
    }

    /// Index of the level nearest to `x`. Ties go to the smaller magnitude,
    /// then to the lower code.
    #[inline(always)]
    fn nearest(&self, x: f64) -> usize {
        if let Some(lo) = self.consecutive_from {
            return round_into(x, lo, lo + (self.values.len() - 1) as f64);
        }
        if let Some(below) = &self.below {
            return self.between(below, x);
        }
        self.search(x)
    }

    /// [`Levels::nearest`] through the bucket table: the same answers as
    /// the search, ties and the ends included.
    #[inline(always)]
    fn between(&self, below: &[u32], x: f64) -> usize {
        let (first, last) = (self.values[0], self.values[self.values.len() - 1]);
        // Clamped into [first, last], where the ends give the end levels
        // below as the search does: first lies on level 0 (no distance to
        // it), last in the last bucket at no distance from the last level.
        // `max` drops a NaN, which so becomes `first` and level 0, as the
        // search has it.
        let x = x.max(first).min(last);
        // SAFETY: a finite value in 0..=span, below 2^17; exact.
        let bucket = unsafe { (x - first).floor().to_int_unchecked::<u32>() } as usize;
        // SAFETY (the three reads): `bucket.min(..)` is an index of
        // `below`, and every entry of `below` is a level under the last
        // (bucket u covers values below first + span), so `lower + 1` is a
        // level and `lower` an index of `tie_up`. No branch and no check:
        // the comparison goes either way at random.
        let lower = unsafe { *below.get_unchecked(bucket.min(below.len() - 1)) } as usize;
        let (v_lo, v_hi, tie_up) = unsafe {
            (
                *self.values.get_unchecked(lower),
                *self.values.get_unchecked(lower + 1),
                *self.tie_up.get_unchecked(lower),
            )
        };
        let (d_below, d_above) = (x - v_lo, v_hi - x);
        let up = (d_above < d_below) | ((d_above == d_below) & tie_up);
        lower + usize::from(up)
    }

    /// The level a point midway between levels `lower` and `lower + 1`
    /// takes: the smaller magnitude, then the lower code.
    fn tie(&self, lower: usize) -> usize {
        let above = lower + 1;
        let (m_below, m_above) = (self.values[lower].abs(), self.values[above].abs());
        if m_below < m_above || (m_below == m_above && self.codes[lower] < self.codes[above]) {
            lower
        } else {
            above
        }
    }

    /// [`Levels::nearest`] by binary search, for any codebook.
    fn search(&self, x: f64) -> usize {
        let above = self.values.partition_point(|&v| v < x);
        if above == 0 {
            return 0;
        }
        if above == self.values.len() {
            return above - 1;
        }
        let below = above - 1;
        let (d_below, d_above) = (x - self.values[below], self.values[above] - x);
        if d_below < d_above {
            below
        } else if d_above < d_below {
            above
        } else {
            self.tie(below)
        }
    }

    /// The level of smallest magnitude (what an all-zero row maps to).
    fn smallest(&self) -> usize {
        self.nearest(0.0)
    }

    /// The largest magnitude (at least 1): the values are sorted, so it is
    /// at one end; asked once per row.
    fn max_abs(&self) -> f64 {
        let (first, last) = (self.values[0], self.values[self.values.len() - 1]);
        first.abs().max(last.abs()).max(1.0)
    }
}

/// The scale that minimises a row's squared error, found exactly.
///
/// With nearest-value assignment, the code of `w` only changes where `w / s`
/// crosses a midpoint `m` between two neighbouring values, at `s = w / m`.
/// Between two such breakpoints the assignment is fixed and the error
/// `sum w^2 - 2 s A + s^2 B` (A = sum w v, B = sum v^2) is a parabola with its
/// minimum at `A / B`, clamped to the interval. Sweeping the breakpoints in
/// order from s -> 0 (every weight saturated at an end of the codebook)
/// upward, and updating A and B one move at a time, visits every interval:
/// the best candidate is the global minimum. Cost: O(n L log(n L)) for n
/// weights and L codebook values. Ties between equal errors keep the
/// smaller scale.
fn best_scale(levels: &Levels, row: &[f64]) -> f64 {
    let values = &levels.values;
    let top = values.len() - 1;
    let midpoints: Vec<f64> = values.windows(2).map(|p| (p[0] + p[1]) / 2.0).collect();
    let zero_level = levels.smallest();
    let mut assigned: Vec<usize> = row
        .iter()
        .map(|&w| match w {
            w if w > 0.0 => top,
            w if w < 0.0 => 0,
            _ => zero_level,
        })
        .collect();
    let (mut a, mut b) = assigned
        .iter()
        .zip(row)
        .fold((0.0, 0.0), |(a, b), (&i, &w)| {
            (a + w * values[i], b + values[i] * values[i])
        });
    // Each move as one integer key: the scale's bits (every scale here is
    // w / m with w and m of one sign, so positive, and positive f64s order
    // as their bits do), then the weight's index, then the level it moves
    // to. Keys are distinct, so an unstable sort of them gives exactly the
    // order of a stable sort by scale over moves listed by weight: the
    // order the sweep below has always used, at a fraction of the cost.
    let mut moves: Vec<u128> = Vec::with_capacity(row.len() * midpoints.len() / 2);
    let key = |s: f64, i: usize, to: usize| -> u128 {
        (u128::from(s.to_bits()) << 64) | ((i as u128) << 32) | to as u128
    };
    for (i, &w) in row.iter().enumerate() {
        for (j, &m) in midpoints.iter().enumerate() {
            if w > 0.0 && m > 0.0 {
                moves.push(key(w / m, i, j)); // x falls below m: level j+1 -> j
            } else if w < 0.0 && m < 0.0 {
                moves.push(key(w / m, i, j + 1)); // x rises above m: level j -> j+1
            }
        }
    }
    moves.sort_unstable();
    let scale_of = |key: u128| f64::from_bits((key >> 64) as u64);

    let mut best = (f64::INFINITY, f64::NAN);
    let mut consider = |a: f64, b: f64, lo: f64, hi: f64| {
        if b == 0.0 {
            return; // every weight on a zero value: the error does not depend on s
        }
        let s = (a / b).clamp(lo, hi);
        if s <= 0.0 {
            return;
        }
        let err = s * (s * b - 2.0 * a); // the constant sum w^2 is left out
        if err < best.0 {
            best = (err, s);
        }
    };
    let mut lo = 0.0;
    let mut k = 0;
    while k < moves.len() {
        let at = scale_of(moves[k]);
        consider(a, b, lo, at);
        while k < moves.len() && scale_of(moves[k]) == at {
            let (i, to) = ((moves[k] >> 32) as u32 as usize, moves[k] as u32 as usize);
            let (w, from) = (row[i], values[assigned[i]]);
            a += w * (values[to] - from);
            b += values[to] * values[to] - from * from;
            assigned[i] = to;
            k += 1;
        }
        lo = at;
    }
    consider(a, b, lo, f64::INFINITY);
    if best.1.is_nan() {
        // No scale changes the error (e.g. a codebook of zeros): any will do.
        row.iter().fold(0.0f64, |m, w| m.max(w.abs())) / levels.max_abs()
    } else {
        best.1
    }
}

/// How a row's scale is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleRule {
    /// The scale of least squared error, searched exactly (`best_scale`):
    /// for weights, quantised once.
    LeastSquares,
    /// The row's largest magnitude onto the codebook's largest: for
    /// operands quantised on every call (the second operand of an
    /// activation-by-activation MatMul), where the exact search would cost
    /// far more than the product itself.
    MaxAbs,
}

/// Quantises a row-major `rows x cols` f32 matrix, one scale per row,
/// rows on up to [`crate::parallel::jobs`] threads.
pub fn quantise_per_channel(
    codebook: &Codebook,
    weights: &[f32],
    rows: usize,
    cols: usize,
) -> Result<QuantisedMatrix, FormatError> {
    quantise_rows(codebook, weights, rows, cols, ScaleRule::LeastSquares)
}

/// [`quantise_per_channel`] with the scale of each row chosen by `rule`.
pub fn quantise_rows(
    codebook: &Codebook,
    weights: &[f32],
    rows: usize,
    cols: usize,
    rule: ScaleRule,
) -> Result<QuantisedMatrix, FormatError> {
    if rows.checked_mul(cols) != Some(weights.len()) || rows == 0 || cols == 0 {
        return Err(FormatError::Shape {
            len: weights.len(),
            rows,
            cols,
        });
    }
    if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
        return Err(FormatError::NonFinite {
            row: i / cols,
            col: i % cols,
            value: weights[i],
        });
    }
    let levels = Levels::new(codebook);
    if rule == ScaleRule::MaxAbs {
        // Per-call operands (attention's K and V): many short rows, on one
        // thread, straight into the output with no allocation per row.
        let mut codes = vec![0u32; weights.len()];
        let mut scales = Vec::with_capacity(rows);
        let mut row64 = Vec::with_capacity(cols);
        for (row, out) in weights.chunks_exact(cols).zip(codes.chunks_exact_mut(cols)) {
            scales.push(quantise_row_into(&levels, row, rule, &mut row64, out).0);
        }
        return Ok(QuantisedMatrix {
            rows,
            cols,
            codes,
            scales,
            row_sq_error: vec![0.0; rows],
        });
    }
    let row_slices: Vec<&[f32]> = weights.chunks_exact(cols).collect();
    // Rows are independent: a thread needs enough of them to pay for itself.
    let per_thread = (4096 / cols).max(1);
    let done = crate::parallel::map(&row_slices, per_thread, |row| {
        quantise_row(&levels, row, rule)
    });
    let mut out = QuantisedMatrix {
        rows,
        cols,
        codes: Vec::with_capacity(weights.len()),
        scales: Vec::with_capacity(rows),
        row_sq_error: Vec::with_capacity(rows),
    };
    for (codes, scale, sq) in done {
        out.codes.extend(codes);
        out.scales.push(scale);
        out.row_sq_error.push(sq);
    }
    Ok(out)
}

/// Each weight's nearest code at scale `s`; the squared error when asked.
/// Compiled for AVX-512F (whose gathers read the bucket table 8 lanes at a
/// time) and AVX2 (whose rounding instructions replace the `trunc` calls
/// of the default x86-64 target) too, and picked at run time.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn assign_codes(levels: &Levels, row: &[f64], s: f64, codes: &mut [u32], error: bool) -> f64 {
    if let (Some(lo), false) = (levels.consecutive_from, error) {
        // The per-call case: the rounding of `nearest`, with no search to
        // branch on, into a table indexed from the lowest value.
        // Two loops: the rounding vectorises once the table lookup is out
        // of it.
        // `codes` holds the level indices between the two.
        let hi = lo + (levels.values.len() - 1) as f64;
        for (i, &w) in codes.iter_mut().zip(row) {
            *i = round_into(w / s, lo, hi) as u32;
        }
        for code in codes.iter_mut() {
            *code = levels.codes[*code as usize];
        }
        return 0.0;
    }
    if let (Some(below), false) = (&levels.below, error) {
        // The same two passes through the bucket table (PoT, APoT, MSQ).
        for (i, &w) in codes.iter_mut().zip(row) {
            *i = levels.between(below, w / s) as u32;
        }
        for code in codes.iter_mut() {
            *code = levels.codes[*code as usize];
        }
        return 0.0;
    }
    let mut sq = 0.0;
    for (code, &w) in codes.iter_mut().zip(row) {
        let i = levels.nearest(w / s);
        *code = levels.codes[i];
        if error {
            sq += (w - s * levels.values[i]).powi(2);
        }
    }
    sq
}

/// One row's codes, scale and squared error.
fn quantise_row(levels: &Levels, row: &[f32], rule: ScaleRule) -> (Vec<u32>, f32, f64) {
    let mut codes = vec![0u32; row.len()];
    let mut row64 = Vec::with_capacity(row.len());
    let (scale, sq) = quantise_row_into(levels, row, rule, &mut row64, &mut codes);
    (codes, scale, sq)
}

/// [`quantise_row`] into `codes`, with `row64` as scratch: the per-call
/// path quantises many short rows and reuses both.
fn quantise_row_into(
    levels: &Levels,
    row: &[f32],
    rule: ScaleRule,
    row64: &mut Vec<f64>,
    codes: &mut [u32],
) -> (f32, f64) {
    row64.clear();
    row64.extend(row.iter().map(|&w| f64::from(w)));
    let row64 = &row64[..];
    if row64.iter().all(|&w| w == 0.0) {
        // Any scale reproduces an all-zero row exactly with a zero scale.
        codes.fill(levels.codes[levels.smallest()]);
        return (0.0, 0.0);
    }
    let best = match rule {
        ScaleRule::LeastSquares => best_scale(levels, row64),
        ScaleRule::MaxAbs => row64.iter().fold(0.0f64, |m, w| m.max(w.abs())) / levels.max_abs(),
    };
    // The scale is stored as f32; codes are assigned against that value
    // so that dequantisation reproduces exactly what was optimised.
    let scale = best as f32;
    // The squared error is reported for weights quantised once; per-call
    // operands skip it.
    let sq = assign_codes(
        levels,
        row64,
        f64::from(scale),
        codes,
        rule == ScaleRule::LeastSquares,
    );
    (scale, sq)
}

/// Reconstructs f32 weights: `scale[row] * value(code)`, rounded once to f32.
pub fn dequantise(codebook: &Codebook, q: &QuantisedMatrix) -> Result<Vec<f32>, FormatError> {
    q.codes
        .iter()
        .enumerate()
        .map(|(i, &code)| {
            let s = f64::from(q.scales[i / q.cols]);
            Ok((s * f64::from(codebook.value(code)?)) as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rounding shortcut of a two's-complement codebook and the binary
    /// search agree everywhere, ties and the ends included.
    /// Points to ask a level table for: every quarter in `-reach..reach`
    /// (each midpoint of integer levels among them), random points in
    /// `-1024..1024`, the infinities, huge values, -0, +-0.5 and NaN.
    fn probes(reach: i32, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let mut xs: Vec<f64> = (-4 * reach..4 * reach)
            .map(|i| f64::from(i) * 0.25)
            .collect();
        xs.extend((0..20000).map(|_| (rng.below(1 << 32) as f64 / 2f64.powi(22)) - 1024.0));
        xs.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            -0.0,
            0.5,
            -0.5,
            f64::NAN,
        ]);
        xs
    }

    #[test]
    fn consecutive_levels_round_as_the_search_does() {
        for name in ["mac_dsp", "mac_lut"] {
            let levels = Levels::new(&Codebook::named(name).unwrap());
            assert!(levels.consecutive_from.is_some());
            for x in probes(150, 5) {
                assert_eq!(levels.nearest(x), levels.search(x), "{name} at {x}");
            }
        }
        let pot = Levels::new(&Codebook::named("shift_pot").unwrap());
        assert!(pot.consecutive_from.is_none());
    }

    /// The bucket table of the shift codebooks answers as the search does,
    /// on a grid of quarters (every midpoint of integer levels is on it),
    /// random points, the ends and NaN.
    #[test]
    fn bucketed_levels_answer_as_the_search_does() {
        for name in ["shift_pot", "shift_apot", "shift_msq"] {
            let levels = Levels::new(&Codebook::named(name).unwrap());
            assert!(levels.below.is_some(), "{name} has a bucket table");
            for x in probes(300, 11) {
                assert_eq!(levels.nearest(x), levels.search(x), "{name} at {x}");
            }
        }
    }

    #[test]
    fn nearest_level_ties_go_to_the_smaller_magnitude() {
        let pot = Levels::new(&Codebook::named("shift_pot").unwrap());
        // 3 is midway between 2 and 4.
        assert_eq!(pot.values[pot.nearest(3.0)], 2.0);
        assert_eq!(pot.values[pot.nearest(-3.0)], -2.0);
        // PoT has no zero: 0 is midway between -1 and +1; +1 has the lower code.
        assert_eq!(pot.values[pot.nearest(0.0)], 1.0);
        assert_eq!(pot.codes[pot.nearest(0.0)], 0);
        // Beyond the ends it saturates.
        assert_eq!(pot.values[pot.nearest(1e9)], 128.0);
        let msq = Levels::new(&Codebook::named("shift_msq").unwrap());
        // Value 2 has codes 1 and 2: the lower one represents it.
        assert_eq!(msq.codes[msq.nearest(2.2)], 1);
    }

    #[test]
    fn powers_of_two_quantise_exactly_to_pot() {
        let pot = Codebook::named("shift_pot").unwrap();
        let w = [0.5f32, -0.25, 1.0, 0.125, -0.0625, 0.5];
        let q = quantise_per_channel(&pot, &w, 1, 6).unwrap();
        assert_eq!(q.row_sq_error[0], 0.0);
        assert_eq!(dequantise(&pot, &q).unwrap(), w);
    }

    #[test]
    fn hand_worked_int4_row() {
        // Weights already on the int4 grid with step 0.1 scale exactly:
        // the least-squares scale is 0.1 and the codes are the integers.
        let lut = Codebook::named("mac_lut").unwrap();
        let w = [0.7f32, -0.8, 0.3, 0.0];
        let q = quantise_per_channel(&lut, &w, 1, 4).unwrap();
        let values: Vec<i32> = q.codes.iter().map(|&c| lut.value(c).unwrap()).collect();
        assert_eq!(values, [7, -8, 3, 0]);
        assert!((q.scales[0] - 0.1).abs() < 1e-7, "{}", q.scales[0]);
        assert!(q.row_sq_error[0] < 1e-12);
    }

    #[test]
    fn zero_rows_and_bad_input() {
        let pot = Codebook::named("shift_pot").unwrap();
        let q = quantise_per_channel(&pot, &[0.0, 0.0, 1.0, 2.0], 2, 2).unwrap();
        assert_eq!(q.scales[0], 0.0);
        assert_eq!(dequantise(&pot, &q).unwrap()[..2], [0.0, 0.0]);
        let err = quantise_per_channel(&pot, &[0.0, f32::NAN], 1, 2).unwrap_err();
        assert!(err.to_string().contains("[0, 1]"), "{err}");
        let err = quantise_per_channel(&pot, &[0.0; 5], 2, 2).unwrap_err();
        assert!(err.to_string().contains("5 weights"), "{err}");
    }
}
