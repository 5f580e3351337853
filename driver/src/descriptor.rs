//! A GEMM submission and its validation.
//!
//! Every check happens before the driver writes a single register, so a
//! bad descriptor never starts the hardware. The layouts it checks are
//! documented in docs/gemm-layouts.md.

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
        for (operand, op, rows, touched, row) in checks {
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
        if self.params.address() % 8 != 0 {
            return Err(DescriptorError::Unaligned {
                operand: "params",
                address: self.params.address(),
            });
        }
        fits("params", &self.params, n * 16)?;
        Ok(())
    }
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
