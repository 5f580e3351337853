//! Where the BFP engine finds its operands in device memory. The RTL reads
//! exactly this; docs/bfp.md draws it.
//!
//! A BFP matrix (A or W) is `rows` **row records**, row `r` starting at byte
//! `r * stride`; the stride is a multiple of 8 bytes, at least
//! [`row_bytes`]. A row of K elements has `nb = ceil(K / block)` blocks,
//! taken in groups of up to 8 blocks (`ng = ceil(nb / 8)` groups). Group `g`
//! is:
//!
//! - 8 exponent bytes: byte `j` is `X` of block `8g + j`, 0 past the last
//!   block;
//! - the elements of its `min(8, nb - 8g)` blocks, each `block * bits / 8`
//!   bytes in K order. int8 elements are two's-complement bytes. int4
//!   elements are two's-complement nibbles, two per byte: the even-K
//!   element in bits 3:0, the odd one in bits 7:4.
//!
//! A record is `8 * ng + nb * block * bits / 8` bytes, always a multiple of
//! 8 (a block is at least 16 * 4 bits), so that every group starts on a
//! 64-bit bus beat with its exponents. Bytes between records are zero.
//!
//! C is M rows of N little-endian f32, row `m` at byte `m * ldc`, `ldc` a
//! multiple of 8 and at least `4 N`.

pub use crate::engines::gemm::layout::{Strides, ROW_ALIGN};

use super::{BfpError, BfpFormat, BfpMatrix, ElementKind};

/// Blocks per group: one exponent byte each in an 8-byte word.
pub const GROUP_BLOCKS: usize = 8;

/// The tightest strides: A's and W's row records (A in mxint8 with W's
/// block) and [`packed_c_stride`]. The `Strides` type and the 8-byte row
/// alignment are the GEMM layout's: both engines read the same registers.
pub fn packed_strides(format_w: BfpFormat, k: usize, n: usize) -> Strides {
    let format_a = BfpFormat {
        element: ElementKind::Int8,
        block: format_w.block,
    };
    Strides {
        lda: row_bytes(format_a, k),
        ldb: row_bytes(format_w, k),
        ldc: packed_c_stride(n),
    }
}

/// Bytes of one row record: `8 * ceil(nb / 8) + nb * block * bits / 8`.
/// The driver checks descriptors with the same function, so the packer and
/// the bounds check cannot disagree.
pub fn row_bytes(format: BfpFormat, k: usize) -> usize {
    super::job::row_record_bytes(k as u64, format.block as u64, format.element.bits() as u64)
        as usize
}

/// Bytes of one block's elements.
fn block_bytes(format: BfpFormat) -> usize {
    format.block * format.element.bits() / 8
}

/// `4 N` rounded up to a multiple of 8.
pub fn packed_c_stride(n: usize) -> usize {
    (4 * n).div_ceil(ROW_ALIGN) * ROW_ALIGN
}

/// Size of the C region: `m * ldc`.
pub fn c_bytes(m: usize, ldc: usize) -> usize {
    m * ldc
}

fn check_stride(operand: &'static str, stride: usize, min: usize) -> Result<(), BfpError> {
    if stride < min || !stride.is_multiple_of(ROW_ALIGN) {
        return Err(BfpError::Stride {
            operand,
            stride,
            min,
        });
    }
    Ok(())
}

fn check_buffer(operand: &'static str, len: usize, expected: usize) -> Result<(), BfpError> {
    if len < expected {
        return Err(BfpError::Buffer {
            operand,
            len,
            expected,
        });
    }
    Ok(())
}

/// `matrix` in its device layout: `rows * stride` bytes, padding zero.
/// Errors when `stride` is not a multiple of 8 or is below [`row_bytes`].
pub fn pack(matrix: &BfpMatrix, stride: usize) -> Result<Vec<u8>, BfpError> {
    let format = matrix.format();
    check_stride("BFP matrix", stride, row_bytes(format, matrix.k()))?;
    let bb = block_bytes(format);
    let mut out = vec![0u8; matrix.rows() * stride];
    for (row, record) in out.chunks_exact_mut(stride).enumerate() {
        let (exps, elems) = (matrix.row_exps(row), matrix.row_elems(row));
        let mut at = 0;
        for (g, group) in exps.chunks(GROUP_BLOCKS).enumerate() {
            record[at..at + group.len()].copy_from_slice(group);
            at += ROW_ALIGN;
            let first = g * GROUP_BLOCKS * format.block;
            let codes = &elems[first..first + group.len() * format.block];
            let dst = &mut record[at..at + group.len() * bb];
            match format.element {
                ElementKind::Int8 => {
                    for (d, &q) in dst.iter_mut().zip(codes) {
                        *d = q as u8;
                    }
                }
                ElementKind::Int4 => {
                    for (d, pair) in dst.iter_mut().zip(codes.chunks_exact(2)) {
                        *d = (pair[0] as u8 & 0x0f) | ((pair[1] as u8 & 0x0f) << 4);
                    }
                }
            }
            at += dst.len();
        }
    }
    Ok(out)
}

/// A sign-extended 4-bit two's-complement nibble.
fn nibble(bits: u8) -> i8 {
    ((bits << 4) as i8) >> 4
}

/// The inverse of [`pack`]: reads `rows` records of K elements at `stride`
/// from `bytes` and validates them as [`BfpMatrix::from_parts`] does.
/// Exponent bytes past the last block and padding between records are
/// ignored. Errors on a bad stride, when `bytes` is shorter than `rows *
/// stride`, or when the matrix is not valid.
pub fn unpack(
    format: BfpFormat,
    rows: usize,
    k: usize,
    bytes: &[u8],
    stride: usize,
) -> Result<BfpMatrix, BfpError> {
    check_stride("BFP matrix", stride, row_bytes(format, k))?;
    check_buffer("BFP matrix", bytes.len(), rows * stride)?;
    let nb = format.blocks(k);
    let bb = block_bytes(format);
    let mut exps = Vec::with_capacity(rows * nb);
    let mut elems = Vec::with_capacity(rows * format.padded_k(k));
    if stride > 0 {
        for record in bytes[..rows * stride].chunks_exact(stride) {
            let mut at = 0;
            for g in 0..nb.div_ceil(GROUP_BLOCKS) {
                let blocks = (nb - g * GROUP_BLOCKS).min(GROUP_BLOCKS);
                exps.extend_from_slice(&record[at..at + blocks]);
                at += ROW_ALIGN;
                let src = &record[at..at + blocks * bb];
                match format.element {
                    ElementKind::Int8 => elems.extend(src.iter().map(|&b| b as i8)),
                    ElementKind::Int4 => {
                        for &b in src {
                            elems.push(nibble(b & 0x0f));
                            elems.push(nibble(b >> 4));
                        }
                    }
                }
                at += src.len();
            }
        }
    }
    BfpMatrix::from_parts(format, rows, k, exps, elems)
}

/// C read back from its device layout: M x N row-major. Errors when `ldc`
/// is not a multiple of 8 or below `4 N`, or when `bytes` holds fewer than
/// `m * ldc` bytes; bytes past that are ignored.
pub fn unpack_c(bytes: &[u8], m: usize, n: usize, ldc: usize) -> Result<Vec<f32>, BfpError> {
    check_stride("C", ldc, 4 * n)?;
    check_buffer("C", bytes.len(), c_bytes(m, ldc))?;
    let mut out = Vec::with_capacity(m * n);
    if ldc > 0 {
        for row in bytes[..c_bytes(m, ldc)].chunks_exact(ldc) {
            out.extend(
                row[..4 * n]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn record_sizes() {
        let f = |name, block| BfpFormat::named(name, block).unwrap();
        // K = 40, block 16: 3 blocks, 1 group: 8 + 3 * 16.
        assert_eq!(row_bytes(f("mxint8", 16), 40), 56);
        assert_eq!(row_bytes(f("mxint4", 16), 40), 8 + 3 * 8);
        // K = 4096, block 32: 128 blocks, 16 groups.
        assert_eq!(row_bytes(f("mxint8", 32), 4096), 16 * 8 + 4096);
        // 9 blocks: 2 groups, the second with one block.
        assert_eq!(row_bytes(f("mxint4", 64), 9 * 64), 16 + 9 * 32);
        let s = packed_strides(f("mxint4", 32), 100, 3);
        assert_eq!((s.lda, s.ldb, s.ldc), (8 + 128, 8 + 64, 16));
    }

    #[test]
    fn round_trip_every_kind_and_block() {
        let mut rng = SplitMix64::new(11);
        for name in ["mxint8", "mxint4"] {
            for block in [16, 32, 64] {
                let format = BfpFormat::named(name, block).unwrap();
                for k in [1, block - 1, block, 8 * block + 3, 17 * block] {
                    let rows = 3;
                    let data: Vec<f32> = (0..rows * k).map(|_| rng.gaussian() as f32).collect();
                    let m = BfpMatrix::quantise(format, rows, k, &data).unwrap();
                    let stride = row_bytes(format, k) + 16;
                    let bytes = pack(&m, stride).unwrap();
                    assert_eq!(bytes.len(), rows * stride);
                    assert!(bytes[stride - 16..stride].iter().all(|&b| b == 0));
                    assert_eq!(unpack(format, rows, k, &bytes, stride).unwrap(), m);
                }
            }
        }
    }

    #[test]
    fn int4_nibble_order_and_groups() {
        let format = BfpFormat::named("mxint4", 16).unwrap();
        // 9 blocks: the second group holds one block.
        let k = 9 * 16;
        let mut elems = vec![0i8; k];
        (elems[0], elems[1], elems[2], elems[3]) = (1, -1, 7, -7);
        elems[8 * 16] = -7;
        elems[8 * 16 + 1] = 3;
        let exps: Vec<u8> = (1..=9).collect();
        let m = BfpMatrix::from_parts(format, 1, k, exps, elems).unwrap();
        let bytes = pack(&m, row_bytes(format, k)).unwrap();
        assert_eq!(bytes.len(), 8 + 8 * 8 + 8 + 8);
        assert_eq!(&bytes[..8], [1, 2, 3, 4, 5, 6, 7, 8]);
        // Even K in bits 3:0, odd K in bits 7:4: (1, -1) -> 0xf1, (7, -7) -> 0x97.
        assert_eq!(&bytes[8..10], [0xf1, 0x97]);
        // Group 1: exponent 9 then seven zero bytes, then one block.
        assert_eq!(&bytes[72..80], [9, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[80], 0x39);
    }

    #[test]
    fn int8_bytes() {
        let format = BfpFormat::named("mxint8", 16).unwrap();
        let mut elems = vec![0i8; 16];
        (elems[0], elems[1], elems[15]) = (-127, 127, -1);
        let m = BfpMatrix::from_parts(format, 1, 16, vec![200], elems).unwrap();
        let bytes = pack(&m, 24).unwrap();
        assert_eq!(&bytes[..8], [200, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!((bytes[8], bytes[9], bytes[23]), (0x81, 0x7f, 0xff));
    }

    #[test]
    fn bad_strides_and_buffers() {
        let format = BfpFormat::named("mxint8", 32).unwrap();
        let m = BfpMatrix::quantise(format, 2, 40, &[1.0; 80]).unwrap();
        assert_eq!(
            pack(&m, 76).unwrap_err().to_string(),
            "BFP matrix row stride 76 bytes; it must be a multiple of 8 and at least 72 bytes"
        );
        assert!(pack(&m, 64).is_err());
        let bytes = pack(&m, 72).unwrap();
        assert!(matches!(
            unpack(format, 2, 40, &bytes[..100], 72),
            Err(BfpError::Buffer { .. })
        ));
        assert!(unpack_c(&[0; 16], 1, 3, 12).is_err());
        assert!(unpack_c(&[0; 15], 1, 3, 16).is_err());
        let c = unpack_c(
            &[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0, 9, 9, 9, 9],
            1,
            3,
            16,
        )
        .unwrap();
        assert_eq!(c, [1.0, -2.0, 0.0]);
    }
}
