//! How the GEMM operands sit in device memory. The accelerator's RTL reads
//! and writes exactly these layouts; docs/gemm-layouts.md is the prose
//! version, with the bytes of a worked example.
//!
//! - **A**: M rows of K int8 bytes, row `m` starting at byte `m * lda`.
//! - **B**: N rows of K weight codes, each in a container of `cbits =
//!   kiln_spec::code_container_bits(wbits)` bits (1, 2, 4 or 8: the smallest
//!   that holds a `wbits`-bit code, for `wbits` of 1 to 8), little-end first:
//!   element `k` occupies the low `wbits` of the `cbits` bits from bit
//!   `(k * cbits) % 8` of byte `(k * cbits) / 8` of its row, and the spare
//!   high bits of its container are zero. For 3- and 4-bit codes, even `k`
//!   is the low nibble and odd `k` the high nibble; 5- to 8-bit codes take a
//!   byte each. Row `n` starts at byte `n * ldb`.
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
    /// [`ROW_ALIGN`]. Errors when `weight_bits` is not 1 to 8.
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

/// Bytes of data in one row of B: `ceil(k * container_bits / 8)`, with
/// the container of [`container_bits`]. Errors when `weight_bits` is not 1
/// to 8.
pub fn b_row_bytes(k: usize, weight_bits: u32) -> Result<usize, GemmError> {
    Ok((k * container_bits(weight_bits)? as usize).div_ceil(8))
}

/// Bits of the container each `weight_bits`-bit code of B is stored in
/// (`kiln_spec::code_container_bits`: 1, 2, 4 or 8). Errors when
/// `weight_bits` is not 1 to 8.
pub fn container_bits(weight_bits: u32) -> Result<u32, GemmError> {
    kiln_spec::code_container_bits(weight_bits).ok_or(GemmError::WeightBits { bits: weight_bits })
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

/// B in its device layout: `b_bytes(n, ldb)` bytes, each code in its
/// container as the module documentation says; the spare bits of every
/// container and the padding (including the unused high nibble after an
/// odd number of 3- or 4-bit codes) zero. Errors when `weight_bits` is not
/// 1 to 8, a code does not fit it, `ldb` is shorter than a row of
/// containers, or B's length is not `n * k`.
pub fn pack_b(p: &GemmProblem, weight_bits: u32, ldb: usize) -> Result<Vec<u8>, GemmError> {
    check_len("B (weight codes)", "N x K", p.b.len(), p.n, p.k)?;
    check_stride("B", ldb, b_row_bytes(p.k, weight_bits)?)?;
    let cbits = container_bits(weight_bits)? as usize;
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
                // A container never straddles a byte: cbits divides 8.
                let bit = col * cbits;
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
        assert!(Strides::packed(1, 1, 0, OutputMode::Int32).is_err());
        assert!(Strides::packed(1, 1, 9, OutputMode::Int32).is_err());
        // Rows of containers: 17 3-bit codes take 9 bytes (4-bit slots),
        // 17 5-bit codes 17 bytes, 17 1-bit codes 3 bytes.
        for (bits, ldb) in [(1, 8), (2, 8), (3, 16), (4, 16), (5, 24), (7, 24), (8, 24)] {
            let s = Strides::packed(1, 17, bits, OutputMode::Int32).unwrap();
            assert_eq!(s.ldb, ldb, "{bits}-bit codes");
        }
        assert_eq!(b_row_bytes(17, 3).unwrap(), 9);
        assert_eq!(b_row_bytes(17, 6).unwrap(), 17);
        assert_eq!(b_row_bytes(17, 1).unwrap(), 3);
    }

    fn problem_b(n: usize, k: usize, b: Vec<u8>) -> GemmProblem {
        GemmProblem {
            m: 1,
            n,
            k,
            a: vec![0; k],
            b: b.into(),
            channels: vec![
                ChannelParams {
                    bias: 0,
                    multiplier: 0,
                    shift: 0,
                };
                n
            ],
            act_zero_point: 0,
            output: OutputMode::Int32,
        }
    }

    /// 3-bit codes take nibbles and 5-, 6- and 7-bit codes bytes, the code
    /// in the low bits and the container's spare bits zero; a code that
    /// sets a spare bit is refused, not truncated.
    #[test]
    fn codes_sit_in_containers_with_the_spare_bits_zero() {
        let p = problem_b(2, 3, vec![0b111, 0b010, 0b101, 0b001, 0b110, 0b011]);
        assert_eq!(
            pack_b(&p, 3, 8).unwrap(),
            [0x27, 0x05, 0, 0, 0, 0, 0, 0, 0x61, 0x03, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(pack_b(&p, 3, 2).unwrap(), [0x27, 0x05, 0x61, 0x03]);
        for (bits, top) in [(5u32, 0x1fu8), (6, 0x3f), (7, 0x7f)] {
            let p = problem_b(1, 3, vec![top, 1, top - 1]);
            assert_eq!(
                pack_b(&p, bits, 3).unwrap(),
                [top, 1, top - 1],
                "{bits}-bit"
            );
            // Every byte's spare bits are clear.
            let p = problem_b(1, 9, vec![top; 9]);
            let packed = pack_b(&p, bits, 16).unwrap();
            assert!(packed[..9].iter().all(|&b| b == top), "{bits}-bit");
            assert!(packed[9..].iter().all(|&b| b == 0), "{bits}-bit padding");
            let p = problem_b(1, 2, vec![1, top + 1]);
            assert!(matches!(
                pack_b(&p, bits, 8),
                Err(GemmError::CodeWidth { col: 1, .. })
            ));
        }
        let p = problem_b(1, 2, vec![1, 8]);
        assert!(matches!(
            pack_b(&p, 3, 8),
            Err(GemmError::CodeWidth {
                col: 1,
                code: 8,
                bits: 3,
                ..
            })
        ));
        // 1-bit codes: 8 to a byte, the first in bit 0.
        let p = problem_b(1, 10, vec![1, 0, 0, 1, 1, 0, 1, 0, 1, 1]);
        assert_eq!(pack_b(&p, 1, 2).unwrap(), [0b0101_1001, 0b11]);
        // 2-bit codes: 4 to a byte.
        let p = problem_b(1, 5, vec![3, 0, 1, 2, 1]);
        assert_eq!(pack_b(&p, 2, 2).unwrap(), [0b1001_0011, 0b01]);
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
