//! kiln's accelerator driver.
//!
//! The driver owns the sequence of register writes and buffer moves that
//! runs an accelerator; a [`Transport`] only moves words and bytes. The same
//! sequencing code then runs against the Verilated model, under XRT and over
//! /dev/mem. So far this crate holds the transport seam and its error type;
//! the accelerator sequencing lands with the GEMM engine's register map.

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A register offset outside the accelerator's register window.
    #[error("register offset {offset:#x} is outside the {window:#x}-byte register window")]
    OutOfWindow { offset: u32, window: u32 },
    /// A register offset that is not 32-bit aligned.
    #[error("register offset {offset:#x} is not 4-byte aligned")]
    Unaligned { offset: u32 },
    /// The accelerator did not finish within the allowed time.
    #[error("timed out after {waited_ms} ms waiting for the accelerator")]
    Timeout { waited_ms: u64 },
    /// The transport's own failure (a device file, a library call).
    #[error("{0}")]
    Io(String),
}

/// Host access to one accelerator's control registers.
///
/// Implementations move 32-bit words and know nothing of what the registers
/// mean; device memory (allocation, sync, physical addresses) joins this
/// trait with the first engine that reads DDR.
pub trait Transport {
    /// Size of the register window in bytes.
    fn register_window(&self) -> u32;
    /// Reads the 32-bit register at byte `offset`.
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError>;
    /// Writes the 32-bit register at byte `offset`.
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError>;
}

/// Checks a register offset against a window, for transports to share.
pub fn check_register_offset(offset: u32, window: u32) -> Result<(), TransportError> {
    if offset % 4 != 0 {
        return Err(TransportError::Unaligned { offset });
    }
    if offset.checked_add(4).is_none_or(|end| end > window) {
        return Err(TransportError::OutOfWindow { offset, window });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets_are_checked_for_alignment_and_window() {
        assert!(check_register_offset(0x0, 0x40).is_ok());
        assert!(check_register_offset(0x3c, 0x40).is_ok());
        assert!(matches!(
            check_register_offset(0x40, 0x40),
            Err(TransportError::OutOfWindow { .. })
        ));
        assert!(matches!(
            check_register_offset(0x2, 0x40),
            Err(TransportError::Unaligned { .. })
        ));
        assert!(matches!(
            check_register_offset(u32::MAX - 3, 0x40),
            Err(TransportError::OutOfWindow { .. })
        ));
    }
}
