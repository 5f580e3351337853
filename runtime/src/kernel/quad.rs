//! The int8 kernel: AVX-512 VNNI `vpdpbusd`, four K steps per lane and
//! instruction where the i16 kernel (the parent module) takes two, for
//! operands that are both int8: an int8 codebook's weights against the
//! int8 activations.
//!
//! `vpdpbusd` multiplies unsigned bytes by signed ones, so the broadcast
//! operand is moved into u8 by adding 128: `sum (b + 128) p = sum b p + 128
//! sum p`. The last sum belongs to a row of the packed operand and is known
//! when it is packed; the accumulators start at its negation, so what the
//! kernel stores is the sum asked for, with no pass after it. A u8 x i8
//! product fits an i16, four of them an i32, `vpdpbusd` does not saturate,
//! and every addition wraps: the result is the wrapping sum mod 2^32, bit
//! for bit the i16 kernel's.
//!
//! Why by hand: as for the i16 kernel, tract-linalg's int8 kernels do not
//! promise the RTL's wrapping accumulator.

use super::{blocked_over, Rows, LANES};

/// K values a lane takes per step.
const QUAD: usize = 4;

/// Bytes of one K quad across a panel's lanes: one 512-bit load.
const GROUP: usize = QUAD * LANES;

/// An int8 operand of `rows` x `k` packed for the int8 kernel: panel `q`
/// holds rows `16q..16q+16`, K quad `j` of lane `l` at `data[(q * quads +
/// j) * 64 + 4l..+4]`, zeros past the last row and past K; `start[l]` is
/// `-128 * sum_k x[l][k]`, wrapping (zero past the last row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadPanels {
    rows: usize,
    quads: usize,
    data: Vec<i8>,
    start: Vec<i32>,
}

impl QuadPanels {
    /// Packs `x`, `rows` x `k` row-major.
    pub fn pack(x: &[i8], rows: usize, k: usize) -> Self {
        debug_assert_eq!(x.len(), rows * k);
        Self::pack_columns(x, rows, k, 0, k)
    }

    /// Packs columns `first..first + k` of `x`, `rows` rows of `stride`
    /// (one block of a BFP matrix's rows, read in place).
    ///
    /// # Panics
    /// If those columns run past a row or the rows past `x`.
    pub fn pack_columns(x: &[i8], rows: usize, stride: usize, first: usize, k: usize) -> Self {
        check_columns(x.len(), rows, stride, first, k);
        let quads = k.div_ceil(QUAD);
        let panels = rows.div_ceil(LANES);
        let mut data = vec![0i8; panels * quads * GROUP];
        let mut start = vec![0i32; panels * LANES];
        for (q, panel) in data.chunks_exact_mut((quads * GROUP).max(1)).enumerate() {
            let top = q * LANES;
            let lanes = (rows - top).min(LANES);
            for l in 0..lanes {
                let at = (top + l) * stride + first;
                let row = &x[at..at + k];
                for (group, quad) in panel.chunks_exact_mut(GROUP).zip(row.chunks(QUAD)) {
                    group[QUAD * l..QUAD * l + quad.len()].copy_from_slice(quad);
                }
                let sum = row.iter().fold(0i32, |s, &v| s.wrapping_add(i32::from(v)));
                start[top + l] = sum.wrapping_mul(-128);
            }
        }
        Self {
            rows,
            quads,
            data,
            start,
        }
    }

    /// Packs the transpose of `x`, which is `k` x `rows` row-major: row
    /// `r` of the operand is column `r` of `x` (a channel-major activation,
    /// packed without a transposed copy first). Equal to
    /// [`QuadPanels::pack`] of the transposed copy.
    ///
    /// # Panics
    /// If `x` is not `k * rows` long.
    pub fn pack_transposed(x: &[i8], k: usize, rows: usize) -> Self {
        assert_eq!(x.len(), k * rows, "a {k} x {rows} operand");
        let quads = k.div_ceil(QUAD);
        let panels = rows.div_ceil(LANES);
        let mut data = vec![0i8; panels * quads * GROUP];
        let mut start = vec![0i32; panels * LANES];
        column_starts(x, rows, &mut start);
        for (q, panel) in data.chunks_exact_mut((quads * GROUP).max(1)).enumerate() {
            let top = q * LANES;
            let lanes = (rows - top).min(LANES);
            for (j, group) in panel.chunks_exact_mut(GROUP).enumerate() {
                // K steps 4j..4j+4 of the panel's lanes: up to four runs
                // of 16 consecutive values of x, interleaved.
                #[cfg(target_arch = "x86_64")]
                if lanes == LANES && k - QUAD * j >= QUAD {
                    let from = QUAD * j * rows + top;
                    let runs = [0, 1, 2, 3].map(|t| &x[from + t * rows..from + t * rows + LANES]);
                    x86::interleave4(runs, group.try_into().expect("a group is 64 bytes"));
                    continue;
                }
                for t in 0..QUAD.min(k - QUAD * j) {
                    let from = (QUAD * j + t) * rows + top;
                    for (l, &v) in x[from..from + lanes].iter().enumerate() {
                        group[QUAD * l + t] = v;
                    }
                }
            }
        }
        Self {
            rows,
            quads,
            data,
            start,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The `GROUP` bytes of panel `q`'s K quads, in order.
    fn panel(&self, q: usize) -> &[i8] {
        let len = self.quads * GROUP;
        &self.data[q * len..(q + 1) * len]
    }
}

/// The other int8 operand, `rows` x `k`, as the int8 kernel broadcasts it:
/// every value plus 128 as a byte, each row padded with zeros to whole K
/// quads, four bytes to an i32 word (little-endian).
#[derive(Debug)]
pub struct QuadBroadcast {
    rows: usize,
    quads: usize,
    words: Vec<i32>,
}

impl QuadBroadcast {
    pub fn new(x: &[i8], rows: usize, k: usize) -> Self {
        debug_assert_eq!(x.len(), rows * k);
        Self::from_columns(x, rows, k, 0, k)
    }

    /// Columns `first..first + k` of `x`, `rows` rows of `stride`.
    ///
    /// # Panics
    /// If those columns run past a row or the rows past `x`.
    pub fn from_columns(x: &[i8], rows: usize, stride: usize, first: usize, k: usize) -> Self {
        check_columns(x.len(), rows, stride, first, k);
        let quads = k.div_ceil(QUAD);
        let mut bytes = vec![0u8; rows * quads * QUAD];
        for (row, out) in x
            .chunks_exact(stride.max(1))
            .take(rows)
            .map(|r| &r[first..first + k])
            .zip(bytes.chunks_exact_mut((quads * QUAD).max(1)))
        {
            // +128 on a two's-complement byte flips its top bit.
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v as u8) ^ 0x80;
            }
        }
        let words = bytes
            .chunks_exact(QUAD)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self { rows, quads, words }
    }
}

/// `start[r] = -128 * sum_k x[k][r]`, wrapping, for `x` of rows of `rows`
/// (K x rows): a row of x at a time, whole rows vectorised, compiled for
/// AVX2 and AVX-512 too.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn column_starts(x: &[i8], rows: usize, start: &mut [i32]) {
    for row in x.chunks_exact(rows.max(1)) {
        for (s, &v) in start.iter_mut().zip(row) {
            *s = s.wrapping_add(i32::from(v));
        }
    }
    for s in start.iter_mut() {
        *s = s.wrapping_mul(-128);
    }
}

/// Panics unless columns `first..first + k` of `rows` rows of `stride`
/// lie within `len` values.
fn check_columns(len: usize, rows: usize, stride: usize, first: usize, k: usize) {
    assert!(
        first + k <= stride && rows * stride <= len,
        "{rows} rows of {stride}: columns {first}..{} of {len} values",
        first + k
    );
}

/// Whether this CPU runs the int8 kernel (AVX-512F and VNNI); elsewhere
/// [`quad_products`] is plain Rust and the i16 kernel is the faster one.
pub fn quads_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `raw[r][l] = sum_k b[r][k] * p[l][k]`, wrapping, written to `out[r *
/// p.rows() + l]`: [`super::products`] for int8 operands.
///
/// # Panics
/// If the operands' K differ or `out` is not `b.rows * p.rows()` long.
pub fn quad_products(b: &QuadBroadcast, p: &QuadPanels, out: &mut [i32]) {
    assert_eq!(b.quads, p.quads, "kernel operands of different K");
    quad_products_from(b, 0, p, out);
}

/// [`quad_products`] over K quads `first..first + p`'s quads of each row
/// of `b`: one block of a BFP row, with `b` built once for every block.
///
/// # Panics
/// If those quads run past `b`'s rows or `out` is not `b.rows * p.rows()`
/// long.
pub fn quad_products_from(b: &QuadBroadcast, first: usize, p: &QuadPanels, out: &mut [i32]) {
    let rows = Rows::checked(&b.words, b.rows, b.quads, first, p.quads, p.rows, out.len());
    #[cfg(target_arch = "x86_64")]
    if quads_available() {
        // SAFETY: the CPU has AVX-512F and VNNI, checked just above.
        unsafe { x86::quad_products_avx512vnni(&rows, p, out) };
        return;
    }
    quad_products_portable(&rows, p, out);
}

/// Plain Rust over the same layout.
fn quad_products_portable(b: &Rows<'_>, p: &QuadPanels, out: &mut [i32]) {
    let (quads, stride) = (p.quads, b.stride);
    blocked_over(
        b,
        quads,
        p.rows,
        |q| p.panel(q),
        out,
        |words, rows, q, panel, acc| {
            for (i, a) in acc.iter_mut().enumerate().take(rows) {
                a.copy_from_slice(&p.start[q * LANES..(q + 1) * LANES]);
                for (j, &w) in words[i * stride..i * stride + quads].iter().enumerate() {
                    let bytes = w.to_le_bytes();
                    let group = &panel[j * GROUP..(j + 1) * GROUP];
                    for (l, x) in a.iter_mut().enumerate() {
                        for (t, &u) in bytes.iter().enumerate() {
                            let term = i32::from(u) * i32::from(group[QUAD * l + t]);
                            *x = x.wrapping_add(term);
                        }
                    }
                }
            }
        },
    );
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `out[4l + t] = runs[t][l]`: four runs of 16 bytes interleaved byte
    /// by byte, in SSE2 (every x86-64 has it), where the byte loop writes
    /// one byte at a time.
    pub(super) fn interleave4(runs: [&[i8]; 4], out: &mut [i8; 64]) {
        assert!(runs.iter().all(|r| r.len() == 16), "runs of 16 bytes");
        // SAFETY: SSE2 is part of x86-64; every load reads one whole run
        // of 16 bytes (asserted) and every store writes 16 of `out`'s 64.
        unsafe {
            let [r0, r1, r2, r3] = runs.map(|r| _mm_loadu_si128(r.as_ptr().cast()));
            // Byte pairs (run 0, run 1) and (run 2, run 3) of lanes 0-7
            // and 8-15 ...
            let (p01_lo, p01_hi) = (_mm_unpacklo_epi8(r0, r1), _mm_unpackhi_epi8(r0, r1));
            let (p23_lo, p23_hi) = (_mm_unpacklo_epi8(r2, r3), _mm_unpackhi_epi8(r2, r3));
            // ... then pairs of pairs: four bytes a lane, four lanes a store.
            let quads = [
                _mm_unpacklo_epi16(p01_lo, p23_lo),
                _mm_unpackhi_epi16(p01_lo, p23_lo),
                _mm_unpacklo_epi16(p01_hi, p23_hi),
                _mm_unpackhi_epi16(p01_hi, p23_hi),
            ];
            for (i, v) in quads.iter().enumerate() {
                _mm_storeu_si128(out.as_mut_ptr().add(16 * i).cast(), *v);
            }
        }
    }

    use super::{blocked_over, QuadPanels, Rows, GROUP, LANES};
    use crate::kernel::ROWS;

    /// 16 lanes of four u8 x i8 products per `vpdpbusd`, 8 rows of `b` per
    /// step.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn quad_products_avx512vnni(b: &Rows<'_>, p: &QuadPanels, out: &mut [i32]) {
        let (quads, stride) = (p.quads, b.stride);
        blocked_over(
            b,
            quads,
            p.rows,
            |q| p.panel(q),
            out,
            |words, rows, q, panel, acc| {
                let start = &p.start[q * LANES..(q + 1) * LANES];
                // SAFETY: `start` is 16 i32, 64 bytes.
                let init = unsafe { _mm512_loadu_si512(start.as_ptr().cast()) };
                let mut sums = [init; ROWS];
                for j in 0..quads {
                    // SAFETY: a panel holds `quads` groups of 64 bytes, and
                    // j < quads.
                    let lanes = unsafe { _mm512_loadu_si512(panel.as_ptr().add(j * GROUP).cast()) };
                    for (i, s) in sums.iter_mut().enumerate().take(rows) {
                        let x = _mm512_set1_epi32(words[i * stride + j]);
                        *s = _mm512_dpbusd_epi32(*s, x, lanes);
                    }
                }
                for (s, a) in sums.iter().zip(acc.iter_mut()).take(rows) {
                    // SAFETY: `a` is 16 i32, 64 bytes.
                    unsafe { _mm512_storeu_si512(a.as_mut_ptr().cast(), *s) };
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn reference(b: &[i8], p: &[i8], rows: usize, cols: usize, k: usize) -> Vec<i32> {
        let mut out = vec![0i32; rows * cols];
        for r in 0..rows {
            for l in 0..cols {
                out[r * cols + l] = (0..k).fold(0i32, |s, kk| {
                    s.wrapping_add(i32::from(b[r * k + kk]) * i32::from(p[l * k + kk]))
                });
            }
        }
        out
    }

    /// Both versions agree with the definition around every block edge
    /// (K not a multiple of 4, partial panels and row steps), extremes
    /// -128 and 127 included, and with the i16 kernel.
    #[test]
    fn the_int8_kernel_matches_the_definition() {
        let mut rng = SplitMix64::new(31);
        for &(rows, cols, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 4),
            (9, 17, 9),
            (17, 33, 64),
            (40, 3, 27),
            (5, 16, 301),
            (33, 48, 2050),
        ] {
            let value = |rng: &mut SplitMix64| match rng.below(6) {
                0 => i8::MIN,
                1 => i8::MAX,
                _ => rng.below(256) as u8 as i8,
            };
            let b: Vec<i8> = (0..rows * k).map(|_| value(&mut rng)).collect();
            let p: Vec<i8> = (0..cols * k).map(|_| value(&mut rng)).collect();
            let want = reference(&b, &p, rows, cols, k);
            let (bb, pp) = (
                QuadBroadcast::new(&b, rows, k),
                QuadPanels::pack(&p, cols, k),
            );
            let mut got = vec![0; rows * cols];
            quad_products(&bb, &pp, &mut got);
            assert_eq!(got, want, "dispatched kernel on {rows}x{cols}x{k}");
            let mut portable = vec![0; rows * cols];
            let view = Rows {
                words: &bb.words,
                rows,
                stride: bb.quads,
                first: 0,
            };
            quad_products_portable(&view, &pp, &mut portable);
            assert_eq!(portable, want, "portable kernel on {rows}x{cols}x{k}");
            let mut i16_kernel = vec![0; rows * cols];
            super::super::products(
                &super::super::Broadcast::new(&b, rows, k),
                &super::super::Panels::pack(&p, cols, k),
                &mut i16_kernel,
            );
            assert_eq!(i16_kernel, want, "i16 kernel on {rows}x{cols}x{k}");
        }
    }

    /// A block of K quads out of longer rows matches the definition on that
    /// block alone, as the BFP golden model reads it.
    #[test]
    fn a_block_of_quads_matches_the_definition() {
        let mut rng = SplitMix64::new(37);
        let (rows, cols, block, blocks) = (11, 35, 32, 3);
        let k = block * blocks;
        let b: Vec<i8> = (0..rows * k).map(|_| rng.below(256) as u8 as i8).collect();
        let p: Vec<i8> = (0..cols * k).map(|_| rng.below(256) as u8 as i8).collect();
        let whole = QuadBroadcast::new(&b, rows, k);
        for j in 0..blocks {
            let part = |x: &[i8]| -> Vec<i8> {
                x.chunks_exact(k)
                    .flat_map(|row| row[j * block..(j + 1) * block].to_vec())
                    .collect()
            };
            let want = reference(&part(&b), &part(&p), rows, cols, block);
            let mut got = vec![0; rows * cols];
            let panels = QuadPanels::pack(&part(&p), cols, block);
            quad_products_from(&whole, j * block / QUAD, &panels, &mut got);
            assert_eq!(got, want, "block {j}");
        }
    }

    /// Packing a block of columns in place equals packing a copy of it.
    #[test]
    fn columns_pack_as_copies_do() {
        let mut rng = SplitMix64::new(41);
        let (rows, stride, first, k) = (21, 96, 32, 32);
        let x: Vec<i8> = (0..rows * stride)
            .map(|_| rng.below(256) as u8 as i8)
            .collect();
        let copy: Vec<i8> = x
            .chunks_exact(stride)
            .flat_map(|r| r[first..first + k].to_vec())
            .collect();
        assert_eq!(
            QuadPanels::pack_columns(&x, rows, stride, first, k),
            QuadPanels::pack(&copy, rows, k)
        );
        let (a, b) = (
            QuadBroadcast::from_columns(&x, rows, stride, first, k),
            QuadBroadcast::new(&copy, rows, k),
        );
        assert_eq!((a.rows, a.quads, a.words), (b.rows, b.quads, b.words));
    }

    /// Packing the transpose in place equals packing a transposed copy,
    /// over partial panels and K not a multiple of 4.
    #[test]
    fn transposed_packs_as_a_transposed_copy_does() {
        let mut rng = SplitMix64::new(43);
        for (k, rows) in [(1, 1), (3, 5), (4, 16), (7, 33), (9, 49), (24, 200)] {
            let x: Vec<i8> = (0..k * rows).map(|_| rng.below(256) as u8 as i8).collect();
            let copy: Vec<i8> = (0..rows * k).map(|i| x[(i % k) * rows + i / k]).collect();
            assert_eq!(
                QuadPanels::pack_transposed(&x, k, rows),
                QuadPanels::pack(&copy, rows, k),
                "{k} x {rows}"
            );
        }
    }

    /// All -128 by all -128 over a long K: each product is 2^14, the sum
    /// passes 2^31 and wraps, as the i16 kernel's does.
    #[test]
    fn long_sums_wrap() {
        let k = 1 << 17;
        let b = vec![i8::MIN; k];
        let p = vec![i8::MIN; k];
        let mut got = [0i32];
        quad_products(
            &QuadBroadcast::new(&b, 1, k),
            &QuadPanels::pack(&p, 1, k),
            &mut got,
        );
        assert_eq!(got[0], ((1u64 << 31) as u32) as i32);
    }
}
