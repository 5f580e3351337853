//! An AXI4 memory model: the DDR a simulated accelerator reads and writes.
//!
//! It serves 64-bit INCR bursts from a byte array with the timing of the
//! board's memory port: each read burst's first beat comes a fixed latency
//! after its address is accepted, and each direction moves at most a given
//! number of bytes per cycle (a token bucket). It also checks the protocol
//! and the bounds: a burst that leaves every allocated region, crosses a
//! 4 KiB boundary, has the wrong size or burst type, or whose WLAST is
//! misplaced is answered with DECERR and recorded as a [`MemFault`], which
//! the caller turns into an error. Allocated regions model the buffers the
//! driver allocated; anything outside them is not the accelerator's to touch.

use std::collections::VecDeque;

/// Timing of the memory port, from the board file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemTiming {
    /// Sustained bytes per cycle, in each direction.
    pub bytes_per_cycle: f64,
    /// Cycles from an accepted read address to its first data beat.
    pub read_latency: u32,
    /// Cycles from the last beat of a write burst to its response.
    pub write_latency: u32,
}

/// A protocol or bounds violation by the accelerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemFault {
    /// Cycle it was seen at.
    pub cycle: u64,
    /// What happened, in words.
    pub what: String,
}

const BEAT: u64 = 8;
const DECERR: u64 = 3;

#[derive(Debug)]
struct Burst {
    addr: u64,
    beats: u32,
    done: u32,
    ready_at: u64,
    ok: bool,
}

/// Signals the memory drives, for one cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemDrive {
    pub arready: bool,
    pub rvalid: bool,
    pub rdata: u64,
    pub rresp: u64,
    pub rlast: bool,
    pub awready: bool,
    pub wready: bool,
    pub bvalid: bool,
    pub bresp: u64,
}

/// Signals the accelerator drives, sampled before the clock edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MasterSignals {
    pub arvalid: bool,
    pub araddr: u64,
    pub arlen: u64,
    pub arsize: u64,
    pub arburst: u64,
    pub rready: bool,
    pub awvalid: bool,
    pub awaddr: u64,
    pub awlen: u64,
    pub awsize: u64,
    pub awburst: u64,
    pub wvalid: bool,
    pub wdata: u64,
    pub wstrb: u64,
    pub wlast: bool,
    pub bready: bool,
}

/// Most bursts of each direction the model queues.
const QUEUE: usize = 32;

/// The memory: a byte array at `base`, the allocated regions within it, and
/// the in-flight bursts.
#[derive(Debug)]
pub struct AxiMemory {
    base: u64,
    bytes: Vec<u8>,
    regions: Vec<(u64, u64)>,
    timing: MemTiming,
    reads: VecDeque<Burst>,
    writes: VecDeque<Burst>,
    responses: VecDeque<(u64, bool)>,
    read_tokens: f64,
    write_tokens: f64,
    faults: Vec<MemFault>,
}

impl AxiMemory {
    /// A memory of `size` bytes at `base`, all zero, with nothing allocated.
    pub fn new(base: u64, size: u64, timing: MemTiming) -> Self {
        Self {
            base,
            bytes: vec![0; size as usize],
            regions: Vec::new(),
            timing,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            responses: VecDeque::new(),
            read_tokens: 0.0,
            write_tokens: 0.0,
            faults: Vec::new(),
        }
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Marks `[addr, addr + len)` as a buffer the accelerator may access.
    pub fn add_region(&mut self, addr: u64, len: u64) {
        self.regions.push((addr, len));
    }

    /// Whether `[addr, addr + len)` lies inside one allocated region.
    pub fn in_region(&self, addr: u64, len: u64) -> bool {
        self.regions
            .iter()
            .any(|&(a, l)| addr >= a && addr.saturating_add(len) <= a + l)
    }

    fn offset(&self, addr: u64, len: u64) -> Option<usize> {
        let off = addr.checked_sub(self.base)?;
        (off.checked_add(len)? <= self.bytes.len() as u64).then_some(off as usize)
    }

    /// Host-side copy into memory (the host's view; no timing).
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Option<()> {
        let off = self.offset(addr, data.len() as u64)?;
        self.bytes[off..off + data.len()].copy_from_slice(data);
        Some(())
    }

    /// Host-side copy out of memory.
    pub fn read(&self, addr: u64, out: &mut [u8]) -> Option<()> {
        let off = self.offset(addr, out.len() as u64)?;
        out.copy_from_slice(&self.bytes[off..off + out.len()]);
        Some(())
    }

    /// Violations seen so far, oldest first.
    pub fn faults(&self) -> &[MemFault] {
        &self.faults
    }

    /// Read and write bursts not yet finished.
    pub fn in_flight(&self) -> usize {
        self.reads.len() + self.writes.len() + self.responses.len()
    }

    /// No burst in flight in either direction and no response due: until
    /// the master asks for a burst, every cycle drives the same lines
    /// (ARREADY and AWREADY high, nothing valid).
    pub fn is_idle(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty() && self.responses.is_empty()
    }

    /// Accounts for `cycles` cycles of an idle memory ([`AxiMemory::is_idle`])
    /// in which the master asked for nothing: the cycles [`AxiMemory::drive`]
    /// and [`AxiMemory::observe`] would have seen, without calling them.
    pub fn skip_idle(&mut self, cycles: u64) {
        debug_assert!(self.is_idle());
        let cap = self.token_cap();
        for _ in 0..cycles {
            // Added one cycle at a time, as `drive` does, so the tokens are
            // the same f64 values; once both are full nothing changes.
            if self.read_tokens == cap && self.write_tokens == cap {
                break;
            }
            self.read_tokens = (self.read_tokens + self.timing.bytes_per_cycle).min(cap);
            self.write_tokens = (self.write_tokens + self.timing.bytes_per_cycle).min(cap);
        }
    }

    fn token_cap(&self) -> f64 {
        (2.0 * self.timing.bytes_per_cycle).max(2.0 * BEAT as f64)
    }

    fn fault(&mut self, cycle: u64, what: String) {
        // Keep the first few: later ones are usually consequences.
        if self.faults.len() < 16 {
            self.faults.push(MemFault { cycle, what });
        }
    }

    fn check_burst(
        &mut self,
        cycle: u64,
        kind: &str,
        addr: u64,
        len: u64,
        size: u64,
        burst: u64,
    ) -> bool {
        let beats = len + 1;
        let bytes = beats * BEAT;
        let mut ok = true;
        if size != 3 || burst != 1 {
            self.fault(cycle, format!("{kind} burst at {addr:#x} has size {size} and type {burst}; only 8-byte INCR bursts are served"));
            ok = false;
        }
        if !addr.is_multiple_of(BEAT) {
            self.fault(
                cycle,
                format!("{kind} burst at {addr:#x} is not 8-byte aligned"),
            );
            ok = false;
        }
        if addr / 4096 != (addr + bytes - 1) / 4096 {
            self.fault(
                cycle,
                format!("{kind} burst at {addr:#x} of {beats} beats crosses a 4 KiB boundary"),
            );
            ok = false;
        }
        if ok && !self.in_region(addr, bytes) {
            self.fault(cycle, format!("{kind} burst at {addr:#x}..{:#x} ({beats} beats) is outside every allocated buffer", addr + bytes));
            ok = false;
        }
        ok
    }

    /// What the memory drives during `cycle`, from its state alone.
    pub fn drive(&mut self, cycle: u64) -> MemDrive {
        let cap = self.token_cap();
        self.read_tokens = (self.read_tokens + self.timing.bytes_per_cycle).min(cap);
        self.write_tokens = (self.write_tokens + self.timing.bytes_per_cycle).min(cap);
        let mut d = MemDrive {
            arready: self.reads.len() < QUEUE,
            awready: self.writes.len() < QUEUE,
            ..MemDrive::default()
        };
        if let Some(burst) = self.reads.front() {
            if cycle >= burst.ready_at && self.read_tokens >= BEAT as f64 {
                d.rvalid = true;
                d.rlast = burst.done + 1 == burst.beats;
                if burst.ok {
                    let addr = burst.addr + u64::from(burst.done) * BEAT;
                    let mut word = [0u8; 8];
                    self.read(addr, &mut word);
                    d.rdata = u64::from_le_bytes(word);
                } else {
                    d.rresp = DECERR;
                }
            }
        }
        d.wready = !self.writes.is_empty() && self.write_tokens >= BEAT as f64;
        if let Some(&(due, ok)) = self.responses.front() {
            if cycle >= due {
                d.bvalid = true;
                d.bresp = if ok { 0 } else { DECERR };
            }
        }
        d
    }

    /// Applies the handshakes of `cycle`: what the memory drove (`d`) against
    /// what the master drove (`m`).
    pub fn observe(&mut self, cycle: u64, d: &MemDrive, m: &MasterSignals) {
        if m.arvalid && d.arready {
            let ok = self.check_burst(cycle, "read", m.araddr, m.arlen, m.arsize, m.arburst);
            self.reads.push_back(Burst {
                addr: m.araddr,
                beats: m.arlen as u32 + 1,
                done: 0,
                ready_at: cycle + u64::from(self.timing.read_latency),
                ok,
            });
        }
        if d.rvalid && m.rready {
            self.read_tokens -= BEAT as f64;
            let burst = self.reads.front_mut().expect("rvalid implies a burst");
            burst.done += 1;
            if burst.done == burst.beats {
                self.reads.pop_front();
            }
        }
        if m.awvalid && d.awready {
            let ok = self.check_burst(cycle, "write", m.awaddr, m.awlen, m.awsize, m.awburst);
            self.writes.push_back(Burst {
                addr: m.awaddr,
                beats: m.awlen as u32 + 1,
                done: 0,
                ready_at: cycle,
                ok,
            });
        }
        if m.wvalid && d.wready {
            self.write_tokens -= BEAT as f64;
            let (addr, ok, last_expected) = {
                let burst = self.writes.front().expect("wready implies a burst");
                (
                    burst.addr + u64::from(burst.done) * BEAT,
                    burst.ok,
                    burst.done + 1 == burst.beats,
                )
            };
            if ok {
                if let Some(off) = self.offset(addr, BEAT) {
                    for lane in 0..8 {
                        if m.wstrb >> lane & 1 == 1 {
                            self.bytes[off + lane] = (m.wdata >> (8 * lane)) as u8;
                        }
                    }
                }
            }
            if m.wlast != last_expected {
                self.fault(
                    cycle,
                    format!(
                        "write to {addr:#x}: WLAST is {} on a beat where it should be {}",
                        m.wlast, last_expected
                    ),
                );
            }
            let burst = self.writes.front_mut().expect("checked above");
            burst.done += 1;
            if burst.done == burst.beats {
                let ok = burst.ok;
                self.writes.pop_front();
                self.responses
                    .push_back((cycle + u64::from(self.timing.write_latency), ok));
            }
        }
        if d.bvalid && m.bready {
            self.responses.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> MemTiming {
        MemTiming {
            bytes_per_cycle: 8.0,
            read_latency: 3,
            write_latency: 2,
        }
    }

    #[test]
    fn a_read_burst_arrives_after_the_latency_in_order() {
        let mut mem = AxiMemory::new(0x1000, 0x1000, timing());
        mem.add_region(0x1000, 0x100);
        let data: Vec<u8> = (0..32).collect();
        mem.write(0x1000, &data).unwrap();
        let mut beats = Vec::new();
        for cycle in 0..20 {
            let d = mem.drive(cycle);
            let m = MasterSignals {
                arvalid: cycle == 0,
                araddr: 0x1000,
                arlen: 3,
                arsize: 3,
                arburst: 1,
                rready: true,
                ..MasterSignals::default()
            };
            if d.rvalid {
                beats.push((cycle, d.rdata, d.rlast));
            }
            mem.observe(cycle, &d, &m);
        }
        assert_eq!(beats.len(), 4);
        assert_eq!(beats[0].0, 3, "first beat after the 3-cycle latency");
        assert_eq!(beats[0].1, u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]));
        assert!(beats[3].2 && !beats[2].2);
        assert!(mem.faults().is_empty());
    }

    #[test]
    fn out_of_region_and_4k_crossing_bursts_are_faults() {
        let mut mem = AxiMemory::new(0, 0x4000, timing());
        mem.add_region(0, 0x2000);
        for (addr, len) in [(0x1ff8u64, 1u64), (0x1ff0, 0)] {
            let d = mem.drive(0);
            let m = MasterSignals {
                arvalid: true,
                araddr: addr,
                arlen: len,
                arsize: 3,
                arburst: 1,
                ..MasterSignals::default()
            };
            mem.observe(0, &d, &m);
        }
        let faults = mem.faults();
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].what.contains("crosses a 4 KiB boundary"));
        let d = mem.drive(0);
        let m = MasterSignals {
            arvalid: true,
            araddr: 0x2000,
            arlen: 0,
            arsize: 3,
            arburst: 1,
            ..MasterSignals::default()
        };
        mem.observe(0, &d, &m);
        assert!(mem.faults()[1]
            .what
            .contains("outside every allocated buffer"));
    }

    #[test]
    fn half_bandwidth_spaces_beats_two_cycles_apart() {
        let mut mem = AxiMemory::new(
            0,
            0x100,
            MemTiming {
                bytes_per_cycle: 4.0,
                ..timing()
            },
        );
        mem.add_region(0, 0x100);
        let mut cycles = Vec::new();
        for cycle in 0..40 {
            let d = mem.drive(cycle);
            let m = MasterSignals {
                arvalid: cycle == 0,
                arlen: 7,
                arsize: 3,
                arburst: 1,
                rready: true,
                ..MasterSignals::default()
            };
            if d.rvalid {
                cycles.push(cycle);
            }
            mem.observe(cycle, &d, &m);
        }
        assert_eq!(cycles.len(), 8);
        let gaps: Vec<u64> = cycles.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[2..].iter().all(|&g| g == 2), "{cycles:?}");
    }
}
