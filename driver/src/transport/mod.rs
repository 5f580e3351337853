//! The seam between the driver and the hardware (or its simulation).

use std::time::Duration;

#[cfg(feature = "sim")]
mod sim;
#[cfg(feature = "sim")]
pub use sim::{SimBoard, SimTransport};
#[cfg(feature = "xrt")]
mod xrt;
#[cfg(feature = "xrt")]
pub use xrt::{XrtTransport, DEFAULT_TIMEOUT_FLOOR as XRT_TIMEOUT_FLOOR};

mod devmem;
mod devmem_board;
#[cfg(feature = "sim")]
mod devmem_sim;
mod mmio;
pub use devmem::{
    CacheSync, Clock, Completion, DevmemTransport, DmaRegion, PollIsr, UioInterrupt, WallClock,
};
pub use devmem_board::{DevmemConfig, RegisterSource, UdmabufSync};
#[cfg(feature = "sim")]
pub use devmem_sim::{SimCacheSync, SimClock, SimDevice, SimDmaMemory, SimRegisters};
pub use mmio::{check_window, check_word, MappedFile, Mmio};

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
    /// An access outside a memory-mapped window.
    #[error("{len} bytes at offset {offset:#x} do not fit {what} ({size:#x} bytes mapped)")]
    OutOfMapping {
        what: String,
        offset: u64,
        len: u64,
        size: u64,
    },
    /// A word access off a 4-byte boundary of a memory-mapped window.
    #[error("word access at offset {offset:#x} of {what} is not 4-byte aligned")]
    UnalignedMapping { what: String, offset: u64 },
    /// The accelerator did not signal completion within the allowed time.
    #[error("timed out after {waited_us} us (device time) waiting for the accelerator")]
    Timeout { waited_us: u64 },
    /// A copy that would leave its buffer.
    #[error("{len} bytes at offset {offset} do not fit the {size}-byte buffer at {phys:#x}")]
    OutOfBuffer {
        phys: u64,
        size: u64,
        offset: u64,
        len: u64,
    },
    /// No device memory left for an allocation.
    #[error("cannot allocate {bytes} bytes of device memory: {available} left")]
    OutOfMemory { bytes: u64, available: u64 },
    /// The accelerator broke the bus protocol or touched memory outside its buffers.
    #[error("the accelerator faulted on its memory port: {0}")]
    BusFault(String),
    /// The machine is not the board the board file describes (device
    /// tree, UIO address or DMA buffer outside its DDR).
    #[error("wrong board: {0}")]
    WrongBoard(String),
    /// No DMA buffer driver (u-dma-buf) on the board.
    #[error("{0}")]
    NoDmaBuffer(String),
    /// The transport's own failure (a device file, a library call, the simulator).
    #[error("{0}")]
    Io(String),
    /// An XRT call failed (XRT also prints its reason on stderr).
    #[error("XRT call {call} failed: {message} (errno {errno})")]
    Xrt {
        call: &'static str,
        errno: i32,
        message: String,
    },
    /// An XRT run ended in a state other than completed.
    #[error("the XRT run ended in state {state} ({code}); XRT's log on stderr says why")]
    RunFailed { state: &'static str, code: u32 },
    /// An address in no buffer this transport allocated.
    #[error("{what} at {address:#x} lies in no buffer allocated through this transport")]
    UnknownBuffer { what: String, address: u64 },
    /// The xclbin could not be read.
    #[error(transparent)]
    Xclbin(#[from] crate::xclbin::XclbinError),
    /// Something this transport cannot do.
    #[error("{0}")]
    Unsupported(String),
}

/// Every buffer [`Transport::alloc`] hands out starts on, and takes up,
/// whole pages of this many bytes (what mmap, u-dma-buf and XRT manage).
pub const ALLOC_ALIGN: u64 = 4096;

/// The device memory an allocation of `bytes` takes: at least one byte,
/// rounded up to whole [`ALLOC_ALIGN`] pages. `None` when that overflows
/// u64. The transports and the runtime's size checks share it, so that a
/// size checked up front is the size later allocated.
pub fn allocation_bytes(bytes: u64) -> Option<u64> {
    bytes.max(1).checked_next_multiple_of(ALLOC_ALIGN)
}

/// A block of device memory the accelerator can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceBuffer {
    /// Physical (bus) address of the first byte, as the accelerator sees it.
    pub phys: u64,
    /// Size in bytes.
    pub len: u64,
}

impl DeviceBuffer {
    /// Checks that `len` bytes at `offset` lie inside the buffer.
    pub fn check_range(&self, offset: u64, len: u64) -> Result<(), TransportError> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(TransportError::OutOfBuffer {
                phys: self.phys,
                size: self.len,
                offset,
                len,
            });
        }
        Ok(())
    }
}

/// Host access to one accelerator: its control registers, device memory
/// and its completion signal. Implementations know nothing of what the
/// registers mean.
pub trait Transport {
    /// Size of the register window in bytes.
    fn register_window(&self) -> u32;
    /// Reads the 32-bit register at byte `offset`.
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError>;
    /// Writes the 32-bit register at byte `offset`.
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError>;
    /// Allocates `bytes` of physically contiguous device memory, 4 KiB aligned.
    fn alloc(&mut self, bytes: u64) -> Result<DeviceBuffer, TransportError>;
    /// Copies `data` into `buf` at `offset` and makes it visible to the device.
    fn sync_to_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        data: &[u8],
    ) -> Result<(), TransportError>;
    /// Makes the device's writes visible and copies them out of `buf` at `offset`.
    fn sync_from_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), TransportError>;
    /// Waits for the accelerator's interrupt, at most `timeout`.
    fn wait_interrupt(&mut self, timeout: Duration) -> Result<(), TransportError>;
}

/// Checks a register offset against a window, for transports to share.
pub fn check_register_offset(offset: u32, window: u32) -> Result<(), TransportError> {
    if !offset.is_multiple_of(4) {
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

    #[test]
    fn buffer_ranges_are_checked() {
        let buf = DeviceBuffer {
            phys: 0x1000,
            len: 64,
        };
        assert!(buf.check_range(0, 64).is_ok());
        assert!(buf.check_range(60, 5).is_err());
        assert!(buf.check_range(u64::MAX, 2).is_err());
    }
}
