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
use crate::{ModelSource, Port, PortList, Sim, SimError};

/// Cycles an AXI-Lite transaction may take before the bus counts as hung.
const LITE_TIMEOUT: u64 = 1_000;

include!(concat!(env!("OUT_DIR"), "/shell_ports.rs"));

/// The memory port's inputs, in the order [`AccelSim::tick`] drives them.
const IN_ARREADY: usize = 0;
const IN_RVALID: usize = 1;
const IN_RDATA: usize = 2;
const IN_RRESP: usize = 3;
const IN_RLAST: usize = 4;
const IN_AWREADY: usize = 5;
const IN_WREADY: usize = 6;
const IN_BVALID: usize = 7;
const IN_BRESP: usize = 8;
/// The memory port's outputs, in the order they are sampled.
const OUT_ARVALID: usize = 0;
const OUT_RREADY: usize = 1;
const OUT_AWVALID: usize = 2;
const OUT_WVALID: usize = 3;
const OUT_BREADY: usize = 4;
const OUT_ARADDR: usize = 5;
const OUT_ARLEN: usize = 6;
const OUT_ARSIZE: usize = 7;
const OUT_ARBURST: usize = 8;
const OUT_AWADDR: usize = 9;
const OUT_AWLEN: usize = 10;
const OUT_AWSIZE: usize = 11;
const OUT_AWBURST: usize = 12;
const OUT_WDATA: usize = 13;
const OUT_WSTRB: usize = 14;
const OUT_WLAST: usize = 15;

/// The memory port's inputs in the order of the `IN_*` indices.
fn mem_inputs(p: &ShellPorts) -> [Port; 9] {
    [
        p.m_arready_i,
        p.m_rvalid_i,
        p.m_rdata_i,
        p.m_rresp_i,
        p.m_rlast_i,
        p.m_awready_i,
        p.m_wready_i,
        p.m_bvalid_i,
        p.m_bresp_i,
    ]
}

/// The largest value the memory model drives on each of [`mem_inputs`]:
/// flags, 64-bit data, 2-bit responses.
const MEM_INPUT_MAX: [u64; 9] = [1, 1, u64::MAX, 3, 1, 1, 1, 1, 3];

/// The memory port, resolved once: what one call into the model per
/// cycle drives and samples.
#[derive(Debug)]
struct MemPort {
    inputs: PortList,
    /// What the inputs hold: data and response lines keep their last
    /// value while their valid is low, as a real slave's would.
    values: [u64; 9],
    outputs: PortList,
    sampled: [u64; 16],
    /// The handshake lines an idle memory waits on (ARVALID, AWVALID), and
    /// the idle memory's ready and valid lines (ARREADY, AWREADY high;
    /// RVALID, WREADY, BVALID low).
    requests: PortList,
    idle_inputs: PortList,
    irq: PortList,
    nothing: PortList,
}

impl MemPort {
    fn new(p: &ShellPorts) -> Self {
        Self {
            inputs: PortList::new(&mem_inputs(p)),
            values: [0; 9],
            outputs: PortList::new(&[
                p.m_arvalid_o,
                p.m_rready_o,
                p.m_awvalid_o,
                p.m_wvalid_o,
                p.m_bready_o,
                p.m_araddr_o,
                p.m_arlen_o,
                p.m_arsize_o,
                p.m_arburst_o,
                p.m_awaddr_o,
                p.m_awlen_o,
                p.m_awsize_o,
                p.m_awburst_o,
                p.m_wdata_o,
                p.m_wstrb_o,
                p.m_wlast_o,
            ]),
            sampled: [0; 16],
            requests: PortList::new(&[p.m_arvalid_o, p.m_awvalid_o]),
            idle_inputs: PortList::new(&[
                p.m_arready_i,
                p.m_awready_i,
                p.m_rvalid_i,
                p.m_wready_i,
                p.m_bvalid_i,
            ]),
            irq: PortList::new(&[p.irq_o]),
            nothing: PortList::new(&[]),
        }
    }
}

/// The idle memory's values for `MemPort::idle_inputs`.
const IDLE_VALUES: [u64; 5] = [1, 1, 0, 0, 0];

/// One simulated accelerator with its memory.
pub struct AccelSim {
    sim: Sim,
    ports: ShellPorts,
    bus: MemPort,
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
        // The memory model drives only values that fit (flags, 64-bit data,
        // 2-bit responses), but a port table that disagrees is caught here,
        // once, rather than on the per-cycle path, which does not check.
        let p = &ports;
        sim.check_inputs(&mem_inputs(p), &MEM_INPUT_MAX)?;
        let bus = MemPort::new(&ports);
        let inputs = sim.ports().len();
        let mut accel = Self {
            sim,
            ports,
            bus,
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
    /// are taken, then the clock rises; one call into the model.
    fn tick(&mut self) {
        let d: MemDrive = self.mem.drive(self.cycle);
        let v = &mut self.bus.values;
        v[IN_ARREADY] = u64::from(d.arready);
        v[IN_RVALID] = u64::from(d.rvalid);
        if d.rvalid {
            v[IN_RDATA] = d.rdata;
            v[IN_RRESP] = d.rresp;
            v[IN_RLAST] = u64::from(d.rlast);
        }
        v[IN_AWREADY] = u64::from(d.awready);
        v[IN_WREADY] = u64::from(d.wready);
        v[IN_BVALID] = u64::from(d.bvalid);
        if d.bvalid {
            v[IN_BRESP] = d.bresp;
        }
        let bus = &mut self.bus;
        self.sim
            .tick(&bus.inputs, &bus.values, &bus.outputs, &mut bus.sampled);
        let o = &bus.sampled;
        let mut m = MasterSignals {
            arvalid: o[OUT_ARVALID] != 0,
            rready: d.rvalid && o[OUT_RREADY] != 0,
            awvalid: o[OUT_AWVALID] != 0,
            wvalid: d.wready && o[OUT_WVALID] != 0,
            bready: d.bvalid && o[OUT_BREADY] != 0,
            ..MasterSignals::default()
        };
        if m.arvalid && d.arready {
            m.araddr = o[OUT_ARADDR];
            m.arlen = o[OUT_ARLEN];
            m.arsize = o[OUT_ARSIZE];
            m.arburst = o[OUT_ARBURST];
        }
        if m.awvalid && d.awready {
            m.awaddr = o[OUT_AWADDR];
            m.awlen = o[OUT_AWLEN];
            m.awsize = o[OUT_AWSIZE];
            m.awburst = o[OUT_AWBURST];
        }
        if m.wvalid {
            m.wdata = o[OUT_WDATA];
            m.wstrb = o[OUT_WSTRB];
            m.wlast = o[OUT_WLAST] != 0;
        }
        self.mem.observe(self.cycle, &d, &m);
        self.cycle += 1;
    }

    /// While the memory has nothing in flight, runs up to `max_cycles`
    /// cycles inside the model until the accelerator asks for a burst (or,
    /// with `until_irq`, raises its interrupt), and returns the cycles run.
    /// Cycle for cycle the same as ticking: an idle memory drives the same
    /// lines every cycle and takes no handshake until ARVALID or AWVALID.
    fn run_idle(&mut self, max_cycles: u64, until_irq: bool) -> u64 {
        if max_cycles == 0 || !self.mem.is_idle() {
            return 0;
        }
        let bus = &mut self.bus;
        bus.values[IN_ARREADY] = 1;
        bus.values[IN_AWREADY] = 1;
        bus.values[IN_RVALID] = 0;
        bus.values[IN_WREADY] = 0;
        bus.values[IN_BVALID] = 0;
        let after = if until_irq { &bus.irq } else { &bus.nothing };
        let cycles = self.sim.run_idle(
            &bus.idle_inputs,
            &IDLE_VALUES,
            &bus.requests,
            after,
            max_cycles,
        );
        self.mem.skip_idle(cycles);
        self.cycle += cycles;
        cycles
    }

    /// Runs `cycles` cycles with the control bus idle.
    pub fn step(&mut self, cycles: u64) -> Result<(), SimError> {
        let end = self.cycle + cycles;
        while self.cycle < end {
            if self.run_idle(end - self.cycle, false) == 0 {
                self.tick();
            }
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
            let used = self.cycle - start;
            if used >= max_cycles {
                return Err(SimError::Timeout { cycles: max_cycles });
            }
            if self.run_idle(max_cycles - used, true) == 0 {
                self.tick();
            }
        }
        Ok(self.cycle - start)
    }

    /// Waits (ticking) until `port` is high, at most LITE_TIMEOUT cycles.
    fn await_flag(&mut self, port: Port, what: &'static str) -> Result<(), SimError> {
        for _ in 0..LITE_TIMEOUT {
            if self.flag(port) {
                return Ok(());
            }
            self.tick();
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
        self.tick();
        self.drive(awvalid, 0)?;
        self.drive(wvalid, 0)?;
        self.drive(bready, 1)?;
        self.await_flag(bvalid, "write response")?;
        self.tick();
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
        self.tick();
        self.drive(arvalid, 0)?;
        self.drive(rready, 1)?;
        self.await_flag(rvalid, "read data")?;
        let value = self.sim.get(rdata) as u32;
        self.tick();
        self.drive(rready, 0)?;
        Ok(value)
    }

    /// Ends the run, finishing the waveform if one is being written.
    pub fn close(self) -> Result<(), SimError> {
        self.sim.close()
    }
}
