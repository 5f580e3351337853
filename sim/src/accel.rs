//! A simulated accelerator on a simulated board: one Verilated design, the
//! AXI4 memory model behind its master port and an AXI4-Lite
//! bus-functional master on its control port, advanced together one clock
//! at a time.
//!
//! Register accesses take real bus cycles, and while they do (and while the
//! host waits) the memory keeps serving the accelerator, as on a board.

use std::path::Path;

use kiln_spec::Design;

use crate::axi_mem::{AxiMemory, MasterSignals, MemDrive};
use crate::{ModelSource, Port, Sim, SimError};

/// Cycles an AXI-Lite transaction may take before the bus counts as hung.
const LITE_TIMEOUT: u64 = 1_000;

include!(concat!(env!("OUT_DIR"), "/shell_ports.rs"));

/// One simulated accelerator with its memory.
pub struct AccelSim {
    sim: Sim,
    ports: ShellPorts,
    mem: AxiMemory,
    /// Last value driven on each input port (by port index), so that
    /// unchanged inputs cost no call into the model.
    driven: Vec<u64>,
    cycle: u64,
}

impl std::fmt::Debug for AccelSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccelSim")
            .field("model", &self.sim.label())
            .field("cycle", &self.cycle)
            .finish()
    }
}

impl AccelSim {
    /// Opens the model of `design` (built into the simulator cache on
    /// first use), connects `mem` to its master port, optionally traces to
    /// `trace` (.fst or .vcd), and resets it.
    pub fn open(design: &Design, mem: AxiMemory, trace: Option<&Path>) -> Result<Self, SimError> {
        let sim = Sim::open(&ModelSource::design(design)?, trace)?;
        let ports = ShellPorts::resolve(&sim)?;
        let inputs = sim.ports().len();
        let mut accel = Self {
            sim,
            ports,
            mem,
            driven: vec![u64::MAX; inputs],
            cycle: 0,
        };
        for port in [
            accel.ports.s_awvalid_i,
            accel.ports.s_wvalid_i,
            accel.ports.s_arvalid_i,
            accel.ports.s_bready_i,
            accel.ports.s_rready_i,
        ] {
            accel.drive(port, 0)?;
        }
        accel.drive(accel.ports.s_wstrb_i, 0xF)?;
        accel.sim.reset(4)?;
        accel.cycle = 0;
        Ok(accel)
    }

    /// The memory, for host-side copies and fault reports.
    pub fn memory(&self) -> &AxiMemory {
        &self.mem
    }

    pub fn memory_mut(&mut self) -> &mut AxiMemory {
        &mut self.mem
    }

    /// Cycles since reset.
    pub fn cycles(&self) -> u64 {
        self.cycle
    }

    fn drive(&mut self, port: Port, value: u64) -> Result<(), SimError> {
        let slot = &mut self.driven[port.index as usize];
        if *slot != value {
            *slot = value;
            self.sim.set(port, value)?;
        }
        Ok(())
    }

    fn flag(&mut self, port: Port) -> bool {
        self.sim.get(port) != 0
    }

    /// One clock cycle: the memory drives its side, both sides' handshakes
    /// are taken, then the clock rises.
    fn tick(&mut self) -> Result<(), SimError> {
        let d: MemDrive = self.mem.drive(self.cycle);
        let p = &self.ports;
        let (arready, rvalid, rdata, rresp, rlast) = (
            p.m_arready_i,
            p.m_rvalid_i,
            p.m_rdata_i,
            p.m_rresp_i,
            p.m_rlast_i,
        );
        let (awready, wready, bvalid, bresp) =
            (p.m_awready_i, p.m_wready_i, p.m_bvalid_i, p.m_bresp_i);
        self.drive(arready, u64::from(d.arready))?;
        self.drive(rvalid, u64::from(d.rvalid))?;
        if d.rvalid {
            self.drive(rdata, d.rdata)?;
            self.drive(rresp, d.rresp)?;
            self.drive(rlast, u64::from(d.rlast))?;
        }
        self.drive(awready, u64::from(d.awready))?;
        self.drive(wready, u64::from(d.wready))?;
        self.drive(bvalid, u64::from(d.bvalid))?;
        if d.bvalid {
            self.drive(bresp, d.bresp)?;
        }

        let p = &self.ports;
        let mut m = MasterSignals {
            arvalid: self.sim.get(p.m_arvalid_o) != 0,
            rready: d.rvalid && self.sim.get(p.m_rready_o) != 0,
            awvalid: self.sim.get(p.m_awvalid_o) != 0,
            wvalid: d.wready && self.sim.get(p.m_wvalid_o) != 0,
            bready: d.bvalid && self.sim.get(p.m_bready_o) != 0,
            ..MasterSignals::default()
        };
        if m.arvalid && d.arready {
            m.araddr = self.sim.get(p.m_araddr_o);
            m.arlen = self.sim.get(p.m_arlen_o);
            m.arsize = self.sim.get(p.m_arsize_o);
            m.arburst = self.sim.get(p.m_arburst_o);
        }
        if m.awvalid && d.awready {
            m.awaddr = self.sim.get(p.m_awaddr_o);
            m.awlen = self.sim.get(p.m_awlen_o);
            m.awsize = self.sim.get(p.m_awsize_o);
            m.awburst = self.sim.get(p.m_awburst_o);
        }
        if m.wvalid {
            m.wdata = self.sim.get(p.m_wdata_o);
            m.wstrb = self.sim.get(p.m_wstrb_o);
            m.wlast = self.sim.get(p.m_wlast_o) != 0;
        }
        self.mem.observe(self.cycle, &d, &m);
        self.sim.step(1);
        self.cycle += 1;
        Ok(())
    }

    /// Runs `cycles` cycles with the control bus idle.
    pub fn step(&mut self, cycles: u64) -> Result<(), SimError> {
        for _ in 0..cycles {
            self.tick()?;
        }
        Ok(())
    }

    /// The interrupt line.
    pub fn irq(&mut self) -> bool {
        let irq = self.ports.irq_o;
        self.flag(irq)
    }

    /// Runs until the interrupt line is high, for at most `max_cycles`.
    /// Returns the cycles it took, or [`SimError::Timeout`].
    pub fn run_until_irq(&mut self, max_cycles: u64) -> Result<u64, SimError> {
        let start = self.cycle;
        while !self.irq() {
            if self.cycle - start >= max_cycles {
                return Err(SimError::Timeout { cycles: max_cycles });
            }
            self.tick()?;
        }
        Ok(self.cycle - start)
    }

    /// Waits (ticking) until `port` is high, at most LITE_TIMEOUT cycles.
    fn await_flag(&mut self, port: Port, what: &'static str) -> Result<(), SimError> {
        for _ in 0..LITE_TIMEOUT {
            if self.flag(port) {
                return Ok(());
            }
            self.tick()?;
        }
        Err(SimError::BusHung {
            what,
            cycles: LITE_TIMEOUT,
        })
    }

    /// An AXI4-Lite write of `value` to register `offset`.
    pub fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), SimError> {
        let p = &self.ports;
        let (awvalid, awaddr, wvalid, wdata, awready, bready, bvalid) = (
            p.s_awvalid_i,
            p.s_awaddr_i,
            p.s_wvalid_i,
            p.s_wdata_i,
            p.s_awready_o,
            p.s_bready_i,
            p.s_bvalid_o,
        );
        self.drive(awaddr, u64::from(offset))?;
        self.drive(wdata, u64::from(value))?;
        self.drive(awvalid, 1)?;
        self.drive(wvalid, 1)?;
        self.await_flag(awready, "write address/data")?;
        self.tick()?;
        self.drive(awvalid, 0)?;
        self.drive(wvalid, 0)?;
        self.drive(bready, 1)?;
        self.await_flag(bvalid, "write response")?;
        self.tick()?;
        self.drive(bready, 0)?;
        Ok(())
    }

    /// An AXI4-Lite read of register `offset`.
    pub fn read_reg(&mut self, offset: u32) -> Result<u32, SimError> {
        let p = &self.ports;
        let (arvalid, araddr, arready, rready, rvalid, rdata) = (
            p.s_arvalid_i,
            p.s_araddr_i,
            p.s_arready_o,
            p.s_rready_i,
            p.s_rvalid_o,
            p.s_rdata_o,
        );
        self.drive(araddr, u64::from(offset))?;
        self.drive(arvalid, 1)?;
        self.await_flag(arready, "read address")?;
        self.tick()?;
        self.drive(arvalid, 0)?;
        self.drive(rready, 1)?;
        self.await_flag(rvalid, "read data")?;
        let value = self.sim.get(rdata) as u32;
        self.tick()?;
        self.drive(rready, 0)?;
        Ok(value)
    }

    /// Ends the run, finishing the waveform if one is being written.
    pub fn close(self) -> Result<(), SimError> {
        self.sim.close()
    }
}
