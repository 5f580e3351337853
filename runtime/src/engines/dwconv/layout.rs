//! Where a depthwise convolution's operands sit in device memory
//! (hw/ip/dwconv/doc/README.md, "Arguments"): channels in groups of the
//! design's L lanes, one plane per group, a pixel of L channels in L
//! consecutive bytes (or L int32 outputs).

use super::golden::DwconvProblem;
use crate::formats::requant::{pack_channels, ChannelParams, OutputMode};

/// The device layout of one problem on a design of `lanes` lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// L: channels per group, a multiple of 8.
    pub lanes: usize,
    /// G = ceil(C / L).
    pub groups: usize,
    /// R: input rows per plane.
    pub in_rows: usize,
    /// Wp: input pixels per row.
    pub in_cols: usize,
    /// Ho, Wo.
    pub out_rows: usize,
    pub out_cols: usize,
    /// K x K taps.
    pub taps: usize,
    /// Input row stride in bytes (LDA): `Wp * L`.
    pub lda: usize,
    /// Output row stride in bytes (LDC): `Wo * L * element bytes`.
    pub ldc: usize,
    /// 64-bit words of one tap record: `ceil(L * weight bits / 64)`.
    pub tap_words: usize,
}

impl Layout {
    pub fn of(p: &DwconvProblem, lanes: usize, weight_bits: u32) -> Self {
        Self::of_shape(
            [p.channels, p.out_rows, p.out_cols, p.kernel, p.stride],
            p.output,
            lanes,
            weight_bits,
        )
    }

    /// The layout of `[C, Ho, Wo, K, s]`.
    pub fn of_shape(
        [channels, out_rows, out_cols, kernel, stride]: [usize; 5],
        output: OutputMode,
        lanes: usize,
        weight_bits: u32,
    ) -> Self {
        let in_cols = (out_cols - 1) * stride + kernel;
        Self {
            lanes,
            groups: channels.div_ceil(lanes),
            in_rows: (out_rows - 1) * stride + kernel,
            in_cols,
            out_rows,
            out_cols,
            taps: kernel * kernel,
            lda: in_cols * lanes,
            ldc: out_cols * lanes * output.element_bytes(),
            tap_words: (lanes * weight_bits as usize).div_ceil(64),
        }
    }

    /// Bytes of the input region: G planes of R rows.
    pub fn input_bytes(&self) -> usize {
        self.groups * self.in_rows * self.lda
    }

    /// Bytes of the weight region: G x K x K tap records.
    pub fn weight_bytes(&self) -> usize {
        self.groups * self.taps * self.tap_words * 8
    }

    /// Bytes of the channel records: G x L records of 16 bytes.
    pub fn param_bytes(&self) -> usize {
        self.groups * self.lanes * 16
    }

    /// Bytes of the output region: G planes of Ho rows.
    pub fn output_bytes(&self) -> usize {
        self.groups * self.out_rows * self.ldc
    }
}

/// The input planes: byte `l` of pixel (y, x) of plane `g` is channel
/// `g * L + l` (0 past the last channel).
pub fn pack_input(p: &DwconvProblem, l: &Layout) -> Vec<u8> {
    let mut out = vec![0u8; l.input_bytes()];
    let plane = l.in_rows * l.in_cols;
    for c in 0..p.channels {
        let (g, lane) = (c / l.lanes, c % l.lanes);
        let src = &p.input[c * plane..(c + 1) * plane];
        for y in 0..l.in_rows {
            let row = (g * l.in_rows + y) * l.lda;
            for x in 0..l.in_cols {
                out[row + x * l.lanes + lane] = src[y * l.in_cols + x] as u8;
            }
        }
    }
    out
}

/// The tap records: per group, per tap (ky, then kx), lane `l`'s code at
/// bits `l * weight_bits` of the record, little-endian across its words.
pub fn pack_weights(p: &DwconvProblem, l: &Layout, weight_bits: u32) -> Vec<u8> {
    let mut out = vec![0u8; l.weight_bytes()];
    let record = l.tap_words * 8;
    for c in 0..p.channels {
        let (g, lane) = (c / l.lanes, c % l.lanes);
        for t in 0..l.taps {
            let code = u64::from(p.codes[c * l.taps + t]);
            let base = (g * l.taps + t) * record;
            let bit = lane * weight_bits as usize;
            for b in 0..weight_bits as usize {
                if code >> b & 1 == 1 {
                    let at = bit + b;
                    out[base + at / 8] |= 1 << (at % 8);
                }
            }
        }
    }
    out
}

/// The channel records, one per lane of every group (zero records past the
/// last channel: a valid multiplier of 0 and shift of 0).
pub fn pack_params(p: &DwconvProblem, l: &Layout) -> Vec<u8> {
    let zero = ChannelParams {
        bias: 0,
        multiplier: 0,
        shift: 0,
    };
    let mut records = p.params.clone();
    records.resize(l.groups * l.lanes, zero);
    pack_channels(&records)
}

/// The outputs read back, C x Ho x Wo channel by channel (int8 values
/// sign-extended); lanes past the last channel are dropped.
pub fn unpack_output(bytes: &[u8], p: &DwconvProblem, l: &Layout) -> Vec<i32> {
    let e = p.output.element_bytes();
    let mut out = Vec::with_capacity(p.channels * l.out_rows * l.out_cols);
    for c in 0..p.channels {
        let (g, lane) = (c / l.lanes, c % l.lanes);
        for y in 0..l.out_rows {
            let row = (g * l.out_rows + y) * l.ldc;
            for x in 0..l.out_cols {
                let at = row + (x * l.lanes + lane) * e;
                out.push(match p.output {
                    OutputMode::Int8 { .. } => i32::from(bytes[at] as i8),
                    OutputMode::Int32 => {
                        i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
                    }
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Codebook;
    use crate::rng::SplitMix64;

    #[test]
    fn regions_have_the_documented_sizes_and_lanes_sit_in_order() {
        let cb = Codebook::named("shift_pot").unwrap();
        let mut rng = SplitMix64::new(5);
        let p =
            super::super::golden::random_problem(&mut rng, &cb, 20, 3, 4, 3, 2, OutputMode::Int32);
        let l = Layout::of(&p, 16, 4);
        assert_eq!((l.groups, l.in_rows, l.in_cols), (2, 7, 9));
        assert_eq!((l.lda, l.ldc, l.tap_words), (9 * 16, 4 * 16 * 4, 1));
        let input = pack_input(&p, &l);
        assert_eq!(input.len(), 2 * 7 * 9 * 16);
        // Channel 17 is lane 1 of group 1; its pixel (2, 3).
        let plane = 7 * 9;
        assert_eq!(
            input[(7 + 2) * l.lda + 3 * 16 + 1] as i8,
            p.input[17 * plane + 2 * 9 + 3]
        );
        let w = pack_weights(&p, &l, 4);
        assert_eq!(w.len(), 2 * 9 * 8);
        // Channel 3 (lane 3 of group 0), tap 4: bits 12..16 of record 4.
        assert_eq!(u64::from(w[4 * 8 + 1] >> 4), u64::from(p.codes[3 * 9 + 4]));
        assert_eq!(pack_params(&p, &l).len(), 2 * 16 * 16);
        // Channel 19 is lane 3 of group 1; its output (2, 3) as int32.
        let mut bytes = vec![0u8; l.output_bytes()];
        let at = (3 + 2) * l.ldc + (3 * 16 + 3) * 4;
        bytes[at..at + 4].copy_from_slice(&(-7i32).to_le_bytes());
        let out = unpack_output(&bytes, &p, &l);
        assert_eq!(out.len(), 20 * 3 * 4);
        assert_eq!(out[(19 * 3 + 2) * 4 + 3], -7);
        assert_eq!(out.iter().filter(|&&v| v != 0).count(), 1);
    }

    /// Tap records pack codes of any width 1..=8 densely, lane `l` at bit
    /// `l * bits` of the record read as one little-endian integer, so a
    /// code may straddle two words (unlike the GEMM engine's B, whose codes
    /// sit in containers).
    #[test]
    fn tap_records_pack_every_width_densely_across_words() {
        let mut rng = SplitMix64::new(11);
        let cb = Codebook::named("mac_dsp").unwrap();
        for bits in 1..=8u32 {
            for lanes in [8, 16, 24, 32] {
                let mut p = super::super::golden::random_problem(
                    &mut rng,
                    &cb,
                    lanes + 3,
                    1,
                    1,
                    2,
                    1,
                    OutputMode::Int32,
                );
                // Any code of `bits` bits, whatever the codebook's width.
                for code in &mut p.codes {
                    *code = (rng.below(1 << bits)) as u8;
                }
                let l = Layout::of(&p, lanes, bits);
                assert_eq!(l.tap_words, (lanes * bits as usize).div_ceil(64));
                let w = pack_weights(&p, &l, bits);
                let record = l.tap_words * 8;
                for c in 0..p.channels {
                    let (g, lane) = (c / lanes, c % lanes);
                    for t in 0..l.taps {
                        let base = (g * l.taps + t) * record;
                        let mut value = [0u8; 32];
                        value[..record].copy_from_slice(&w[base..base + record]);
                        let wide = u128::from_le_bytes(value[..16].try_into().unwrap());
                        let high = u128::from_le_bytes(value[16..].try_into().unwrap());
                        let bit = lane * bits as usize;
                        let at = |b: usize| {
                            if b < 128 {
                                (wide >> b) & 1
                            } else {
                                (high >> (b - 128)) & 1
                            }
                        };
                        let code = (0..bits as usize).fold(0u128, |v, b| v | at(bit + b) << b);
                        assert_eq!(
                            code as u8,
                            p.codes[c * l.taps + t],
                            "{bits}-bit, {lanes} lanes, channel {c}, tap {t}"
                        );
                    }
                }
                // Past the last lane's code, the record is zero.
                let used = lanes * bits as usize;
                for r in 0..l.groups * l.taps {
                    let rec = &w[r * record..(r + 1) * record];
                    for b in used..record * 8 {
                        assert_eq!(rec[b / 8] >> (b % 8) & 1, 0, "{bits}-bit padding");
                    }
                }
            }
        }
    }
}
