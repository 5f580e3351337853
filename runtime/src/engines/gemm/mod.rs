//! Bit-exact golden model of the quantised GEMM accelerator.
//!
//! `C = requant(A * B^T - za * colsum(B) + bias)`, per output channel: A is
//! an M x K matrix of int8 activations, B an N x K matrix of weight codes of
//! one PE kind (its [`Codebook`] gives each code's integer value), and each
//! of the N output channels has a bias and a requantisation multiplier and
//! shift ([`ChannelParams`]). [`golden_gemm`] is the reference the RTL is
//! compared against; [`layout`] fixes how the operands sit in device memory.
//! docs/gemm-layouts.md describes both, with a worked example.
//!
//! The golden model is pure arithmetic; the engine's job (`job`), byte
//! budgets (`budget`) and model lowering (`lower`) sit beside it.

pub mod budget;
pub mod channel_major;
pub mod check;
pub mod codes;
pub mod conv_call;
mod engine;
pub mod job;
pub mod layout;
pub mod lower;
pub mod mode;

pub use crate::formats::requant::{
    multiply_by_quantized_multiplier, quantize_multiplier, requantise, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul, ChannelParams, OutputMode, RequantError,
};
pub use codes::WeightCodes;
pub use engine::{GemmEngine, GEMM};
pub use job::{GemmDescriptor, GemmRun, RunGemm};

use crate::formats::Codebook;
use crate::kernel;
use crate::rng::SplitMix64;

/// One GEMM for the accelerator: operands, per-channel parameters, and the
/// output mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmProblem {
    /// Rows of A and C.
    pub m: usize,
    /// Output channels: rows of B, columns of C.
    pub n: usize,
    /// Reduction depth: columns of A and B.
    pub k: usize,
    /// Activations, M x K row-major.
    pub a: Vec<i8>,
    /// Weight codes, N x K row-major, one code per element (unpacked), each
    /// below `2^weight_bits` of the codebook; shared by the calls of a
    /// layer, with the golden model's decoded form (see [`codes`]).
    pub b: WeightCodes,
    /// One record per output channel (N).
    pub channels: Vec<ChannelParams>,
    /// Zero point of the activations, subtracted from every activation.
    pub act_zero_point: i8,
    pub output: OutputMode,
}

impl GemmProblem {
    /// Checks the problem against the codebook whose codes B holds: every
    /// dimension at least 1, operand lengths matching the dimensions, every
    /// code within the codebook's width, and every channel's parameters
    /// ([`ChannelParams::validate`]).
    pub fn validate(&self, codebook: &Codebook) -> Result<(), GemmError> {
        check_dims(self.m, self.n, self.k)?;
        check_len("A (activations)", "M x K", self.a.len(), self.m, self.k)?;
        validate_weights(self.m, self.n, self.k, &self.b, &self.channels, codebook)
    }
}

fn check_dims(m: usize, n: usize, k: usize) -> Result<(), GemmError> {
    for (dim, value) in [("M", m), ("N", n), ("K", k)] {
        if value == 0 {
            return Err(GemmError::ZeroDim { dim });
        }
    }
    Ok(())
}

/// [`GemmProblem::validate`] but for A: dimensions, B's length and codes,
/// and the channels (a convolution call checks its A its own way).
pub(crate) fn validate_weights(
    m: usize,
    n: usize,
    k: usize,
    b: &WeightCodes,
    channels: &[ChannelParams],
    codebook: &Codebook,
) -> Result<(), GemmError> {
    check_dims(m, n, k)?;
    check_len("B (weight codes)", "N x K", b.len(), n, k)?;
    if channels.len() != n {
        return Err(GemmError::Channels {
            len: channels.len(),
            n,
        });
    }
    let codes = codebook.len();
    // The largest code is found once per set of codes, not per call.
    let fits = usize::from(b.max_code()) < codes;
    if let Some(i) = (!fits)
        .then(|| b.iter().position(|&c| usize::from(c) >= codes))
        .flatten()
    {
        return Err(GemmError::Code {
            row: i / k,
            col: i % k,
            code: b[i],
            bits: codebook.weight_bits(),
            pe: codebook.pe().to_string(),
        });
    }
    for (channel, params) in channels.iter().enumerate() {
        params.validate(channel)?;
    }
    Ok(())
}

fn check_len(
    operand: &'static str,
    shape: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
) -> Result<(), GemmError> {
    match rows.checked_mul(cols) {
        Some(expected) if expected == len => Ok(()),
        expected => Err(GemmError::Length {
            operand,
            shape,
            len,
            rows,
            cols,
            expected: expected.map_or_else(|| "more than usize::MAX".into(), |e| e.to_string()),
        }),
    }
}

/// Bad input to the GEMM model or a layout function.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GemmError {
    #[error("dimension {dim} is 0: M, N and K must each be at least 1")]
    ZeroDim { dim: &'static str },
    #[error(
        "{operand} holds {len} elements, but a {rows} x {cols} ({shape}) matrix needs {expected}"
    )]
    Length {
        operand: &'static str,
        shape: &'static str,
        len: usize,
        rows: usize,
        cols: usize,
        expected: String,
    },
    #[error("channels holds {len} records, but there must be one per output channel: N = {n}")]
    Channels { len: usize, n: usize },
    #[error(transparent)]
    PlaneCall(#[from] crate::model::site::PlaneCallError),
    #[error(
        "weight code B[{row}, {col}] is {code}, which does not fit the {bits}-bit codes of PE \
         `{pe}`: codes must be below {}", 1u32 << bits
    )]
    Code {
        row: usize,
        col: usize,
        code: u8,
        bits: u32,
        pe: String,
    },
    #[error(
        "weight code B[{row}, {col}] is {code}, which does not fit in {bits} bits: packed codes \
         must be below {}", 1u32 << bits
    )]
    CodeWidth {
        row: usize,
        col: usize,
        code: u8,
        bits: u32,
    },
    #[error(transparent)]
    Requant(#[from] RequantError),
    #[error("{bits}-bit weight codes cannot be packed: the B layout carries codes of 1 to 8 bits")]
    WeightBits { bits: u32 },
    #[error(
        "{operand} row stride {stride} bytes is shorter than a row: it must be at least {min}"
    )]
    Stride {
        operand: &'static str,
        stride: usize,
        min: usize,
    },
    #[error("{operand} buffer holds {len} bytes, but the layout needs {expected}")]
    Buffer {
        operand: &'static str,
        len: usize,
        expected: usize,
    },
}

/// `raw[m][n] = sum_k a[m][k] * w[n][k]` in wrapping i32 for weights
/// whose values fit an i16 (every built-in PE's): the kernels of
/// [`kernel`] over the weights packed once per layer. A call with fewer
/// than 16 output channels and at least 16 rows packs its activations
/// instead and broadcasts the weights, so the kernel's 16 lanes stay full.
fn raw_products_i16(
    p: &GemmProblem,
    w: &codes::GoldenWeights,
    panels: &kernel::Panels,
) -> Vec<i32> {
    let (m, n, k) = (p.m, p.n, p.k);
    let mut raw = vec![0i32; m * n];
    if n < kernel::LANES && m >= kernel::LANES {
        let acts = kernel::Panels::pack(&p.a, m, k);
        let weights = kernel::Broadcast::new(&w.values_i16, n, k);
        let mut by_channel = vec![0i32; n * m];
        kernel::products(&weights, &acts, &mut by_channel);
        kernel::by_output_into(&by_channel, n, m, &mut raw);
    } else {
        kernel::products(&kernel::Broadcast::new(&p.a, m, k), panels, &mut raw);
    }
    raw
}

/// [`raw_products_i16`] for int8 weights: the int8 kernel, four K steps
/// per lane and instruction.
fn raw_products_i8(p: &GemmProblem, quads: &kernel::QuadPanels) -> Vec<i32> {
    let mut raw = vec![0i32; p.m * p.n];
    kernel::quad_products(&kernel::QuadBroadcast::new(&p.a, p.m, p.k), quads, &mut raw);
    raw
}

/// [`raw_products_i16`] for codebooks with values past i16, term by term.
fn raw_products_i32(p: &GemmProblem, values: &[i32]) -> Vec<i32> {
    let w: Vec<i32> = p.b.iter().map(|&c| values[usize::from(c)]).collect();
    let mut raw = Vec::with_capacity(p.m * p.n);
    for a_row in p.a.chunks_exact(p.k) {
        for w_row in w.chunks_exact(p.k) {
            raw.push(a_row.iter().zip(w_row).fold(0i32, |s, (&x, &y)| {
                s.wrapping_add(i32::from(x).wrapping_mul(y))
            }));
        }
    }
    raw
}

/// The accelerator's result for `p`, M x N row-major, exactly.
///
/// For output element `[m][n]`, with `w[n][k]` the codebook value of code
/// `B[n][k]`, `za` the activation zero point and every operation in
/// **wrapping** 32-bit two's-complement arithmetic:
///
/// ```text
/// raw     = sum_k a[m][k] * w[n][k]
/// zp_corr = sum_k za * w[n][k]
/// x       = raw - zp_corr + bias[n]
/// ```
///
/// Because wrapping arithmetic is arithmetic mod 2^32, the order of the
/// terms does not matter, and `x` equals `sum_k (a - za) * w + bias` whenever
/// that fits in i32.
///
/// - [`OutputMode::Int32`]: the element is `x`.
/// - [`OutputMode::Int8`] with zero point `zp`: the element is
///   `clamp(multiply_by_quantized_multiplier(x, multiplier[n], shift[n]) + zp,
///   -128, 127)`, where the addition is exact (it is done in i64, so it
///   cannot wrap).
///
/// Int8 results are returned sign-extended in the i32 vector. Errors when
/// [`GemmProblem::validate`] does.
pub fn golden_gemm(codebook: &Codebook, p: &GemmProblem) -> Result<Vec<i32>, GemmError> {
    p.validate(codebook)?;
    let values = codebook.values();
    let w = p.b.golden(values, p.n, p.k);
    let raw = match &w.packed {
        codes::Packed::Int8(quads) => raw_products_i8(p, quads),
        codes::Packed::Int16(panels) => raw_products_i16(p, &w, panels),
        codes::Packed::Wide => raw_products_i32(p, values),
    };
    Ok(finish(
        raw,
        &w.row_sums,
        &p.channels,
        p.act_zero_point,
        p.output,
    ))
}

/// The raw products (M x N) into the accelerator's outputs: `raw - za *
/// w_sums[n] + bias[n]`, wrapping, then the output mode (see
/// [`golden_gemm`]).
pub(crate) fn finish(
    raw: Vec<i32>,
    w_sums: &[i32],
    channels: &[ChannelParams],
    act_zero_point: i8,
    output: OutputMode,
) -> Vec<i32> {
    // sum_k za * w[n][k] = za * sum_k w[n][k], both sides mod 2^32.
    let za = i32::from(act_zero_point);
    let n = channels.len();
    // Each channel's bias less its correction, added once per output.
    let offset: Vec<i32> = w_sums
        .iter()
        .zip(channels)
        .map(|(&s, ch)| ch.bias.wrapping_sub(za.wrapping_mul(s)))
        .collect();
    let mut out = raw;
    // The output mode is matched once, not per element, so that the int32
    // case vectorises; a depthwise call's one channel goes over the whole
    // output at once rather than in one-element rows.
    match output {
        OutputMode::Int32 if n == 1 => {
            for y in out.iter_mut() {
                *y = y.wrapping_add(offset[0]);
            }
        }
        OutputMode::Int32 => {
            for row in out.chunks_exact_mut(n) {
                for (y, &o) in row.iter_mut().zip(&offset) {
                    *y = y.wrapping_add(o);
                }
            }
        }
        OutputMode::Int8 { zero_point } => {
            for row in out.chunks_exact_mut(n) {
                for ((y, ch), &o) in row.iter_mut().zip(channels).zip(&offset) {
                    *y = requantise(y.wrapping_add(o), ch, zero_point);
                }
            }
        }
    }
    out
}

/// The codebooks the GEMM jobs' golden models are tested on: int8
/// (mac_dsp, the int8 kernel), PoT's +-128 and APoT (the i16 kernel), and a
/// made-up one past i16 whose sums pass 2^24 and wrap past 2^31 (the
/// term-by-term and i32 routines).
#[cfg(test)]
pub(crate) fn test_codebooks() -> Vec<Codebook> {
    let dsp = Codebook::named("mac_dsp").unwrap();
    let wide = dsp.with_values(
        (0..dsp.len() as i32)
            .map(|c| (c - 128) * (1 << 23) + c)
            .collect(),
    );
    ["mac_dsp", "shift_pot", "shift_apot"]
        .map(|name| Codebook::named(name).unwrap())
        .into_iter()
        .chain([wide])
        .collect()
}

/// A random problem that exercises the whole datapath.
///
/// Activations and codes are uniform over their ranges, the activation zero
/// point is uniform int8, and biases are uniform in `-2^14..2^14`. Each
/// channel's real scale is `t / sigma`, where `sigma` estimates the
/// accumulator's standard deviation from the codebook (`sqrt(K E[(a - za)^2]
/// E[w^2])`) and `t` is uniform in `[24, 96)`: int8 outputs spread over the
/// whole range, and some channels saturate at both -128 and 127. The scale
/// becomes the multiplier and shift through [`quantize_multiplier`].
///
/// # Panics
/// If a dimension is 0.
pub fn random_problem(
    rng: &mut SplitMix64,
    codebook: &Codebook,
    m: usize,
    n: usize,
    k: usize,
    output: OutputMode,
) -> GemmProblem {
    assert!(m > 0 && n > 0 && k > 0, "random_problem: {m} x {n} x {k}");
    let byte = |rng: &mut SplitMix64| rng.below(256) as u8;
    let codes = codebook.len() as u64;
    let a: Vec<i8> = (0..m * k).map(|_| byte(rng) as i8).collect();
    let b: Vec<u8> = (0..n * k).map(|_| rng.below(codes) as u8).collect();
    let act_zero_point = byte(rng) as i8;

    // E[(a - za)^2] for a uniform on -128..=127: Var(a) + (E[a] - za)^2.
    let za = f64::from(act_zero_point);
    let act_moment = (65536.0 - 1.0) / 12.0 + (-0.5 - za).powi(2);
    let values = codebook.values();
    let w_moment = values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / values.len() as f64;
    let sigma = (k as f64 * act_moment * w_moment).sqrt().max(1.0);

    let channels = (0..n)
        .map(|_| {
            let target = 24.0 + 72.0 * rng.below(1 << 20) as f64 / f64::from(1 << 20);
            let (multiplier, shift) = quantize_multiplier(target / sigma)
                .expect("target / sigma is below 96, far inside the representable range");
            ChannelParams {
                bias: rng.below(1 << 15) as i32 - (1 << 14),
                multiplier,
                shift,
            }
        })
        .collect();
    GemmProblem {
        m,
        n,
        k,
        a,
        b: b.into(),
        channels,
        act_zero_point,
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The i16 kernels (both ways round), the int8 kernel and the
    /// term-by-term i32 path agree on a codebook that all can hold.
    #[test]
    fn i8_i16_and_i32_paths_agree() {
        let cb = Codebook::named("mac_dsp").unwrap();
        let mut rng = SplitMix64::new(3);
        for (m, n, k) in [(5, 6, 37), (40, 3, 9), (17, 33, 64), (3, 48, 301)] {
            let p = random_problem(&mut rng, &cb, m, n, k, OutputMode::Int32);
            let w = p.b.golden(cb.values(), n, k);
            let want = raw_products_i32(&p, cb.values());
            let panels = kernel::Panels::pack(&w.values_i16, n, k);
            assert_eq!(raw_products_i16(&p, &w, &panels), want, "i16 {m}x{n}x{k}");
            let bytes: Vec<i8> = w.values_i16.iter().map(|&v| v as i8).collect();
            let quads = kernel::QuadPanels::pack(&bytes, n, k);
            assert_eq!(raw_products_i8(&p, &quads), want, "i8 {m}x{n}x{k}");
        }
    }

    #[test]
    fn output_mode_json() {
        let json = |mode| serde_json::to_string(&mode).unwrap();
        assert_eq!(
            json(OutputMode::Int8 { zero_point: -5 }),
            r#"{"mode":"int8","zero_point":-5}"#
        );
        assert_eq!(json(OutputMode::Int32), r#"{"mode":"int32"}"#);
    }

    #[test]
    fn wrapping_accumulation() {
        // 2^17 products of -128 * -128 = 2^14 sum to 2^31, which wraps to i32::MIN.
        let dsp = Codebook::named("mac_dsp").unwrap();
        let k = 1 << 17;
        let p = GemmProblem {
            m: 1,
            n: 1,
            k,
            a: vec![-128; k],
            b: vec![0x80; k].into(),
            channels: vec![ChannelParams {
                bias: 0,
                multiplier: 0,
                shift: 0,
            }],
            act_zero_point: 0,
            output: OutputMode::Int32,
        };
        assert_eq!(golden_gemm(&dsp, &p).unwrap(), [i32::MIN]);
    }
}
