//! How the GEMM operands sit in device memory. The accelerator's RTL reads
//! and writes exactly these layouts; docs/gemm-layouts.md is the prose
//! version, with the bytes of a worked example.
//!
//! - **A**: M rows of K int8 bytes, row `m` starting at byte `m * lda`.
//! - **B**: N rows of K weight codes packed little-end first: element `k`
//!   occupies bits `(k * wbits) % 8 ..` of byte `(k * wbits) / 8` of its row
//!   (`wbits` is 4 or 8), so for 4-bit codes even `k` is the low nibble and
//!   odd `k` the high nibble. Row `n` starts at byte `n * ldb`.
//! - **C**: M rows of N elements, one byte (int8) or four bytes (int32,
//!   little-endian) each; row `m` starts at byte `m * ldc`.
//! - **Channel parameters**: N records of [`CHANNEL_RECORD_BYTES`] bytes,
//!   little-endian `bias: i32, multiplier: i32, shift: i32, reserved: u32 = 0`.
//!
//! Bytes between the end of a row and the next stride are padding: the
//! packers write zeros there and the accelerator ignores them. The default
//! strides ([`Strides::packed`]) round each row up to [`ROW_ALIGN`] bytes.
//! A region's size is always `rows * stride` (the last row's padding
//! included), so a buffer of [`a_bytes`], [`b_bytes`] or [`c_bytes`] holds
//! whole strides.

use serde::Serialize;

pub use crate::formats::requant::{channel_bytes, pack_channels};

use super::{check_len, GemmError, GemmProblem, OutputMode};

/// Alignment, in bytes, of the default row strides (one 64-bit bus beat).
pub const ROW_ALIGN: usize = 8;

/// Bytes per channel-parameter record.
pub const CHANNEL_RECORD_BYTES: usize = 16;

/// Row strides of A, B and C, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Strides {
    pub lda: usize,
    pub ldb: usize,
    pub ldc: usize,
}

impl Strides {
    /// The default strides: each operand's row bytes ([`a_row_bytes`],
    /// [`b_row_bytes`], [`c_row_bytes`]) rounded up to a multiple of
    /// [`ROW_ALIGN`]. Errors when `weight_bits` is not 4 or 8.
    pub fn packed(
        n: usize,
        k: usize,
        weight_bits: u32,
        output: OutputMode,
    ) -> Result<Self, GemmError> {
        Ok(Self {
            lda: round_up(a_row_bytes(k)),
            ldb: round_up(b_row_bytes(k, weight_bits)?),
            ldc: round_up(c_row_bytes(n, output)),
        })
    }
}

fn round_up(bytes: usize) -> usize {
    bytes.div_ceil(ROW_ALIGN) * ROW_ALIGN
}

/// Bytes of data in one row of A: `k`.
pub fn a_row_bytes(k: usize) -> usize {
    k
}

/// Bytes of data in one packed row of B: `ceil(k * weight_bits / 8)`.
/// Errors when `weight_bits` is not 4 or 8.
pub fn b_row_bytes(k: usize, weight_bits: u32) -> Result<usize, GemmError> {
    check_weight_bits(weight_bits)?;
    Ok((k * weight_bits as usize).div_ceil(8))
}

/// Bytes of data in one row of C: `n` times 1 (int8) or 4 (int32).
pub fn c_row_bytes(n: usize, output: OutputMode) -> usize {
    n * output.element_bytes()
}

/// Size of the A region: `m * lda`.
pub fn a_bytes(m: usize, lda: usize) -> usize {
    m * lda
}

/// Size of the B region: `n * ldb`.
pub fn b_bytes(n: usize, ldb: usize) -> usize {
    n * ldb
}

/// Size of the C region: `m * ldc`.
pub fn c_bytes(m: usize, ldc: usize) -> usize {
    m * ldc
}

fn check_weight_bits(bits: u32) -> Result<(), GemmError> {
    match bits {
        4 | 8 => Ok(()),
        bits => Err(GemmError::WeightBits { bits }),
    }
}

fn check_stride(operand: &'static str, stride: usize, min: usize) -> Result<(), GemmError> {
    if stride < min {
        return Err(GemmError::Stride {
            operand,
            stride,
            min,
        });
    }
    Ok(())
}

/// A in its device layout: `a_bytes(m, lda)` bytes, padding zero. Errors
/// when `lda < k` or A's length is not `m * k`.
pub fn pack_a(p: &GemmProblem, lda: usize) -> Result<Vec<u8>, GemmError> {
    check_len("A (activations)", "M x K", p.a.len(), p.m, p.k)?;
    check_stride("A", lda, a_row_bytes(p.k))?;
    let mut out = vec![0u8; a_bytes(p.m, lda)];
    if p.k > 0 {
        for (dst, src) in out.chunks_exact_mut(lda).zip(p.a.chunks_exact(p.k)) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s as u8;
            }
        }
    }
    Ok(out)
}

/// B in its device layout: `b_bytes(n, ldb)` bytes, codes packed as the
/// module documentation says, padding (including the unused high nibble
/// after an odd number of 4-bit codes) zero. Errors when `weight_bits` is
/// not 4 or 8, a code does not fit it, `ldb` is shorter than a packed row,
/// or B's length is not `n * k`.
pub fn pack_b(p: &GemmProblem, weight_bits: u32, ldb: usize) -> Result<Vec<u8>, GemmError> {
    check_len("B (weight codes)", "N x K", p.b.len(), p.n, p.k)?;
    check_stride("B", ldb, b_row_bytes(p.k, weight_bits)?)?;
    let wbits = weight_bits as usize;
    let mut out = vec![0u8; b_bytes(p.n, ldb)];
    if p.k > 0 {
        for (row, (dst, src)) in out
            .chunks_exact_mut(ldb)
            .zip(p.b.chunks_exact(p.k))
            .enumerate()
        {
            for (col, &code) in src.iter().enumerate() {
                if u32::from(code) >> weight_bits != 0 {
                    return Err(GemmError::CodeWidth {
                        row,
                        col,
                        code,
                        bits: weight_bits,
                    });
                }
                let bit = col * wbits;
                dst[bit / 8] |= code << (bit % 8);
            }
        }
    }
    Ok(out)
}

/// C read back from its device layout: M x N row-major, int8 elements
/// sign-extended. Errors when `ldc` is shorter than a row or `bytes` holds
/// fewer than `c_bytes(m, ldc)` bytes; bytes past that are ignored.
pub fn unpack_c(
    bytes: &[u8],
    m: usize,
    n: usize,
    ldc: usize,
    output: OutputMode,
) -> Result<Vec<i32>, GemmError> {
    check_stride("C", ldc, c_row_bytes(n, output))?;
    let expected = c_bytes(m, ldc);
    if bytes.len() < expected {
        return Err(GemmError::Buffer {
            operand: "C",
            len: bytes.len(),
            expected,
        });
    }
    let mut out = Vec::with_capacity(m * n);
    if ldc > 0 {
        for row in bytes[..expected].chunks_exact(ldc) {
            let row = &row[..c_row_bytes(n, output)];
            match output {
                OutputMode::Int8 { .. } => out.extend(row.iter().map(|&b| i32::from(b as i8))),
                OutputMode::Int32 => out.extend(
                    row.chunks_exact(4)
                        .map(|w| i32::from_le_bytes([w[0], w[1], w[2], w[3]])),
                ),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::requant::ChannelParams;

    #[test]
    fn default_strides() {
        let s = Strides::packed(3, 5, 4, OutputMode::Int32).unwrap();
        assert_eq!((s.lda, s.ldb, s.ldc), (8, 8, 16));
        let s = Strides::packed(8, 17, 8, OutputMode::Int8 { zero_point: 0 }).unwrap();
        assert_eq!((s.lda, s.ldb, s.ldc), (24, 24, 8));
        assert!(Strides::packed(1, 1, 2, OutputMode::Int32).is_err());
    }

    #[test]
    fn channel_record_bytes() {
        let bytes = pack_channels(&[ChannelParams {
            bias: -2,
            multiplier: 0x4000_0001,
            shift: -6,
        }]);
        assert_eq!(
            bytes,
            [0xfe, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x40, 0xfa, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        );
    }
}
