//! The simulation transport: the Verilated design on a simulated board.
//!
//! Device memory is the AXI4 memory model's byte array; allocation hands
//! out 4 KiB-aligned blocks from the board's DDR and registers each with
//! the model, so that any access outside them faults. Waiting converts the
//! timeout into cycles at the board's fabric clock: a timeout is device
//! time, as it would be on the board.

use std::path::Path;
use std::time::Duration;

use kiln_sim::{AccelSim, AxiMemory, MemTiming, SimError};

use super::{allocation_bytes, check_register_offset, DeviceBuffer, Transport, TransportError};
use crate::regs;

/// What the simulated board looks like: plain values from the board file,
/// which the runtime hands over as they are (it never sees the simulator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimBoard {
    /// Fabric clock in MHz (turns timeouts into cycles).
    pub clock_mhz: f64,
    /// Sustained bytes per cycle of the memory port, in each direction.
    pub bytes_per_cycle: f64,
    /// Cycles from an accepted read address to its first data beat.
    pub read_latency_cycles: u32,
    /// Cycles from the last beat of a write burst to its response.
    pub write_latency_cycles: u32,
    /// DDR start address.
    pub ddr_base: u64,
    /// DDR size in bytes.
    pub ddr_bytes: u64,
}

impl SimBoard {
    /// The memory model's timing.
    fn timing(&self) -> MemTiming {
        MemTiming {
            bytes_per_cycle: self.bytes_per_cycle,
            read_latency: self.read_latency_cycles,
            write_latency: self.write_latency_cycles,
        }
    }
}

/// Device memory starts this far into DDR, as a CMA region would.
const ALLOC_START: u64 = 0x0010_0000;

/// The transport over [`AccelSim`].
#[derive(Debug)]
pub struct SimTransport {
    accel: AccelSim,
    board: SimBoard,
    next_free: u64,
}

pub(super) fn sim_error(e: SimError) -> TransportError {
    TransportError::Io(e.to_string())
}

/// The model of `design` on `board`'s simulated DDR: what both simulated
/// transports (this one and devmem's) stand on.
pub(super) fn open_accel(
    design: &kiln_spec::Design,
    board: SimBoard,
    trace: Option<&Path>,
) -> Result<AccelSim, TransportError> {
    let mem = AxiMemory::new(board.ddr_base, board.ddr_bytes, board.timing());
    AccelSim::open(design, mem, trace).map_err(sim_error)
}

impl SimTransport {
    /// Opens the simulation model of `design` on `board`, optionally
    /// writing an FST waveform to `trace`.
    pub fn open(
        design: &kiln_spec::Design,
        board: SimBoard,
        trace: Option<&Path>,
    ) -> Result<Self, TransportError> {
        let accel = open_accel(design, board, trace)?;
        Ok(Self {
            accel,
            board,
            next_free: board.ddr_base + ALLOC_START,
        })
    }

    /// Simulated cycles since reset.
    pub fn cycles(&self) -> u64 {
        self.accel.cycles()
    }

    /// The simulator, for tests that inspect the memory model.
    pub fn accel(&self) -> &AccelSim {
        &self.accel
    }

    /// Finishes the waveform, if any.
    pub fn close(self) -> Result<(), TransportError> {
        self.accel.close().map_err(sim_error)
    }

    fn check_faults(&self) -> Result<(), TransportError> {
        match self.accel.memory().faults().first() {
            Some(fault) => Err(TransportError::BusFault(format!(
                "cycle {}: {}",
                fault.cycle, fault.what
            ))),
            None => Ok(()),
        }
    }
}

impl Transport for SimTransport {
    fn register_window(&self) -> u32 {
        regs::WINDOW_BYTES
    }

    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        check_register_offset(offset, regs::WINDOW_BYTES)?;
        self.accel.read_reg(offset).map_err(sim_error)
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        check_register_offset(offset, regs::WINDOW_BYTES)?;
        self.accel.write_reg(offset, value).map_err(sim_error)
    }

    fn alloc(&mut self, bytes: u64) -> Result<DeviceBuffer, TransportError> {
        let end = self.board.ddr_base + self.board.ddr_bytes;
        let len = bytes.max(1);
        // An unrepresentable size is more than any region has left.
        let rounded = allocation_bytes(len).unwrap_or(u64::MAX);
        let available = end.saturating_sub(self.next_free);
        if rounded > available {
            return Err(TransportError::OutOfMemory { bytes, available });
        }
        let buf = DeviceBuffer {
            phys: self.next_free,
            len,
        };
        self.next_free += rounded;
        self.accel.memory_mut().add_region(buf.phys, buf.len);
        Ok(buf)
    }

    fn sync_to_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        data: &[u8],
    ) -> Result<(), TransportError> {
        buf.check_range(offset, data.len() as u64)?;
        self.accel
            .memory_mut()
            .write(buf.phys + offset, data)
            .ok_or_else(|| {
                TransportError::Io(format!("buffer {:#x} is not in simulated DDR", buf.phys))
            })
    }

    fn sync_from_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), TransportError> {
        buf.check_range(offset, out.len() as u64)?;
        self.accel
            .memory()
            .read(buf.phys + offset, out)
            .ok_or_else(|| {
                TransportError::Io(format!("buffer {:#x} is not in simulated DDR", buf.phys))
            })
    }

    fn wait_interrupt(&mut self, timeout: Duration) -> Result<(), TransportError> {
        let cycles = (timeout.as_secs_f64() * self.board.clock_mhz * 1e6).ceil() as u64;
        let result = self.accel.run_until_irq(cycles.max(1));
        self.check_faults()?;
        match result {
            Ok(_) => Ok(()),
            Err(SimError::Timeout { .. }) => Err(TransportError::Timeout {
                waited_us: timeout.as_micros() as u64,
            }),
            Err(e) => Err(sim_error(e)),
        }
    }
}
