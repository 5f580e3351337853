//! How the dwconv engine takes model layers: a 2-D depthwise convolution
//! (one filter per channel: groups = channels = output channels) with a
//! square kernel the design holds, one stride on both axes of at most the
//! kernel, no dilation and float operands. Each image is one call:
//! activations quantised with the calibrated int8 scale, padded on the host
//! with the zero point, weights quantised per channel onto the PE's
//! codebook (as the GEMM engine quantises them), the bias in accumulator
//! units with the zero point folded in, int32 outputs that the host
//! scales back. The same layer lowered to GEMMs gives the same integers.

use tract_onnx::prelude::*;

use super::golden::{fold_zero_point, DwconvProblem};
use crate::formats::requant::{ChannelParams, OutputMode};
use crate::formats::{quantise_per_channel, Codebook};
use crate::model::lower::{JobRunner, LayerContext, Lowering, NodeValues};
use crate::model::matrix::scalars_f64;
use crate::model::quant::ActQuant;
use crate::model::site::{ConvSite, Site};

/// The depthwise convolution of `site` as the engine takes it, if it can:
/// `(kernel, stride)`. `max_kernel` and `max_width` are the design's.
pub fn depthwise_geometry(
    site: &Site,
    max_kernel: usize,
    max_width: usize,
) -> Option<(usize, usize)> {
    let Site::Conv(c) = site else {
        return None;
    };
    let square = c.kernel.len() == 2 && c.kernel[0] == c.kernel[1];
    let depthwise = c.groups == c.channels && c.out_channels == c.channels;
    let (k, s) = (c.kernel.first().copied()?, c.strides.first().copied()?);
    let one_stride = c.strides.iter().all(|&x| x == s);
    let no_dilation = c.dilations.iter().all(|&d| d == 1);
    let [_, wo] = c.out_spatial[..] else {
        return None;
    };
    let fits = k <= max_kernel && (1..=k).contains(&s) && wo > 0 && (wo - 1) * s + k <= max_width;
    (square && depthwise && one_stride && no_dilation && fits && c.images > 0).then_some((k, s))
}

/// The weights of a depthwise layer in the design's codes, per channel.
#[derive(Debug, Clone)]
struct DwWeights {
    /// C x K x K codes.
    codes: Vec<u8>,
    /// One real scale per channel.
    scales: Vec<f64>,
    /// Real bias per channel.
    bias: Vec<f64>,
}

/// A depthwise layer on a dwconv design.
#[derive(Debug)]
pub struct DwconvLowering {
    layer: usize,
    site: ConvSite,
    kernel: usize,
    stride: usize,
    codebook: Codebook,
    act: ActQuant,
    /// Prepared once when the weights are constants.
    weights: Option<DwWeights>,
}

impl DwconvLowering {
    pub fn new(
        context: &LayerContext<'_>,
        codebook: Codebook,
        (kernel, stride): (usize, usize),
    ) -> anyhow::Result<Self> {
        let Site::Conv(site) = context.site else {
            anyhow::bail!(
                "{}: the dwconv engine takes convolutions only",
                context.name
            );
        };
        if context.quantised {
            anyhow::bail!(
                "{}: the dwconv engine takes float depthwise convolutions only",
                context.name
            );
        }
        let act = context
            .calibration
            .ok_or_else(|| anyhow::anyhow!("layer {} was not calibrated", context.name))?;
        let mut lowering = Self {
            layer: context.index,
            site: ConvSite::clone(site),
            kernel,
            stride,
            codebook,
            act,
            weights: None,
        };
        if let Some(constants) = context.constants {
            let refs: Vec<Option<&Tensor>> = constants.iter().map(|t| t.as_deref()).collect();
            lowering.weights = Some(lowering.prepare(&refs)?);
        }
        Ok(lowering)
    }

    /// Weights (input 1) per channel onto the codebook, and the bias
    /// (input 2, when there is one).
    fn prepare(&self, inputs: &[Option<&Tensor>]) -> TractResult<DwWeights> {
        let w = inputs
            .get(1)
            .copied()
            .flatten()
            .ok_or_else(|| anyhow::anyhow!("the depthwise weights are needed"))?;
        let real = w.cast_to::<f32>()?;
        let real = real.try_as_plain_ram()?;
        let real = real.as_slice::<f32>()?;
        let c = self.site.channels;
        let taps = self.kernel * self.kernel;
        let matrix: Vec<f32> = (0..c).flat_map(|ch| self.site.weights(real, ch)).collect();
        let q = quantise_per_channel(&self.codebook, &matrix, c, taps)?;
        let bias = match inputs.get(2).copied().flatten() {
            Some(b) => {
                let b = scalars_f64(b)?;
                if b.len() == 1 {
                    vec![b[0]; c]
                } else {
                    b
                }
            }
            None => vec![0.0; c],
        };
        Ok(DwWeights {
            codes: q.codes.iter().map(|&x| x as u8).collect(),
            scales: q.scales.iter().map(|&s| f64::from(s)).collect(),
            bias,
        })
    }

    /// Image `img`'s channels, quantised, padded with the zero point to the
    /// engine's R x Wp planes.
    fn padded_planes(&self, q: &[i8], img: usize) -> Vec<i8> {
        let s = &self.site;
        let [h, w] = s.in_spatial[..] else {
            return Vec::new();
        };
        let [ho, wo] = s.out_spatial[..] else {
            return Vec::new();
        };
        let (pt, pl) = (s.pad_before[0] as isize, s.pad_before[1] as isize);
        let rows = (ho - 1) * self.stride + self.kernel;
        let cols = (wo - 1) * self.stride + self.kernel;
        let za = self.act.zero_point;
        let mut planes = Vec::with_capacity(s.channels * rows * cols);
        for ch in 0..s.channels {
            for yp in 0..rows {
                let iy = yp as isize - pt;
                for xp in 0..cols {
                    let ix = xp as isize - pl;
                    let inside = (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix);
                    planes.push(if inside {
                        let (iy, ix) = (iy as usize, ix as usize);
                        q[if s.nhwc {
                            ((img * h + iy) * w + ix) * s.channels + ch
                        } else {
                            ((img * s.channels + ch) * h + iy) * w + ix
                        }]
                    } else {
                        za
                    });
                }
            }
        }
        planes
    }
}

impl Lowering for DwconvLowering {
    fn run(&self, inputs: &[&Tensor], runner: &mut dyn JobRunner) -> TractResult<NodeValues> {
        let prepared;
        let weights = match &self.weights {
            Some(w) => w,
            None => {
                let all: Vec<Option<&Tensor>> = inputs.iter().map(|&t| Some(t)).collect();
                prepared = self.prepare(&all)?;
                &prepared
            }
        };
        let x = inputs[0].cast_to::<f32>()?;
        let x = x.try_as_plain_ram()?;
        let q = self.act.quantise_all(x.as_slice::<f32>()?);
        let s = &self.site;
        let [ho, wo] = s.out_spatial[..] else {
            anyhow::bail!("a depthwise convolution has two spatial axes");
        };
        let (za, sa) = (self.act.zero_point, f64::from(self.act.scale));
        let taps = self.kernel * self.kernel;
        // The bias goes to the engine in accumulator units with the zero
        // point folded in; what rounding leaves over is added on the host.
        let mut params = Vec::with_capacity(s.channels);
        let mut residual = Vec::with_capacity(s.channels);
        for ch in 0..s.channels {
            let unit = sa * weights.scales[ch];
            let q = if unit > 0.0 {
                (weights.bias[ch] / unit).round()
            } else {
                0.0
            };
            let q = if q.abs() < f64::from(1 << 30) { q } else { 0.0 };
            residual.push(weights.bias[ch] - q * unit);
            params.push(ChannelParams {
                bias: fold_zero_point(
                    &self.codebook,
                    &weights.codes[ch * taps..(ch + 1) * taps],
                    za,
                    q as i32,
                ),
                multiplier: 0,
                shift: 0,
            });
        }
        let outs = ho * wo;
        let mut y = vec![0f64; s.images * s.out_channels * outs];
        for img in 0..s.images {
            let problem = DwconvProblem {
                channels: s.channels,
                out_rows: ho,
                out_cols: wo,
                kernel: self.kernel,
                stride: self.stride,
                input: self.padded_planes(&q, img),
                codes: weights.codes.clone(),
                params: params.clone(),
                output: OutputMode::Int32,
            };
            let acc = runner
                .run(self.layer, &problem)?
                .into_int("depthwise convolution")?;
            for (ch, plane) in acc.chunks_exact(outs).enumerate() {
                let unit = sa * weights.scales[ch];
                for (o, &v) in plane.iter().enumerate() {
                    y[s.output_index_at(img, o, ch)] = f64::from(v) * unit + residual[ch];
                }
            }
        }
        Ok(NodeValues::F64(y))
    }

    fn info(&self) -> String {
        format!(
            "{} calls of a {}x{}/{} depthwise convolution over {} channels",
            self.site.images, self.kernel, self.kernel, self.stride, self.site.channels
        )
    }
}
