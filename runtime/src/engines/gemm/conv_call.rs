//! One group of a convolution with one input channel per group (a
//! depthwise convolution) as a GEMM job that carries the activations
//! ungathered: the layer's int8 input, shared by every group's call, and
//! the convolution's geometry.
//!
//! The accelerator takes the call as the GEMM it is (`problem` builds the
//! im2col A once, on first use, for the simulator, a board or a replay).
//! The golden model does not need A: a call's raw sums are the kernel taps
//! times the input, read straight from a zero-point-padded copy of the
//! channel's plane, split by column phase ([`TapLayout`]) so that every tap
//! reads consecutive values, 16 outputs at a time. The integers are the
//! same as the GEMM's in any order of terms (every operation wraps mod
//! 2^32), and in f32 where no partial sum can reach 2^24 ([`TapSums`]), so
//! the result is the GEMM golden model's bit for bit; a test holds the two
//! equal over strides, dilations, padding, layouts, depth multipliers and
//! codebooks, for every routine. Depthwise convolutions that are not 2-D
//! (rare) take the gathered GEMM's golden model.
//!
//! Why: a depthwise call has K = 9, so building A (nine bytes per output)
//! and packing it for the kernels cost many times its 9 MACs per output;
//! MobileNet-class models make thousands of such calls per inference.

use std::sync::{Arc, OnceLock};

use kiln_spec::Design;

use super::job::{golden_output, signature, ENGINE};
use super::{finish, golden_gemm, validate_weights, GemmError, GemmProblem, WeightCodes};
use crate::backend::BackendError;
use crate::engines::{DeviceImage, Job, Output, Signature};
use crate::formats::requant::{ChannelParams, OutputMode};
use crate::formats::Codebook;
use crate::model::site::{ConvSite, PlaneGeometry, TapLayout};

/// Group `group` of the convolution `site` on the int8 activations `x`
/// (the whole layer input), with weights `b` (N x K codes, K the kernel's
/// taps) and N channel records.
#[derive(Debug, Clone)]
pub struct ConvCall {
    pub x: Arc<Vec<i8>>,
    pub site: Arc<ConvSite>,
    pub group: usize,
    pub b: WeightCodes,
    pub channels: Vec<ChannelParams>,
    pub act_zero_point: i8,
    pub output: OutputMode,
    /// The call as a plain GEMM, built at its first use.
    problem: OnceLock<GemmProblem>,
}

impl ConvCall {
    /// The call; errors unless `site` has one input channel per group and
    /// `x` is the whole input it reads.
    pub fn new(
        x: Arc<Vec<i8>>,
        site: Arc<ConvSite>,
        group: usize,
        b: WeightCodes,
        channels: Vec<ChannelParams>,
        act_zero_point: i8,
        output: OutputMode,
    ) -> Result<Self, GemmError> {
        site.check_plane_call(group, x.len())?;
        Ok(Self {
            x,
            site,
            group,
            b,
            channels,
            act_zero_point,
            output,
            problem: OnceLock::new(),
        })
    }

    fn dims(&self) -> (usize, usize, usize) {
        (self.site.m(), self.site.n(), self.site.k())
    }

    /// The call as a plain GEMM: A gathered (im2col), the rest shared.
    pub fn problem(&self) -> &GemmProblem {
        self.problem.get_or_init(|| {
            let (m, n, k) = self.dims();
            GemmProblem {
                m,
                n,
                k,
                a: self.site.gather(&self.x, self.group, self.act_zero_point),
                b: self.b.clone(),
                channels: self.channels.clone(),
                act_zero_point: self.act_zero_point,
                output: self.output,
            }
        })
    }

    /// The accelerator's outputs, M x N, from the input planes directly.
    pub fn golden(&self, codebook: &Codebook) -> Result<Vec<i32>, GemmError> {
        self.golden_with(codebook, TapSums::fastest())
    }

    fn golden_with(&self, codebook: &Codebook, sums: TapSums) -> Result<Vec<i32>, GemmError> {
        let Some(geometry) = self.site.plane_geometry() else {
            // 1-D and 3-D depthwise convolutions are rare: the gathered GEMM.
            return golden_gemm(codebook, self.problem());
        };
        let (m, n, k) = self.dims();
        validate_weights(m, n, k, &self.b, &self.channels, codebook)?;
        let values = codebook.values();
        // Codes are below the codebook's length (validated).
        let w: Vec<i32> = self.b.iter().map(|&c| values[usize::from(c)]).collect();
        let w_sums: Vec<i32> = w
            .chunks_exact(k)
            .map(|row| row.iter().fold(0i32, |s, &v| s.wrapping_add(v)))
            .collect();
        Ok(finish(
            self.raw_2d(&geometry, &w, sums),
            &w_sums,
            &self.channels,
            self.act_zero_point,
            self.output,
        ))
    }

    /// Raw sums, M x N, of a 2-D convolution, the planes padded with the
    /// zero point (as the im2col pads), with `sums`' routine, in f32 where
    /// that is exact (see [`TapSums`]).
    fn raw_2d(&self, g: &PlaneGeometry, w: &[i32], sums: TapSums) -> Vec<i32> {
        let k = self.site.k();
        let layout = g.tap_layout();
        let largest = w.iter().map(|v| u64::from(v.unsigned_abs())).max();
        // |a| <= 128 (int8 and its zero point): no partial sum reaches 2^24.
        let exact_in_f32 = (k as u64) * 128 * largest.unwrap_or(0) < 1 << 24;
        let sums = if exact_in_f32 { sums } else { TapSums::I32 };
        let za = self.act_zero_point;
        let width = g.out[1];
        match sums {
            TapSums::I32 => self.sum_planes(g, &layout, i32::from(za), w, |values, w_row, acc| {
                sum_taps_i32(values, &layout, width, w_row, acc)
            }),
            TapSums::F32 => {
                let mut acc_f = vec![0f32; g.out[0] * width];
                let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                self.sum_planes(g, &layout, f32::from(za), &wf, |values, w_row, acc| {
                    sum_taps_f32(values, &layout, width, w_row, &mut acc_f);
                    // Whole numbers below 2^24: exact as i32.
                    for (a, &v) in acc.iter_mut().zip(&acc_f) {
                        *a = v as i32;
                    }
                })
            }
            #[cfg(target_arch = "x86_64")]
            TapSums::F32Avx512 => {
                let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                self.sum_planes(g, &layout, f32::from(za), &wf, |values, w_row, acc| {
                    x86::sum_taps(values, &layout, width, w_row, acc)
                })
            }
        }
    }

    /// Raw sums, M x N: per image, the channel's plane as `T` padded with
    /// `pad` and arranged by `layout` (with a chunk of slack past its end),
    /// then `sum(values, w_row, acc)` into each weight row's outputs.
    fn sum_planes<T: Copy + From<i8>>(
        &self,
        g: &PlaneGeometry,
        layout: &TapLayout,
        pad: T,
        w: &[T],
        mut sum: impl FnMut(&[T], &[T], &mut [i32]),
    ) -> Vec<i32> {
        let (m, n, k) = self.dims();
        let outs = g.out[0] * g.out[1];
        let mut raw = vec![0i32; m * n];
        let mut acc = vec![0i32; outs];
        let (mut plane, mut scratch) = (Vec::new(), Vec::new());
        for img in 0..self.site.images {
            self.site
                .fill_plane(g, &self.x, img, self.group, pad, &mut plane);
            // The AVX-512 routine reads whole chunks past a row's end.
            let values = layout.arrange(&mut plane, &mut scratch, CHUNK, pad);
            for (ch, w_row) in w.chunks_exact(k).enumerate() {
                sum(values, w_row, &mut acc);
                // Output o of image img, channel ch, is raw[(img * outs + o) * n + ch].
                let image = &mut raw[img * outs * n..(img + 1) * outs * n];
                if n == 1 {
                    image.copy_from_slice(&acc);
                } else {
                    for (r, &v) in image.iter_mut().skip(ch).step_by(n).zip(&acc) {
                        *r = v;
                    }
                }
            }
        }
        raw
    }
}

/// How a 2-D call sums its taps. The sums are the GEMM's wrapping i32
/// ones; f32 gives the same integers when no partial sum can reach 2^24
/// (checked per call), and its multiply-adds vectorise best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TapSums {
    I32,
    /// The portable f32 routine.
    F32,
    /// f32 in AVX-512 registers, written out: `CHUNK` outputs held through
    /// every tap.
    #[cfg(target_arch = "x86_64")]
    F32Avx512,
}

impl TapSums {
    fn fastest() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return TapSums::F32Avx512;
        }
        TapSums::F32
    }
}

/// A multiply-add as the tap sums take it: wrapping for i32 (the GEMM's
/// definition), plain for f32 (used only where it is exact).
trait TapValue: Copy + Default {
    fn mul_add(self, p: Self, w: Self) -> Self;
}

impl TapValue for i32 {
    #[inline(always)]
    fn mul_add(self, p: i32, w: i32) -> i32 {
        self.wrapping_add(p.wrapping_mul(w))
    }
}

impl TapValue for f32 {
    #[inline(always)]
    fn mul_add(self, p: f32, w: f32) -> f32 {
        self + p * w
    }
}

/// Outputs summed side by side in registers (one AVX-512 register of f32 or
/// i32).
const CHUNK: usize = 16;

/// `acc` (output rows of `width`) = the sum over taps of `w_row[tap]` times
/// the values under the tap, read as `layout` says: `CHUNK` outputs at a
/// time with their sums in registers through every tap, then the row's
/// last few outputs one tap at a time.
#[inline(always)]
fn sum_taps<T: TapValue>(
    values: &[T],
    layout: &TapLayout,
    width: usize,
    w_row: &[T],
    acc: &mut [T],
) {
    for (out_row, acc_row) in acc.chunks_exact_mut(width).enumerate() {
        let base = out_row * layout.row_step;
        let whole = width - width % CHUNK;
        for (o0, sums) in (0..whole)
            .step_by(CHUNK)
            .zip(acc_row.chunks_exact_mut(CHUNK))
        {
            let mut s = [T::default(); CHUNK];
            for (&first, &wv) in layout.starts.iter().zip(w_row) {
                let at = first + base + o0;
                let src: &[T; CHUNK] = values[at..at + CHUNK].try_into().expect("CHUNK values");
                for (s, &p) in s.iter_mut().zip(src) {
                    *s = s.mul_add(p, wv);
                }
            }
            sums.copy_from_slice(&s);
        }
        let tail = &mut acc_row[whole..];
        let left = tail.len();
        tail.fill(T::default());
        for (&first, &wv) in layout.starts.iter().zip(w_row) {
            let at = first + base + whole;
            for (a, &p) in tail.iter_mut().zip(&values[at..at + left]) {
                *a = a.mul_add(p, wv);
            }
        }
    }
}

/// [`sum_taps`] in wrapping i32, compiled for AVX2 and AVX-512 too (the
/// default x86-64 target has no 32-bit vector multiply).
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn sum_taps_i32(values: &[i32], layout: &TapLayout, width: usize, w_row: &[i32], acc: &mut [i32]) {
    sum_taps(values, layout, width, w_row, acc)
}

/// [`sum_taps`] in f32, compiled for AVX2 and AVX-512 too.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn sum_taps_f32(values: &[f32], layout: &TapLayout, width: usize, w_row: &[f32], acc: &mut [f32]) {
    sum_taps(values, layout, width, w_row, acc)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{TapLayout, CHUNK};

    /// [`super::sum_taps`] over f32 values into exact i32 sums, `CHUNK`
    /// outputs at a time in one register through every tap.
    pub(super) fn sum_taps(
        values: &[f32],
        layout: &TapLayout,
        width: usize,
        w_row: &[f32],
        acc: &mut [i32],
    ) {
        let rows = acc.len() / width;
        let reach = layout.starts.iter().max().copied().unwrap_or(0)
            + rows.saturating_sub(1) * layout.row_step
            + width.next_multiple_of(CHUNK);
        // Every load below reads values[start + o0 .. start + o0 + 16] with
        // o0 + 16 <= width rounded up to CHUNK.
        assert!(
            reach <= values.len()
                && w_row.len() >= layout.starts.len()
                && acc.len() == rows * width,
            "a row's taps reach past its plane"
        );
        assert!(std::arch::is_x86_feature_detected!("avx512f"));
        // SAFETY: the CPU has AVX-512F (asserted); loads are in bounds.
        unsafe { rows_avx512(values, layout, width, w_row, acc) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn rows_avx512(
        values: &[f32],
        layout: &TapLayout,
        width: usize,
        w_row: &[f32],
        acc: &mut [i32],
    ) {
        let plane = values.as_ptr();
        for (out_row, acc_row) in acc.chunks_exact_mut(width).enumerate() {
            let base = out_row * layout.row_step;
            for o0 in (0..width).step_by(CHUNK) {
                let valid = (width - o0).min(CHUNK);
                let mut s = _mm512_setzero_ps();
                for (&first, &w) in layout.starts.iter().zip(w_row) {
                    // SAFETY: in bounds (asserted by the caller).
                    let v = unsafe { _mm512_loadu_ps(plane.add(first + base + o0)) };
                    // Whole numbers below 2^24: exact.
                    s = _mm512_fmadd_ps(v, _mm512_set1_ps(w), s);
                }
                let mask = ((1u32 << valid) - 1) as u16;
                // SAFETY: lanes o0 .. o0 + valid of the row.
                unsafe {
                    _mm512_mask_storeu_epi32(
                        acc_row.as_mut_ptr().add(o0).cast(),
                        mask,
                        _mm512_cvttps_epi32(s),
                    )
                };
            }
        }
    }
}

impl Job for ConvCall {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    /// The GEMM's: the accelerator runs exactly that GEMM.
    fn signature(&self) -> Signature {
        let (m, n, k) = self.dims();
        signature(m, k, n, self.output)
    }

    fn golden(&self, design: &Design) -> Result<Output, BackendError> {
        golden_output(design, |codebook| ConvCall::golden(self, codebook))
    }

    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError> {
        self.problem().to_device(design)
    }

    fn clone_box(&self) -> Box<dyn Job> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::site::TestConv;
    use crate::rng::SplitMix64;

    /// Every tap-sum routine this CPU runs.
    fn routines() -> Vec<TapSums> {
        let mut all = vec![TapSums::I32, TapSums::F32];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            all.push(TapSums::F32Avx512);
        }
        all
    }

    /// The direct golden model and the GEMM golden model on the gathered
    /// A agree bit for bit, on 2-D geometries, both output modes and three
    /// codebooks (int8, PoT's +-128, APoT).
    #[test]
    fn direct_sums_are_the_gemms() {
        let mut rng = SplitMix64::new(43);
        let geometries = TestConv::depthwise_cases();
        // The wide codebook's sums pass 2^24: the i32 routine's.
        for codebook in crate::engines::gemm::test_codebooks() {
            for g in &geometries {
                let site = Arc::new(g.site());
                let (n, k) = (site.n(), site.k());
                let spatial: usize = g.input.iter().product();
                let x: Arc<Vec<i8>> = Arc::new(
                    (0..g.images * g.channels * spatial)
                        .map(|_| rng.below(256) as u8 as i8)
                        .collect(),
                );
                for group in 0..g.channels {
                    for output in [OutputMode::Int32, OutputMode::Int8 { zero_point: -3 }] {
                        let b: Vec<u8> = (0..n * k)
                            .map(|_| rng.below(codebook.len() as u64) as u8)
                            .collect();
                        let channels = (0..n)
                            .map(|_| ChannelParams {
                                bias: rng.below(1 << 16) as i32 - (1 << 15),
                                multiplier: 1 << 30,
                                shift: -8,
                            })
                            .collect();
                        let call = ConvCall::new(
                            x.clone(),
                            site.clone(),
                            group,
                            b.into(),
                            channels,
                            rng.below(256) as u8 as i8,
                            output,
                        )
                        .unwrap();
                        let want = golden_gemm(&codebook, call.problem()).unwrap();
                        for sums in routines() {
                            assert_eq!(
                                call.golden_with(&codebook, sums).unwrap(),
                                want,
                                "{:?} kernel {:?}, group {group}, {output:?}, {:?}, {sums:?}",
                                g.input,
                                g.kernel,
                                codebook.values()[..4].to_vec()
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_an_input_of_the_wrong_size() {
        let g = TestConv::depthwise(false, 1, 2, 1, &[4, 4], &[3, 3], &[1, 1], &[1, 1], &[1, 1]);
        let err = ConvCall::new(
            Arc::new(vec![0; 31]),
            Arc::new(g.site()),
            0,
            vec![0u8; 9].into(),
            vec![ChannelParams {
                bias: 0,
                multiplier: 0,
                shift: 0,
            }],
            0,
            OutputMode::Int32,
        )
        .unwrap_err();
        assert!(err.to_string().contains("32"), "{err}");
    }
}
