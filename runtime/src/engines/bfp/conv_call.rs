//! One group of a depthwise convolution (one input channel per group) as a
//! BFP MatMul job that carries the activations ungathered: the layer's f32
//! input, shared by every group's call, and the convolution's geometry.
//!
//! The engine takes the call as the MatMul it is: `problem` gathers the
//! im2col A and quantises it once, on first use, for the simulator, a
//! board or a replay. The golden model does not build A. When the kernel's
//! taps fit in one block (3x3 and 5x5 in blocks of 32), every row of A is
//! one block, so an output's value depends only on its own patch:
//!
//! 1. `amax`, the patch's largest magnitude, a running maximum over the
//!    taps along each output row of a zero-padded plane (the im2col pads
//!    with 0.0, which never raises a maximum);
//! 2. the block exponent `X` from `amax`'s f32 exponent field, and the codes
//!    `q = clamp(round_half_even(x * 2^(127 + F - X)), -127, 127)`, tap by
//!    tap along the row;
//! 3. `p = sum q * qw`, and the output `(p * 2^(X + Xw + G - E_OFF)) as f32`,
//!    which is the golden MatMul's accumulator for a single block.
//!
//! Steps 2 and 3 run in f32, which is exact here: `x * 2^(127 + F - X)` is
//! below 2^7 in magnitude and, as a scaling by a power of two, exact unless
//! it falls below 2^-126, where both roundings give 0; `p` is an integer
//! below 2^24. The scale `2^(133 - X)` is an f32 only for `X >= 6`: a patch
//! whose `amax` is below 2^-121 (but not 0) takes the matrix quantiser's
//! own block routine. A plane holding a NaN or an infinity takes the
//! gathered path, whose quantiser reports it. A test holds the result to
//! `golden_matmul` on the gathered A bit for bit.
//!
//! Why: a depthwise call has K = 9 in a block of 32, so gathering A (nine
//! floats per output), quantising it and packing the blocks for the
//! kernels cost many times the 9 MACs per output; MobileNet-class models
//! make thousands of such calls per inference.

use std::sync::{Arc, OnceLock};

use kiln_spec::Design;

use super::job::{check_formats, signature, MatmulProblem, ENGINE};
use super::matrix::{all_finite, quantise_block};
use super::{e_off, golden_matmul, BfpError, BfpFormat, BfpMatrix, ElementKind, GUARD_BITS};
use crate::backend::BackendError;
use crate::engines::{DeviceImage, Job, Output, Signature};
use crate::model::site::ConvSite;

/// Group `group` of the convolution `site` on the f32 activations `x` (the
/// whole layer input), with weights `w` (N x K, K the kernel's taps).
#[derive(Debug, Clone)]
pub struct ConvCall {
    pub x: Arc<Vec<f32>>,
    pub site: Arc<ConvSite>,
    pub group: usize,
    pub w: BfpMatrix,
    /// The call as a plain MatMul, built at its first use.
    problem: OnceLock<Result<MatmulProblem, BfpError>>,
}

impl ConvCall {
    /// The call; errors unless `site` has one input channel per group, `x`
    /// is the whole input it reads, and `w` has the site's N and K.
    pub fn new(
        x: Arc<Vec<f32>>,
        site: Arc<ConvSite>,
        group: usize,
        w: BfpMatrix,
    ) -> Result<Self, BfpError> {
        let (n, k) = (site.n(), site.k());
        site.check_plane_call(group, x.len())?;
        if (w.rows(), w.k()) != (n, k) {
            return Err(BfpError::Length {
                what: "the convolution's weights",
                len: w.rows() * w.k(),
                rows: n,
                per_row: k,
                expected: (n * k).to_string(),
            });
        }
        Ok(Self {
            x,
            site,
            group,
            w,
            problem: OnceLock::new(),
        })
    }

    /// The activations' format: mxint8 in the weights' block size.
    fn a_format(&self) -> Result<BfpFormat, BfpError> {
        BfpFormat::new(ElementKind::Int8, self.w.format().block)
    }

    /// The call as a plain MatMul: A gathered (im2col) and quantised.
    pub fn problem(&self) -> Result<&MatmulProblem, BfpError> {
        self.problem
            .get_or_init(|| {
                let a = self.site.gather(&self.x, self.group, 0.0);
                Ok(MatmulProblem {
                    a: BfpMatrix::quantise(self.a_format()?, self.site.m(), self.site.k(), &a)?,
                    w: self.w.clone(),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The engine's outputs, M x N, from the input planes directly where
    /// the taps fit in one block (the module documentation says how).
    pub fn golden(&self) -> Result<Vec<f32>, BfpError> {
        self.golden_with(row_kernel())
    }

    fn golden_with(&self, kernel: RowKernel) -> Result<Vec<f32>, BfpError> {
        let geometry = self
            .site
            .plane_geometry()
            .filter(|g| g.taps() <= self.w.format().block);
        let Some(g) = geometry else {
            let p = self.problem()?;
            return golden_matmul(&p.a, &p.w);
        };
        let (m, n, k) = (self.site.m(), self.site.n(), self.site.k());
        let (outs, width) = (g.out[0] * g.out[1], g.out[1]);
        let e_off = e_off(self.w.format().element);
        let mut out = vec![0f32; m * n];
        let mut row = vec![0f32; width];
        let (mut plane, mut phases) = (Vec::new(), Vec::new());
        let mut starts = vec![0usize; k];
        // Each weight row's codes as f32, and Xw + G - E_OFF: outputs scale
        // by 2^(X + Xw + G - E_OFF).
        let weights: Vec<(Vec<f32>, i32)> = (0..n)
            .map(|ch| {
                let codes = self.w.row_elems(ch)[..k].iter().map(|&q| f32::from(q));
                let exp = i32::from(self.w.row_exps(ch)[0]) + GUARD_BITS as i32 - e_off;
                (codes.collect(), exp)
            })
            .collect();
        let layout = g.tap_layout();
        for img in 0..self.site.images {
            self.site
                .fill_plane(&g, &self.x, img, self.group, 0.0f32, &mut plane);
            if !all_finite(&plane) {
                let p = self.problem()?;
                return golden_matmul(&p.a, &p.w);
            }
            let values = layout.arrange(&mut plane, &mut phases, CHUNK, 0.0);
            for out_row in 0..g.out[0] {
                for (start, &first) in starts.iter_mut().zip(&layout.starts) {
                    *start = first + out_row * layout.row_step;
                }
                let first = img * outs + out_row * width;
                let taps = Taps {
                    plane: values,
                    starts: &starts,
                };
                for (ch, (codes, exp)) in weights.iter().enumerate() {
                    let weights = RowWeights { codes, exp: *exp };
                    if n == 1 {
                        kernel(&taps, &weights, &mut out[first..first + width]);
                    } else {
                        kernel(&taps, &weights, &mut row);
                        for (o, &v) in row.iter().enumerate() {
                            out[(first + o) * n + ch] = v;
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Outputs computed side by side (one AVX-512 register of f32).
const CHUNK: usize = 16;

/// The smallest block exponent whose scale `2^(133 - X)` is an f32.
const MIN_F32_EXP: u32 = 6;

/// One output row's taps: tap `t` of output `o` reads
/// `plane[starts[t] + o]`.
struct Taps<'a> {
    plane: &'a [f32],
    starts: &'a [usize],
}

/// One weight row: its codes as f32 and `Xw + G - E_OFF`.
struct RowWeights<'a> {
    codes: &'a [f32],
    exp: i32,
}

/// A routine for one output row (see [`row_outputs_portable`]).
type RowKernel = fn(&Taps<'_>, &RowWeights<'_>, &mut [f32]);

/// The fastest row routine this CPU runs: AVX-512 written out (LLVM does
/// not vectorise the portable routine's fixed-size lanes well), else the
/// portable one.
fn row_kernel() -> RowKernel {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return x86::row_outputs;
    }
    row_outputs_portable
}

/// The module documentation's steps 1 to 3 for one output row, `CHUNK`
/// outputs at a time: `out[o]` for every output `o`. The plane must hold a
/// whole chunk of readable values past the row's last output. A patch too
/// small for an f32 scale takes the matrix quantiser's block routine.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn row_outputs_portable<'a>(t: &Taps<'a>, w: &RowWeights<'a>, out: &mut [f32]) {
    let frac = ElementKind::Int8.frac_bits() as u32;
    let max = f32::from(ElementKind::Int8.max_code());
    let width = out.len();
    for o0 in (0..width).step_by(CHUNK) {
        let valid = (width - o0).min(CHUNK);
        // Step 1: amax of each patch.
        let mut amax = [0f32; CHUNK];
        for &start in t.starts {
            let lanes = lanes(t, start + o0);
            for (m, v) in amax.iter_mut().zip(lanes) {
                *m = m.max(v.abs());
            }
        }
        // Step 2: X from amax's biased exponent (floor(log2) + 127 for a
        // finite amax; 0 for 0 and the subnormals) and the scale.
        let mut exps = [0u32; CHUNK];
        let mut scales = [0f32; CHUNK];
        let mut tiny = 0usize;
        for (l, ((x, s), &m)) in exps.iter_mut().zip(&mut scales).zip(&amax).enumerate() {
            *x = m.to_bits() >> 23;
            let fits = *x >= MIN_F32_EXP;
            *s = if fits {
                f32::from_bits((254 + frac).wrapping_sub(*x) << 23)
            } else {
                0.0
            };
            tiny += usize::from(!fits & (m != 0.0) & (l < valid));
        }
        // Steps 2 and 3: the codes, summed against the weights as they come.
        let mut sums = [0f32; CHUNK];
        for (&start, &wq) in t.starts.iter().zip(w.codes) {
            let lanes = lanes(t, start + o0);
            for ((p, v), &s) in sums.iter_mut().zip(lanes).zip(&scales) {
                *p += (v * s).round_ties_even().clamp(-max, max) * wq;
            }
        }
        if tiny > 0 {
            tiny_patches(t, w, o0, &amax[..valid], &mut exps, &mut sums);
        }
        // All lanes (a fixed count vectorises), then the valid ones out.
        let mut values = [0f32; CHUNK];
        for ((o, &p), &x) in values.iter_mut().zip(&sums).zip(&exps) {
            // p is a whole number below 2^24; the exponent lies in
            // -266..=246 (X, Xw <= 254), a normal f64, so the product is
            // exact and the one rounding is to f32. Through i32, an
            // integer sum of +0.0 and -0.0 terms reads +0.0.
            let scale = f64::from_bits(((x as i32 + w.exp + 1023) as u64) << 52);
            *o = (f64::from(p as i32) * scale) as f32;
        }
        out[o0..o0 + valid].copy_from_slice(&values[..valid]);
    }
}

/// The `CHUNK` values one tap reads for outputs from `at` on.
#[inline(always)]
fn lanes<'a>(t: &Taps<'a>, at: usize) -> &'a [f32; CHUNK] {
    t.plane[at..at + CHUNK].try_into().expect("CHUNK values")
}

/// Patches whose amax is not 0 but below 2^-121, among the outputs from
/// `o0` on: X and the sum through the matrix quantiser's block routine.
#[cold]
fn tiny_patches(
    t: &Taps<'_>,
    w: &RowWeights<'_>,
    o0: usize,
    amax: &[f32],
    exps: &mut [u32],
    sums: &mut [f32],
) {
    let mut patch = vec![0f32; t.starts.len()];
    let mut codes = vec![0i8; t.starts.len()];
    for (l, &m) in amax.iter().enumerate() {
        if m == 0.0 || exps[l] >= MIN_F32_EXP {
            continue;
        }
        for (v, &start) in patch.iter_mut().zip(t.starts) {
            *v = t.plane[start + o0 + l];
        }
        exps[l] = u32::from(quantise_block(ElementKind::Int8, &patch, &mut codes));
        sums[l] = codes
            .iter()
            .zip(w.codes)
            .map(|(&q, &wq)| f32::from(q) * wq)
            .sum();
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{tiny_patches, RowWeights, Taps, CHUNK, MIN_F32_EXP};
    use crate::engines::bfp::ElementKind;

    /// [`super::row_outputs_portable`] in AVX-512 registers, one chunk of
    /// 16 outputs per step.
    pub(super) fn row_outputs(t: &Taps<'_>, w: &RowWeights<'_>, out: &mut [f32]) {
        let padded = out.len().next_multiple_of(CHUNK);
        // Every load below reads `plane[start + o0 .. start + o0 + 16]` with
        // o0 + 16 <= padded.
        assert!(
            t.starts.iter().all(|&s| s + padded <= t.plane.len())
                && w.codes.len() >= t.starts.len(),
            "a row's taps reach past its plane"
        );
        // SAFETY: the caller picks this routine only where the CPU has
        // AVX-512F (`row_kernel`); the loads are in bounds (asserted).
        unsafe { chunks(t, w, out) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn chunks(t: &Taps<'_>, w: &RowWeights<'_>, out: &mut [f32]) {
        let frac = ElementKind::Int8.frac_bits();
        let max = f32::from(ElementKind::Int8.max_code());
        let abs_bits = _mm512_set1_epi32(0x7fff_ffff);
        let (hi, lo) = (_mm512_set1_ps(max), _mm512_set1_ps(-max));
        let min_exp = _mm512_set1_epi32(MIN_F32_EXP as i32);
        let scale_top = _mm512_set1_epi32(254 + frac);
        let out_bias = _mm512_set1_epi32(w.exp + 1023);
        let plane = t.plane.as_ptr();
        let width = out.len();
        for o0 in (0..width).step_by(CHUNK) {
            let valid = (width - o0).min(CHUNK);
            let valid_mask: __mmask16 = ((1u32 << valid) - 1) as u16;
            // Step 1: amax.
            let mut amax = _mm512_setzero_si512();
            for &start in t.starts {
                // SAFETY: in bounds (asserted by the caller).
                let v = unsafe { _mm512_loadu_si512(plane.add(start + o0).cast()) };
                // Finite, non-negative floats order as their bits do.
                amax = _mm512_max_epu32(amax, _mm512_and_si512(v, abs_bits));
            }
            // Step 2: X and the scale 2^(254 + F - X), 0 where X < 6.
            let mut exps = _mm512_srli_epi32::<23>(amax);
            let fits = _mm512_cmpge_epi32_mask(exps, min_exp);
            let scales = _mm512_castsi512_ps(_mm512_maskz_slli_epi32::<23>(
                fits,
                _mm512_sub_epi32(scale_top, exps),
            ));
            let tiny = !fits & _mm512_test_epi32_mask(amax, amax) & valid_mask;
            // Steps 2 and 3: codes, summed against the weights.
            let mut sums = _mm512_setzero_ps();
            for (&start, &wq) in t.starts.iter().zip(w.codes) {
                // SAFETY: as above.
                let v = unsafe { _mm512_loadu_ps(plane.add(start + o0)) };
                let q = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    _mm512_mul_ps(v, scales),
                );
                let q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
                // Whole numbers below 2^24: the fused multiply-add is exact.
                sums = _mm512_fmadd_ps(q, _mm512_set1_ps(wq), sums);
            }
            if tiny != 0 {
                let mut x = [0u32; CHUNK];
                let mut p = [0f32; CHUNK];
                let mut m = [0f32; CHUNK];
                // SAFETY: each array holds 16 values of 4 bytes.
                unsafe {
                    _mm512_storeu_si512(x.as_mut_ptr().cast(), exps);
                    _mm512_storeu_ps(p.as_mut_ptr(), sums);
                    _mm512_storeu_si512(m.as_mut_ptr().cast(), amax);
                }
                tiny_patches(t, w, o0, &m[..valid], &mut x, &mut p);
                // SAFETY: as above.
                unsafe {
                    exps = _mm512_loadu_si512(x.as_ptr().cast());
                    sums = _mm512_loadu_ps(p.as_ptr());
                }
            }
            // Step 3's scaling: (p * 2^(X + Xw + G - E_OFF)) as f32 through
            // f64, eight lanes at a time.
            let p = _mm512_cvttps_epi32(sums);
            let e = _mm512_add_epi32(exps, out_bias);
            let half = |i: i32| {
                let (p, e) = if i == 0 {
                    (_mm512_castsi512_si256(p), _mm512_castsi512_si256(e))
                } else {
                    (
                        _mm512_extracti64x4_epi64::<1>(p),
                        _mm512_extracti64x4_epi64::<1>(e),
                    )
                };
                let scale = _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_cvtepi32_epi64(e)));
                _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtepi32_pd(p), scale))
            };
            let values = _mm512_castpd_ps(_mm512_insertf64x4::<1>(
                _mm512_castpd256_pd512(_mm256_castps_pd(half(0))),
                _mm256_castps_pd(half(1)),
            ));
            // SAFETY: lanes o0 .. o0 + valid of `out`.
            unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr().add(o0), valid_mask, values) };
        }
    }
}

impl Job for ConvCall {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    /// The MatMul's: the engine runs exactly that MatMul.
    fn signature(&self) -> Signature {
        signature(self.site.m(), self.site.k(), self.site.n())
    }

    fn golden(&self, design: &Design) -> Result<Output, BackendError> {
        check_formats(self.a_format()?, self.site.k(), &self.w, design)?;
        Ok(Output::Float(ConvCall::golden(self)?))
    }

    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError> {
        self.problem()?.to_device(design)
    }

    fn clone_box(&self) -> Box<dyn Job> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::site::{PlaneCallError, TestConv};
    use crate::rng::SplitMix64;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Every row routine this CPU runs.
    fn kernels() -> Vec<(&'static str, RowKernel)> {
        let mut all: Vec<(&'static str, RowKernel)> = vec![("portable", row_outputs_portable)];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            all.push(("avx512", x86::row_outputs));
        }
        all
    }

    /// The direct golden model and `golden_matmul` on the gathered,
    /// quantised A agree bit for bit, over strides, dilations, padding,
    /// layouts, depth multipliers, both weight formats, kernels larger than
    /// a block (which take the gathered path), 1-D convolutions, and
    /// activations spread over many exponents, tiny ones included.
    #[test]
    fn direct_outputs_are_the_matmuls() {
        let mut rng = SplitMix64::new(47);
        // Beside the shared cases, a kernel larger than a block and a 1-D
        // convolution, which take the gathered path.
        let mut geometries = TestConv::depthwise_cases();
        geometries.push(TestConv::depthwise(
            false,
            1,
            3,
            1,
            &[9, 9],
            &[7, 7],
            &[1, 1],
            &[1, 1],
            &[3, 3],
        ));
        geometries.push(TestConv::depthwise(
            false,
            1,
            3,
            2,
            &[13],
            &[3],
            &[1],
            &[1],
            &[1],
        ));
        let formats = [
            BfpFormat::new(ElementKind::Int8, 32).unwrap(),
            BfpFormat::new(ElementKind::Int4, 32).unwrap(),
            BfpFormat::new(ElementKind::Int8, 16).unwrap(),
        ];
        for format in formats {
            for g in &geometries {
                let site = Arc::new(g.site());
                let (n, k) = (site.n(), site.k());
                let spatial: usize = g.input.iter().product();
                let len = g.images * g.channels * spatial;
                // Values over many exponents (every eleventh tiny, every
                // seventh 0), then multiples of 2^-7 up to 4, which land on
                // half steps and test the ties.
                let spread: Vec<f32> = (0..len)
                    .map(|i| {
                        let e = if i % 11 == 0 {
                            -140
                        } else {
                            rng.below(40) as i32 - 20
                        };
                        let v = (rng.below(2001) as f32 - 1000.0) / 1000.0 * 2f32.powi(e);
                        if i % 7 == 0 {
                            0.0
                        } else {
                            v
                        }
                    })
                    .collect();
                let grid: Vec<f32> = (0..len)
                    .map(|_| (rng.below(1025) as f32 - 512.0) / 128.0)
                    .collect();
                for (x, group) in [spread, grid]
                    .into_iter()
                    .map(Arc::new)
                    .flat_map(|x| (0..g.channels).map(move |group| (x.clone(), group)))
                {
                    let w: Vec<f32> = (0..n * k)
                        .map(|_| (rng.below(2001) as f32 - 1000.0) / 300.0)
                        .collect();
                    let w = BfpMatrix::quantise(format, n, k, &w).unwrap();
                    let call = ConvCall::new(x.clone(), site.clone(), group, w).unwrap();
                    let p = call.problem().unwrap();
                    let gathered = golden_matmul(&p.a, &p.w).unwrap();
                    for (name, kernel) in kernels() {
                        let direct = call.golden_with(kernel).unwrap();
                        assert_eq!(
                            bits(&direct),
                            bits(&gathered),
                            "{name}: {g:?} group {group} {format:?}"
                        );
                    }
                }
            }
        }
    }

    /// A plane of all tiny values (every patch below 2^-121) and one of
    /// zeros: the quantiser's own block routine and the zero block.
    #[test]
    fn tiny_and_zero_planes() {
        let g = TestConv::depthwise(false, 1, 2, 1, &[6, 6], &[3, 3], &[1, 1], &[1, 1], &[1, 1]);
        let site = Arc::new(g.site());
        let mut x: Vec<f32> = (0..36).map(|i| (i as f32 - 17.0) * 1e-38).collect();
        x.extend([0.0f32; 36]);
        let x = Arc::new(x);
        let format = BfpFormat::new(ElementKind::Int8, 32).unwrap();
        let w = BfpMatrix::quantise(
            format,
            1,
            9,
            &[1.0, -2.0, 3.0, 0.5, 1.0, 1.0, 0.0, 1.0, 2.0],
        )
        .unwrap();
        for group in 0..2 {
            let call = ConvCall::new(x.clone(), site.clone(), group, w.clone()).unwrap();
            let p = call.problem().unwrap();
            let want = golden_matmul(&p.a, &p.w).unwrap();
            for (name, kernel) in kernels() {
                assert_eq!(
                    bits(&call.golden_with(kernel).unwrap()),
                    bits(&want),
                    "{name}"
                );
            }
            if group == 0 {
                assert!(
                    want.iter().any(|&v| v != 0.0),
                    "the tiny plane gives nonzero outputs"
                );
            }
        }
    }

    /// A NaN in the input is the quantiser's error, naming where it sits
    /// in the gathered A; wrong lengths and groups are refused.
    #[test]
    fn bad_calls_are_refused() {
        let g = TestConv::depthwise(false, 1, 2, 1, &[4, 4], &[3, 3], &[1, 1], &[1, 1], &[1, 1]);
        let site = Arc::new(g.site());
        let format = BfpFormat::new(ElementKind::Int8, 32).unwrap();
        let w = BfpMatrix::quantise(format, 1, 9, &[1.0; 9]).unwrap();
        let mut x = vec![1.0f32; 32];
        x[16 + 5] = f32::NAN;
        let x = Arc::new(x);
        let ok = ConvCall::new(x.clone(), site.clone(), 0, w.clone()).unwrap();
        assert!(ok.golden().is_ok(), "group 0 has no NaN");
        let bad = ConvCall::new(x.clone(), site.clone(), 1, w.clone()).unwrap();
        assert!(matches!(
            bad.golden().unwrap_err(),
            BfpError::NonFinite { value, .. } if value.is_nan()
        ));
        assert!(matches!(
            ConvCall::new(x.clone(), site.clone(), 2, w.clone()).unwrap_err(),
            BfpError::PlaneCall(PlaneCallError::Groups { group: 2, .. })
        ));
        assert!(matches!(
            ConvCall::new(Arc::new(vec![0.0; 31]), site.clone(), 0, w.clone()).unwrap_err(),
            BfpError::PlaneCall(PlaneCallError::Input { len: 31, .. })
        ));
        let w8 = BfpMatrix::quantise(format, 1, 8, &[1.0; 8]).unwrap();
        assert!(matches!(
            ConvCall::new(x, site, 0, w8).unwrap_err(),
            BfpError::Length { len: 8, .. }
        ));
    }
}
