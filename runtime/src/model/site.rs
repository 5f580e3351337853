//! Where a model's MACs are and how they become accelerator GEMMs: an
//! EinSum (MatMul, Gemm, 1x1 Conv and their quantised forms after
//! decluttering), a Conv (lowered by im2col) or a Deconv (ONNX's
//! ConvTranspose, lowered to a GEMM and col2im), described as the GEMMs
//! `C[b] = A[b] x W[b]^T` and how to gather A from the activation tensor and
//! scatter C into the output tensor.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::conv::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::cnn::Deconv;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::permute::batched_transpose;

/// Input positions of the quantisation parameters in a quantised EinSum
/// or Conv: A, B, bias, A0, A scale, B0, B scale, C0, C scale.
pub const Q_INPUTS: usize = 9;

/// How one offloadable node maps onto GEMMs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Site {
    EinSum(EinSumSite),
    /// Shared: a depthwise convolution's calls carry its geometry (see
    /// `MatrixActs::Planes`).
    Conv(std::sync::Arc<ConvSite>),
    Deconv(DeconvSite),
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

impl EinSumSite {
    /// Whether each batch matrix of the activation `x` (of `x_shape`) is
    /// K x M and the output's N x M: M's axes after K's and N's, as an NCHW
    /// 1x1 convolution's channels come before its positions. Such a node's
    /// calls can take A and give C transposed, with no permutation either
    /// side (see `MatrixActs::ChannelMajor`).
    pub fn channel_major(&self, x_shape: &[usize]) -> bool {
        batched_transpose(x_shape, &self.act_perm) == Some((self.batch, self.m, self.k))
            && batched_transpose(&self.out_class_shape, &self.out_perm)
                == Some((self.batch, self.n, self.m))
    }
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
    /// [`PADDING`]: computed once, read by every call of every group (4
    /// bytes an entry, not an `Option<usize>`'s 16: the table is read far
    /// more often than the activations it indexes).
    pub reads: Vec<u32>,
}

/// [`ConvSite::fill_plane`] from the plane at `base` of `x`, `step` apart
/// along a row, compiled for AVX2 and AVX-512 too: the conversion of
/// every value (int8 to f32 for the depthwise golden models) is most of it.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn fill_plane_rows<S: Copy, T: Copy + From<S>>(
    g: &PlaneGeometry,
    x: &[S],
    base: usize,
    step: usize,
    pad: T,
    plane: &mut Vec<T>,
) {
    let ([h, wd], [pt, pl]) = (g.input, g.pad_before);
    // The input columns that land in the plane, and where.
    let first_col = pl.min(g.cols);
    let width = wd.min(g.cols - first_col);
    // All `pad` first, then the input's rows over it: a fill and a
    // conversion of slice to slice both vectorise, where extending the
    // vector a run at a time did neither.
    plane.clear();
    plane.resize(g.rows * g.cols, pad);
    for (r, row) in plane.chunks_exact_mut(g.cols.max(1)).enumerate() {
        let Some(y) = r.checked_sub(pt).filter(|&y| y < h) else {
            continue;
        };
        let from = base + y * wd * step;
        let dst = &mut row[first_col..first_col + width];
        if step == 1 {
            for (d, &q) in dst.iter_mut().zip(&x[from..from + width]) {
                *d = T::from(q);
            }
        } else {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = T::from(x[from + i * step]);
            }
        }
    }
}

/// A [`ConvSite::reads`] entry that falls in the padding.
pub const PADDING: u32 = u32::MAX;

/// A transposed convolution (tract's `Deconv`, ONNX's ConvTranspose)
/// lowered to one GEMM per group, then col2im: M = images x input
/// positions, K = input channels per group, N = output channels per group x
/// kernel taps. Every input position spreads its K channels through every
/// tap, and col2im adds each (input position, tap) product into the output
/// position it lands on. The bias is added once per output channel after
/// col2im, not by the GEMM, whose columns are (channel, tap) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeconvSite {
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
    /// For each (input position, kernel tap), the output position it adds
    /// into, or `None` where it lands outside the output (cropped by the
    /// padding): computed once, read on every call.
    pub lands: Vec<Option<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelFmt {
    Oihw,
    Hwio,
    Ohwi,
}

impl KernelFmt {
    fn of(format: KernelFormat) -> Self {
        match format {
            KernelFormat::OIHW => KernelFmt::Oihw,
            KernelFormat::HWIO => KernelFmt::Hwio,
            KernelFormat::OHWI => KernelFmt::Ohwi,
        }
    }

    /// Flat index in a kernel of this format of group `g`'s output channel
    /// `o` (of `og`) and input channel `c` (of `cg`) at tap `t` (of `taps`).
    /// tract's layouts (`KernelFormat::kernel_as_group_o_i_h_w_ops`), for
    /// convolutions and deconvolutions alike: OIHW is `[groups * og, cg,
    /// taps]`, HWIO `[taps, groups * cg, og]` and OHWI `[og, taps, groups *
    /// cg]`, so the group sits on O in the first and on I in the others.
    #[allow(clippy::too_many_arguments)]
    fn index(
        self,
        groups: usize,
        g: usize,
        og: usize,
        o: usize,
        cg: usize,
        c: usize,
        taps: usize,
        t: usize,
    ) -> usize {
        match self {
            KernelFmt::Oihw => ((g * og + o) * cg + c) * taps + t,
            KernelFmt::Hwio => (t * groups * cg + g * cg + c) * og + o,
            KernelFmt::Ohwi => (o * taps + t) * groups * cg + g * cg + c,
        }
    }
}

impl Site {
    /// The node's (activation, weight) input positions.
    pub fn operands(&self) -> (usize, usize) {
        match self {
            Site::EinSum(s) => (s.act_input, 1 - s.act_input),
            Site::Conv(_) | Site::Deconv(_) => (0, 1),
        }
    }

    /// GEMMs per evaluation of the node.
    pub fn calls(&self) -> usize {
        match self {
            Site::EinSum(s) => s.batch,
            Site::Conv(c) => c.groups,
            Site::Deconv(d) => d.groups,
        }
    }

    /// (M, K, N) of every call.
    pub fn shape(&self) -> [usize; 3] {
        match self {
            Site::EinSum(s) => [s.m, s.k, s.n],
            Site::Conv(c) => [c.m(), c.k(), c.n()],
            Site::Deconv(d) => [d.m(), d.k(), d.n()],
        }
    }

    pub fn macs(&self) -> u64 {
        let [m, k, n] = self.shape();
        (self.calls() * m * k * n) as u64
    }

    pub fn describe(&self) -> String {
        let dims = |v: &[usize]| {
            v.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("x")
        };
        let groups = |g: usize| {
            if g > 1 {
                format!(", {g} groups")
            } else {
                String::new()
            }
        };
        match self {
            Site::EinSum(_) => "EinSum".to_string(),
            Site::Conv(c) => format!("Conv {} (im2col{})", dims(&c.kernel), groups(c.groups)),
            Site::Deconv(d) => {
                let stride = if d.strides.iter().all(|&s| s == d.strides[0]) {
                    d.strides[0].to_string()
                } else {
                    dims(&d.strides)
                };
                format!(
                    "ConvTranspose {} stride {stride} (GEMM + col2im{})",
                    dims(&d.kernel),
                    groups(d.groups)
                )
            }
        }
    }
}

/// One channel of a 2-D convolution as a padded plane: the input rows and
/// columns every tap reaches, with the padding in place, so that a tap
/// reads a whole output row as one strided run of the plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneGeometry {
    /// The input's height and width.
    pub input: [usize; 2],
    /// The padded plane's height and width.
    pub rows: usize,
    pub cols: usize,
    pub pad_before: [usize; 2],
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    /// The output's height and width.
    pub out: [usize; 2],
}

impl PlaneGeometry {
    /// Taps per output: the kernel's height times width.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Where each tap reads once the plane is split by column phase (see
    /// [`TapLayout`]).
    pub fn tap_layout(&self) -> TapLayout {
        let stride = self.strides[1];
        let cols = self.cols.div_ceil(stride);
        let len = self.rows * cols;
        let starts = (0..self.taps())
            .map(|tap| {
                let (ty, tx) = (tap / self.kernel[1], tap % self.kernel[1]);
                let col = tx * self.dilations[1];
                (col % stride) * len + ty * self.dilations[0] * cols + col / stride
            })
            .collect();
        TapLayout {
            stride,
            plane_cols: self.cols,
            cols,
            len,
            starts,
            row_step: self.strides[0] * cols,
        }
    }
}

/// Why a call that reads a convolution's input planes directly does not fit
/// its site ([`ConvSite::check_plane_call`]); both engines' direct calls
/// report it as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlaneCallError {
    #[error(
        "a direct convolution call needs one input channel per group and one of its groups; \
         this one asks for group {group} of {groups} over {channels} channels"
    )]
    Groups {
        channels: usize,
        groups: usize,
        group: usize,
    },
    #[error(
        "a convolution's input holds {len} values, but its {planes} planes (images x channels) \
         of {spatial} positions need {}", planes * spatial
    )]
    Input {
        len: usize,
        planes: usize,
        spatial: usize,
    },
}

/// A padded plane split by column into one plane per phase of the column
/// stride (column `c` goes to phase `c % stride`, at column `c / stride`),
/// so that every tap reads consecutive values for consecutive outputs:
/// tap `t` of output `o` in output row `r` reads `starts[t] + r * row_step
/// + o`. With stride 1 the split plane is the plane itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapLayout {
    stride: usize,
    /// Columns of the unsplit plane.
    plane_cols: usize,
    /// Columns of each phase's plane.
    pub cols: usize,
    /// Values in each phase's plane.
    pub len: usize,
    /// Where each tap reads for output 0 of output row 0.
    pub starts: Vec<usize>,
    /// How much further on each output row reads.
    pub row_step: usize,
}

impl TapLayout {
    /// `plane` split by phase (into `scratch` unless the stride is 1),
    /// with `slack` copies of `pad` past the end, so that a routine reading
    /// `slack` outputs at a time may run past a row's last output.
    pub fn arrange<'a, T: Copy>(
        &self,
        plane: &'a mut Vec<T>,
        scratch: &'a mut Vec<T>,
        slack: usize,
        pad: T,
    ) -> &'a [T] {
        if self.stride == 1 {
            plane.resize(plane.len() + slack, pad);
            return plane;
        }
        scratch.clear();
        scratch.resize(self.stride * self.len + slack, pad);
        if self.stride == 2 {
            // The usual stride: both phases in one pass that vectorises.
            let (even, odd) = scratch.split_at_mut(self.len);
            for ((src, e), o) in plane
                .chunks_exact(self.plane_cols)
                .zip(even.chunks_exact_mut(self.cols))
                .zip(odd.chunks_exact_mut(self.cols))
            {
                deinterleave(src, e, o);
            }
            return scratch;
        }
        for (phase, dst) in scratch.chunks_exact_mut(self.len).enumerate() {
            for (src, dst) in plane
                .chunks_exact(self.plane_cols)
                .zip(dst.chunks_exact_mut(self.cols))
            {
                for (d, &v) in dst
                    .iter_mut()
                    .zip(src.iter().skip(phase).step_by(self.stride))
                {
                    *d = v;
                }
            }
        }
        scratch
    }
}

/// `even[i] = src[2 i]`, `odd[i] = src[2 i + 1]` (as far as `src` reaches).
fn deinterleave<T: Copy>(src: &[T], even: &mut [T], odd: &mut [T]) {
    let pairs = src.chunks_exact(2);
    let last = pairs.remainder().first().copied();
    let whole = pairs.len();
    for ((pair, e), o) in pairs.zip(even.iter_mut()).zip(odd.iter_mut()) {
        *e = pair[0];
        *o = pair[1];
    }
    if let (Some(v), Some(e)) = (last, even.get_mut(whole)) {
        *e = v;
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

    /// The site with its [`ConvSite::reads`] table filled in from its
    /// geometry.
    pub fn with_reads(mut self) -> Self {
        self.reads = self
            .read_table()
            .into_iter()
            .map(|r| r.map_or(PADDING, |p| p as u32))
            .collect();
        self
    }

    /// Checks a call that reads the input planes of group `group` directly
    /// (a depthwise convolution's, see the engines' `ConvCall`s) from an
    /// input of `input_len` values.
    pub fn check_plane_call(&self, group: usize, input_len: usize) -> Result<(), PlaneCallError> {
        if self.channels != self.groups || group >= self.groups {
            return Err(PlaneCallError::Groups {
                channels: self.channels,
                groups: self.groups,
                group,
            });
        }
        let spatial: usize = self.in_spatial.iter().product();
        let planes = self.images * self.channels;
        if input_len != planes * spatial {
            return Err(PlaneCallError::Input {
                len: input_len,
                planes,
                spatial,
            });
        }
        Ok(())
    }

    /// Where channel `ch` of image `img` sits in the input: position `p`
    /// is at `base + p * step`.
    pub fn input_plane(&self, img: usize, ch: usize) -> (usize, usize) {
        let spatial: usize = self.in_spatial.iter().product();
        if self.nhwc {
            (img * spatial * self.channels + ch, self.channels)
        } else {
            ((img * self.channels + ch) * spatial, 1)
        }
    }

    /// A 2-D convolution's padded plane (`None` for other ranks).
    pub fn plane_geometry(&self) -> Option<PlaneGeometry> {
        let ([h, w], [oh, ow]) = (
            <[usize; 2]>::try_from(&self.in_spatial[..]).ok()?,
            <[usize; 2]>::try_from(&self.out_spatial[..]).ok()?,
        );
        let kernel = <[usize; 2]>::try_from(&self.kernel[..]).ok()?;
        let strides = <[usize; 2]>::try_from(&self.strides[..]).ok()?;
        let dilations = <[usize; 2]>::try_from(&self.dilations[..]).ok()?;
        let pad_before = <[usize; 2]>::try_from(&self.pad_before[..]).ok()?;
        if oh == 0 || ow == 0 || kernel.contains(&0) {
            return None;
        }
        Some(PlaneGeometry {
            input: [h, w],
            rows: (oh - 1) * strides[0] + (kernel[0] - 1) * dilations[0] + 1,
            cols: (ow - 1) * strides[1] + (kernel[1] - 1) * dilations[1] + 1,
            pad_before,
            kernel,
            strides,
            dilations,
            out: [oh, ow],
        })
    }

    /// Copies channel `ch` of image `img` of the input `x` into `plane`
    /// (`g`'s rows x cols, resized to fit) as `T`, `pad` around it where the
    /// kernel reaches outside the input, as [`ConvSite::gather`] pads.
    pub fn fill_plane<S: Copy, T: Copy + From<S>>(
        &self,
        g: &PlaneGeometry,
        x: &[S],
        img: usize,
        ch: usize,
        pad: T,
        plane: &mut Vec<T>,
    ) {
        let (base, step) = self.input_plane(img, ch);
        fill_plane_rows(g, x, base, step, pad, plane);
    }

    /// A for group `g`: M x K row-major, K ordered (channel, kernel
    /// position), `pad` where the kernel reaches outside the input.
    pub fn gather<T: Copy>(&self, x: &[T], g: usize, pad: T) -> Vec<T> {
        let outs: usize = self.out_spatial.iter().product();
        let cg = self.channels / self.groups;
        let taps = self.kernel.iter().product::<usize>();
        let k = self.k();
        let mut a = vec![pad; self.m() * k];
        if cg == 1 {
            // One channel per group (a depthwise convolution): A's rows are
            // the read table's rows, so one flat pass fills them.
            for (img, rows) in a.chunks_exact_mut((outs * taps).max(1)).enumerate() {
                let (base, step) = self.input_plane(img, g);
                for (dst, &r) in rows.iter_mut().zip(&self.reads) {
                    if r != PADDING {
                        *dst = x[base + r as usize * step];
                    }
                }
            }
            return a;
        }
        // Blocks of output positions: a block's rows of A stay in cache
        // while every channel is written into them, and each channel's
        // reads for the block are close together in the input.
        const BLOCK: usize = 32;
        for img in 0..self.images {
            for o0 in (0..outs).step_by(BLOCK) {
                let o1 = (o0 + BLOCK).min(outs);
                for c in 0..cg {
                    let (base, step) = self.input_plane(img, g * cg + c);
                    for o in o0..o1 {
                        let row = &mut a[(img * outs + o) * k + c * taps..][..taps];
                        for (dst, &r) in row.iter_mut().zip(&self.reads[o * taps..(o + 1) * taps]) {
                            if r != PADDING {
                                *dst = x[base + r as usize * step];
                            }
                        }
                    }
                }
            }
        }
        a
    }

    /// The [`ConvSite::reads`] table of this geometry: from each output
    /// position through each tap to the input position it reads.
    fn read_table(&self) -> Vec<Option<usize>> {
        tap_table(&TapGeometry {
            from: &self.out_spatial,
            to: &self.in_spatial,
            kernel: &self.kernel,
            strides: &self.strides,
            dilations: &self.dilations,
            pad_before: &self.pad_before,
        })
    }

    /// Weights of group `g` as N x K in [`ConvSite::gather`]'s K order.
    pub fn weights<T: Copy>(&self, w: &[T], g: usize) -> Vec<T> {
        let (cg, og) = (self.channels / self.groups, self.n());
        let taps = self.kernel.iter().product::<usize>();
        let mut out = Vec::with_capacity(og * cg * taps);
        for o in 0..og {
            for c in 0..cg {
                for t in 0..taps {
                    let idx = self.kernel_fmt.index(self.groups, g, og, o, cg, c, taps, t);
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

impl DeconvSite {
    pub fn m(&self) -> usize {
        self.images * self.in_spatial.iter().product::<usize>()
    }
    pub fn k(&self) -> usize {
        self.channels / self.groups
    }
    pub fn n(&self) -> usize {
        self.out_channels / self.groups * self.taps()
    }
    fn taps(&self) -> usize {
        self.kernel.iter().product()
    }

    /// A for group `g`: M x K row-major, one row per (image, input
    /// position), the group's input channels along K. Unlike im2col there is
    /// no padding to fill: every input value is used.
    pub fn gather<T: Copy>(&self, x: &[T], g: usize) -> Vec<T> {
        let spatial: usize = self.in_spatial.iter().product();
        let cg = self.k();
        let mut a = Vec::with_capacity(self.m() * cg);
        for img in 0..self.images {
            for pos in 0..spatial {
                a.extend((g * cg..(g + 1) * cg).map(|ch| {
                    x[if self.nhwc {
                        (img * spatial + pos) * self.channels + ch
                    } else {
                        (img * self.channels + ch) * spatial + pos
                    }]
                }));
            }
        }
        a
    }

    /// Weights of group `g` as N x K: one row per (output channel, tap) in
    /// that order, the group's input channels along K.
    pub fn weights<T: Copy>(&self, w: &[T], g: usize) -> Vec<T> {
        let (cg, og, taps) = (self.k(), self.out_channels / self.groups, self.taps());
        let mut out = Vec::with_capacity(og * taps * cg);
        for o in 0..og {
            for t in 0..taps {
                for c in 0..cg {
                    out.push(w[self.kernel_fmt.index(self.groups, g, og, o, cg, c, taps, t)]);
                }
            }
        }
        out
    }

    /// col2im: adds group `g`'s GEMM result `c` (M x N, [`DeconvSite::weights`]'
    /// N order) into the output tensor `y`, each (input position, tap) into
    /// the output position it lands on. Products that land in the padding
    /// are dropped, as the transposed convolution crops them.
    pub fn col2im(&self, c: &[f64], g: usize, y: &mut [f64]) {
        let taps = self.taps();
        let og = self.out_channels / self.groups;
        let spatial: usize = self.in_spatial.iter().product();
        let outs: usize = self.out_spatial.iter().product();
        let n = self.n();
        for (row, values) in c.chunks_exact(n).enumerate() {
            let (img, pos) = (row / spatial, row % spatial);
            let lands = &self.lands[pos * taps..(pos + 1) * taps];
            for o in 0..og {
                let ch = g * og + o;
                for (t, land) in lands.iter().enumerate() {
                    if let Some(out) = land {
                        let index = if self.nhwc {
                            (img * outs + out) * self.out_channels + ch
                        } else {
                            (img * self.out_channels + ch) * outs + out
                        };
                        y[index] += values[o * taps + t];
                    }
                }
            }
        }
    }

    /// Adds `bias[ch]` to every output value of channel `ch`.
    pub fn add_bias(&self, bias: &[f64], y: &mut [f64]) {
        let outs: usize = self.out_spatial.iter().product();
        for (i, v) in y.iter_mut().enumerate() {
            let ch = if self.nhwc {
                i % self.out_channels
            } else {
                i / outs % self.out_channels
            };
            *v += bias[ch];
        }
    }

    /// The [`DeconvSite::lands`] table of this geometry: from each input
    /// position through each tap to the output position it lands on.
    fn land_table(&self) -> Vec<Option<usize>> {
        tap_table(&TapGeometry {
            from: &self.in_spatial,
            to: &self.out_spatial,
            kernel: &self.kernel,
            strides: &self.strides,
            dilations: &self.dilations,
            pad_before: &self.pad_before,
        })
    }
}

/// One side of a convolution's geometry: positions of `from` reach
/// positions of `to` through each kernel tap, at `pos * stride + tap *
/// dilation - pad_before` on every axis. A Conv reads its input from its
/// output positions this way; a ConvTranspose lands its input positions on
/// its output the same way.
struct TapGeometry<'a> {
    from: &'a [usize],
    to: &'a [usize],
    kernel: &'a [usize],
    strides: &'a [usize],
    dilations: &'a [usize],
    pad_before: &'a [usize],
}

/// For each (position of `from`, kernel tap), the flat position of `to` it
/// reaches, or `None` outside `to`.
fn tap_table(g: &TapGeometry<'_>) -> Vec<Option<usize>> {
    let taps: usize = g.kernel.iter().product();
    let count: usize = g.from.iter().product();
    let rank = g.from.len();
    let mut pos = vec![0usize; rank];
    let mut tap = vec![0usize; rank];
    let mut table = Vec::with_capacity(count * taps);
    for p in 0..count {
        unravel(p, g.from, &mut pos);
        for t in 0..taps {
            unravel(t, g.kernel, &mut tap);
            table.push(reach(g, &pos, &tap));
        }
    }
    table
}

fn reach(g: &TapGeometry<'_>, pos: &[usize], tap: &[usize]) -> Option<usize> {
    let mut offset = 0;
    for d in 0..pos.len() {
        let i =
            (pos[d] * g.strides[d] + tap[d] * g.dilations[d]) as isize - g.pad_before[d] as isize;
        if i < 0 || i as usize >= g.to[d] {
            return None;
        }
        offset = offset * g.to[d] + i as usize;
    }
    Some(offset)
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
    let Layout {
        nhwc,
        images,
        channels,
        spatial: in_spatial,
    } = Layout::of(spec.data_format, &x)?;
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
    let site = ConvSite {
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
        kernel_fmt: KernelFmt::of(op.kernel_fmt),
        reads: Vec::new(),
    };
    if site.in_spatial.iter().product::<usize>() >= PADDING as usize {
        return Err(format!(
            "an input of {:?} positions per channel is too large to offload (the limit is 2^32 - 1)",
            site.in_spatial
        ));
    }
    Ok(Site::Conv(std::sync::Arc::new(site.with_reads())))
}

/// How an activation tensor's axes split, by its data format.
struct Layout {
    /// Channels last.
    nhwc: bool,
    images: usize,
    channels: usize,
    spatial: Vec<usize>,
}

impl Layout {
    fn of(format: DataFormat, shape: &[usize]) -> Result<Self, Refusal> {
        let (nhwc, has_n) = match format {
            DataFormat::NCHW => (false, true),
            DataFormat::NHWC => (true, true),
            DataFormat::CHW => (false, false),
            DataFormat::HWC => (true, false),
        };
        if shape.len() < 1 + usize::from(has_n) {
            return Err(format!("the input's shape {shape:?} has no channel axis"));
        }
        let (images, rest) = if has_n {
            (shape[0], &shape[1..])
        } else {
            (1, shape)
        };
        let (channels, spatial) = if nhwc {
            (rest[rest.len() - 1], rest[..rest.len() - 1].to_vec())
        } else {
            (rest[0], rest[1..].to_vec())
        };
        Ok(Layout {
            nhwc,
            images,
            channels,
            spatial,
        })
    }

    /// The shape of a tensor of this layout with `channels` and `spatial`.
    fn shape(&self, format: DataFormat, channels: usize, spatial: &[usize]) -> Vec<usize> {
        let mut shape = Vec::with_capacity(spatial.len() + 2);
        if format.has_n() {
            shape.push(self.images);
        }
        if !self.nhwc {
            shape.push(channels);
        }
        shape.extend_from_slice(spatial);
        if self.nhwc {
            shape.push(channels);
        }
        shape
    }
}

/// Multiply-accumulates of a transposed convolution, offloaded or not:
/// every input value of a group meets every tap of each of the group's
/// output channels (products the padding crops included, as the GEMM
/// computes them). `None` when the input shape is symbolic.
pub fn deconv_macs(op: &Deconv, inputs: &[&TypedFact]) -> Option<u64> {
    let x = inputs.first()?.shape.as_concrete()?;
    let layout = Layout::of(op.pool_spec.data_format, x).ok()?;
    let positions: usize = layout.spatial.iter().product();
    let taps: usize = op.pool_spec.kernel_shape.iter().product();
    let groups = op.group.max(1);
    let (cg, og) = (
        op.pool_spec.input_channels / groups,
        op.pool_spec.output_channels / groups,
    );
    Some((layout.images * positions * cg * og * taps * groups) as u64)
}

/// Describes a transposed convolution as GEMMs and col2im, or says why it
/// cannot be. The geometry is tract's own (`PaddingSpec::compute_for_deconv`
/// with the op's adjustments, which is how tract maps ONNX's pads,
/// auto_pad, output_padding and output_shape), so the output matches
/// tract's shape and crop exactly.
pub fn deconv_site(
    op: &Deconv,
    inputs: &[&TypedFact],
    output: &TypedFact,
) -> Result<Site, Refusal> {
    if inputs.len() != 3 {
        return Err(format!("Deconv with {} inputs", inputs.len()));
    }
    let (x_dt, k_dt) = (inputs[0].datum_type, inputs[1].datum_type);
    if x_dt != DatumType::F32 || k_dt != DatumType::F32 {
        // ONNX's ConvTranspose is float only; an integer or quantised
        // deconvolution (other front ends) would need the zero-point
        // handling of quantised convolutions, which is not built.
        return Err(format!(
            "transposed convolution on {x_dt:?} x {k_dt:?}: kiln offloads f32 ones only"
        ));
    }
    let spec = &op.pool_spec;
    let x = concrete(inputs[0], "the input")?;
    let layout = Layout::of(spec.data_format, &x)?;
    let rank = layout.spatial.len();
    if rank == 0 {
        return Err("transposed convolution without spatial axes".into());
    }
    let groups = op.group;
    if groups == 0 || layout.channels % groups != 0 || !spec.output_channels.is_multiple_of(groups)
    {
        return Err(format!("group {groups} does not divide the channels"));
    }
    if layout.channels != spec.input_channels {
        return Err("input channels disagree with the kernel".into());
    }
    let per_axis = |v: Vec<usize>| if v.len() == rank { v } else { vec![1; rank] };
    let strides = per_axis(spec.strides().to_vec());
    let dilations = per_axis(spec.dilations().to_vec());
    if spec.kernel_shape.len() != rank || op.adjustments.len() != rank {
        return Err(format!(
            "kernel {:?} or adjustments {:?} do not match {rank} spatial axes",
            spec.kernel_shape, op.adjustments
        ));
    }
    let dims = spec
        .padding
        .compute_for_deconv(
            &layout.spatial,
            &spec.kernel_shape,
            &dilations,
            &strides,
            &op.adjustments,
        )
        .map_err(|e| format!("padding: {e}"))?;
    let out_spatial: Vec<usize> = dims.iter().map(|d| d.deconvoluted).collect();
    let expected = layout.shape(spec.data_format, spec.output_channels, &out_spatial);
    let out_shape = concrete(output, "the output")?;
    if out_shape != expected {
        return Err(format!(
            "output shape {out_shape:?} is not the computed {expected:?}"
        ));
    }
    let taps: usize = spec.kernel_shape.iter().product();
    let kernel = concrete(inputs[1], "the kernel")?;
    let kernel_len: usize = kernel.iter().product();
    if kernel_len != spec.output_channels * (layout.channels / groups) * taps {
        return Err(format!("kernel shape {kernel:?} does not fit the channels"));
    }
    // tract-onnx gives a per-channel vector or a zero scalar; a bias over
    // the spatial axes too would not be one value per channel.
    let bias = concrete(inputs[2], "the bias")?;
    let bias_len: usize = bias.iter().product();
    if !(bias_len == 1 || (bias.len() == 1 && bias_len == spec.output_channels)) {
        return Err(format!(
            "bias of shape {bias:?} is not one value per channel"
        ));
    }
    let mut site = DeconvSite {
        nhwc: layout.nhwc,
        images: layout.images,
        channels: layout.channels,
        groups,
        out_channels: spec.output_channels,
        in_spatial: layout.spatial,
        out_spatial,
        kernel: spec.kernel_shape.to_vec(),
        strides,
        dilations,
        pad_before: dims.iter().map(|d| d.pad_before).collect(),
        kernel_fmt: KernelFmt::of(op.kernel_format),
        lands: Vec::new(),
    };
    site.lands = site.land_table();
    Ok(Site::Deconv(site))
}

/// A convolution's geometry, for tests across the crate: [`TestConv::site`]
/// is its site, padded by `pads` on both sides of each axis.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct TestConv {
    pub nhwc: bool,
    pub images: usize,
    pub channels: usize,
    pub groups: usize,
    pub out_channels: usize,
    pub input: Vec<usize>,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads: Vec<usize>,
}

#[cfg(test)]
impl TestConv {
    /// A depthwise convolution (one input channel per group) over
    /// `channels` channels with `multiplier` outputs each; the slices are
    /// per spatial axis.
    #[allow(clippy::too_many_arguments)]
    pub fn depthwise(
        nhwc: bool,
        images: usize,
        channels: usize,
        multiplier: usize,
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads: &[usize],
    ) -> Self {
        Self {
            nhwc,
            images,
            channels,
            groups: channels,
            out_channels: channels * multiplier,
            input: input.to_vec(),
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: dilations.to_vec(),
            pads: pads.to_vec(),
        }
    }

    /// The 2-D depthwise geometries the direct golden models are held to
    /// their gathered ones on: strides, dilations, padding, both layouts,
    /// batches and a depth multiplier, over 3 channels.
    pub fn depthwise_cases() -> Vec<Self> {
        let d = |nhwc,
                 images,
                 multiplier,
                 input: [usize; 2],
                 kernel: [usize; 2],
                 strides: [usize; 2],
                 dilations: [usize; 2],
                 pads: [usize; 2]| {
            Self::depthwise(
                nhwc, images, 3, multiplier, &input, &kernel, &strides, &dilations, &pads,
            )
        };
        vec![
            d(false, 1, 1, [9, 7], [3, 3], [1, 1], [1, 1], [1, 1]),
            d(false, 2, 1, [10, 9], [3, 3], [2, 2], [1, 1], [1, 1]),
            d(true, 2, 2, [8, 11], [3, 5], [1, 2], [2, 1], [2, 2]),
            d(false, 1, 1, [5, 5], [5, 5], [1, 1], [1, 1], [0, 0]),
            d(true, 1, 1, [12, 6], [1, 3], [3, 1], [1, 2], [0, 3]),
        ]
    }

    pub fn site(&self) -> ConvSite {
        let out_spatial = (0..self.input.len())
            .map(|d| {
                let reach = (self.kernel[d] - 1) * self.dilations[d] + 1;
                (self.input[d] + 2 * self.pads[d] - reach) / self.strides[d] + 1
            })
            .collect();
        ConvSite {
            nhwc: self.nhwc,
            images: self.images,
            channels: self.channels,
            groups: self.groups,
            out_channels: self.out_channels,
            in_spatial: self.input.clone(),
            out_spatial,
            kernel: self.kernel.clone(),
            strides: self.strides.clone(),
            dilations: self.dilations.clone(),
            pad_before: self.pads.clone(),
            kernel_fmt: KernelFmt::Oihw,
            reads: Vec::new(),
        }
        .with_reads()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{PaddingSpec, PoolSpec};

    /// A 1-D, one-channel deconvolution of `input` positions.
    fn one_d(
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pad_before: usize,
        out: usize,
    ) -> DeconvSite {
        let mut site = DeconvSite {
            nhwc: false,
            images: 1,
            channels: 1,
            groups: 1,
            out_channels: 1,
            in_spatial: vec![input],
            out_spatial: vec![out],
            kernel: vec![kernel],
            strides: vec![stride],
            dilations: vec![dilation],
            pad_before: vec![pad_before],
            kernel_fmt: KernelFmt::Oihw,
            lands: Vec::new(),
        };
        site.lands = site.land_table();
        site
    }

    #[test]
    fn col2im_one_d_by_hand() {
        // 3 inputs, kernel 3, stride 2, pads 1 and 1: the output is
        // (3 - 1) * 2 + 3 - 2 = 5 long, and input i tap t lands on 2i - 1 + t.
        let site = one_d(3, 3, 2, 1, 1, 5);
        assert_eq!(
            site.lands,
            [
                None,    // i0 t0: -1, cropped
                Some(0), // i0 t1
                Some(1), // i0 t2
                Some(1), // i1 t0
                Some(2),
                Some(3),
                Some(3), // i2 t0
                Some(4),
                None, // i2 t2: 5, cropped
            ]
        );
        assert_eq!([site.m(), site.k(), site.n()], [3, 1, 3]);
        let x = [1.0, 2.0, 3.0];
        let w = [10.0, 20.0, 30.0];
        let a = site.gather(&x, 0);
        let b = site.weights(&w, 0);
        // The GEMM C = A x B^T, one row per input position, one column per tap.
        let c: Vec<f64> = a
            .iter()
            .flat_map(|&xi| b.iter().map(move |&wt| xi * wt))
            .collect();
        let mut y = vec![0.0; 5];
        site.col2im(&c, 0, &mut y);
        // y[o] = sum over 2i - 1 + t = o of x[i] w[t]:
        // y0 = x0 w1; y1 = x0 w2 + x1 w0; y2 = x1 w1; y3 = x1 w2 + x2 w0; y4 = x2 w1.
        assert_eq!(y, [20.0, 30.0 + 20.0, 40.0, 60.0 + 30.0, 60.0]);
        site.add_bias(&[0.5], &mut y);
        assert_eq!(y, [20.5, 50.5, 40.5, 90.5, 60.5]);
    }

    #[test]
    fn col2im_dilation_and_output_padding() {
        // 2 inputs, kernel 2 dilated by 2, stride 3, no pads, output_padding
        // 1: (2 - 1) * 3 + (2 - 1) * 2 + 1 + 1 = 7 long; input i tap t lands
        // on 3i + 2t. Positions 1 and 4 get nothing; 6 is the output padding.
        let site = one_d(2, 2, 3, 2, 0, 7);
        assert_eq!(site.lands, [Some(0), Some(2), Some(3), Some(5)]);
        let c = [1.0, 2.0, 3.0, 4.0];
        let mut y = vec![0.0; 7];
        site.col2im(&c, 0, &mut y);
        assert_eq!(y, [1.0, 0.0, 2.0, 3.0, 0.0, 4.0, 0.0]);
    }

    /// tract's Deconv on an NCHW input of `x` with an OIHW kernel.
    fn deconv_of(
        x: &[usize],
        out_channels: usize,
        kernel: &[usize],
        padding: PaddingSpec,
        strides: &[usize],
        adjustments: &[usize],
        group: usize,
    ) -> (Deconv, Vec<TypedFact>) {
        let spec = PoolSpec::new(
            DataFormat::NCHW,
            kernel.into(),
            padding,
            None,
            Some(strides.into()),
            x[1],
            out_channels,
        );
        let op = Deconv::new(spec, KernelFormat::OIHW, adjustments.into(), group);
        let mut k_shape = vec![out_channels, x[1] / group];
        k_shape.extend_from_slice(kernel);
        let facts = vec![f32::fact(x), f32::fact(&k_shape), f32::fact([out_channels])];
        (op, facts)
    }

    #[test]
    fn deconv_site_takes_tracts_geometry() {
        // 2 groups of 2 channels, 3x4 -> kernel 3x2, stride (2, 1), pads
        // (1, 0) before and (0, 1) after, output_padding (1, 0):
        // H = (3 - 1) * 2 + 3 - 1 + 1 = 7, W = (4 - 1) + 2 - 1 = 4.
        let (op, facts) = deconv_of(
            &[1, 4, 3, 4],
            6,
            &[3, 2],
            PaddingSpec::Explicit(tvec![1, 0], tvec![0, 1]),
            &[2, 1],
            &[1, 0],
            2,
        );
        let refs: Vec<&TypedFact> = facts.iter().collect();
        let output = op.output_facts(&refs).unwrap().remove(0);
        let Site::Deconv(d) = deconv_site(&op, &refs, &output).unwrap() else {
            panic!("not a deconvolution site")
        };
        assert_eq!(d.out_spatial, [7, 4]);
        assert_eq!(d.pad_before, [1, 0]);
        // M = 12 input positions, K = 2 channels per group, N = 3 x 6 taps.
        assert_eq!([d.m(), d.k(), d.n()], [12, 2, 18]);
        let site = Site::Deconv(d.clone());
        assert_eq!(site.calls(), 2);
        assert_eq!(site.macs(), deconv_macs(&op, &refs).unwrap());
        assert_eq!(site.macs(), 12 * 2 * 3 * 6 * 2);
        assert_eq!(
            site.describe(),
            "ConvTranspose 3x2 stride 2x1 (GEMM + col2im, 2 groups)"
        );
        // Input (1, 2), tap (0, 1): row 1 * 2 - 1 + 0 = 1, column 2 + 1 = 3.
        assert_eq!(d.lands[(4 + 2) * 6 + 1], Some(4 + 3));
        // Input (0, 0), tap (0, 0): row -1, cropped.
        assert_eq!(d.lands[0], None);
        // Weights of group 1 as (output channel, tap) rows over its 2 input
        // channels: OIHW row o = 3 + 1, tap 5, channel 1.
        let w: Vec<usize> = (0..6 * 2 * 6).collect();
        let b = d.weights(&w, 1);
        assert_eq!(b[(6 + 5) * 2 + 1], ((3 + 1) * 2 + 1) * 6 + 5);
        // Group 1 gathers channels 2 and 3.
        let x: Vec<usize> = (0..4 * 12).collect();
        let a = d.gather(&x, 1);
        assert_eq!(&a[..4], &[24, 36, 25, 37]);
    }

    #[test]
    fn deconv_site_refuses_integer_deconvolution() {
        let (op, mut facts) = deconv_of(
            &[1, 2, 3, 3],
            2,
            &[2, 2],
            PaddingSpec::Valid,
            &[2, 2],
            &[0, 0],
            1,
        );
        facts[0] = i8::fact([1, 2, 3, 3]);
        facts[1] = i8::fact([2, 2, 2, 2]);
        let refs: Vec<&TypedFact> = facts.iter().collect();
        let output = i8::fact([1, 2, 6, 6]);
        let refused = deconv_site(&op, &refs, &output).unwrap_err();
        assert!(
            refused.contains("I8") && refused.contains("f32"),
            "{refused}"
        );
        // Still counted: 9 positions x 2 x 2 channels x 4 taps.
        assert_eq!(deconv_macs(&op, &refs), Some(9 * 2 * 2 * 4));
    }

    #[test]
    fn gather_matches_the_read_table() {
        // 2 images, 3 channels, a 5x4 input, 3x3 taps, strides 2 and 1,
        // padding 1: a 3x4 output. Depthwise (3 groups) takes the flat
        // path; one group of 3 channels the blocked one.
        for nhwc in [false, true] {
            for groups in [3, 1] {
                let site = TestConv {
                    nhwc,
                    images: 2,
                    channels: 3,
                    groups,
                    out_channels: 3,
                    input: vec![5, 4],
                    kernel: vec![3, 3],
                    strides: vec![2, 1],
                    dilations: vec![1, 1],
                    pads: vec![1, 1],
                }
                .site();
                assert_eq!(site.out_spatial, [3, 4]);
                let (spatial, outs, taps, cg) = (20, 12, 9, 3 / groups);
                let x: Vec<i32> = (0..2 * 3 * spatial as i32).collect();
                for g in 0..groups {
                    let got = site.gather(&x, g, -1);
                    let mut want = Vec::new();
                    for img in 0..2 {
                        for o in 0..outs {
                            for c in 0..cg {
                                let ch = g * cg + c;
                                for t in 0..taps {
                                    let r = site.reads[o * taps + t];
                                    want.push(if r == PADDING {
                                        -1
                                    } else if nhwc {
                                        x[(img * spatial + r as usize) * 3 + ch]
                                    } else {
                                        x[(img * 3 + ch) * spatial + r as usize]
                                    });
                                }
                            }
                        }
                    }
                    assert_eq!(got, want, "nhwc {nhwc}, {groups} groups, group {g}");
                }
            }
        }
    }

    #[test]
    fn kernel_index_puts_the_group_where_tract_does() {
        // groups 2, 3 output and 2 input channels per group, 4 taps.
        let (groups, og, cg, taps) = (2, 3, 2, 4);
        // OIHW [6, 2, 4]: group 1, o 2 is row 5.
        assert_eq!(
            KernelFmt::Oihw.index(groups, 1, og, 2, cg, 1, taps, 3),
            (5 * 2 + 1) * 4 + 3
        );
        // HWIO [4, 4, 3]: group 1, c 1 is input channel 3.
        assert_eq!(
            KernelFmt::Hwio.index(groups, 1, og, 2, cg, 1, taps, 3),
            (3 * 4 + 3) * 3 + 2
        );
        // OHWI [3, 4, 4].
        assert_eq!(
            KernelFmt::Ohwi.index(groups, 1, og, 2, cg, 1, taps, 3),
            (2 * 4 + 3) * 4 + 3
        );
    }
}
