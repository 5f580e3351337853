//! The Verilated accelerator behind the devmem transport's seams.
//!
//! [`SimDevice`] opens a design's model on a simulated board and hands out
//! the three parts a [`DevmemTransport`] is made of, as a board's device
//! files would: the register window ([`SimRegisters`], AXI-Lite
//! transactions on the model), a DMA region ([`SimDmaMemory`] +
//! [`SimCacheSync`]) and a clock in device time ([`SimClock`]), so that
//! the transport's own code (address map, buffers, cache sync, timeouts)
//! runs against the real RTL.
//!
//! The DMA region models a non-coherent, write-back CPU cache that never
//! evicts: the CPU's view is a separate copy of the region, written back
//! to the simulated DDR only by `for_device` and refreshed only by
//! `for_cpu`. A missing or misplaced sync therefore gives wrong results
//! here, as it would on a Zynq HP port.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use kiln_sim::AccelSim;

use super::devmem::{CacheSync, Clock, DmaRegion};
use super::mmio::{check_window, check_word};
use super::sim::{sim_error, SimBoard};
use super::{Mmio, TransportError};

/// One simulated accelerator on one simulated board.
#[derive(Debug, Clone)]
pub struct SimDevice {
    accel: Rc<RefCell<AccelSim>>,
    board: SimBoard,
}

impl SimDevice {
    /// Opens the model of `design` on `board`, optionally tracing to `trace`.
    pub fn open(
        design: &kiln_spec::Design,
        board: SimBoard,
        trace: Option<&Path>,
    ) -> Result<Self, TransportError> {
        let accel = super::sim::open_accel(design, board, trace)?;
        Ok(Self {
            accel: Rc::new(RefCell::new(accel)),
            board,
        })
    }

    /// The register window, `window` bytes.
    pub fn registers(&self, window: u64) -> SimRegisters {
        SimRegisters {
            accel: self.accel.clone(),
            window,
        }
    }

    /// A DMA region of `len` bytes at physical address `phys`, which must
    /// lie in the board's DDR; the accelerator may only touch memory inside
    /// it (anything else is a bus fault).
    pub fn dma_region(&self, phys: u64, len: u64) -> Result<DmaRegion, TransportError> {
        let end = self.board.ddr_base + self.board.ddr_bytes;
        if phys < self.board.ddr_base || phys.checked_add(len).is_none_or(|e| e > end) {
            return Err(TransportError::Io(format!(
                "DMA region {phys:#x}+{len:#x} is outside the simulated DDR {:#x}..{end:#x}",
                self.board.ddr_base
            )));
        }
        let size = usize::try_from(len)
            .map_err(|_| TransportError::Io(format!("DMA region of {len} bytes is too large")))?;
        self.accel.borrow_mut().memory_mut().add_region(phys, len);
        let cpu_view = Rc::new(RefCell::new(vec![0u8; size]));
        Ok(DmaRegion {
            mem: Box::new(SimDmaMemory {
                cpu_view: cpu_view.clone(),
            }),
            phys,
            sync: Box::new(SimCacheSync {
                accel: self.accel.clone(),
                cpu_view,
                phys,
            }),
            name: format!("simulated DMA region at {phys:#x}"),
        })
    }

    /// Device time: cycles at the board's fabric clock.
    pub fn clock(&self) -> SimClock {
        SimClock {
            accel: self.accel.clone(),
            clock_mhz: self.board.clock_mhz,
        }
    }

    /// Faults the memory model recorded (accesses outside every region, bad
    /// bursts), as text.
    pub fn faults(&self) -> Vec<String> {
        self.accel
            .borrow()
            .memory()
            .faults()
            .iter()
            .map(|f| format!("cycle {}: {}", f.cycle, f.what))
            .collect()
    }

    /// Simulated cycles since reset.
    pub fn cycles(&self) -> u64 {
        self.accel.borrow().cycles()
    }
}

/// The register window: each access is one AXI-Lite transaction on the model.
#[derive(Debug)]
pub struct SimRegisters {
    accel: Rc<RefCell<AccelSim>>,
    window: u64,
}

impl SimRegisters {
    fn offset(&self, offset: u64) -> Result<u32, TransportError> {
        check_word("the simulated register window", self.window, offset)?;
        u32::try_from(offset).map_err(|_| TransportError::Io(format!("offset {offset:#x}")))
    }
}

impl Mmio for SimRegisters {
    fn size(&self) -> u64 {
        self.window
    }

    fn read32(&mut self, offset: u64) -> Result<u32, TransportError> {
        let offset = self.offset(offset)?;
        self.accel.borrow_mut().read_reg(offset).map_err(sim_error)
    }

    fn write32(&mut self, offset: u64, value: u32) -> Result<(), TransportError> {
        let offset = self.offset(offset)?;
        self.accel
            .borrow_mut()
            .write_reg(offset, value)
            .map_err(sim_error)
    }

    fn read_bytes(&mut self, offset: u64, _out: &mut [u8]) -> Result<(), TransportError> {
        Err(TransportError::Io(format!(
            "byte read at {offset:#x} of the register window: registers are 32-bit words"
        )))
    }

    fn write_bytes(&mut self, offset: u64, _data: &[u8]) -> Result<(), TransportError> {
        Err(TransportError::Io(format!(
            "byte write at {offset:#x} of the register window: registers are 32-bit words"
        )))
    }
}

/// The CPU's (cached) view of a DMA region.
#[derive(Debug)]
pub struct SimDmaMemory {
    cpu_view: Rc<RefCell<Vec<u8>>>,
}

impl Mmio for SimDmaMemory {
    fn size(&self) -> u64 {
        self.cpu_view.borrow().len() as u64
    }

    fn read32(&mut self, offset: u64) -> Result<u32, TransportError> {
        let mut word = [0u8; 4];
        check_word("the simulated DMA region", self.size(), offset)?;
        self.read_bytes(offset, &mut word)?;
        Ok(u32::from_le_bytes(word))
    }

    fn write32(&mut self, offset: u64, value: u32) -> Result<(), TransportError> {
        check_word("the simulated DMA region", self.size(), offset)?;
        self.write_bytes(offset, &value.to_le_bytes())
    }

    fn read_bytes(&mut self, offset: u64, out: &mut [u8]) -> Result<(), TransportError> {
        let view = self.cpu_view.borrow();
        check_window(
            "the simulated DMA region",
            view.len() as u64,
            offset,
            out.len() as u64,
        )?;
        let at = offset as usize;
        out.copy_from_slice(&view[at..at + out.len()]);
        Ok(())
    }

    fn write_bytes(&mut self, offset: u64, data: &[u8]) -> Result<(), TransportError> {
        let mut view = self.cpu_view.borrow_mut();
        check_window(
            "the simulated DMA region",
            view.len() as u64,
            offset,
            data.len() as u64,
        )?;
        let at = offset as usize;
        view[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }
}

/// Cache maintenance between the CPU's view and the simulated DDR.
#[derive(Debug)]
pub struct SimCacheSync {
    accel: Rc<RefCell<AccelSim>>,
    cpu_view: Rc<RefCell<Vec<u8>>>,
    phys: u64,
}

impl SimCacheSync {
    fn range(&self, offset: u64, len: u64) -> Result<std::ops::Range<usize>, TransportError> {
        let size = self.cpu_view.borrow().len() as u64;
        check_window("the simulated DMA region", size, offset, len)?;
        Ok(offset as usize..(offset + len) as usize)
    }
}

impl CacheSync for SimCacheSync {
    fn for_device(&mut self, offset: u64, len: u64) -> Result<(), TransportError> {
        let range = self.range(offset, len)?;
        let view = self.cpu_view.borrow();
        self.accel
            .borrow_mut()
            .memory_mut()
            .write(self.phys + offset, &view[range])
            .ok_or_else(|| TransportError::Io("DMA region is not in simulated DDR".into()))
    }

    fn for_cpu(&mut self, offset: u64, len: u64) -> Result<(), TransportError> {
        let range = self.range(offset, len)?;
        let mut view = self.cpu_view.borrow_mut();
        self.accel
            .borrow()
            .memory()
            .read(self.phys + offset, &mut view[range])
            .ok_or_else(|| TransportError::Io("DMA region is not in simulated DDR".into()))
    }
}

/// Device time: pausing runs the simulation.
#[derive(Debug)]
pub struct SimClock {
    accel: Rc<RefCell<AccelSim>>,
    clock_mhz: f64,
}

impl Clock for SimClock {
    fn now(&mut self) -> Duration {
        let cycles = self.accel.borrow().cycles();
        Duration::from_secs_f64(cycles as f64 / (self.clock_mhz * 1e6))
    }

    fn pause(&mut self, d: Duration) {
        let cycles = (d.as_secs_f64() * self.clock_mhz * 1e6).ceil().max(1.0) as u64;
        // A failed step (the model is gone) shows up at the next register
        // access, which returns the error.
        let _ = self.accel.borrow_mut().step(cycles);
    }
}
