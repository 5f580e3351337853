//! llama.cpp's Q8_0 and Q4_0 blocks, and converters to mxint8 / mxint4.
//!
//! Both ggml formats cut a row into blocks of 32 with one fp16 scale `d`:
//!
//! - **Q8_0**, 34 bytes: `d` (little-endian fp16), then 32 int8 `q`;
//!   element `i` is `d * q[i]`.
//! - **Q4_0**, 18 bytes: `d`, then 16 bytes `qs`; element `j` (0..16) is
//!   `d * ((qs[j] & 0x0F) - 8)` and element `j + 16` is
//!   `d * ((qs[j] >> 4) - 8)`.
//!
//! Decoding is exact in f32 (an 11-bit fp16 significand times a code of at
//! most 8 bits). The converters decode and then run the BFP quantiser
//! ([`BfpMatrix::quantise`], block 32), so a block's arbitrary fp16 scale is
//! re-rounded to a power of two: each element moves by at most half a step
//! of the new block (one step, below, for an element that saturates), which
//! `kiln bench bfp-error` measures (docs/bfp.md).
//!
//! [`quantise_q8_0`] and [`quantise_q4_0`] are llama.cpp's reference
//! quantisers (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`), here to
//! make realistic blocks for the measurement; tests/bfp_golden.rs holds
//! them, and the decoders, to the `gguf` Python package's output.

use super::{floor_log2, pow2, BfpError, BfpFormat, BfpMatrix, ElementKind};

/// Elements per ggml block.
pub const QK: usize = 32;
/// Bytes per Q8_0 block.
pub const Q8_0_BYTES: usize = 2 + QK;
/// Bytes per Q4_0 block.
pub const Q4_0_BYTES: usize = 2 + QK / 2;

/// An IEEE binary16 value as f32 (exact), or `None` for Inf and NaN.
pub fn f16_to_f32(bits: u16) -> Option<f32> {
    let exp = u32::from((bits >> 10) & 0x1f);
    let man = u32::from(bits & 0x3ff);
    let magnitude = match exp {
        0x1f => return None,
        // Subnormal: man * 2^-24, exact (a 10-bit integer times a power of two).
        0 => man as f32 * f32::from_bits((127 - 24) << 23),
        // Normal: rebias 15 -> 127 and widen the significand 10 -> 23 bits.
        _ => f32::from_bits(((exp + 127 - 15) << 23) | (man << 13)),
    };
    Some(if bits & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    })
}

/// `x` rounded to binary16, to nearest even, as C's `(_Float16)x` and
/// numpy's `astype(float16)` do: overflow gives Inf, NaN stays NaN.
pub fn f32_to_f16(x: f32) -> u16 {
    let sign = ((x.to_bits() >> 16) & 0x8000) as u16;
    if x.is_nan() {
        return sign | 0x7e00;
    }
    let a = x.abs();
    if a == 0.0 {
        return sign;
    }
    if a.is_infinite() {
        return sign | 0x7c00;
    }
    let e = floor_log2(a);
    if e < -14 {
        // Subnormal range: units of 2^-24; rounding up to 1024 gives the
        // smallest normal, whose encoding is exactly 1024.
        return sign | (f64::from(a) * pow2(24)).round_ties_even() as u16;
    }
    let mut e = e;
    let mut m = (f64::from(a) * pow2(10 - e)).round_ties_even() as u32;
    if m == 2048 {
        m = 1024;
        e += 1;
    }
    if e > 15 {
        return sign | 0x7c00;
    }
    sign | (((e + 15) as u16) << 10) | (m - 1024) as u16
}

fn scale(format: &'static str, block: usize, bytes: &[u8]) -> Result<f32, BfpError> {
    let bits = u16::from_le_bytes([bytes[0], bytes[1]]);
    f16_to_f32(bits).ok_or(BfpError::GgmlScale {
        format,
        block,
        bits,
        what: if bits & 0x3ff == 0 { "Inf" } else { "NaN" },
    })
}

fn check_blocks(format: &'static str, len: usize, block_bytes: usize) -> Result<(), BfpError> {
    if !len.is_multiple_of(block_bytes) {
        return Err(BfpError::GgmlBlocks {
            format,
            len,
            block_bytes,
        });
    }
    Ok(())
}

/// Q8_0 blocks decoded to f32, 32 values per block. Errors when `bytes` is
/// not whole blocks or a scale is Inf or NaN.
pub fn dequantise_q8_0(bytes: &[u8]) -> Result<Vec<f32>, BfpError> {
    check_blocks("Q8_0", bytes.len(), Q8_0_BYTES)?;
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BYTES * QK);
    for (i, b) in bytes.chunks_exact(Q8_0_BYTES).enumerate() {
        let d = scale("Q8_0", i, b)?;
        out.extend(b[2..].iter().map(|&q| d * f32::from(q as i8)));
    }
    Ok(out)
}

/// Q4_0 blocks decoded to f32, 32 values per block. Errors when `bytes` is
/// not whole blocks or a scale is Inf or NaN.
pub fn dequantise_q4_0(bytes: &[u8]) -> Result<Vec<f32>, BfpError> {
    check_blocks("Q4_0", bytes.len(), Q4_0_BYTES)?;
    let mut out = Vec::with_capacity(bytes.len() / Q4_0_BYTES * QK);
    for (i, b) in bytes.chunks_exact(Q4_0_BYTES).enumerate() {
        let d = scale("Q4_0", i, b)?;
        let qs = &b[2..];
        out.extend(qs.iter().map(|&q| d * f32::from((q & 0x0f) as i8 - 8)));
        out.extend(qs.iter().map(|&q| d * f32::from((q >> 4) as i8 - 8)));
    }
    Ok(out)
}

fn check_rows(
    format: &'static str,
    len: usize,
    rows: usize,
    k: usize,
    block_bytes: usize,
) -> Result<(), BfpError> {
    if !k.is_multiple_of(QK) {
        return Err(BfpError::GgmlK { format, k });
    }
    let blocks_per_row = k / QK;
    // Both products are checked: a K near usize::MAX makes the bytes per
    // row wrap, and a wrapped product could equal `len` for a shape that
    // does not match the data.
    let row_bytes = blocks_per_row.checked_mul(block_bytes);
    let expected = row_bytes.and_then(|r| rows.checked_mul(r));
    if expected != Some(len) {
        return Err(BfpError::GgmlLength {
            format,
            len,
            rows,
            k,
            blocks_per_row,
            block_bytes,
            expected: row_bytes.map_or(usize::MAX, |r| rows.saturating_mul(r)),
        });
    }
    Ok(())
}

/// A `rows x k` Q8_0 tensor (row-major blocks, as in a GGUF file) as
/// mxint8 with block 32. Errors when K is not a multiple of 32, the length
/// is not `rows * k / 32` blocks, or a scale is Inf or NaN.
pub fn q8_0_to_mxint8(blocks: &[u8], rows: usize, k: usize) -> Result<BfpMatrix, BfpError> {
    check_rows("Q8_0", blocks.len(), rows, k, Q8_0_BYTES)?;
    let values = dequantise_q8_0(blocks)?;
    BfpMatrix::quantise(BfpFormat::new(ElementKind::Int8, QK)?, rows, k, &values)
}

/// A `rows x k` Q4_0 tensor as mxint4 with block 32; errors as
/// [`q8_0_to_mxint8`].
pub fn q4_0_to_mxint4(blocks: &[u8], rows: usize, k: usize) -> Result<BfpMatrix, BfpError> {
    check_rows("Q4_0", blocks.len(), rows, k, Q4_0_BYTES)?;
    let values = dequantise_q4_0(blocks)?;
    BfpMatrix::quantise(BfpFormat::new(ElementKind::Int4, QK)?, rows, k, &values)
}

fn check_quantise_len(format: &'static str, len: usize) -> Result<(), BfpError> {
    if !len.is_multiple_of(QK) {
        return Err(BfpError::GgmlK { format, k: len });
    }
    Ok(())
}

/// llama.cpp's `quantize_row_q8_0_ref`: per block `d = amax / 127`,
/// `q = roundf(x / d)` (half away from zero, through `1/d` in f32), `d`
/// stored as fp16. Errors when `x.len()` is not a multiple of 32.
pub fn quantise_q8_0(x: &[f32]) -> Result<Vec<u8>, BfpError> {
    check_quantise_len("Q8_0", x.len())?;
    let mut out = Vec::with_capacity(x.len() / QK * Q8_0_BYTES);
    for block in x.chunks_exact(QK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
        out.extend(block.iter().map(|&v| (v * id).round() as i8 as u8));
    }
    Ok(out)
}

/// llama.cpp's `quantize_row_q4_0_ref`: `d = max / -8` with `max` the
/// element of largest magnitude (the first, on a tie), codes
/// `min(15, trunc(x / d + 8.5))`. Errors when `x.len()` is not a multiple
/// of 32.
pub fn quantise_q4_0(x: &[f32]) -> Result<Vec<u8>, BfpError> {
    check_quantise_len("Q4_0", x.len())?;
    let mut out = Vec::with_capacity(x.len() / QK * Q4_0_BYTES);
    for block in x.chunks_exact(QK) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in block {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
        let code = |v: f32| ((v * id + 8.5) as u8).min(15);
        out.extend((0..QK / 2).map(|j| code(block[j]) | (code(block[j + QK / 2]) << 4)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp16_decodes() {
        assert_eq!(f16_to_f32(0x3c00), Some(1.0));
        assert_eq!(f16_to_f32(0xc000), Some(-2.0));
        assert_eq!(f16_to_f32(0x7bff), Some(65504.0));
        assert_eq!(f16_to_f32(0x0400), Some(2f32.powi(-14)));
        assert_eq!(f16_to_f32(0x0001), Some(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x03ff), Some(1023.0 * 2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x3555), Some(0.333_251_95));
        assert_eq!(f16_to_f32(0x0000).map(f32::to_bits), Some(0));
        assert_eq!(f16_to_f32(0x8000).map(f32::to_bits), Some(0x8000_0000));
        assert_eq!(f16_to_f32(0x7c00), None);
        assert_eq!(f16_to_f32(0xfc00), None);
        assert_eq!(f16_to_f32(0x7e00), None);
    }

    /// Every finite fp16 survives decode then encode, and encoding rounds
    /// halfway cases to even.
    #[test]
    fn fp16_round_trips() {
        for bits in 0..=u16::MAX {
            if let Some(x) = f16_to_f32(bits) {
                assert_eq!(f32_to_f16(x), bits, "{bits:#06x}");
            }
        }
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: to even (1).
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000);
        assert_eq!(f32_to_f16(3.0 * 2f32.powi(-25)), 0x0002);
        assert_eq!(f32_to_f16(2f32.powi(-14) * (1.0 - 2f32.powi(-12))), 0x0400);
    }

    #[test]
    fn q4_0_element_order() {
        let mut block = vec![0x88u8; Q4_0_BYTES];
        block[..2].copy_from_slice(&0x4000u16.to_le_bytes()); // d = 2
        block[2] = 0xf0; // element 0: 0 - 8 = -8; element 16: 15 - 8 = 7
        let v = dequantise_q4_0(&block).unwrap();
        assert_eq!((v[0], v[16], v[1]), (-16.0, 14.0, 0.0));
    }

    #[test]
    fn bad_blocks_are_named() {
        let mut block = vec![0u8; Q8_0_BYTES];
        block[..2].copy_from_slice(&0x7c00u16.to_le_bytes());
        assert_eq!(
            q8_0_to_mxint8(&block, 1, 32).unwrap_err().to_string(),
            "Q8_0 block 0 has fp16 scale 0x7c00 (Inf); the scale must be finite"
        );
        assert!(matches!(
            dequantise_q4_0(&[0; 19]),
            Err(BfpError::GgmlBlocks { .. })
        ));
        assert!(matches!(
            q4_0_to_mxint4(&[0; 36], 1, 32),
            Err(BfpError::GgmlLength { expected: 18, .. })
        ));
        assert!(matches!(
            q8_0_to_mxint8(&[0; 34], 1, 40),
            Err(BfpError::GgmlK { k: 40, .. })
        ));
    }

    /// The largest K that is a multiple of 32: its bytes per row used to be
    /// computed unchecked, which overflows (a panic with overflow checks,
    /// a wrapped length without).
    #[test]
    fn a_k_whose_row_size_overflows_is_refused() {
        let k = usize::MAX - usize::MAX % QK;
        for rows in [0, 1, 2] {
            assert!(matches!(
                q8_0_to_mxint8(&[0; Q8_0_BYTES], rows, k),
                Err(BfpError::GgmlLength {
                    expected: usize::MAX,
                    ..
                })
            ));
            assert!(q4_0_to_mxint4(&[], rows, k).is_err());
        }
    }
}
