//! The lowering matrix engines share: an EinSum, a Conv (im2col per group)
//! or a ConvTranspose (one GEMM per group, then col2im) as matrix calls of
//! M x K activations by N x K weights. What a call is on a given engine
//! (int8 GEMM, BFP MatMul) is that engine's [`MatrixArithmetic`]; this
//! module gathers the operands, quantises what the engine asks for,
//! and scatters the results.

use std::any::Any;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::lower::{JobRunner, LayerContext, Lowering, NodeValues};
use super::permute::permute;
use super::quant::ActQuant;
use super::site::{ConvSite, DeconvSite, EinSumSite, Site};
use crate::backend::BackendError;

/// What a call of M x K activations by N x K weights is on one engine.
pub trait MatrixArithmetic: std::fmt::Debug + Send + Sync {
    /// The engine takes int8 activations with a scale and zero point
    /// (calibrated, or the model's own); otherwise real ones.
    fn int8_activations(&self) -> bool;
    /// Real weights (N x K row-major) in the engine's format.
    fn weights_from_real(
        &self,
        w: &[f32],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError>;
    /// Real weights that are not constants (the second operand of an
    /// activation-by-activation MatMul), quantised on every evaluation: an
    /// engine may pick a cheaper rule than for constant weights.
    fn weights_at_run_time(
        &self,
        w: &[f32],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError> {
        self.weights_from_real(w, n, k)
    }
    /// Already-quantised integer weights `(w - zero_point[n]) * scale[n]`.
    fn weights_from_ints(
        &self,
        w: &[i32],
        zero_points: &[i32],
        scales: &[f64],
        n: usize,
        k: usize,
    ) -> Result<Box<dyn MatrixWeights>, BackendError>;
    /// Whether [`MatrixActs::Planes`] (int8 activations) or
    /// [`MatrixActs::RealPlanes`] (real ones) may reach
    /// [`MatrixArithmetic::call`] for convolutions with one input channel
    /// per group (else every call gets its A gathered).
    fn reads_conv_planes(&self) -> bool {
        false
    }
    /// Whether [`MatrixActs::ChannelMajor`] may reach
    /// [`MatrixArithmetic::call`] for EinSums whose activation and output
    /// are channel-major (else A is permuted into M x K and C back).
    fn reads_channel_major(&self) -> bool {
        false
    }
    /// One call on `runner`: its M x N real results (N x M for
    /// [`MatrixActs::ChannelMajor`]), `bias` (one per output channel)
    /// added, written to `out`, which holds exactly that many.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        runner: &mut dyn JobRunner,
        layer: usize,
        a: MatrixActs,
        weights: &dyn MatrixWeights,
        bias: &[f64],
        mkn: [usize; 3],
        out: RowsOut<'_>,
    ) -> TractResult<()>;
}

/// Where a call writes its results, in the node's result type (see
/// [`NodeValues`]): each value computed in f64, and for f32 rounded once,
/// as the f32 tensor would round it.
#[derive(Debug)]
pub enum RowsOut<'a> {
    F64(&'a mut [f64]),
    F32(&'a mut [f32]),
}

impl RowsOut<'_> {
    pub fn len(&self) -> usize {
        match self {
            RowsOut::F64(v) => v.len(),
            RowsOut::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Errors unless the call's `len` results fit exactly.
    pub fn check(&self, len: usize, what: &str) -> TractResult<()> {
        ensure!(
            self.len() == len,
            "{what} gave {len} results for a call with room for {}",
            self.len()
        );
        Ok(())
    }
}

/// Weights in an engine's format, prepared once per layer when constant.
pub trait MatrixWeights: std::fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
}

/// Integer weights `w` (rows of `k`) as reals: `(w - zero_points[row]) *
/// scales[row]`.
pub fn real_weights(w: &[i32], zero_points: &[i32], scales: &[f64], k: usize) -> Vec<f32> {
    w.chunks_exact(k)
        .enumerate()
        .flat_map(|(row, ws)| {
            ws.iter()
                .map(move |&x| (f64::from(x - zero_points[row]) * scales[row]) as f32)
        })
        .collect()
}

/// One call's activations, M x K row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum MatrixActs {
    Int {
        q: Vec<i8>,
        zero_point: i8,
        scale: f64,
    },
    Real(Vec<f32>),
    /// A's transpose, K x M (an NCHW 1x1 convolution's input as it is):
    /// the call's result comes back transposed too, N x M.
    ChannelMajor {
        q: Vec<i8>,
        zero_point: i8,
        scale: f64,
    },
    /// Group `group` of a convolution with one input channel per group,
    /// not yet gathered: the layer's whole int8 input `x` (shared by every
    /// group's call) and the convolution. [`MatrixActs::gathered`] gives
    /// its A.
    Planes {
        x: Arc<Vec<i8>>,
        site: Arc<ConvSite>,
        group: usize,
        zero_point: i8,
        scale: f64,
    },
    /// The same for real activations: group `group` of a convolution with
    /// one input channel per group, over the layer's whole f32 input `x`.
    RealPlanes {
        x: Arc<Vec<f32>>,
        site: Arc<ConvSite>,
        group: usize,
    },
}

impl MatrixActs {
    /// The activations with A gathered (unchanged unless they are planes).
    pub fn gathered(self) -> Self {
        match self {
            MatrixActs::Planes {
                x,
                site,
                group,
                zero_point,
                scale,
            } => MatrixActs::Int {
                q: site.gather(&x, group, zero_point),
                zero_point,
                scale,
            },
            MatrixActs::RealPlanes { x, site, group } => {
                MatrixActs::Real(site.gather(&x, group, 0.0))
            }
            other => other,
        }
    }
}

/// Where each call's activations come from.
enum CallActs {
    /// Gathered A, one per call.
    Int {
        each: std::vec::IntoIter<Vec<i8>>,
        zero_point: i8,
        scale: f64,
    },
    Real(std::vec::IntoIter<Vec<f32>>),
    /// Transposed A, one per call (see [`MatrixActs::ChannelMajor`]).
    ChannelMajor {
        each: std::vec::IntoIter<Vec<i8>>,
        zero_point: i8,
        scale: f64,
    },
    /// Ungathered planes (see [`MatrixActs::Planes`]).
    Planes {
        x: Arc<Vec<i8>>,
        site: Arc<ConvSite>,
        zero_point: i8,
        scale: f64,
    },
    /// Ungathered real planes (see [`MatrixActs::RealPlanes`]).
    RealPlanes {
        x: Arc<Vec<f32>>,
        site: Arc<ConvSite>,
    },
}

impl CallActs {
    fn call(&mut self, group: usize) -> MatrixActs {
        match self {
            CallActs::Int {
                each,
                zero_point,
                scale,
            } => MatrixActs::Int {
                q: each.next().unwrap_or_default(),
                zero_point: *zero_point,
                scale: *scale,
            },
            CallActs::Real(each) => MatrixActs::Real(each.next().unwrap_or_default()),
            CallActs::ChannelMajor {
                each,
                zero_point,
                scale,
            } => MatrixActs::ChannelMajor {
                q: each.next().unwrap_or_default(),
                zero_point: *zero_point,
                scale: *scale,
            },
            CallActs::Planes {
                x,
                site,
                zero_point,
                scale,
            } => MatrixActs::Planes {
                x: x.clone(),
                site: site.clone(),
                group,
                zero_point: *zero_point,
                scale: *scale,
            },
            CallActs::RealPlanes { x, site } => MatrixActs::RealPlanes {
                x: x.clone(),
                site: site.clone(),
                group,
            },
        }
    }
}

/// How the node's activations reach the engine.
#[derive(Debug, Clone)]
pub enum ActSource {
    /// f32 activations, quantised with a scale calibrated beforehand
    /// (engines with int8 activations) or left real (`None`).
    Float(Option<ActQuant>),
    /// Already-quantised activations: zero point and scale come as inputs.
    Quantised,
}

/// A layer on a matrix engine.
#[derive(Debug)]
pub struct MatrixLowering {
    /// Name of the replaced node.
    pub name: String,
    /// Index of this layer in the run's layer list.
    pub layer: usize,
    pub site: Site,
    pub arithmetic: Box<dyn MatrixArithmetic>,
    pub act: ActSource,
    /// Weights prepared at patch time when the weight input is a constant
    /// (one matrix per call); otherwise prepared on every evaluation.
    pub weights: Option<Vec<PreparedWeights>>,
    /// Elements of the node's output.
    pub output_len: usize,
    /// The result goes straight into an f32 tensor: it is kept as f32 from
    /// each call on (a deconvolution adds its taps in f64 first).
    pub f32_result: bool,
}

/// One call's weights and the per-channel real bias that goes with them.
#[derive(Debug)]
pub struct PreparedWeights {
    pub weights: Box<dyn MatrixWeights>,
    /// Real bias per output channel of the call (zeros without one). For an
    /// EinSum or a Conv that is one per GEMM column, added by the GEMM. A
    /// Deconv's GEMM columns are (channel, tap) pairs that col2im sums, so
    /// its bias, one per output channel of the group, is added after col2im.
    pub bias: Vec<f64>,
}

/// Activation values ready for the arithmetic, in the tensor's own order.
enum ActValues {
    Int {
        q: Vec<i8>,
        zero_point: i8,
        scale: f64,
    },
    Real(Vec<f32>),
}

pub(crate) fn scalars_f64(t: &Tensor) -> TractResult<Vec<f64>> {
    Ok(t.cast_to::<f64>()?
        .try_as_plain_ram()?
        .as_slice::<f64>()?
        .to_vec())
}

pub(crate) fn scalars_i32(t: &Tensor) -> TractResult<Vec<i32>> {
    Ok(t.cast_to::<i32>()?
        .try_as_plain_ram()?
        .as_slice::<i32>()?
        .to_vec())
}

/// Integer tensor values as i32 (u8 and i8 only).
pub(crate) fn ints(t: &Tensor) -> TractResult<Vec<i32>> {
    match t.datum_type().unquantized() {
        DatumType::U8 => Ok(t
            .try_as_plain_ram()?
            .as_slice::<u8>()?
            .iter()
            .map(|&x| i32::from(x))
            .collect()),
        DatumType::I8 => Ok(t
            .try_as_plain_ram()?
            .as_slice::<i8>()?
            .iter()
            .map(|&x| i32::from(x))
            .collect()),
        dt => bail!("expected an int8 or uint8 tensor, found {dt:?}"),
    }
}

/// A per-tensor or per-channel parameter, `n` values (one broadcast to all).
pub(crate) fn per_channel<T: Copy>(values: &[T], n: usize, what: &str) -> TractResult<Vec<T>> {
    match values.len() {
        1 => Ok(vec![values[0]; n]),
        len if len == n => Ok(values.to_vec()),
        len => bail!("{what} has {len} values; expected 1 or {n}"),
    }
}

impl MatrixLowering {
    /// The layer of `context` on an engine of `arithmetic`: the activation
    /// source follows the engine and the model, and the weights are
    /// prepared now when they are constants.
    pub fn new(
        context: &LayerContext<'_>,
        arithmetic: Box<dyn MatrixArithmetic>,
    ) -> anyhow::Result<Self> {
        let act = if context.quantised {
            ActSource::Quantised
        } else if arithmetic.int8_activations() {
            ActSource::Float(Some(context.calibration.ok_or_else(|| {
                anyhow::anyhow!("layer {} was not calibrated", context.name)
            })?))
        } else {
            ActSource::Float(None)
        };
        let mut lowering = Self {
            name: context.name.to_string(),
            layer: context.index,
            site: context.site.clone(),
            arithmetic,
            act,
            weights: None,
            output_len: context.output_len,
            f32_result: context.float_output && !matches!(context.site, Site::Deconv(_)),
        };
        if let Some(constants) = context.constants {
            let refs: Vec<Option<&Tensor>> = constants.iter().map(|t| t.as_deref()).collect();
            lowering.weights = Some(lowering.prepare_weights(&refs, false)?);
        }
        Ok(lowering)
    }

    /// The (activation, weight) input positions.
    pub fn operands(&self) -> (usize, usize) {
        self.site.operands()
    }

    /// Positions of the (zero point, scale) inputs of the weight operand.
    fn weight_params(&self) -> (usize, usize) {
        if self.operands().1 == 1 {
            (5, 6)
        } else {
            (3, 4)
        }
    }

    fn quantised(&self) -> bool {
        matches!(self.act, ActSource::Quantised)
    }

    /// Prepares the weights of every call from the node's inputs: all of
    /// them but the activation, which is `None` when the weights are
    /// prepared at patch time (the quantisation parameters and the bias are
    /// inputs too). `run_time`: they are prepared on an evaluation, not
    /// once at patch time.
    pub fn prepare_weights(
        &self,
        inputs: &[Option<&Tensor>],
        run_time: bool,
    ) -> TractResult<Vec<PreparedWeights>> {
        let input =
            |i: usize| -> TractResult<&Tensor> {
                inputs.get(i).copied().flatten().ok_or_else(|| {
                    format_err!("{}: input {i} is needed for the weights", self.name)
                })
            };
        let w = input(self.operands().1)?;
        let [_, k, n] = self.site.shape();
        // Output channels of the node, and of each call.
        let (out_channels, per_call) = match &self.site {
            Site::EinSum(_) => (n, n),
            Site::Conv(c) => (c.out_channels, n),
            Site::Deconv(d) => (d.out_channels, d.out_channels / d.groups),
        };
        let (w_zp, w_scale) = if self.quantised() {
            let (zp_in, scale_in) = self.weight_params();
            (
                per_channel(
                    &scalars_i32(input(zp_in)?)?,
                    out_channels,
                    "the weight zero point",
                )?,
                per_channel(
                    &scalars_f64(input(scale_in)?)?,
                    out_channels,
                    "the weight scale",
                )?,
            )
        } else {
            (vec![0; out_channels], vec![1.0; out_channels])
        };
        // Bias: real for float convolutions; for quantised nodes an int32 in
        // accumulator units (activation scale x weight scale).
        let has_bias = self.quantised() || !matches!(self.site, Site::EinSum(_));
        let mut bias = vec![0.0; out_channels];
        if has_bias && inputs.len() > 2 {
            bias = per_channel(&scalars_f64(input(2)?)?, out_channels, "the bias")?;
            if self.quantised() {
                let act_scale = scalars_f64(input(if self.operands().0 == 0 { 4 } else { 6 })?)?[0];
                for (b, s) in bias.iter_mut().zip(&w_scale) {
                    *b *= act_scale * s;
                }
            }
        }
        // Output channels of call `call` (a group's slice).
        let channels = |call: usize| match self.site {
            Site::EinSum(_) => 0..n,
            Site::Conv(_) | Site::Deconv(_) => call * per_call..(call + 1) * per_call,
        };
        let weights = if w.datum_type().unquantized().is_float() {
            let real = w.cast_to::<f32>()?;
            let real = real.try_as_plain_ram()?;
            let real = real.as_slice::<f32>()?;
            self.per_call(
                real,
                w.shape(),
                |s| &s.weight_perm,
                |c, g| c.weights(real, g),
                |d, g| d.weights(real, g),
            )
            .iter()
            .map(|m| {
                if run_time {
                    self.arithmetic.weights_at_run_time(m, n, k)
                } else {
                    self.arithmetic.weights_from_real(m, n, k)
                }
            })
            .collect::<Result<Vec<_>, _>>()?
        } else {
            // Integer weights carry per-channel zero points and scales, one
            // per GEMM column; a deconvolution's columns are (channel, tap)
            // pairs, and `deconv_site` offloads float ones only.
            if matches!(self.site, Site::Deconv(_)) {
                bail!("{}: a deconvolution's weights must be f32", self.name);
            }
            let values = ints(w)?;
            self.per_call(
                &values,
                w.shape(),
                |s| &s.weight_perm,
                |c, g| c.weights(&values, g),
                |d, g| d.weights(&values, g),
            )
            .iter()
            .enumerate()
            .map(|(call, m)| {
                let ch = channels(call);
                self.arithmetic
                    .weights_from_ints(m, &w_zp[ch.clone()], &w_scale[ch], n, k)
            })
            .collect::<Result<Vec<_>, _>>()?
        };
        Ok(weights
            .into_iter()
            .enumerate()
            .map(|(call, weights)| PreparedWeights {
                weights,
                bias: bias[channels(call)].to_vec(),
            })
            .collect())
    }

    /// The operand `x` (of `shape`) split into one row-major matrix per
    /// call: an EinSum permutes it once by `perm` and cuts it into its batch
    /// matrices; a convolution or deconvolution builds each group's matrix
    /// with `conv` or `deconv`.
    fn per_call<T: Copy + Default>(
        &self,
        x: &[T],
        shape: &[usize],
        perm: impl Fn(&EinSumSite) -> &Vec<usize>,
        conv: impl Fn(&ConvSite, usize) -> Vec<T>,
        deconv: impl Fn(&DeconvSite, usize) -> Vec<T>,
    ) -> Vec<Vec<T>> {
        match &self.site {
            Site::Conv(c) => (0..c.groups).map(|g| conv(c, g)).collect(),
            Site::Deconv(d) => (0..d.groups).map(|g| deconv(d, g)).collect(),
            Site::EinSum(s) => split_batch(permute(x, shape, perm(s)), s.batch),
        }
    }

    fn activations(&self, inputs: &[&Tensor]) -> TractResult<ActValues> {
        let x = inputs[self.operands().0];
        let bfp = !self.arithmetic.int8_activations();
        match &self.act {
            ActSource::Float(quant) => {
                let x = x.cast_to::<f32>()?;
                let x = x.try_as_plain_ram()?;
                let x = x.as_slice::<f32>()?;
                match (bfp, quant) {
                    (true, _) => Ok(ActValues::Real(x.to_vec())),
                    (false, Some(q)) => Ok(ActValues::Int {
                        q: q.quantise_all(x),
                        zero_point: q.zero_point,
                        scale: f64::from(q.scale),
                    }),
                    (false, None) => bail!("{}: activations were not calibrated", self.name),
                }
            }
            ActSource::Quantised => {
                let (zp, scale) = if self.operands().0 == 0 {
                    (3, 4)
                } else {
                    (5, 6)
                };
                let zero_point = scalars_i32(inputs[zp])?[0];
                let scale = scalars_f64(inputs[scale])?[0];
                let values = ints(x)?;
                if bfp {
                    return Ok(ActValues::Real(
                        values
                            .iter()
                            .map(|&q| (f64::from(q - zero_point) * scale) as f32)
                            .collect(),
                    ));
                }
                // uint8 activations move down by 128 into int8, zero point
                // with them: (q - zp) is unchanged.
                let shift = if x.datum_type().unquantized() == DatumType::U8 {
                    128
                } else {
                    0
                };
                Ok(ActValues::Int {
                    q: values.iter().map(|&q| (q - shift) as i8).collect(),
                    zero_point: i8::try_from(zero_point - shift).map_err(|_| {
                        format_err!(
                            "{}: activation zero point {zero_point} is out of range",
                            self.name
                        )
                    })?,
                    scale,
                })
            }
        }
    }

    /// Evaluates the node into `y`, its whole output: every call on
    /// `runner`, the rest on the host.
    fn evaluate<T: Real>(
        &self,
        tensors: &[&Tensor],
        runner: &mut dyn JobRunner,
        y: &mut [T],
    ) -> TractResult<()> {
        let prepared;
        let weights = match &self.weights {
            Some(w) => w,
            None => {
                let all: Vec<Option<&Tensor>> = tensors.iter().map(|&t| Some(t)).collect();
                prepared = self.prepare_weights(&all, true)?;
                &prepared
            }
        };
        let x_shape = tensors[self.operands().0].shape().to_vec();
        let act = self.activations(tensors)?;
        let [m, k, n] = self.site.shape();
        ensure!(
            y.len() == self.output_len,
            "{}: an output of {} values for a node of {}",
            self.name,
            y.len(),
            self.output_len
        );
        let deconv = matches!(self.site, Site::Deconv(_));
        // A deconvolution's calls run without bias (see PreparedWeights)
        // and sum their taps in f64 before they round.
        let no_bias = vec![0f64; if deconv { n } else { 0 }];
        let mut deconv_y = vec![0f64; if deconv { y.len() } else { 0 }];
        // Every call's A, gathered once (an EinSum's activation is permuted
        // once for all its batch matrices), or left as planes for an engine
        // that reads a depthwise convolution's input directly.
        let planes = match &self.site {
            Site::Conv(c) if c.channels == c.groups && self.arithmetic.reads_conv_planes() => {
                Some(c.clone())
            }
            _ => None,
        };
        // Or, for an EinSum that is a transpose of its GEMM both sides
        // (int8 activations only), left in place, one batch matrix a call.
        let channel_major = match &self.site {
            Site::EinSum(s) => {
                self.arithmetic.reads_channel_major()
                    && matches!(act, ActValues::Int { .. })
                    && s.channel_major(&x_shape)
            }
            _ => false,
        };
        let mut acts = match act {
            ActValues::Int {
                q,
                zero_point,
                scale,
            } if channel_major => CallActs::ChannelMajor {
                each: split_batch(q, self.site.calls()).into_iter(),
                zero_point,
                scale,
            },
            ActValues::Int {
                q,
                zero_point,
                scale,
            } => match planes {
                Some(site) => CallActs::Planes {
                    x: Arc::new(q),
                    site,
                    zero_point,
                    scale,
                },
                None => CallActs::Int {
                    each: self
                        .per_call(
                            &q,
                            &x_shape,
                            |s| &s.act_perm,
                            |c, g| c.gather(&q, g, zero_point),
                            |d, g| d.gather(&q, g),
                        )
                        .into_iter(),
                    zero_point,
                    scale,
                },
            },
            ActValues::Real(x) => match planes {
                Some(site) => CallActs::RealPlanes {
                    x: Arc::new(x),
                    site,
                },
                None => CallActs::Real(
                    self.per_call(
                        &x,
                        &x_shape,
                        |s| &s.act_perm,
                        |c, g| c.gather(&x, g, 0.0),
                        |d, g| d.gather(&x, g),
                    )
                    .into_iter(),
                ),
            },
        };
        // Calls whose results are a run of the output as they stand write
        // there: EinSums in the output's order (channel-major ones too)
        // and a depthwise call on one NCHW image (one channel's plane).
        // The others write to `rows`, which is scattered or permuted.
        let direct = match &self.site {
            Site::EinSum(s) => channel_major || s.out_perm.iter().enumerate().all(|(i, &p)| i == p),
            Site::Conv(c) => !c.nhwc && c.n() == 1 && c.images == 1,
            Site::Deconv(_) => false,
        };
        let call_len = m * n;
        let mut rows: Vec<T> = Vec::new();
        let mut deconv_rows = vec![0f64; if deconv { call_len } else { 0 }];
        // An EinSum's calls in the site's [batch, M, N] order, when that is
        // not the output's.
        let mut class_order: Vec<T> = match &self.site {
            Site::EinSum(_) if !direct => vec![T::default(); y.len()],
            _ => Vec::new(),
        };
        for (call, pw) in weights.iter().enumerate() {
            let bias = if deconv { &no_bias } else { &pw.bias };
            let at = call * call_len;
            let out = match &self.site {
                Site::Deconv(_) => RowsOut::F64(&mut deconv_rows),
                Site::EinSum(_) if direct => T::rows_out(&mut y[at..at + call_len]),
                Site::EinSum(_) => T::rows_out(&mut class_order[at..at + call_len]),
                Site::Conv(c) if direct => {
                    let first = c.output_index_at(0, 0, call);
                    T::rows_out(&mut y[first..first + call_len])
                }
                Site::Conv(_) => {
                    rows.resize(call_len, T::default());
                    T::rows_out(&mut rows)
                }
            };
            self.arithmetic.call(
                runner,
                self.layer,
                acts.call(call),
                pw.weights.as_ref(),
                bias,
                [m, k, n],
                out,
            )?;
            match &self.site {
                Site::Deconv(d) => d.col2im(&deconv_rows, call, &mut deconv_y),
                Site::Conv(c) if !direct => scatter_conv(c, call, &rows, y),
                _ => {}
            }
        }
        match &self.site {
            Site::EinSum(s) if !direct => {
                y.copy_from_slice(&permute(&class_order, &s.out_class_shape, &s.out_perm))
            }
            Site::Deconv(d) => {
                // Once per output channel, after every tap has been summed.
                let bias: Vec<f64> = weights.iter().flat_map(|pw| pw.bias.clone()).collect();
                d.add_bias(&bias, &mut deconv_y);
                for (o, &v) in y.iter_mut().zip(&deconv_y) {
                    *o = T::from_f64(v);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The element type of a lowered node's result (see [`NodeValues`]).
trait Real: Copy + Default + 'static {
    /// A call's destination in this type.
    fn rows_out(values: &mut [Self]) -> RowsOut<'_>;
    /// `v` in this type (rounded once to f32, as the tensor would).
    fn from_f64(v: f64) -> Self;
}

impl Real for f64 {
    fn rows_out(values: &mut [Self]) -> RowsOut<'_> {
        RowsOut::F64(values)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Real for f32 {
    fn rows_out(values: &mut [Self]) -> RowsOut<'_> {
        RowsOut::F32(values)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Lowering for MatrixLowering {
    fn run(&self, inputs: &[&Tensor], runner: &mut dyn JobRunner) -> TractResult<NodeValues> {
        if !self.f32_result {
            let mut y = vec![0f64; self.output_len];
            self.evaluate(inputs, runner, &mut y)?;
            return Ok(NodeValues::F64(y));
        }
        // The f32 output tensor itself, flat, written in place.
        let mut t = Tensor::zero::<f32>(&[self.output_len])?;
        {
            let mut plain = t.try_as_plain_ram_mut()?;
            self.evaluate(inputs, runner, plain.as_slice_mut::<f32>()?)?;
        }
        Ok(NodeValues::F32(t))
    }

    fn info(&self) -> String {
        let [m, k, n] = self.site.shape();
        format!("{} calls of {m}x{k}x{n}", self.site.calls())
    }
}

/// The call's rows (output positions by the group's channels) into the
/// output tensor. Channels-last is a row copy per position; channels-first
/// is a transpose, done in blocks of positions so that both the reads (a
/// block's rows) and the writes (a channel's run of positions) stay close.
fn scatter_conv<T: Copy>(c: &ConvSite, call: usize, rows: &[T], y: &mut [T]) {
    let n = c.n();
    let outs: usize = c.out_spatial.iter().product();
    const BLOCK: usize = 64;
    for (img, block) in rows.chunks(outs * n).enumerate() {
        if c.nhwc {
            for (o, values) in block.chunks_exact(n).enumerate() {
                let first = c.output_index_at(img, o, call * n);
                y[first..first + n].copy_from_slice(values);
            }
            continue;
        }
        if n == 1 {
            // One channel (a depthwise call's): a contiguous run of y.
            let first = c.output_index_at(img, 0, call);
            y[first..first + outs].copy_from_slice(block);
            continue;
        }
        for o0 in (0..outs).step_by(BLOCK) {
            let o1 = (o0 + BLOCK).min(outs);
            for col in 0..n {
                let first = c.output_index_at(img, o0, call * n + col);
                for (dst, o) in y[first..first + (o1 - o0)].iter_mut().zip(o0..o1) {
                    *dst = block[o * n + col];
                }
            }
        }
    }
}

/// `x` as `calls` equal consecutive parts (moved, not copied, for one).
fn split_batch<T: Copy>(x: Vec<T>, calls: usize) -> Vec<Vec<T>> {
    if calls <= 1 {
        return vec![x];
    }
    x.chunks(x.len().max(1) / calls)
        .map(<[T]>::to_vec)
        .collect()
}
