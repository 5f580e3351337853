//! A simulated accelerator on a simulated board: one Verilated design, the
//! AXI4 memory model behind its master port and an AXI4-Lite
//! bus-functional master on its control port, advanced together one clock
//! at a time.
//!
//! Register accesses take real bus cycles, and while they do (and while the
//! host waits) the memory keeps serving the accelerator, as on a board.

use std::path::Path;

use crate::axi_mem::{AxiMemory, MasterSignals, MemDrive};
use crate::{Port, Sim, SimError};

/// Cycles an AXI-Lite transaction may take before the bus counts as hung.
const LITE_TIMEOUT: u64 = 1_000;

/// Port handles of a design's top (gemm_top's port list).
struct Ports {
    irq: Port,
    s_awvalid: Port,
    s_awready: Port,
    s_awaddr: Port,
    s_wvalid: Port,
    s_wdata: Port,
    s_wstrb: Port,
    s_bvalid: Port,
    s_bready: Port,
    s_arvalid: Port,
    s_arready: Port,
    s_araddr: Port,
    s_rvalid: Port,
    s_rready: Port,
    s_rdata: Port,
    m_arvalid: Port,
    m_arready: Port,
    m_araddr: Port,
    m_arlen: Port,
    m_arsize: Port,
    m_arburst: Port,
    m_rvalid: Port,
    m_rready: Port,
    m_rdata: Port,
    m_rresp: Port,
    m_rlast: Port,
    m_awvalid: Port,
    m_awready: Port,
    m_awaddr: Port,
    m_awlen: Port,
    m_awsize: Port,
    m_awburst: Port,
    m_wvalid: Port,
    m_wready: Port,
    m_wdata: Port,
    m_wstrb: Port,
    m_wlast: Port,
    m_bvalid: Port,
    m_bready: Port,
    m_bresp: Port,
}

impl Ports {
    fn resolve(sim: &Sim) -> Result<Self, SimError> {
        Ok(Self {
            irq: sim.port("irq_o")?,
            s_awvalid: sim.port("s_awvalid_i")?,
            s_awready: sim.port("s_awready_o")?,
            s_awaddr: sim.port("s_awaddr_i")?,
            s_wvalid: sim.port("s_wvalid_i")?,
            s_wdata: sim.port("s_wdata_i")?,
            s_wstrb: sim.port("s_wstrb_i")?,
            s_bvalid: sim.port("s_bvalid_o")?,
            s_bready: sim.port("s_bready_i")?,
            s_arvalid: sim.port("s_arvalid_i")?,
            s_arready: sim.port("s_arready_o")?,
            s_araddr: sim.port("s_araddr_i")?,
            s_rvalid: sim.port("s_rvalid_o")?,
            s_rready: sim.port("s_rready_i")?,
            s_rdata: sim.port("s_rdata_o")?,
            m_arvalid: sim.port("m_arvalid_o")?,
            m_arready: sim.port("m_arready_i")?,
            m_araddr: sim.port("m_araddr_o")?,
            m_arlen: sim.port("m_arlen_o")?,
            m_arsize: sim.port("m_arsize_o")?,
            m_arburst: sim.port("m_arburst_o")?,
            m_rvalid: sim.port("m_rvalid_i")?,
            m_rready: sim.port("m_rready_o")?,
            m_rdata: sim.port("m_rdata_i")?,
            m_rresp: sim.port("m_rresp_i")?,
            m_rlast: sim.port("m_rlast_i")?,
            m_awvalid: sim.port("m_awvalid_o")?,
            m_awready: sim.port("m_awready_i")?,
            m_awaddr: sim.port("m_awaddr_o")?,
            m_awlen: sim.port("m_awlen_o")?,
            m_awsize: sim.port("m_awsize_o")?,
            m_awburst: sim.port("m_awburst_o")?,
            m_wvalid: sim.port("m_wvalid_o")?,
            m_wready: sim.port("m_wready_i")?,
            m_wdata: sim.port("m_wdata_o")?,
            m_wstrb: sim.port("m_wstrb_o")?,
            m_wlast: sim.port("m_wlast_o")?,
            m_bvalid: sim.port("m_bvalid_i")?,
            m_bready: sim.port("m_bready_o")?,
            m_bresp: sim.port("m_bresp_i")?,
        })
    }
}

/// One simulated accelerator with its memory.
pub struct AccelSim {
    sim: Sim,
    ports: Ports,
    mem: AxiMemory,
    /// Last value driven on each input port (by port index), so that
    /// unchanged inputs cost no call into the model.
    driven: Vec<u64>,
    cycle: u64,
}

impl std::fmt::Debug for AccelSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccelSim")
            .field("model", &self.sim.info().name)
            .field("cycle", &self.cycle)
            .finish()
    }
}

impl AccelSim {
    /// Opens `model` (a design name), connects `mem` to its master port,
    /// optionally traces to `trace` (.fst), and resets it.
    pub fn open(model: &str, mem: AxiMemory, trace: Option<&Path>) -> Result<Self, SimError> {
        let sim = Sim::open(model, trace)?;
        let ports = Ports::resolve(&sim)?;
        let inputs = sim.info().ports.len();
        let mut accel = Self {
            sim,
            ports,
            mem,
            driven: vec![u64::MAX; inputs],
            cycle: 0,
        };
        for port in [
            accel.ports.s_awvalid,
            accel.ports.s_wvalid,
            accel.ports.s_arvalid,
            accel.ports.s_bready,
            accel.ports.s_rready,
        ] {
            accel.drive(port, 0)?;
        }
        accel.drive(accel.ports.s_wstrb, 0xF)?;
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
        let (arready, rvalid, rdata, rresp, rlast) =
            (p.m_arready, p.m_rvalid, p.m_rdata, p.m_rresp, p.m_rlast);
        let (awready, wready, bvalid, bresp) = (p.m_awready, p.m_wready, p.m_bvalid, p.m_bresp);
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
            arvalid: self.sim.get(p.m_arvalid) != 0,
            rready: d.rvalid && self.sim.get(p.m_rready) != 0,
            awvalid: self.sim.get(p.m_awvalid) != 0,
            wvalid: d.wready && self.sim.get(p.m_wvalid) != 0,
            bready: d.bvalid && self.sim.get(p.m_bready) != 0,
            ..MasterSignals::default()
        };
        if m.arvalid && d.arready {
            m.araddr = self.sim.get(p.m_araddr);
            m.arlen = self.sim.get(p.m_arlen);
            m.arsize = self.sim.get(p.m_arsize);
            m.arburst = self.sim.get(p.m_arburst);
        }
        if m.awvalid && d.awready {
            m.awaddr = self.sim.get(p.m_awaddr);
            m.awlen = self.sim.get(p.m_awlen);
            m.awsize = self.sim.get(p.m_awsize);
            m.awburst = self.sim.get(p.m_awburst);
        }
        if m.wvalid {
            m.wdata = self.sim.get(p.m_wdata);
            m.wstrb = self.sim.get(p.m_wstrb);
            m.wlast = self.sim.get(p.m_wlast) != 0;
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
        let irq = self.ports.irq;
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
            p.s_awvalid,
            p.s_awaddr,
            p.s_wvalid,
            p.s_wdata,
            p.s_awready,
            p.s_bready,
            p.s_bvalid,
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
            p.s_arvalid,
            p.s_araddr,
            p.s_arready,
            p.s_rready,
            p.s_rvalid,
            p.s_rdata,
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
