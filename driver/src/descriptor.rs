//! GEMM and BFP MatMul submissions and their validation.
//!
//! Every check happens before the driver writes a single register, so a
//! bad descriptor never starts the hardware. The layouts it checks are
//! documented in docs/gemm-layouts.md and docs/bfp.md.

use crate::DeviceBuffer;

/// Output element type of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Requantised int8 with this zero point.
    Int8 { zero_point: i8 },
    /// Raw int32 accumulators plus bias.
    Int32,
}

impl OutputKind {
    /// Bytes per output element.
    pub fn bytes(self) -> u64 {
        match self {
            OutputKind::Int8 { .. } => 1,
            OutputKind::Int32 => 4,
        }
    }
}

/// A matrix in device memory: a buffer, the byte offset of element (0, 0)
/// and the byte stride between rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operand {
    pub buffer: DeviceBuffer,
    pub offset: u64,
    pub stride: u64,
}

impl Operand {
    /// The device address of element (0, 0).
    pub fn address(&self) -> u64 {
        self.buffer.phys + self.offset
    }
}

/// C (M x N) = A (M x K, int8) x B (N x K, weight codes), per docs/gemm-layouts.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmDescriptor {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Activations, one byte per element.
    pub a: Operand,
    /// Weight codes, packed at the design's weight width.
    pub b: Operand,
    /// Output.
    pub c: Operand,
    /// N channel records of 16 bytes (the stride is ignored).
    pub params: Operand,
    pub act_zero_point: i8,
    pub output: OutputKind,
}

/// What is wrong with a descriptor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptorError {
    #[error("dimension {name} is 0; M, N and K must each be at least 1")]
    ZeroDimension { name: &'static str },
    #[error("operand {operand} starts at {address:#x}, which is not 8-byte aligned; the accelerator reads and writes whole 64-bit words")]
    Unaligned { operand: &'static str, address: u64 },
    #[error("operand {operand} has row stride {stride}, which is not a multiple of 8 bytes")]
    StrideUnaligned { operand: &'static str, stride: u64 },
    #[error(
        "operand {operand} has row stride {stride} bytes, shorter than its {row} bytes of row data"
    )]
    StrideTooShort {
        operand: &'static str,
        stride: u64,
        row: u64,
    },
    #[error("operand {operand} spans {needed} bytes from offset {offset}, but its buffer holds {size} bytes; it would reach outside the buffer")]
    OutOfBuffer {
        operand: &'static str,
        offset: u64,
        needed: u64,
        size: u64,
    },
    #[error("a {wanted} submission went to a {found} engine; open a {wanted} design for it")]
    WrongEngine {
        wanted: &'static str,
        found: &'static str,
    },
    #[error("K is {k}, {padded} once padded to whole blocks of {block}; this design holds at most {k_depth} (its k_depth)")]
    KTooLong {
        k: u32,
        padded: u64,
        block: u32,
        k_depth: u32,
    },
}

fn round8(x: u64) -> u64 {
    x.div_ceil(8) * 8
}

impl GemmDescriptor {
    /// Bytes one row of B occupies with `weight_bits`-bit codes.
    pub fn b_row_bytes(&self, weight_bits: u32) -> u64 {
        (u64::from(self.k) * u64::from(weight_bits)).div_ceil(8)
    }

    /// Checks shapes, alignment, strides and buffer bounds for a design
    /// whose weight codes are `weight_bits` wide.
    pub fn validate(&self, weight_bits: u32) -> Result<(), DescriptorError> {
        for (name, value) in [("M", self.m), ("N", self.n), ("K", self.k)] {
            if value == 0 {
                return Err(DescriptorError::ZeroDimension { name });
            }
        }
        let (m, n, k) = (u64::from(self.m), u64::from(self.n), u64::from(self.k));
        let e = self.output.bytes();
        // (operand, rows, row bytes the hardware touches, row data bytes)
        let checks = [
            ("A", &self.a, m, round8(k), k),
            (
                "B",
                &self.b,
                n,
                round8(self.b_row_bytes(weight_bits)),
                self.b_row_bytes(weight_bits),
            ),
            ("C", &self.c, m, round8(n * e), n * e),
        ];
        check_operands(&checks)?;
        if !self.params.address().is_multiple_of(8) {
            return Err(DescriptorError::Unaligned {
                operand: "params",
                address: self.params.address(),
            });
        }
        fits("params", &self.params, n * 16)?;
        Ok(())
    }
}

/// C (M x N, f32) = A (M x K, mxint8 blocks) x W^T (N x K, blocks of the
/// design's weight format), per docs/bfp.md. K is padded with zero elements
/// to whole blocks inside the row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulDescriptor {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Activations: M row records of mxint8 blocks.
    pub a: Operand,
    /// Weights: N row records in the design's weight format.
    pub w: Operand,
    /// Output: M rows of N little-endian f32.
    pub c: Operand,
}

/// The shape of a BFP engine's blocks, from its identity registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfpGeometry {
    /// Elements per block.
    pub block: u32,
    /// Bits per weight element (activations are always 8).
    pub weight_bits: u32,
    /// The longest (padded) K the engine holds.
    pub k_depth: u32,
}

/// Bytes of one BFP row record of `k` elements of `bits` bits in blocks of
/// `block` (docs/bfp.md): per group of up to eight blocks, one 8-byte beat
/// of exponents, then the blocks' elements. Always a multiple of 8.
pub fn bfp_row_bytes(k: u64, block: u64, bits: u64) -> u64 {
    let blocks = k.div_ceil(block);
    8 * blocks.div_ceil(8) + blocks * block * bits / 8
}

impl MatmulDescriptor {
    /// Checks shapes, K against the design, alignment, strides and buffer
    /// bounds for a BFP engine of `geometry`.
    pub fn validate(&self, geometry: &BfpGeometry) -> Result<(), DescriptorError> {
        for (name, value) in [("M", self.m), ("N", self.n), ("K", self.k)] {
            if value == 0 {
                return Err(DescriptorError::ZeroDimension { name });
            }
        }
        let block = u64::from(geometry.block);
        let padded = u64::from(self.k).div_ceil(block) * block;
        if padded > u64::from(geometry.k_depth) {
            return Err(DescriptorError::KTooLong {
                k: self.k,
                padded,
                block: geometry.block,
                k_depth: geometry.k_depth,
            });
        }
        let (m, n, k) = (u64::from(self.m), u64::from(self.n), u64::from(self.k));
        let a_row = bfp_row_bytes(k, block, 8);
        let w_row = bfp_row_bytes(k, block, u64::from(geometry.weight_bits));
        // (operand, rows, row bytes the hardware touches, row data bytes)
        let checks = [
            ("A", &self.a, m, a_row, a_row),
            ("W", &self.w, n, w_row, w_row),
            ("C", &self.c, m, round8(4 * n), 4 * n),
        ];
        check_operands(&checks)
    }
}

/// Alignment, stride and bounds checks shared by both submissions.
fn check_operands(
    checks: &[(&'static str, &Operand, u64, u64, u64)],
) -> Result<(), DescriptorError> {
    for &(operand, op, rows, touched, row) in checks {
        if op.address() % 8 != 0 {
            return Err(DescriptorError::Unaligned {
                operand,
                address: op.address(),
            });
        }
        if op.stride % 8 != 0 {
            return Err(DescriptorError::StrideUnaligned {
                operand,
                stride: op.stride,
            });
        }
        if op.stride < row {
            return Err(DescriptorError::StrideTooShort {
                operand,
                stride: op.stride,
                row,
            });
        }
        let needed = (rows - 1) * op.stride + touched;
        fits(operand, op, needed)?;
    }
    Ok(())
}

fn fits(operand: &'static str, op: &Operand, needed: u64) -> Result<(), DescriptorError> {
    if op
        .offset
        .checked_add(needed)
        .is_none_or(|end| end > op.buffer.len)
    {
        return Err(DescriptorError::OutOfBuffer {
            operand,
            offset: op.offset,
            needed,
            size: op.buffer.len,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(len: u64) -> DeviceBuffer {
        DeviceBuffer {
            phys: 0x10_0000,
            len,
        }
    }

    fn good() -> GemmDescriptor {
        let op = |stride, len| Operand {
            buffer: buffer(len),
            offset: 0,
            stride,
        };
        GemmDescriptor {
            m: 3,
            n: 5,
            k: 13,
            a: op(16, 48),
            b: op(8, 40),
            c: op(8, 24),
            params: op(0, 80),
            act_zero_point: 0,
            output: OutputKind::Int8 { zero_point: 0 },
        }
    }

    fn good_matmul() -> (MatmulDescriptor, BfpGeometry) {
        let op = |stride, len| Operand {
            buffer: buffer(len),
            offset: 0,
            stride,
        };
        // K = 40 in blocks of 16: 3 blocks, one exponent beat; mxint4
        // weights: 8 + 3 * 8 = 32 bytes a row; mxint8: 8 + 3 * 16 = 56.
        let geometry = BfpGeometry {
            block: 16,
            weight_bits: 4,
            k_depth: 128,
        };
        let d = MatmulDescriptor {
            m: 2,
            n: 3,
            k: 40,
            a: op(56, 112),
            w: op(32, 96),
            c: op(16, 32),
        };
        (d, geometry)
    }

    #[test]
    fn row_records_have_the_documented_size() {
        assert_eq!(bfp_row_bytes(40, 16, 4), 32);
        assert_eq!(bfp_row_bytes(40, 16, 8), 56);
        // Nine blocks of 32 int8: two exponent beats.
        assert_eq!(bfp_row_bytes(9 * 32, 32, 8), 16 + 9 * 32);
        assert_eq!(bfp_row_bytes(1, 64, 4), 8 + 32);
    }

    #[test]
    fn a_packed_matmul_passes_and_each_fault_is_named() {
        let (d, g) = good_matmul();
        d.validate(&g).unwrap();
        let mut bad = d;
        bad.k = 129;
        assert!(matches!(
            bad.validate(&g),
            Err(DescriptorError::KTooLong { padded: 144, .. })
        ));
        let mut bad = d;
        bad.w.stride = 24;
        assert!(matches!(
            bad.validate(&g),
            Err(DescriptorError::StrideTooShort { operand: "W", .. })
        ));
        let mut bad = d;
        bad.c.buffer.len = 31;
        assert!(matches!(
            bad.validate(&g),
            Err(DescriptorError::OutOfBuffer { operand: "C", .. })
        ));
        let mut bad = d;
        bad.n = 0;
        assert_eq!(
            bad.validate(&g),
            Err(DescriptorError::ZeroDimension { name: "N" })
        );
    }

    #[test]
    fn a_packed_descriptor_passes() {
        good().validate(4).unwrap();
    }

    #[test]
    fn each_fault_is_named() {
        let mut d = good();
        d.k = 0;
        assert_eq!(
            d.validate(4),
            Err(DescriptorError::ZeroDimension { name: "K" })
        );
        let mut d = good();
        d.a.offset = 4;
        assert!(matches!(
            d.validate(4),
            Err(DescriptorError::Unaligned { operand: "A", .. })
        ));
        let mut d = good();
        d.c.stride = 12;
        assert!(matches!(
            d.validate(4),
            Err(DescriptorError::StrideUnaligned { operand: "C", .. })
        ));
        let mut d = good();
        d.a.stride = 8;
        assert!(matches!(
            d.validate(4),
            Err(DescriptorError::StrideTooShort { operand: "A", .. })
        ));
        let mut d = good();
        d.c.buffer.len = 23;
        assert!(matches!(
            d.validate(4),
            Err(DescriptorError::OutOfBuffer { operand: "C", .. })
        ));
        let mut d = good();
        d.output = OutputKind::Int32;
        assert!(matches!(
            d.validate(4),
            Err(DescriptorError::StrideTooShort { operand: "C", .. })
        ));
        let mut d = good();
        d.params.buffer.len = 79;
        assert!(matches!(
            d.validate(4),
            Err(DescriptorError::OutOfBuffer {
                operand: "params",
                ..
            })
        ));
    }
}
