//! The devmem transport: boards without XRT (Zynq-7000: PYNQ-Z1/Z2).
//!
//! Registers are a memory-mapped window (/dev/mem at the board file's
//! address, or a UIO device), device memory is one u-dma-buf region handed
//! out in 4 KiB-aligned pieces, and completion is the accelerator's ISR.DONE
//! bit, polled, or its interrupt through UIO. Each of those three is behind
//! a small trait ([`Mmio`], [`CacheSync`], [`Completion`]) so that this
//! file's logic (address map, buffers, cache sync, timeouts) runs unchanged
//! against the Verilated accelerator (`transport::devmem_sim`) and against
//! the board's device files (`transport::devmem_board`).

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::{
    allocation_bytes, check_register_offset, DeviceBuffer, Mmio, Transport, TransportError,
};
use crate::regs;

/// Makes CPU writes to a DMA region visible to the device and device
/// writes visible to the CPU, for a non-coherent memory port.
pub trait CacheSync {
    /// Writes back the CPU's view of `len` bytes at `offset` (before the
    /// device reads them).
    fn for_device(&mut self, offset: u64, len: u64) -> Result<(), TransportError>;
    /// Drops the CPU's stale view of `len` bytes at `offset` (after the
    /// device wrote them).
    fn for_cpu(&mut self, offset: u64, len: u64) -> Result<(), TransportError>;
}

/// Waits for the accelerator to finish a run.
pub trait Completion {
    /// Returns once ISR.DONE is set, or [`TransportError::Timeout`] after
    /// `timeout`. `regs` is the register window.
    fn wait(&mut self, regs: &mut dyn Mmio, timeout: Duration) -> Result<(), TransportError>;
}

/// Time as the completion loop sees it: wall time on a board, simulated
/// device time when the accelerator is a simulation.
pub trait Clock {
    /// Time since an arbitrary fixed start.
    fn now(&mut self) -> Duration;
    /// Lets `d` pass.
    fn pause(&mut self, d: Duration);
}

/// The machine's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    start: Instant,
}

impl Default for WallClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Clock for WallClock {
    fn now(&mut self) -> Duration {
        self.start.elapsed()
    }

    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

fn isr_done(regs: &mut dyn Mmio) -> Result<bool, TransportError> {
    let isr = regs.read32(u64::from(regs::ISR.offset))?;
    Ok(regs::isr::DONE.get(isr) != 0)
}

/// Completion by polling ISR.DONE, with a pause that doubles from 1 µs to
/// 100 µs: short GEMMs return within microseconds, long ones cost a read
/// every 100 µs.
#[derive(Debug)]
pub struct PollIsr<C: Clock> {
    clock: C,
}

impl<C: Clock> PollIsr<C> {
    pub fn new(clock: C) -> Self {
        Self { clock }
    }
}

impl<C: Clock> Completion for PollIsr<C> {
    fn wait(&mut self, regs: &mut dyn Mmio, timeout: Duration) -> Result<(), TransportError> {
        let start = self.clock.now();
        let mut pause = Duration::from_micros(1);
        loop {
            if isr_done(regs)? {
                return Ok(());
            }
            let waited = self.clock.now().saturating_sub(start);
            if waited >= timeout {
                return Err(TransportError::Timeout {
                    waited_us: waited.as_micros() as u64,
                });
            }
            self.clock.pause(pause.min(timeout - waited));
            pause = (pause * 2).min(Duration::from_micros(100));
        }
    }
}

/// Completion through a UIO device's interrupt: write 1 to re-enable the
/// interrupt, wait for the device file to become readable, read the event
/// count. The accelerator's interrupt is level-triggered (held until ISR is
/// cleared), so a run that finished before the re-enable still wakes us.
#[derive(Debug)]
pub struct UioInterrupt {
    file: File,
    what: String,
}

impl UioInterrupt {
    /// Waits on `file`, an open UIO device (or anything that speaks its
    /// protocol); `what` names it in errors.
    pub fn new(file: File, what: &str) -> Self {
        Self {
            file,
            what: what.to_string(),
        }
    }
}

impl Completion for UioInterrupt {
    fn wait(&mut self, regs: &mut dyn Mmio, timeout: Duration) -> Result<(), TransportError> {
        let io = |what: &str, e: std::io::Error| {
            TransportError::Io(format!("{what} on {}: {e}", self.what))
        };
        let start = Instant::now();
        loop {
            if isr_done(regs)? {
                return Ok(());
            }
            self.file
                .write_all(&1u32.to_ne_bytes())
                .map_err(|e| io("re-enabling the interrupt", e))?;
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(TransportError::Timeout {
                    waited_us: start.elapsed().as_micros() as u64,
                });
            }
            let mut fds = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for a descriptor this value owns.
            let ready = unsafe { libc::poll(&mut fds, 1, ms) };
            if ready < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(io("waiting for the interrupt", err));
                }
            } else if ready > 0 {
                let mut count = [0u8; 4];
                self.file
                    .read_exact(&mut count)
                    .map_err(|e| io("reading the interrupt count", e))?;
            }
        }
    }
}

/// One contiguous DMA region (a u-dma-buf buffer): its CPU mapping, its
/// physical address and its cache maintenance.
pub struct DmaRegion {
    /// The CPU's mapping of the whole region.
    pub mem: Box<dyn Mmio>,
    /// Physical (bus) address of its first byte.
    pub phys: u64,
    /// Cache maintenance for the region.
    pub sync: Box<dyn CacheSync>,
    /// What it is, for errors: "u-dma-buf udmabuf0".
    pub name: String,
}

impl fmt::Debug for DmaRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaRegion")
            .field("name", &self.name)
            .field("phys", &format_args!("{:#x}", self.phys))
            .field("size", &self.mem.size())
            .finish()
    }
}

/// The transport over a register window, a DMA region and a way to wait.
pub struct DevmemTransport {
    regs: Box<dyn Mmio>,
    dma: DmaRegion,
    completion: Box<dyn Completion>,
    /// Offset in the DMA region of the next free byte.
    next_free: u64,
}

impl fmt::Debug for DevmemTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevmemTransport")
            .field("register_window", &self.regs.size())
            .field("dma", &self.dma)
            .field("next_free", &self.next_free)
            .finish()
    }
}

impl DevmemTransport {
    /// Puts the three parts together. The register window must cover the
    /// register map.
    pub fn new(
        regs: Box<dyn Mmio>,
        dma: DmaRegion,
        completion: Box<dyn Completion>,
    ) -> Result<Self, TransportError> {
        if regs.size() < u64::from(regs::WINDOW_BYTES) {
            return Err(TransportError::Io(format!(
                "the register window is {:#x} bytes; the register map needs {:#x}",
                regs.size(),
                regs::WINDOW_BYTES
            )));
        }
        Ok(Self {
            regs,
            dma,
            completion,
            next_free: 0,
        })
    }

    /// The DMA region buffers come from.
    pub fn dma(&self) -> &DmaRegion {
        &self.dma
    }

    /// Bytes of the DMA region not yet handed out.
    pub fn dma_free(&self) -> u64 {
        self.dma.mem.size().saturating_sub(self.next_free)
    }

    /// The byte range of `buf` in the DMA region, after checking that
    /// `len` bytes at `offset` are inside the buffer and the buffer inside
    /// the region.
    fn region_offset(
        &self,
        buf: &DeviceBuffer,
        offset: u64,
        len: u64,
    ) -> Result<u64, TransportError> {
        buf.check_range(offset, len)?;
        let start = buf.phys.checked_sub(self.dma.phys);
        match start {
            Some(start) if start + buf.len <= self.dma.mem.size() => Ok(start + offset),
            _ => Err(TransportError::Io(format!(
                "buffer at {:#x} ({} bytes) is not in {} ({:#x}, {} bytes): it was not allocated here",
                buf.phys,
                buf.len,
                self.dma.name,
                self.dma.phys,
                self.dma.mem.size()
            ))),
        }
    }
}

impl Transport for DevmemTransport {
    fn register_window(&self) -> u32 {
        regs::WINDOW_BYTES
    }

    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        check_register_offset(offset, regs::WINDOW_BYTES)?;
        self.regs.read32(u64::from(offset))
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        check_register_offset(offset, regs::WINDOW_BYTES)?;
        self.regs.write32(u64::from(offset), value)
    }

    fn alloc(&mut self, bytes: u64) -> Result<DeviceBuffer, TransportError> {
        let len = bytes.max(1);
        // An unrepresentable size is more than any region has left.
        let rounded = allocation_bytes(len).unwrap_or(u64::MAX);
        let available = self.dma_free();
        if rounded > available {
            return Err(TransportError::OutOfMemory { bytes, available });
        }
        let buf = DeviceBuffer {
            phys: self.dma.phys + self.next_free,
            len,
        };
        self.next_free += rounded;
        Ok(buf)
    }

    fn sync_to_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let at = self.region_offset(buf, offset, data.len() as u64)?;
        self.dma.mem.write_bytes(at, data)?;
        self.dma.sync.for_device(at, data.len() as u64)
    }

    fn sync_from_device(
        &mut self,
        buf: &DeviceBuffer,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), TransportError> {
        let at = self.region_offset(buf, offset, out.len() as u64)?;
        self.dma.sync.for_cpu(at, out.len() as u64)?;
        self.dma.mem.read_bytes(at, out)
    }

    fn wait_interrupt(&mut self, timeout: Duration) -> Result<(), TransportError> {
        self.completion.wait(self.regs.as_mut(), timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    /// A register window in plain memory whose ISR.DONE rises after a set
    /// number of reads: enough to drive the completion loops.
    struct FakeRegs {
        words: Vec<u32>,
        done_after_reads: Option<u32>,
        reads: u32,
    }

    impl Mmio for FakeRegs {
        fn size(&self) -> u64 {
            self.words.len() as u64 * 4
        }
        fn read32(&mut self, offset: u64) -> Result<u32, TransportError> {
            super::super::check_word("fake registers", self.size(), offset)?;
            self.reads += 1;
            if offset == u64::from(regs::ISR.offset)
                && self.done_after_reads.is_some_and(|n| self.reads > n)
            {
                return Ok(1);
            }
            Ok(self.words[offset as usize / 4])
        }
        fn write32(&mut self, offset: u64, value: u32) -> Result<(), TransportError> {
            super::super::check_word("fake registers", self.size(), offset)?;
            self.words[offset as usize / 4] = value;
            Ok(())
        }
        fn read_bytes(&mut self, _: u64, _: &mut [u8]) -> Result<(), TransportError> {
            unreachable!("registers are read a word at a time")
        }
        fn write_bytes(&mut self, _: u64, _: &[u8]) -> Result<(), TransportError> {
            unreachable!("registers are written a word at a time")
        }
    }

    fn fake_regs(done_after_reads: Option<u32>) -> FakeRegs {
        FakeRegs {
            words: vec![0; regs::WINDOW_BYTES as usize / 4],
            done_after_reads,
            reads: 0,
        }
    }

    /// A clock that only moves when paused, recording each pause.
    #[derive(Default)]
    struct StepClock {
        now: Duration,
        pauses: Vec<Duration>,
    }

    impl Clock for &mut StepClock {
        fn now(&mut self) -> Duration {
            self.now
        }
        fn pause(&mut self, d: Duration) {
            self.pauses.push(d);
            self.now += d;
        }
    }

    #[test]
    fn polling_backs_off_and_returns_when_done_rises() {
        let mut clock = StepClock::default();
        let mut regs = fake_regs(Some(5));
        PollIsr::new(&mut clock)
            .wait(&mut regs, Duration::from_secs(1))
            .unwrap();
        let us: Vec<u128> = clock.pauses.iter().map(Duration::as_micros).collect();
        assert_eq!(us, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn polling_times_out_exactly_at_the_limit() {
        let mut clock = StepClock::default();
        let mut regs = fake_regs(None);
        let err = PollIsr::new(&mut clock)
            .wait(&mut regs, Duration::from_millis(3))
            .unwrap_err();
        assert!(
            matches!(err, TransportError::Timeout { waited_us: 3000 }),
            "{err}"
        );
        assert_eq!(clock.now, Duration::from_millis(3));
        assert!(clock
            .pauses
            .iter()
            .all(|p| *p <= Duration::from_micros(100)));
    }

    /// A connected pair of stream sockets: one end for the transport (as
    /// its UIO device), the other for the test (as the kernel).
    fn socket_pair() -> (File, File) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0, "socketpair: {}", std::io::Error::last_os_error());
        // SAFETY: two fresh descriptors, each owned by one File.
        unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
    }

    #[test]
    fn uio_wait_unmasks_sleeps_on_the_file_and_rechecks_isr() {
        let (device, mut kernel) = socket_pair();
        let mut uio = UioInterrupt::new(device, "uio-test");
        // ISR.DONE is read once before the unmask and once after the
        // interrupt: it rises on the second read.
        let mut regs = fake_regs(Some(1));
        kernel.write_all(&1u32.to_ne_bytes()).unwrap();
        uio.wait(&mut regs, Duration::from_secs(5)).unwrap();
        let mut unmask = [0u8; 4];
        kernel.read_exact(&mut unmask).unwrap();
        assert_eq!(u32::from_ne_bytes(unmask), 1);
    }

    #[test]
    fn uio_wait_times_out_without_an_interrupt() {
        let (device, _kernel) = socket_pair();
        let mut uio = UioInterrupt::new(device, "uio-test");
        let mut regs = fake_regs(None);
        let err = uio.wait(&mut regs, Duration::from_millis(20)).unwrap_err();
        assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    }
}
