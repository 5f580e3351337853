//! Where a model's MACs are and how they become accelerator GEMMs: an
//! EinSum (MatMul, Gemm, 1x1 Conv and their quantised forms after
//! decluttering) or a Conv (lowered by im2col), described as the GEMMs
//! `C[b] = A[b] x W[b]^T` and how to gather A from the activation tensor and
//! scatter C into the output tensor.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::conv::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Input positions of the quantisation parameters in a quantised EinSum
/// or Conv: A, B, bias, A0, A scale, B0, B scale, C0, C scale.
pub const Q_INPUTS: usize = 9;

/// How one offloadable node maps onto GEMMs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Site {
    EinSum(EinSumSite),
    Conv(ConvSite),
}

/// An EinSum whose axes split into batch, M, N and K.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EinSumSite {
    /// Which of inputs 0 and 1 is the activation; the other is the weight.
    pub act_input: usize,
    /// Activation axes in the order [batch.., M.., K.., unit..].
    pub act_perm: Vec<usize>,
    /// Weight axes in the order [batch.., N.., K.., unit..].
    pub weight_perm: Vec<usize>,
    /// Output shape in the order [batch.., M.., N.., unit..] ...
    pub out_class_shape: Vec<usize>,
    /// ... and, for each output axis, its position in that order.
    pub out_perm: Vec<usize>,
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// A convolution lowered to one GEMM per group: M = images x output
/// positions, K = input channels per group x kernel positions, N = output
/// channels per group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConvSite {
    pub nhwc: bool,
    pub images: usize,
    pub channels: usize,
    pub groups: usize,
    pub out_channels: usize,
    pub in_spatial: Vec<usize>,
    pub out_spatial: Vec<usize>,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pad_before: Vec<usize>,
    pub kernel_fmt: KernelFmt,
    /// For each (output position, kernel tap), the input position read, or
    /// `None` in the padding: computed once, read on every call.
    pub reads: Vec<Option<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelFmt {
    Oihw,
    Hwio,
    Ohwi,
}

impl Site {
    /// GEMMs per evaluation of the node.
    pub fn calls(&self) -> usize {
        match self {
            Site::EinSum(s) => s.batch,
            Site::Conv(c) => c.groups,
        }
    }

    /// (M, K, N) of every call.
    pub fn shape(&self) -> [usize; 3] {
        match self {
            Site::EinSum(s) => [s.m, s.k, s.n],
            Site::Conv(c) => [c.m(), c.k(), c.n()],
        }
    }

    pub fn macs(&self) -> u64 {
        let [m, k, n] = self.shape();
        (self.calls() * m * k * n) as u64
    }

    pub fn describe(&self) -> String {
        match self {
            Site::EinSum(_) => "EinSum".to_string(),
            Site::Conv(c) => {
                let k: Vec<String> = c.kernel.iter().map(|d| d.to_string()).collect();
                let g = if c.groups > 1 {
                    format!(", {} groups", c.groups)
                } else {
                    String::new()
                };
                format!("Conv {} (im2col{g})", k.join("x"))
            }
        }
    }
}

impl ConvSite {
    pub fn m(&self) -> usize {
        self.images * self.out_spatial.iter().product::<usize>()
    }
    pub fn k(&self) -> usize {
        self.channels / self.groups * self.kernel.iter().product::<usize>()
    }
    pub fn n(&self) -> usize {
        self.out_channels / self.groups
    }

    /// A for group `g`: M x K row-major, K ordered (channel, kernel
    /// position), `pad` where the kernel reaches outside the input.
    pub fn gather<T: Copy>(&self, x: &[T], g: usize, pad: T) -> Vec<T> {
        let spatial: usize = self.in_spatial.iter().product();
        let cg = self.channels / self.groups;
        let taps = self.kernel.iter().product::<usize>();
        let reads = &self.reads;
        let mut a = Vec::with_capacity(self.m() * self.k());
        for img in 0..self.images {
            for o_reads in reads.chunks_exact(taps) {
                for c in 0..cg {
                    let ch = g * cg + c;
                    let (base, step) = if self.nhwc {
                        (img * spatial * self.channels + ch, self.channels)
                    } else {
                        ((img * self.channels + ch) * spatial, 1)
                    };
                    a.extend(o_reads.iter().map(|r| match r {
                        Some(s) => x[base + s * step],
                        None => pad,
                    }));
                }
            }
        }
        a
    }

    /// The [`ConvSite::reads`] table of this geometry.
    fn read_table(&self) -> Vec<Option<usize>> {
        let taps = self.kernel.iter().product::<usize>();
        let outs: usize = self.out_spatial.iter().product();
        let rank = self.in_spatial.len();
        let mut pos = vec![0usize; rank];
        let mut tap = vec![0usize; rank];
        let mut reads = Vec::with_capacity(outs * taps);
        for o in 0..outs {
            unravel(o, &self.out_spatial, &mut pos);
            for t in 0..taps {
                unravel(t, &self.kernel, &mut tap);
                reads.push(self.input_offset(&pos, &tap));
            }
        }
        reads
    }

    /// Flat spatial offset of the input under output position `pos` and
    /// kernel tap `tap`, or `None` in the padding.
    fn input_offset(&self, pos: &[usize], tap: &[usize]) -> Option<usize> {
        let mut offset = 0;
        for d in 0..pos.len() {
            let i = (pos[d] * self.strides[d] + tap[d] * self.dilations[d]) as isize
                - self.pad_before[d] as isize;
            if i < 0 || i as usize >= self.in_spatial[d] {
                return None;
            }
            offset = offset * self.in_spatial[d] + i as usize;
        }
        Some(offset)
    }

    /// Weights of group `g` as N x K in [`ConvSite::gather`]'s K order.
    pub fn weights<T: Copy>(&self, w: &[T], g: usize) -> Vec<T> {
        let (cg, og) = (self.channels / self.groups, self.n());
        let taps = self.kernel.iter().product::<usize>();
        let mut out = Vec::with_capacity(og * cg * taps);
        for o in g * og..(g + 1) * og {
            for c in 0..cg {
                for t in 0..taps {
                    let idx = match self.kernel_fmt {
                        KernelFmt::Oihw => (o * cg + c) * taps + t,
                        KernelFmt::Ohwi => (o * taps + t) * cg + c,
                        KernelFmt::Hwio => (t * cg + c) * self.out_channels + o,
                    };
                    out.push(w[idx]);
                }
            }
        }
        out
    }

    /// Flat index in the output tensor of image `img`, output position `o`,
    /// output channel `ch`.
    pub fn output_index_at(&self, img: usize, o: usize, ch: usize) -> usize {
        let outs: usize = self.out_spatial.iter().product();
        if self.nhwc {
            (img * outs + o) * self.out_channels + ch
        } else {
            (img * self.out_channels + ch) * outs + o
        }
    }
}

fn unravel(mut i: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        out[d] = i % dims[d];
        i /= dims[d];
    }
}

/// Why a node with MACs cannot be offloaded; it then runs on tract.
pub type Refusal = String;

fn concrete(fact: &TypedFact, what: &str) -> Result<Vec<usize>, Refusal> {
    fact.shape
        .as_concrete()
        .map(|s| s.to_vec())
        .ok_or_else(|| format!("{what} has a symbolic shape {:?}", fact.shape))
}

/// The datum types the accelerator path reads.
fn supported_type(dt: DatumType) -> bool {
    matches!(
        dt.unquantized(),
        DatumType::F32 | DatumType::I8 | DatumType::U8
    )
}

/// The role of an EinSum axis in the GEMMs.
#[derive(PartialEq, Clone, Copy)]
enum Class {
    Batch,
    M,
    N,
    K,
    Unit,
}

/// An axis: its class, its positions in the activation, the weight and the
/// output, and its size.
type AxisRole = (Class, Option<usize>, Option<usize>, Option<usize>, usize);

/// Describes an EinSum as GEMMs, or says why it cannot be.
pub fn einsum_site(
    op: &EinSum,
    inputs: &[&TypedFact],
    output: &TypedFact,
) -> Result<Site, Refusal> {
    let expected = if op.q_params.is_some() { Q_INPUTS } else { 2 };
    if inputs.len() != expected {
        return Err(format!("EinSum with {} inputs", inputs.len()));
    }
    for (i, f) in inputs[..2].iter().enumerate() {
        if !supported_type(f.datum_type) {
            return Err(format!("input {i} is {:?}", f.datum_type));
        }
    }
    // The constant input is the weight; with none, input 1 is.
    let act_input = if inputs[0].konst.is_some() && inputs[1].konst.is_none() {
        1
    } else {
        0
    };
    let w_input = 1 - act_input;
    if op.q_params.is_some() {
        // Activation and output parameters must be per tensor; per-channel
        // weight ones are checked against N when they arrive.
        let act_params = if act_input == 0 { 3 } else { 5 };
        for i in [act_params, act_params + 1, 7, 8] {
            if inputs[i].shape.volume() != 1.to_dim() {
                return Err(format!(
                    "quantisation input {i} is per axis ({:?})",
                    inputs[i].shape
                ));
            }
        }
    }
    let act_shape = concrete(inputs[act_input], "the activation")?;
    let w_shape = concrete(inputs[w_input], "the weight")?;
    let out_shape = concrete(output, "the output")?;

    let mut classes: Vec<AxisRole> = Vec::new();
    for axis in op.axes.iter_all_axes() {
        let pos = |slot: usize| -> Result<Option<usize>, Refusal> {
            match axis.inputs[slot].len() {
                0 => Ok(None),
                1 => Ok(Some(axis.inputs[slot][0])),
                _ => Err(format!("axis {} repeats in one input", axis.repr)),
            }
        };
        let (pa, pw) = (pos(act_input)?, pos(w_input)?);
        let po = match axis.outputs[0].len() {
            0 => None,
            1 => Some(axis.outputs[0][0]),
            _ => return Err(format!("axis {} repeats in the output", axis.repr)),
        };
        let da = pa.map(|p| act_shape[p]);
        let dw = pw.map(|p| w_shape[p]);
        let dout = po.map(|p| out_shape[p]);
        let class = match (da, dw, dout) {
            (Some(a), Some(w), None) if a == w => Class::K,
            (Some(a), None, Some(o)) if a == o => Class::M,
            (None, Some(w), Some(o)) if w == o => Class::N,
            (Some(a), Some(w), Some(o)) if a == w && w == o => Class::Batch,
            (Some(a), Some(1), Some(o)) if a == o => Class::M,
            (Some(1), Some(w), Some(o)) if w == o => Class::N,
            (a, w, o) if a.unwrap_or(1) == 1 && w.unwrap_or(1) == 1 && o.unwrap_or(1) == 1 => {
                Class::Unit
            }
            _ => {
                return Err(format!(
                    "axis {} (activation {da:?}, weight {dw:?}, output {dout:?}) is not a batch, M, N or K axis",
                    axis.repr
                ))
            }
        };
        classes.push((class, pa, pw, po, da.or(dw).or(dout).unwrap_or(1)));
    }
    let order = [Class::Batch, Class::M, Class::N, Class::K, Class::Unit];
    let perm_of =
        |pick: &dyn Fn(&AxisRole) -> Option<usize>, rank: usize, wanted: &[Class]| -> Vec<usize> {
            let mut perm = Vec::with_capacity(rank);
            for c in wanted {
                perm.extend(classes.iter().filter(|e| e.0 == *c).filter_map(pick));
            }
            // Axes of the operand no class claimed (units present only here).
            for p in 0..rank {
                if !perm.contains(&p) {
                    perm.push(p);
                }
            }
            perm
        };
    let act_perm = perm_of(&|e| e.1, act_shape.len(), &order);
    let weight_perm = perm_of(&|e| e.2, w_shape.len(), &order);
    let out_order = [Class::Batch, Class::M, Class::N];
    let out_axes = perm_of(&|e| e.3, out_shape.len(), &out_order);
    let out_class_shape: Vec<usize> = out_axes.iter().map(|&p| out_shape[p]).collect();
    let mut out_perm = vec![0; out_shape.len()];
    for (i, &p) in out_axes.iter().enumerate() {
        out_perm[p] = i;
    }
    let size = |c: Class| -> usize { classes.iter().filter(|e| e.0 == c).map(|e| e.4).product() };
    Ok(Site::EinSum(EinSumSite {
        act_input,
        act_perm,
        weight_perm,
        out_class_shape,
        out_perm,
        batch: size(Class::Batch),
        m: size(Class::M),
        n: size(Class::N),
        k: size(Class::K),
    }))
}

/// Describes a convolution as GEMMs, or says why it cannot be.
pub fn conv_site(op: &Conv, inputs: &[&TypedFact]) -> Result<Site, Refusal> {
    if !supported_type(inputs[0].datum_type) || !supported_type(inputs[1].datum_type) {
        return Err(format!(
            "input {:?} or kernel {:?} is not f32, i8 or u8",
            inputs[0].datum_type, inputs[1].datum_type
        ));
    }
    let spec = &op.pool_spec;
    let x = concrete(inputs[0], "the input")?;
    let (nhwc, has_n) = match spec.data_format {
        DataFormat::NCHW => (false, true),
        DataFormat::NHWC => (true, true),
        DataFormat::CHW => (false, false),
        DataFormat::HWC => (true, false),
    };
    let (images, rest) = if has_n { (x[0], &x[1..]) } else { (1, &x[..]) };
    let (channels, in_spatial) = if nhwc {
        (rest[rest.len() - 1], rest[..rest.len() - 1].to_vec())
    } else {
        (rest[0], rest[1..].to_vec())
    };
    let rank = in_spatial.len();
    let strides = spec.strides().to_vec();
    let dilations = spec.dilations().to_vec();
    let padded = spec.computed_padding(&in_spatial);
    if op.group == 0 || channels % op.group != 0 || !spec.output_channels.is_multiple_of(op.group) {
        return Err(format!("group {} does not divide the channels", op.group));
    }
    if channels != spec.input_channels {
        return Err("input channels disagree with the kernel".into());
    }
    let mut site = ConvSite {
        nhwc,
        images,
        channels,
        groups: op.group,
        out_channels: spec.output_channels,
        out_spatial: padded.iter().map(|d| d.convoluted).collect(),
        pad_before: padded.iter().map(|d| d.pad_before).collect(),
        in_spatial,
        kernel: spec.kernel_shape.to_vec(),
        strides: if strides.len() == rank {
            strides
        } else {
            vec![1; rank]
        },
        dilations: if dilations.len() == rank {
            dilations
        } else {
            vec![1; rank]
        },
        kernel_fmt: match op.kernel_fmt {
            KernelFormat::OIHW => KernelFmt::Oihw,
            KernelFormat::HWIO => KernelFmt::Hwio,
            KernelFormat::OHWI => KernelFmt::Ohwi,
        },
        reads: Vec::new(),
    };
    site.reads = site.read_table();
    Ok(Site::Conv(site))
}
