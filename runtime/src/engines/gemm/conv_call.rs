//! One group of a convolution with one input channel per group (a
//! depthwise convolution) as a GEMM job that carries the activations
//! ungathered: the layer's int8 input, shared by every group's call, and
//! the convolution's geometry.
//!
//! The accelerator takes the call as the GEMM it is (`problem` builds the
//! im2col A once, on first use, for the simulator, a board or a replay).
//! The golden model does not need A: a call's raw sums are the kernel taps
//! times the input, read straight from a zero-point-padded copy of the
//! channel's plane, one tap at a time along each output row (which
//! vectorises). The integers are the same as the GEMM's in any order of
//! terms (every operation wraps mod 2^32), so the result is the GEMM
//! golden model's bit for bit; a test holds the two equal over strides,
//! dilations, padding, layouts, depth multipliers and codebooks. Depthwise
//! convolutions that are not 2-D (rare) take the gathered
//! GEMM's golden model.
//!
//! Why: a depthwise call has K = 9, so building A (nine bytes per output)
//! and packing it for the kernels cost many times its 9 MACs per output;
//! MobileNet-class models make thousands of such calls per inference.

use std::sync::{Arc, OnceLock};

use kiln_spec::{Design, GemmArray};

use super::job::{signature, ENGINE};
use super::{finish, golden_gemm, validate_weights, GemmError, GemmProblem, WeightCodes};
use crate::backend::BackendError;
use crate::engines::{DeviceImage, Job, Output, Signature};
use crate::formats::requant::{ChannelParams, OutputMode};
use crate::formats::Codebook;
use crate::model::site::{ConvSite, PlaneGeometry};

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
        if site.channels != site.groups || group >= site.groups {
            return Err(GemmError::ConvGroups {
                channels: site.channels,
                groups: site.groups,
                group,
            });
        }
        let spatial: usize = site.in_spatial.iter().product();
        let planes = site.images * site.channels;
        if x.len() != planes * spatial {
            return Err(GemmError::Length {
                operand: "A (a convolution's input)",
                shape: "images x channels by positions",
                len: x.len(),
                rows: planes,
                cols: spatial,
                expected: (planes * spatial).to_string(),
            });
        }
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
            self.raw_2d(&geometry, &w),
            &w_sums,
            &self.channels,
            self.act_zero_point,
            self.output,
        ))
    }

    /// Raw sums, M x N, of a 2-D convolution: per image, the channel's
    /// plane padded with the zero point (as the im2col pads), then for each
    /// output row and tap one multiply-add along the row.
    fn raw_2d(&self, g: &PlaneGeometry, w: &[i32]) -> Vec<i32> {
        let (m, n, k) = self.dims();
        let outs = g.out[0] * g.out[1];
        let mut raw = vec![0i32; m * n];
        let mut plane = Vec::new();
        let mut acc = vec![0i32; outs];
        for img in 0..self.site.images {
            let za = i32::from(self.act_zero_point);
            self.site
                .fill_plane(g, &self.x, img, self.group, za, &mut plane);
            for (ch, w_row) in w.chunks_exact(k).enumerate() {
                sum_taps(&plane, g, w_row, &mut acc);
                for (o, &v) in acc.iter().enumerate() {
                    raw[(img * outs + o) * n + ch] = v;
                }
            }
        }
        raw
    }
}

/// `acc` (output rows) = the sum over taps of `w_row[tap]` times the plane
/// under the tap, wrapping. Compiled for AVX2 and AVX-512 too (the default
/// x86-64 target has no 32-bit vector multiply).
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn sum_taps(plane: &[i32], g: &PlaneGeometry, w_row: &[i32], acc: &mut [i32]) {
    let ow = g.out[1];
    acc.fill(0);
    for (out_row, acc_row) in acc.chunks_exact_mut(ow).enumerate() {
        for (tap, &wv) in w_row.iter().enumerate() {
            let (start, step) = g.tap_run(out_row, tap);
            let src = &plane[start..start + (ow - 1) * step + 1];
            if step == 1 {
                // Contiguous: this is the loop that vectorises.
                for (a, &p) in acc_row.iter_mut().zip(src) {
                    *a = a.wrapping_add(p.wrapping_mul(wv));
                }
            } else {
                for (a, &p) in acc_row.iter_mut().zip(src.iter().step_by(step)) {
                    *a = a.wrapping_add(p.wrapping_mul(wv));
                }
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
        design.params::<GemmArray>()?;
        let codebook = Codebook::of_design(design)?;
        Ok(Output::Int(ConvCall::golden(self, &codebook)?))
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

    /// The direct golden model and the GEMM golden model on the gathered
    /// A agree bit for bit, on 2-D geometries, both output modes and three
    /// codebooks (int8, PoT's +-128, APoT).
    #[test]
    fn direct_sums_are_the_gemms() {
        let mut rng = SplitMix64::new(43);
        let two_d = |nhwc,
                     images,
                     multiplier: usize,
                     input: [usize; 2],
                     kernel: [usize; 2],
                     strides: [usize; 2],
                     dilations: [usize; 2],
                     pads: [usize; 2]| TestConv {
            nhwc,
            images,
            channels: 3,
            groups: 3,
            out_channels: 3 * multiplier,
            input: input.to_vec(),
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: dilations.to_vec(),
            pads: pads.to_vec(),
        };
        let geometries = [
            two_d(false, 1, 1, [9, 7], [3, 3], [1, 1], [1, 1], [1, 1]),
            two_d(false, 2, 1, [10, 9], [3, 3], [2, 2], [1, 1], [1, 1]),
            two_d(true, 2, 2, [8, 11], [3, 5], [1, 2], [2, 1], [2, 2]),
            two_d(false, 1, 1, [5, 5], [5, 5], [1, 1], [1, 1], [0, 0]),
            two_d(true, 1, 1, [12, 6], [1, 3], [3, 1], [1, 2], [0, 3]),
        ];
        for name in ["mac_dsp", "shift_pot", "shift_apot"] {
            let codebook = Codebook::named(name).unwrap();
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
                        assert_eq!(
                            call.golden(&codebook).unwrap(),
                            want,
                            "{:?} kernel {:?}, group {group}, {output:?}, {}",
                            g.input,
                            g.kernel,
                            codebook.pe()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_an_input_of_the_wrong_size() {
        let g = TestConv {
            nhwc: false,
            images: 1,
            channels: 2,
            groups: 2,
            out_channels: 2,
            input: vec![4, 4],
            kernel: vec![3, 3],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            pads: vec![1, 1],
        };
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
