//! The offload op that replaces an EinSum, Conv or Deconv node in the
//! decluttered model. It holds what the node needs from kiln (its GEMM
//! geometry, the weights already in the design's format, the activation
//! quantisation) and is evaluated by kiln's executor (see `exec`), which
//! hands it a [`GemmRunner`]; tract's own evaluation refuses it, so a patched
//! model cannot silently run without the accelerator.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::quant::{ActQuant, Weights};
use super::site::{ConvSite, DeconvSite, EinSumSite, Site};
use crate::backend::Arithmetic;
use crate::backend::MatmulProblem;
use crate::bfp::{BfpFormat, BfpMatrix, ElementKind};
use crate::gemm::{ChannelParams, GemmProblem, OutputMode};

/// Runs the GEMMs of an offloaded layer, on whichever backend the run uses.
pub trait GemmRunner {
    /// `layer` identifies the op ([`KilnOp::layer`]) for the run's records.
    fn gemm(&mut self, layer: usize, problem: &GemmProblem) -> anyhow::Result<Vec<i32>>;
    fn matmul(&mut self, layer: usize, problem: &MatmulProblem) -> anyhow::Result<Vec<f32>>;
}

/// How the node's activations reach int8.
#[derive(Debug, Clone)]
pub enum ActSource {
    /// f32 activations, quantised with a scale calibrated beforehand (GEMM
    /// designs) or block by block (BFP designs, `None`).
    Float(Option<ActQuant>),
    /// Already-quantised activations: zero point and scale come as inputs.
    Quantised,
}

#[derive(Debug, Clone)]
pub struct KilnOp {
    /// Name of the replaced node.
    pub name: String,
    /// Index of this layer in the run's layer list.
    pub layer: usize,
    pub site: Site,
    pub arithmetic: Arithmetic,
    pub act: ActSource,
    /// Weights prepared at patch time when the weight input is a constant
    /// (one matrix per GEMM call); otherwise prepared on every evaluation.
    pub weights: Option<Vec<PreparedWeights>>,
    pub output_fact: TypedFact,
}

/// One call's weights and the per-channel real bias that goes with them.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedWeights {
    pub weights: Weights,
    /// Real bias per output channel of the call (zeros without one). For an
    /// EinSum or a Conv that is one per GEMM column, added by the GEMM. A
    /// Deconv's GEMM columns are (channel, tap) pairs that col2im sums, so
    /// its bias, one per output channel of the group, is added after col2im.
    pub bias: Vec<f64>,
}

impl PartialEq for KilnOp {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.layer == other.layer
    }
}
impl Eq for KilnOp {}

impl Op for KilnOp {
    fn name(&self) -> StaticName {
        "KilnOffload".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let [m, k, n] = self.site.shape();
        Ok(vec![format!("{} calls of {m}x{k}x{n}", self.site.calls())])
    }

    op_as_typed_op!();
}

impl EvalOp for KilnOp {
    not_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, _inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        bail!(
            "node {} is offloaded to the accelerator and runs only through kiln's executor",
            self.name
        )
    }
}

impl TypedOp for KilnOp {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(self.output_fact.clone()))
    }

    as_op!();
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

fn scalars_f64(t: &Tensor) -> TractResult<Vec<f64>> {
    Ok(t.cast_to::<f64>()?
        .try_as_plain_ram()?
        .as_slice::<f64>()?
        .to_vec())
}

fn scalars_i32(t: &Tensor) -> TractResult<Vec<i32>> {
    Ok(t.cast_to::<i32>()?
        .try_as_plain_ram()?
        .as_slice::<i32>()?
        .to_vec())
}

/// Integer tensor values as i32 (u8 and i8 only).
fn ints(t: &Tensor) -> TractResult<Vec<i32>> {
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
fn per_channel<T: Copy>(values: &[T], n: usize, what: &str) -> TractResult<Vec<T>> {
    match values.len() {
        1 => Ok(vec![values[0]; n]),
        len if len == n => Ok(values.to_vec()),
        len => bail!("{what} has {len} values; expected 1 or {n}"),
    }
}

impl KilnOp {
    /// The (activation, weight) input positions.
    pub fn operands(&self) -> (usize, usize) {
        match &self.site {
            Site::EinSum(s) => (s.act_input, 1 - s.act_input),
            Site::Conv(_) | Site::Deconv(_) => (0, 1),
        }
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
    /// inputs too).
    pub fn prepare_weights(&self, inputs: &[Option<&Tensor>]) -> TractResult<Vec<PreparedWeights>> {
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
            .map(|m| Weights::from_real(&self.arithmetic, m, n, k))
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
                Weights::from_ints(&self.arithmetic, m, &w_zp[ch.clone()], &w_scale[ch], n, k)
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
    fn per_call<T: Copy>(
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
            Site::EinSum(s) => permute(x, shape, perm(s))
                .chunks(x.len().max(1) / s.batch.max(1))
                .map(<[T]>::to_vec)
                .collect(),
        }
    }

    fn activations(&self, inputs: &[&Tensor]) -> TractResult<ActValues> {
        let x = inputs[self.operands().0];
        let bfp = matches!(self.arithmetic, Arithmetic::Bfp(_));
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

    /// Evaluates the node: every GEMM on `runner`, the rest on the host.
    pub fn run(
        &self,
        inputs: TVec<TValue>,
        runner: &mut dyn GemmRunner,
    ) -> TractResult<TVec<TValue>> {
        let tensors: Vec<&Tensor> = inputs.iter().map(|v| &**v).collect();
        let prepared;
        let weights = match &self.weights {
            Some(w) => w,
            None => {
                let all: Vec<Option<&Tensor>> = tensors.iter().map(|&t| Some(t)).collect();
                prepared = self.prepare_weights(&all)?;
                &prepared
            }
        };
        let x_shape = tensors[self.operands().0].shape().to_vec();
        let act = self.activations(&tensors)?;
        let [m, k, n] = self.site.shape();
        let out_len = self
            .output_fact
            .shape
            .as_concrete()
            .map(|s| s.iter().product())
            .unwrap_or(0);
        // Results in the order the site produces them.
        // Convolutions scatter into `y` and deconvolutions add into it;
        // EinSums fill `class_order`, which is permuted into `y` at the end.
        let einsum = matches!(self.site, Site::EinSum(_));
        let mut y = vec![0f64; if einsum { 0 } else { out_len }];
        let mut class_order = vec![0f64; if einsum { out_len } else { 0 }];
        // A deconvolution's GEMMs run without bias (see PreparedWeights).
        let deconv = matches!(self.site, Site::Deconv(_));
        let no_bias = vec![0f64; if deconv { n } else { 0 }];
        // Every call's A, gathered once: an EinSum's activation is permuted
        // once for all its batch matrices.
        let (mut a_int, mut a_real) = match &act {
            ActValues::Int { q, zero_point, .. } => (
                self.per_call(
                    q,
                    &x_shape,
                    |s| &s.act_perm,
                    |c, g| c.gather(q, g, *zero_point),
                    |d, g| d.gather(q, g),
                ),
                Vec::new(),
            ),
            ActValues::Real(x) => (
                Vec::new(),
                self.per_call(
                    x,
                    &x_shape,
                    |s| &s.act_perm,
                    |c, g| c.gather(x, g, 0.0),
                    |d, g| d.gather(x, g),
                ),
            ),
        };
        let (mut a_int, mut a_real) = (a_int.drain(..), a_real.drain(..));
        for (call, pw) in weights.iter().enumerate() {
            let bias = if deconv { &no_bias } else { &pw.bias };
            let rows: Vec<f64> = match (&act, &pw.weights) {
                (
                    ActValues::Int {
                        zero_point, scale, ..
                    },
                    Weights::Gemm {
                        codes,
                        zero_points,
                        scales,
                        ..
                    },
                ) => {
                    let a = a_int.next().unwrap_or_default();
                    gemm_call(
                        runner,
                        self.layer,
                        a,
                        *zero_point,
                        *scale,
                        codes,
                        zero_points,
                        scales,
                        bias,
                        m,
                        k,
                        n,
                    )?
                }
                (ActValues::Real(_), Weights::Bfp(w)) => {
                    let a = a_real.next().unwrap_or_default();
                    let format = BfpFormat::new(ElementKind::Int8, w.format().block)?;
                    let problem = MatmulProblem {
                        a: BfpMatrix::quantise(format, m, k, &a)?,
                        w: w.clone(),
                    };
                    let out = runner.matmul(self.layer, &problem)?;
                    out.chunks_exact(n)
                        .flat_map(|row| row.iter().zip(bias).map(|(&v, b)| f64::from(v) + b))
                        .collect()
                }
                _ => bail!(
                    "{}: operands do not match the design's arithmetic",
                    self.name
                ),
            };
            match &self.site {
                Site::Conv(c) => scatter_conv(c, call, &rows, &mut y),
                Site::Deconv(d) => d.col2im(&rows, call, &mut y),
                Site::EinSum(_) => {
                    class_order[call * m * n..(call + 1) * m * n].copy_from_slice(&rows)
                }
            }
        }
        match &self.site {
            Site::EinSum(s) => y = unpermute_output(s, &class_order),
            Site::Deconv(d) => {
                // Once per output channel, after every tap has been summed.
                let bias: Vec<f64> = weights.iter().flat_map(|pw| pw.bias.clone()).collect();
                d.add_bias(&bias, &mut y);
            }
            Site::Conv(_) => {}
        }
        let tensor = self.output_tensor(&tensors, &y)?;
        Ok(tvec!(tensor.into_tvalue()))
    }

    /// The output tensor in the node's type: f32 as is, quantised types
    /// through their output zero point and scale.
    fn output_tensor(&self, inputs: &[&Tensor], y: &[f64]) -> TractResult<Tensor> {
        let shape: Vec<usize> = self.output_fact.shape.as_concrete().unwrap_or(&[]).to_vec();
        let dt = self.output_fact.datum_type.unquantized();
        if dt.is_float() {
            let v: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            let t = Tensor::from_shape(&shape, &v)?;
            return Ok(if dt == DatumType::F32 {
                t
            } else {
                t.cast_to_dt(dt)?.into_owned()
            });
        }
        let (c0, cs) = if self.quantised() {
            (scalars_i32(inputs[7])?[0], scalars_f64(inputs[8])?[0])
        } else {
            (0, 1.0)
        };
        let q = |v: f64, lo: f64, hi: f64| ((v / cs).round() + f64::from(c0)).clamp(lo, hi);
        Ok(match dt {
            DatumType::U8 => {
                let v: Vec<u8> = y.iter().map(|&v| q(v, 0.0, 255.0) as u8).collect();
                Tensor::from_shape(&shape, &v)?
            }
            DatumType::I8 => {
                let v: Vec<i8> = y.iter().map(|&v| q(v, -128.0, 127.0) as i8).collect();
                Tensor::from_shape(&shape, &v)?
            }
            DatumType::I32 => {
                let v: Vec<i32> = y
                    .iter()
                    .map(|&v| q(v, f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
                    .collect();
                Tensor::from_shape(&shape, &v)?
            }
            dt => bail!("{}: output type {dt:?} is not supported", self.name),
        })
    }
}

/// One int8 GEMM on the accelerator and its real-valued result, M x N:
/// `(acc - w_zp[n] * rowsum(a - za)[m]) * sa * sw[n] + residual bias`.
#[allow(clippy::too_many_arguments)]
fn gemm_call(
    runner: &mut dyn GemmRunner,
    layer: usize,
    a: Vec<i8>,
    za: i8,
    sa: f64,
    codes: &[u8],
    w_zp: &[i32],
    sw: &[f64],
    bias: &[f64],
    m: usize,
    k: usize,
    n: usize,
) -> TractResult<Vec<f64>> {
    // The bias goes to the accelerator in accumulator units; what rounding
    // leaves over is added on the host.
    let mut channels = Vec::with_capacity(n);
    let mut residual = Vec::with_capacity(n);
    for ch in 0..n {
        let unit = sa * sw[ch];
        let q = if unit > 0.0 {
            (bias[ch] / unit).round()
        } else {
            0.0
        };
        let q = if q.abs() < f64::from(1 << 30) { q } else { 0.0 };
        channels.push(ChannelParams {
            bias: q as i32,
            multiplier: 0,
            shift: 0,
        });
        residual.push(bias[ch] - q * unit);
    }
    let problem = GemmProblem {
        m,
        n,
        k,
        a,
        b: codes.to_vec(),
        channels,
        act_zero_point: za,
        output: OutputMode::Int32,
    };
    let acc = runner.gemm(layer, &problem)?;
    let needs_rowsum = w_zp.iter().any(|&z| z != 0);
    let mut out = Vec::with_capacity(m * n);
    for (row, acc_row) in problem.a.chunks_exact(k).zip(acc.chunks_exact(n)) {
        let rowsum: i64 = if needs_rowsum {
            row.iter().map(|&x| i64::from(x) - i64::from(za)).sum()
        } else {
            0
        };
        for ch in 0..n {
            let exact = i64::from(acc_row[ch]) - i64::from(w_zp[ch]) * rowsum;
            out.push(exact as f64 * sa * sw[ch] + residual[ch]);
        }
    }
    Ok(out)
}

fn scatter_conv(c: &ConvSite, call: usize, rows: &[f64], y: &mut [f64]) {
    let n = c.n();
    let outs: usize = c.out_spatial.iter().product();
    for (img, block) in rows.chunks(outs * n).enumerate() {
        for (o, values) in block.chunks_exact(n).enumerate() {
            let first = c.output_index_at(img, o, call * n);
            let step = if c.nhwc { 1 } else { outs };
            for (col, &v) in values.iter().enumerate() {
                y[first + col * step] = v;
            }
        }
    }
}

/// `x` (of `shape`) with its axes reordered by `perm`, flattened: element
/// `[i_0, .., i_r]` of the result is `x` at index `i_j` on axis `perm[j]`.
fn permute<T: Copy>(x: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return x.to_vec();
    }
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let dims: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let steps: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let mut out = Vec::with_capacity(x.len());
    if x.is_empty() {
        return out;
    }
    let (inner_dim, inner_step) = (dims[rank - 1], steps[rank - 1]);
    let mut index = vec![0usize; rank];
    let mut base = 0usize;
    loop {
        out.extend((0..inner_dim).map(|i| x[base + i * inner_step]));
        // Advance the odometer over every axis but the innermost.
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            index[d] += 1;
            base += steps[d];
            if index[d] < dims[d] {
                break;
            }
            base -= steps[d] * dims[d];
            index[d] = 0;
        }
    }
}

/// The EinSum output in the node's axis order from the site's [batch, M, N] order.
fn unpermute_output(s: &EinSumSite, class_order: &[f64]) -> Vec<f64> {
    permute(class_order, &s.out_class_shape, &s.out_perm)
}
