//! The golden models' integer matrix product, `raw[r][l] = sum_k b[r][k] *
//! p[l][k]` in wrapping i32, blocked and vectorised: the GEMM engine's raw
//! products and the BFP engine's block dot products.
//!
//! Why by hand: tract-linalg's integer kernels multiply int8 by int8, but a
//! PE's codebook may hold values past int8 (PoT's +-128, a project's
//! codebook up to 16 bits), and the golden model must wrap exactly as the
//! RTL's 32-bit accumulator does. Every operand here is an i16 and every
//! step is a sum of i16 x i16 pairs into an i32 lane (AVX-512 VNNI
//! `vpdpwssd`, AVX2 `vpmaddwd`): the pair's sum overflows only for four
//! `-32768`s, where it wraps to `i32::MIN`, as wrapping arithmetic does. A
//! wrapping sum is a sum mod 2^32, so neither the pairing nor the order of
//! the terms changes a bit of the result, on any of the three kernels.
//!
//! One operand, `p`, is packed once into [`Panels`]: 16 of its rows side by
//! side per panel, K in pairs, so that one 64-byte load holds 16 lanes of a
//! K pair. The other, `b`, is read in place, one K pair broadcast per step.
//! The golden GEMM packs the weights (once per layer, see `codes`) and
//! broadcasts the activations; for calls with fewer than 16 output
//! channels it packs the activations and broadcasts the weights, so the
//! lanes are not left empty.
//!
//! When both operands are int8 and the CPU has VNNI, [`quad`] does the same
//! with four K steps per lane (`vpdpbusd`) over the same loop nest.

mod quad;

pub use quad::{quad_products, quad_products_from, quads_available, QuadBroadcast, QuadPanels};

/// Lanes of a panel: 16 i32 accumulators fill one 512-bit register (two
/// 256-bit ones).
pub const LANES: usize = 16;

/// Rows of `b` a kernel step accumulates at once.
const ROWS: usize = 8;

/// An operand of `rows` x `k` i16 values packed for the kernels: panel `q`
/// holds rows `16q..16q+16` (zeros past the last), K pair `j` of lane `l`
/// at `data[(q * pairs + j) * 32 + 2l..+2]`; an odd K ends with a zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panels {
    rows: usize,
    k: usize,
    pairs: usize,
    data: Vec<i16>,
}

impl Panels {
    /// Packs `x`, `rows` x `k` row-major.
    pub fn pack<T: Copy + Into<i16>>(x: &[T], rows: usize, k: usize) -> Self {
        debug_assert_eq!(x.len(), rows * k);
        let pairs = k.div_ceil(2);
        let panels = rows.div_ceil(LANES);
        let mut data = vec![0i16; panels * pairs * 2 * LANES];
        // A row at a time: its K pairs go to one lane of each 64-byte
        // group of the panel (a panel is a few KiB, in L1), and the row is
        // read front to back.
        for (q, panel) in data
            .chunks_exact_mut((pairs * 2 * LANES).max(1))
            .enumerate()
        {
            let first = q * LANES;
            let lanes = (rows - first).min(LANES);
            for (l, row) in x[first * k..]
                .chunks_exact(k.max(1))
                .take(lanes)
                .enumerate()
            {
                let mut groups = panel.chunks_exact_mut(2 * LANES);
                let pairs_of_row = row.chunks_exact(2);
                let odd = pairs_of_row.remainder();
                // The row's pairs lead the zip, so that it stops without
                // taking the group an odd K's last value goes to.
                for (pair, group) in pairs_of_row.zip(&mut groups) {
                    group[2 * l] = pair[0].into();
                    group[2 * l + 1] = pair[1].into();
                }
                // An odd K's last value, beside the zero that pads it.
                if let (Some(group), [last]) = (groups.next(), odd) {
                    group[2 * l] = (*last).into();
                }
            }
        }
        Self {
            rows,
            k,
            pairs,
            data,
        }
    }

    /// Packs the transpose of `x`, which is `k` x `rows` row-major (see
    /// [`QuadPanels::pack_transposed`]). Equal to [`Panels::pack`] of the
    /// transposed copy.
    ///
    /// # Panics
    /// If `x` is not `k * rows` long.
    pub fn pack_transposed(x: &[i8], k: usize, rows: usize) -> Self {
        assert_eq!(x.len(), k * rows, "a {k} x {rows} operand");
        let pairs = k.div_ceil(2);
        let panels = rows.div_ceil(LANES);
        let mut data = vec![0i16; panels * pairs * 2 * LANES];
        for (q, panel) in data
            .chunks_exact_mut((pairs * 2 * LANES).max(1))
            .enumerate()
        {
            let top = q * LANES;
            let lanes = (rows - top).min(LANES);
            for (j, group) in panel.chunks_exact_mut(2 * LANES).enumerate() {
                #[cfg(target_arch = "x86_64")]
                if lanes == LANES && k - 2 * j >= 2 {
                    let from = 2 * j * rows + top;
                    let runs = [0, 1].map(|t| &x[from + t * rows..from + t * rows + LANES]);
                    x86::widen_interleave2(runs, group.try_into().expect("a group is 32 values"));
                    continue;
                }
                for t in 0..2.min(k - 2 * j) {
                    let from = (2 * j + t) * rows + top;
                    for (l, &v) in x[from..from + lanes].iter().enumerate() {
                        group[2 * l + t] = v.into();
                    }
                }
            }
        }
        Self {
            rows,
            k,
            pairs,
            data,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The `2 * LANES` values of panel `q`'s K pairs, in order.
    fn panel(&self, q: usize) -> &[i16] {
        let len = self.pairs * 2 * LANES;
        &self.data[q * len..(q + 1) * len]
    }
}

/// `b` (rows x k, i16, row-major) as the kernels read it: each row padded
/// to a whole number of K pairs, so that a pair is one aligned i32 read.
#[derive(Debug)]
pub struct Broadcast {
    rows: usize,
    pairs: usize,
    /// Each pair of i16 as the i32 whose bytes they are (little-endian).
    words: Vec<i32>,
}

impl Broadcast {
    pub fn new<T: Copy + Into<i16>>(x: &[T], rows: usize, k: usize) -> Self {
        debug_assert_eq!(x.len(), rows * k);
        let pairs = k.div_ceil(2);
        let mut words = vec![0i32; rows * pairs];
        pair_words(x, k, pairs, &mut words);
        Self { rows, pairs, words }
    }
}

/// Each row of `x` (rows of `k`) as K pairs, two i16 to an i32 word
/// (little-endian: the first in the low half), into `pairs` words a row;
/// an odd K's last value beside a zero. Pairs taken as fixed-size chunks
/// and compiled for AVX2 and AVX-512 too, so that the widening vectorises
/// (it was a tenth of the PoT transformer's golden pass one pair at a time).
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn pair_words<T: Copy + Into<i16>>(x: &[T], k: usize, pairs: usize, words: &mut [i32]) {
    for (row, out) in x
        .chunks_exact(k.max(1))
        .zip(words.chunks_exact_mut(pairs.max(1)))
    {
        let (whole, odd) = row.as_chunks::<2>();
        for (w, &[lo, hi]) in out.iter_mut().zip(whole) {
            let (lo, hi): (i16, i16) = (lo.into(), hi.into());
            *w = i32::from(lo as u16) | (i32::from(hi) << 16);
        }
        if let [last] = odd {
            let lo: i16 = (*last).into();
            out[pairs - 1] = i32::from(lo as u16);
        }
    }
}

/// `raw[r][l] = sum_k b[r][k] * p[l][k]`, wrapping, written to `out[r *
/// p.rows() + l]` (rows of `b` by rows of `p`).
///
/// # Panics
/// If the operands' K differ or `out` is not `b.rows * p.rows()` long.
pub fn products(b: &Broadcast, p: &Panels, out: &mut [i32]) {
    assert_eq!(b.pairs, p.pairs, "kernel operands of different K");
    products_from(b, 0, p, out);
}

/// [`products`] over K pairs `first..first + p`'s pairs of each row of `b`:
/// one block of a BFP row, with `b` built once for every block.
///
/// # Panics
/// If those pairs run past `b`'s rows or `out` is not `b.rows * p.rows()`
/// long.
pub fn products_from(b: &Broadcast, first: usize, p: &Panels, out: &mut [i32]) {
    let b = Rows::checked(&b.words, b.rows, b.pairs, first, p.pairs, p.rows, out.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: the CPU has AVX-512F and VNNI, checked just above.
            unsafe { x86::products_avx512vnni(&b, p, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { x86::products_avx2(&b, p, out) };
            return;
        }
    }
    products_portable(&b, p, out);
}

/// The rows of a [`Broadcast`] a kernel reads: row `r`'s K pair `j` is
/// `words[r * stride + first + j]`.
struct Rows<'a> {
    words: &'a [i32],
    rows: usize,
    stride: usize,
    first: usize,
}

impl<'a> Rows<'a> {
    /// `rows` rows of `stride` words from word `first` on, to be read
    /// `steps` words a row against a packed operand of `cols` rows into
    /// `out_len` outputs.
    ///
    /// # Panics
    /// If the steps run past a row or the output is not `rows x cols`.
    fn checked(
        words: &'a [i32],
        rows: usize,
        stride: usize,
        first: usize,
        steps: usize,
        cols: usize,
        out_len: usize,
    ) -> Self {
        assert!(
            first + steps <= stride,
            "kernel K steps {first}..{} past the operand's {stride}",
            first + steps
        );
        assert_eq!(out_len, rows * cols, "kernel output of the wrong size");
        Self {
            words,
            rows,
            stride,
            first,
        }
    }
}

/// `by_output` (`outputs` rows of `rows`: what a kernel gives with the
/// weights broadcast) into `p` in output order, `rows` rows of `outputs`.
pub fn by_output_into(by_output: &[i32], outputs: usize, rows: usize, p: &mut [i32]) {
    if outputs == 1 {
        p.copy_from_slice(by_output);
        return;
    }
    for (n, row) in by_output.chunks_exact(rows).enumerate() {
        for (r, &v) in row.iter().enumerate() {
            p[r * outputs + n] = v;
        }
    }
}

/// The kernels' loop nest: blocks of rows of `b` that stay in cache while
/// every panel passes over them, and `ROWS` rows of a block per step, one
/// accumulator of 16 lanes each. `tile` computes one step.
#[inline(always)]
fn blocked(
    b: &Rows<'_>,
    p: &Panels,
    out: &mut [i32],
    mut tile: impl FnMut(&[i32], usize, &[i16], &mut [[i32; LANES]; ROWS]),
) {
    blocked_over(
        b,
        p.pairs,
        p.rows,
        |q| p.panel(q),
        out,
        |words, rows, _, panel, acc| tile(words, rows, panel, acc),
    );
}

/// [`blocked`] for any packed operand: `steps` words of `b` per row (K
/// pairs, or K quads), `cols` rows of the packed operand, `panel(q)` its
/// panel `q`; `tile` is also told which panel it is on.
#[inline(always)]
fn blocked_over<'p, E: 'p>(
    b: &Rows<'_>,
    steps: usize,
    cols: usize,
    panel: impl Fn(usize) -> &'p [E],
    out: &mut [i32],
    mut tile: impl FnMut(&[i32], usize, usize, &[E], &mut [[i32; LANES]; ROWS]),
) {
    const BLOCK_BYTES: usize = 64 * 1024;
    let block_rows = (BLOCK_BYTES / (4 * steps.max(1))).clamp(ROWS, 1024) / ROWS * ROWS;
    let mut acc = [[0i32; LANES]; ROWS];
    for r0 in (0..b.rows).step_by(block_rows) {
        let r1 = (r0 + block_rows).min(b.rows);
        for q in 0..cols.div_ceil(LANES) {
            let panel = panel(q);
            let lanes = (cols - q * LANES).min(LANES);
            for r in (r0..r1).step_by(ROWS) {
                let rows = (r1 - r).min(ROWS);
                // Row i of the step at i * stride; the last row's words end
                // the slice.
                let from = r * b.stride + b.first;
                tile(
                    &b.words[from..from + (rows - 1) * b.stride + steps],
                    rows,
                    q,
                    panel,
                    &mut acc,
                );
                for (i, lanes_out) in acc.iter().take(rows).enumerate() {
                    let at = (r + i) * cols + q * LANES;
                    if lanes == LANES {
                        // A whole panel: a fixed-size move, inlined, where
                        // a slice copy would call memcpy for 64 bytes.
                        let whole: &mut [i32; LANES] = (&mut out[at..at + LANES])
                            .try_into()
                            .expect("a whole panel is LANES wide");
                        *whole = *lanes_out;
                    } else {
                        out[at..at + lanes].copy_from_slice(&lanes_out[..lanes]);
                    }
                }
            }
        }
    }
}

/// Plain Rust over the same layout (boards and CPUs without AVX2).
fn products_portable(b: &Rows<'_>, p: &Panels, out: &mut [i32]) {
    let (pairs, stride) = (p.pairs, b.stride);
    blocked(b, p, out, |words, rows, panel, acc| {
        for (i, a) in acc.iter_mut().enumerate().take(rows) {
            *a = [0; LANES];
            for (j, &w) in words[i * stride..i * stride + pairs].iter().enumerate() {
                let (lo, hi) = (i32::from(w as i16), w >> 16);
                let lanes = &panel[j * 2 * LANES..(j + 1) * 2 * LANES];
                for (l, x) in a.iter_mut().enumerate() {
                    let pair = lo
                        .wrapping_mul(i32::from(lanes[2 * l]))
                        .wrapping_add(hi.wrapping_mul(i32::from(lanes[2 * l + 1])));
                    *x = x.wrapping_add(pair);
                }
            }
        }
    });
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `out[2l + t] = runs[t][l]` as i16: two runs of 16 bytes widened and
    /// interleaved, in SSE2 (every x86-64 has it).
    pub(super) fn widen_interleave2(runs: [&[i8]; 2], out: &mut [i16; 32]) {
        assert!(runs.iter().all(|r| r.len() == 16), "runs of 16 bytes");
        // SAFETY: SSE2 is part of x86-64; every load reads one whole run
        // of 16 bytes (asserted) and every store writes 8 of `out`'s 32.
        unsafe {
            let zero = _mm_setzero_si128();
            // Each byte beside its sign (0 or -1): the i16 it widens to.
            let widen = |v: __m128i| {
                let sign = _mm_cmpgt_epi8(zero, v);
                (_mm_unpacklo_epi8(v, sign), _mm_unpackhi_epi8(v, sign))
            };
            let [r0, r1] = runs.map(|r| _mm_loadu_si128(r.as_ptr().cast()));
            let ((a_lo, a_hi), (b_lo, b_hi)) = (widen(r0), widen(r1));
            let pairs = [
                _mm_unpacklo_epi16(a_lo, b_lo),
                _mm_unpackhi_epi16(a_lo, b_lo),
                _mm_unpacklo_epi16(a_hi, b_hi),
                _mm_unpackhi_epi16(a_hi, b_hi),
            ];
            for (i, v) in pairs.iter().enumerate() {
                _mm_storeu_si128(out.as_mut_ptr().add(8 * i).cast(), *v);
            }
        }
    }

    use super::{blocked, Panels, Rows, LANES, ROWS};

    /// 16 lanes per `vpdpwssd`, 8 rows of `b` per step.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn products_avx512vnni(b: &Rows<'_>, p: &Panels, out: &mut [i32]) {
        let (pairs, stride) = (p.pairs, b.stride);
        blocked(b, p, out, |words, rows, panel, acc| {
            let mut sums = [_mm512_setzero_si512(); ROWS];
            for j in 0..pairs {
                // SAFETY: a panel holds `pairs` groups of 2 * LANES i16
                // (64 bytes), and j < pairs.
                let lanes = unsafe { _mm512_loadu_si512(panel.as_ptr().add(j * 2 * LANES).cast()) };
                for (i, s) in sums.iter_mut().enumerate().take(rows) {
                    let x = _mm512_set1_epi32(words[i * stride + j]);
                    *s = _mm512_dpwssd_epi32(*s, x, lanes);
                }
            }
            for (s, a) in sums.iter().zip(acc.iter_mut()).take(rows) {
                // SAFETY: `a` is 16 i32, 64 bytes.
                unsafe { _mm512_storeu_si512(a.as_mut_ptr().cast(), *s) };
            }
        });
    }

    /// Two 8-lane halves per K pair, `vpmaddwd` then `vpaddd`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn products_avx2(b: &Rows<'_>, p: &Panels, out: &mut [i32]) {
        let (pairs, stride) = (p.pairs, b.stride);
        blocked(b, p, out, |words, rows, panel, acc| {
            for half in 0..ROWS / 4 {
                let r0 = half * 4;
                if r0 >= rows {
                    break;
                }
                let mut lo = [_mm256_setzero_si256(); 4];
                let mut hi = [_mm256_setzero_si256(); 4];
                for j in 0..pairs {
                    let at = panel.as_ptr().wrapping_add(j * 2 * LANES);
                    // SAFETY: 2 * LANES i16 (64 bytes) from `at` are in the panel.
                    let (l0, l1) = unsafe {
                        (
                            _mm256_loadu_si256(at.cast()),
                            _mm256_loadu_si256(at.add(LANES).cast()),
                        )
                    };
                    for i in 0..4.min(rows - r0) {
                        let x = _mm256_set1_epi32(words[(r0 + i) * stride + j]);
                        lo[i] = _mm256_add_epi32(lo[i], _mm256_madd_epi16(x, l0));
                        hi[i] = _mm256_add_epi32(hi[i], _mm256_madd_epi16(x, l1));
                    }
                }
                for i in 0..4.min(rows - r0) {
                    let a = &mut acc[r0 + i];
                    // SAFETY: `a` is 16 i32: two stores of 8.
                    unsafe {
                        _mm256_storeu_si256(a.as_mut_ptr().cast(), lo[i]);
                        _mm256_storeu_si256(a.as_mut_ptr().add(8).cast(), hi[i]);
                    }
                }
            }
        });
    }

    #[cfg(test)]
    pub(super) fn available() -> [(&'static str, bool); 2] {
        [
            (
                "avx512vnni",
                std::arch::is_x86_feature_detected!("avx512vnni")
                    && std::arch::is_x86_feature_detected!("avx512f"),
            ),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// The definition, term by term.
    fn reference(b: &[i16], p: &[i16], rows: usize, cols: usize, k: usize) -> Vec<i32> {
        let mut out = vec![0i32; rows * cols];
        for r in 0..rows {
            for l in 0..cols {
                out[r * cols + l] = (0..k).fold(0i32, |s, kk| {
                    s.wrapping_add(i32::from(b[r * k + kk]).wrapping_mul(i32::from(p[l * k + kk])))
                });
            }
        }
        out
    }

    fn every_kernel(b: &Broadcast, p: &Panels) -> Vec<(&'static str, Vec<i32>)> {
        every_kernel_from(b, 0, p)
    }

    /// Every kernel on K pairs `first..` of `b`'s rows.
    fn every_kernel_from(b: &Broadcast, first: usize, p: &Panels) -> Vec<(&'static str, Vec<i32>)> {
        let len = b.rows * p.rows();
        let b = &Rows {
            words: &b.words,
            rows: b.rows,
            stride: b.pairs,
            first,
        };
        let mut results = Vec::new();
        let mut portable = vec![0; len];
        products_portable(b, p, &mut portable);
        results.push(("portable", portable));
        #[cfg(target_arch = "x86_64")]
        for (name, present) in x86::available() {
            if !present {
                continue;
            }
            let mut out = vec![0; len];
            // SAFETY: the CPU has the kernel's features (checked by `available`).
            unsafe {
                match name {
                    "avx512vnni" => x86::products_avx512vnni(b, p, &mut out),
                    _ => x86::products_avx2(b, p, &mut out),
                }
            }
            results.push((name, out));
        }
        results
    }

    /// Every kernel agrees with the definition on shapes around the block
    /// edges (odd K, partial panels and row steps), on full-range i16
    /// values, extremes included.
    #[test]
    fn kernels_match_the_definition() {
        let mut rng = SplitMix64::new(17);
        for &(rows, cols, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 2),
            (9, 17, 9),
            (17, 33, 64),
            (40, 3, 27),
            (5, 16, 301),
        ] {
            let value = |rng: &mut SplitMix64| match rng.below(8) {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => rng.below(65536) as u16 as i16,
            };
            let b: Vec<i16> = (0..rows * k).map(|_| value(&mut rng)).collect();
            let p: Vec<i16> = (0..cols * k).map(|_| value(&mut rng)).collect();
            let want = reference(&b, &p, rows, cols, k);
            let (bb, pp) = (Broadcast::new(&b, rows, k), Panels::pack(&p, cols, k));
            for (name, got) in every_kernel(&bb, &pp) {
                assert_eq!(got, want, "{name} kernel on {rows}x{cols}x{k}");
            }
        }
    }

    /// Packing the transpose in place equals packing a transposed copy,
    /// over partial panels, odd K and both signs.
    #[test]
    fn transposed_packs_as_a_transposed_copy_does() {
        let mut rng = SplitMix64::new(47);
        for (k, rows) in [(1, 1), (3, 5), (2, 16), (7, 33), (9, 49), (24, 200)] {
            let x: Vec<i8> = (0..k * rows).map(|_| rng.below(256) as u8 as i8).collect();
            let copy: Vec<i8> = (0..rows * k).map(|i| x[(i % k) * rows + i / k]).collect();
            assert_eq!(
                Panels::pack_transposed(&x, k, rows),
                Panels::pack(&copy, rows, k),
                "{k} x {rows}"
            );
        }
    }

    /// One block of K pairs out of longer rows, as the BFP golden model
    /// reads them, matches the definition on that block alone; the public
    /// entry point agrees with the kernels.
    #[test]
    fn a_block_of_pairs_matches_the_definition() {
        let mut rng = SplitMix64::new(23);
        let (rows, cols, block, blocks) = (19, 21, 32, 3);
        let k = block * blocks;
        let b: Vec<i16> = (0..rows * k).map(|_| rng.below(256) as i16 - 128).collect();
        let p: Vec<i16> = (0..cols * k).map(|_| rng.below(256) as i16 - 128).collect();
        let whole = Broadcast::new(&b, rows, k);
        for j in 0..blocks {
            let part = |x: &[i16], n: usize| -> Vec<i16> {
                x.chunks_exact(k)
                    .take(n)
                    .flat_map(|row| row[j * block..(j + 1) * block].to_vec())
                    .collect()
            };
            let want = reference(&part(&b, rows), &part(&p, cols), rows, cols, block);
            let panels = Panels::pack(&part(&p, cols), cols, block);
            for (name, got) in every_kernel_from(&whole, j * block / 2, &panels) {
                assert_eq!(got, want, "{name} kernel on block {j}");
            }
            let mut out = vec![0; rows * cols];
            products_from(&whole, j * block / 2, &panels, &mut out);
            assert_eq!(out, want, "products_from on block {j}");
        }
    }

    /// Four -32768 products wrap one pair to i32::MIN, and the sum wraps on.
    #[test]
    fn pairs_of_extremes_wrap() {
        let k = 6;
        let b = vec![i16::MIN; k];
        let p = vec![i16::MIN; k];
        let want = reference(&b, &p, 1, 1, k);
        assert_eq!(want[0], (3u32 << 31) as i32);
        for (name, got) in every_kernel(&Broadcast::new(&b, 1, k), &Panels::pack(&p, 1, k)) {
            assert_eq!(got, want, "{name}");
        }
    }
}
