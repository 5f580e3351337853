//! What every engine's jobs share: operands in device memory, the checks
//! on their alignment, strides and bounds, and the errors a job names.
//!
//! Every check happens before the driver writes a single register, so a
//! bad job never starts the hardware. Each engine's jobs (in the runtime's
//! `engines/<engine>/` folders) build on these; the layouts they check are
//! documented per engine (docs/gemm-layouts.md, docs/bfp.md,
//! hw/ip/<engine>/doc/).

use crate::DeviceBuffer;

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

/// What is wrong with a job.
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
    #[error("a {job} (for ENGINE.KIND {wanted}) went to an accelerator whose ENGINE.KIND is {found} (hw/engines.toml lists the kinds); open a design of the {job}'s engine for it")]
    WrongEngine {
        job: &'static str,
        wanted: u32,
        found: u32,
    },
    /// A value outside what the design or the engine takes.
    #[error("{name} is {value}; {rule}")]
    Limit {
        name: &'static str,
        value: u64,
        rule: String,
    },
}

/// `x` rounded up to whole 64-bit words, in bytes.
pub fn round8(x: u64) -> u64 {
    x.div_ceil(8) * 8
}

/// Checks that none of M, N and K is 0.
pub fn check_dimensions(mnk: [u32; 3]) -> Result<(), DescriptorError> {
    for (name, value) in ["M", "N", "K"].into_iter().zip(mnk) {
        if value == 0 {
            return Err(DescriptorError::ZeroDimension { name });
        }
    }
    Ok(())
}

/// One operand's layout to check: its name, the operand, its rows, the
/// bytes of each row the hardware touches and the bytes of row data.
pub type OperandCheck<'a> = (&'static str, &'a Operand, u64, u64, u64);

/// Alignment, stride and bounds checks of every engine's operands.
pub fn check_operands(checks: &[OperandCheck<'_>]) -> Result<(), DescriptorError> {
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
        let needed = rows
            .saturating_sub(1)
            .checked_mul(op.stride)
            .and_then(|b| b.checked_add(touched))
            .unwrap_or(u64::MAX);
        fits(operand, op, needed)?;
    }
    Ok(())
}

/// Checks that `needed` bytes from the operand's offset lie inside its buffer.
pub fn fits(operand: &'static str, op: &Operand, needed: u64) -> Result<(), DescriptorError> {
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

    fn op(stride: u64, len: u64) -> Operand {
        Operand {
            buffer: DeviceBuffer {
                phys: 0x10_0000,
                len,
            },
            offset: 0,
            stride,
        }
    }

    #[test]
    fn each_operand_fault_is_named() {
        let good = op(16, 48);
        check_operands(&[("A", &good, 3, 16, 13)]).unwrap();
        let mut bad = good;
        bad.offset = 4;
        assert!(matches!(
            check_operands(&[("A", &bad, 3, 16, 13)]),
            Err(DescriptorError::Unaligned { operand: "A", .. })
        ));
        assert!(matches!(
            check_operands(&[("C", &op(12, 48), 3, 16, 12)]),
            Err(DescriptorError::StrideUnaligned { operand: "C", .. })
        ));
        assert!(matches!(
            check_operands(&[("A", &op(8, 48), 3, 16, 13)]),
            Err(DescriptorError::StrideTooShort { operand: "A", .. })
        ));
        assert!(matches!(
            check_operands(&[("C", &op(16, 47), 3, 16, 13)]),
            Err(DescriptorError::OutOfBuffer { operand: "C", .. })
        ));
        assert!(matches!(
            check_operands(&[("C", &op(16, 64), u64::MAX, 16, 13)]),
            Err(DescriptorError::OutOfBuffer {
                needed: u64::MAX,
                ..
            })
        ));
        assert_eq!(
            check_dimensions([3, 0, 2]),
            Err(DescriptorError::ZeroDimension { name: "N" })
        );
    }
}
