//! The dwconv engine's arithmetic, bit for bit (hw/ip/dwconv/doc/README.md).
//!
//! For channel `c`, output row `oy` and column `ox`, over an input the
//! host has already padded:
//!
//! ```text
//! acc = sum over ky, kx < K of x[c][oy*s + ky][ox*s + kx] * value(w[c][ky][kx])
//! out = acc + bias[c]                                          (int32 mode)
//! out = requantise(acc + bias[c], multiplier[c], shift[c]) + zp (int8 mode)
//! ```
//!
//! in wrapping 32-bit arithmetic, `value` being the PE's codebook. The
//! engine has no activation zero point: [`fold_zero_point`] moves it into
//! the bias, exactly.

use crate::formats::requant::{requantise, ChannelParams, OutputMode, RequantError};
use crate::formats::Codebook;
use crate::rng::SplitMix64;

/// One depthwise convolution of one image for the dwconv engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwconvProblem {
    /// C: channels (each its own filter).
    pub channels: usize,
    /// Ho.
    pub out_rows: usize,
    /// Wo.
    pub out_cols: usize,
    /// K: the kernel is K x K.
    pub kernel: usize,
    /// s: the same stride on both axes, at most K.
    pub stride: usize,
    /// The padded input, C x R x Wp (R = (Ho-1)s + K rows, Wp = (Wo-1)s +
    /// K columns), channel by channel, row-major.
    pub input: Vec<i8>,
    /// Weight codes, C x K x K, channel by channel, row-major.
    pub codes: Vec<u8>,
    /// One record per channel.
    pub params: Vec<ChannelParams>,
    pub output: OutputMode,
}

/// What is wrong with a depthwise convolution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DwconvError {
    #[error(
        "{what} is 0; channels, output rows and columns and the kernel must each be at least 1"
    )]
    Zero { what: &'static str },
    #[error("stride {stride} is larger than the {kernel}x{kernel} kernel; the engine takes 1..=K")]
    Stride { stride: usize, kernel: usize },
    #[error("{operand} holds {len} elements; a {shape} of this convolution needs {expected}")]
    Length {
        operand: &'static str,
        shape: String,
        len: usize,
        expected: usize,
    },
    #[error("{len} channel records for {channels} channels; give one per channel")]
    Channels { len: usize, channels: usize },
    #[error(
        "weight code {code} of channel {channel} does not fit the {bits}-bit codes of PE `{pe}`"
    )]
    Code {
        channel: usize,
        code: u8,
        bits: u32,
        pe: String,
    },
    #[error("{what} does not fit in memory")]
    TooLarge { what: &'static str },
    #[error(transparent)]
    Requant(#[from] RequantError),
}

impl DwconvProblem {
    /// Rows of each padded input plane: `(Ho - 1) * s + K`.
    pub fn in_rows(&self) -> usize {
        (self.out_rows - 1) * self.stride + self.kernel
    }

    /// Columns of each padded input row: `(Wo - 1) * s + K`.
    pub fn in_cols(&self) -> usize {
        (self.out_cols - 1) * self.stride + self.kernel
    }

    /// Multiply-accumulates of the call.
    pub fn macs(&self) -> u64 {
        [
            self.channels,
            self.out_rows,
            self.out_cols,
            self.kernel,
            self.kernel,
        ]
        .iter()
        .map(|&d| d as u64)
        .product()
    }

    /// Checks the shape, the operands' lengths, every code against
    /// `codebook` and every channel record.
    pub fn validate(&self, codebook: &Codebook) -> Result<(), DwconvError> {
        for (what, value) in [
            ("channels", self.channels),
            ("out_rows", self.out_rows),
            ("out_cols", self.out_cols),
            ("kernel", self.kernel),
            ("stride", self.stride),
        ] {
            if value == 0 {
                return Err(DwconvError::Zero { what });
            }
        }
        if self.stride > self.kernel {
            return Err(DwconvError::Stride {
                stride: self.stride,
                kernel: self.kernel,
            });
        }
        let too_large = |what| DwconvError::TooLarge { what };
        let input = self
            .channels
            .checked_mul(self.in_rows())
            .and_then(|x| x.checked_mul(self.in_cols()))
            .ok_or(too_large("the input"))?;
        let taps = self.kernel * self.kernel;
        for (operand, len, expected, shape) in [
            (
                "input",
                self.input.len(),
                input,
                format!(
                    "C x R x Wp = {} x {} x {} input",
                    self.channels,
                    self.in_rows(),
                    self.in_cols()
                ),
            ),
            (
                "codes",
                self.codes.len(),
                self.channels * taps,
                format!("C x K x K = {} x {taps} code array", self.channels),
            ),
        ] {
            if len != expected {
                return Err(DwconvError::Length {
                    operand,
                    shape,
                    len,
                    expected,
                });
            }
        }
        if self.params.len() != self.channels {
            return Err(DwconvError::Channels {
                len: self.params.len(),
                channels: self.channels,
            });
        }
        if let Some(i) = self
            .codes
            .iter()
            .position(|&c| usize::from(c) >= codebook.len())
        {
            return Err(DwconvError::Code {
                channel: i / taps,
                code: self.codes[i],
                bits: codebook.weight_bits(),
                pe: codebook.pe().to_string(),
            });
        }
        for (channel, p) in self.params.iter().enumerate() {
            p.validate(channel)?;
        }
        Ok(())
    }
}

/// The engine's outputs for `p` on a design of `codebook`'s PE: C x Ho x Wo,
/// channel by channel, row-major (int8 values sign-extended).
pub fn golden_dwconv(codebook: &Codebook, p: &DwconvProblem) -> Result<Vec<i32>, DwconvError> {
    p.validate(codebook)?;
    let values = codebook.values();
    let (k, s) = (p.kernel, p.stride);
    let (rows, cols) = (p.in_rows(), p.in_cols());
    let mut out = Vec::with_capacity(p.channels * p.out_rows * p.out_cols);
    for c in 0..p.channels {
        let plane = &p.input[c * rows * cols..(c + 1) * rows * cols];
        let w: Vec<i32> = p.codes[c * k * k..(c + 1) * k * k]
            .iter()
            .map(|&code| values[usize::from(code)])
            .collect();
        let ch = &p.params[c];
        for oy in 0..p.out_rows {
            for ox in 0..p.out_cols {
                let mut acc = 0i32;
                for ky in 0..k {
                    let row = &plane[(oy * s + ky) * cols + ox * s..];
                    for kx in 0..k {
                        acc = acc.wrapping_add(i32::from(row[kx]).wrapping_mul(w[ky * k + kx]));
                    }
                }
                let x = acc.wrapping_add(ch.bias);
                out.push(match p.output {
                    OutputMode::Int32 => x,
                    OutputMode::Int8 { zero_point } => requantise(x, ch, zero_point),
                });
            }
        }
    }
    Ok(out)
}

/// Channel `c`'s bias with the activation zero point `za` folded in:
/// `bias - za * sum value(w[c])`, so that the engine, which has no zero
/// point, computes `sum (x - za) * w + bias` (padding with `za` adds
/// nothing). Exact in wrapping 32-bit arithmetic, as the engine sums.
pub fn fold_zero_point(codebook: &Codebook, codes: &[u8], za: i8, bias: i32) -> i32 {
    let values = codebook.values();
    let sum = codes
        .iter()
        .fold(0i32, |s, &c| s.wrapping_add(values[usize::from(c)]));
    bias.wrapping_sub(i32::from(za).wrapping_mul(sum))
}

/// A random problem over the whole datapath: uniform activations and codes,
/// biases in `-2^14..2^14`, and per channel a multiplier and shift that
/// spread int8 outputs over the whole range (some channels saturate).
///
/// # Panics
/// If a dimension is 0 or the stride exceeds the kernel.
#[allow(clippy::too_many_arguments)]
pub fn random_problem(
    rng: &mut SplitMix64,
    codebook: &Codebook,
    channels: usize,
    out_rows: usize,
    out_cols: usize,
    kernel: usize,
    stride: usize,
    output: OutputMode,
) -> DwconvProblem {
    assert!(
        channels > 0
            && out_rows > 0
            && out_cols > 0
            && kernel > 0
            && (1..=kernel).contains(&stride),
        "random_problem: {channels} x {out_rows} x {out_cols}, {kernel}/{stride}"
    );
    let rows = (out_rows - 1) * stride + kernel;
    let cols = (out_cols - 1) * stride + kernel;
    let input: Vec<i8> = (0..channels * rows * cols)
        .map(|_| rng.below(256) as u8 as i8)
        .collect();
    let codes: Vec<u8> = (0..channels * kernel * kernel)
        .map(|_| rng.below(codebook.len() as u64) as u8)
        .collect();
    let rms = {
        let v = codebook.values();
        (v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    // The accumulator's standard deviation: sqrt(K * K) products of about
    // 74 (uniform int8) by the codebook's root mean square.
    let sigma = kernel as f64 * 74.0 * rms.max(1.0);
    let params = (0..channels)
        .map(|_| {
            let t = 24.0 + rng.below(72) as f64;
            let (multiplier, shift) =
                crate::formats::requant::quantize_multiplier(t / sigma).unwrap_or((1 << 30, 0));
            ChannelParams {
                bias: rng.below(1 << 15) as i32 - (1 << 14),
                multiplier,
                shift,
            }
        })
        .collect();
    DwconvProblem {
        channels,
        out_rows,
        out_cols,
        kernel,
        stride,
        input,
        codes,
        params,
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent reference: the convolution of the dequantised values
    /// in f64, from a plain index formula.
    fn reference(codebook: &Codebook, p: &DwconvProblem) -> Vec<f64> {
        let (rows, cols) = (p.in_rows(), p.in_cols());
        let mut out = Vec::new();
        for c in 0..p.channels {
            for oy in 0..p.out_rows {
                for ox in 0..p.out_cols {
                    let mut sum = 0.0;
                    for ky in 0..p.kernel {
                        for kx in 0..p.kernel {
                            let x = p.input
                                [(c * rows + oy * p.stride + ky) * cols + ox * p.stride + kx];
                            let code = p.codes[(c * p.kernel + ky) * p.kernel + kx];
                            sum +=
                                f64::from(x) * f64::from(codebook.value(u32::from(code)).unwrap());
                        }
                    }
                    out.push(sum + f64::from(p.params[c].bias));
                }
            }
        }
        out
    }

    #[test]
    fn int32_outputs_are_the_exact_convolution() {
        let mut rng = SplitMix64::new(7);
        for pe in ["shift_pot", "mac_dsp", "shift_apot"] {
            let codebook = Codebook::named(pe).unwrap();
            for (c, ho, wo, k, s) in [
                (3, 4, 5, 3, 1),
                (2, 3, 3, 3, 2),
                (5, 2, 7, 5, 3),
                (1, 1, 1, 1, 1),
            ] {
                let p = random_problem(&mut rng, &codebook, c, ho, wo, k, s, OutputMode::Int32);
                let got = golden_dwconv(&codebook, &p).unwrap();
                let want = reference(&codebook, &p);
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(f64::from(*g), *w, "{pe} {c}x{ho}x{wo} k{k} s{s}");
                }
            }
        }
    }

    #[test]
    fn int8_outputs_requantise_within_rounding_and_saturate() {
        let codebook = Codebook::named("mac_dsp").unwrap();
        let mut rng = SplitMix64::new(3);
        let p = random_problem(
            &mut rng,
            &codebook,
            8,
            6,
            6,
            3,
            1,
            OutputMode::Int8 { zero_point: -5 },
        );
        let got = golden_dwconv(&codebook, &p).unwrap();
        let raw = golden_dwconv(
            &codebook,
            &DwconvProblem {
                output: OutputMode::Int32,
                ..p.clone()
            },
        )
        .unwrap();
        let per_channel = p.out_rows * p.out_cols;
        let (mut low, mut high) = (0, 0);
        for (i, (&y, &x)) in got.iter().zip(&raw).enumerate() {
            let ch = &p.params[i / per_channel];
            let real = f64::from(x) * f64::from(ch.multiplier) * 2f64.powi(ch.shift - 31) - 5.0;
            let clamped = real.clamp(-128.0, 127.0);
            assert!((f64::from(y) - clamped).abs() <= 1.0, "{i}: {y} vs {real}");
            low += usize::from(y == -128);
            high += usize::from(y == 127);
        }
        assert!(low > 0 && high > 0, "the random problem reaches both rails");
    }

    #[test]
    fn the_folded_zero_point_equals_subtracting_it_from_every_tap() {
        let codebook = Codebook::named("shift_msq").unwrap();
        let mut rng = SplitMix64::new(11);
        let mut p = random_problem(&mut rng, &codebook, 4, 3, 3, 3, 1, OutputMode::Int32);
        let za: i8 = -17;
        let shifted: Vec<i64> = p
            .input
            .iter()
            .map(|&x| i64::from(x) - i64::from(za))
            .collect();
        let bias: Vec<i32> = p.params.iter().map(|c| c.bias).collect();
        for (c, ch) in p.params.iter_mut().enumerate() {
            ch.bias = fold_zero_point(&codebook, &p.codes[c * 9..(c + 1) * 9], za, bias[c]);
        }
        let got = golden_dwconv(&codebook, &p).unwrap();
        let (rows, cols) = (p.in_rows(), p.in_cols());
        for c in 0..4 {
            for oy in 0..3 {
                for ox in 0..3 {
                    let mut sum = i64::from(bias[c]);
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let x = shifted[(c * rows + oy + ky) * cols + ox + kx];
                            let w = codebook
                                .value(u32::from(p.codes[c * 9 + ky * 3 + kx]))
                                .unwrap();
                            sum += x * i64::from(w);
                        }
                    }
                    assert_eq!(i64::from(got[(c * 3 + oy) * 3 + ox]), sum);
                }
            }
        }
    }

    #[test]
    fn bad_problems_are_named() {
        let codebook = Codebook::named("shift_pot").unwrap();
        let mut rng = SplitMix64::new(1);
        let good = random_problem(&mut rng, &codebook, 2, 2, 2, 3, 1, OutputMode::Int32);
        let check = |p: DwconvProblem| golden_dwconv(&codebook, &p).unwrap_err().to_string();
        assert!(check(DwconvProblem {
            stride: 4,
            ..good.clone()
        })
        .contains("stride 4 is larger"));
        assert!(check(DwconvProblem {
            kernel: 0,
            ..good.clone()
        })
        .contains("kernel is 0"));
        let mut p = good.clone();
        p.input.pop();
        assert!(check(p).contains("C x R x Wp = 2 x 4 x 4 input"));
        let mut p = good.clone();
        p.codes[3] = 16;
        assert!(check(p).contains("weight code 16 of channel 0"));
        let mut p = good.clone();
        p.params[1].shift = 40;
        assert!(check(p).contains("channel 1: shift 40"));
        let mut p = good;
        p.params.pop();
        assert!(check(p).contains("1 channel records for 2 channels"));
    }
}
