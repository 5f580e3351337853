//! Opening the devmem transport on a board: the device files.
//!
//! Registers come from /dev/mem at the board file's address, or from a UIO
//! device whose first map must be at that address; device memory is a
//! u-dma-buf buffer (/dev/udmabufN, its physical address and size under
//! /sys/class/u-dma-buf/udmabufN/, cache maintenance through the sync_*
//! files there). Every path is taken relative to a root directory ("/" on a
//! board) so that the whole opening sequence also runs on a tree of plain
//! files.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::devmem::{
    CacheSync, Completion, DevmemTransport, DmaRegion, PollIsr, UioInterrupt, WallClock,
};
use super::{MappedFile, TransportError};
use crate::regs;

/// Where the accelerator's registers are mapped from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterSource {
    /// /dev/mem at this physical address (needs root); completion by polling.
    DevMem { phys: u64 },
    /// A UIO device (`uio0`) whose map 0 must be at this physical address;
    /// completion by its interrupt.
    Uio { device: String, phys: u64 },
}

/// Everything the devmem transport needs to open on a board: plain values
/// from the board file and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevmemConfig {
    pub registers: RegisterSource,
    /// The u-dma-buf device name: `udmabuf0`.
    pub udmabuf: String,
    /// A string the device tree's root `compatible` must contain:
    /// `xlnx,zynq-7000` for Zynq-7000, `xlnx,zynqmp` for Zynq UltraScale+.
    pub compatible: String,
    /// The board's name, for errors.
    pub board: String,
    /// The board's DDR (start, bytes): the DMA buffer must be inside it.
    pub ddr: (u64, u64),
    /// "/" on a board; the root of a stand-in tree in tests.
    pub root: PathBuf,
}

/// Why opening failed, as a transport error with the remedy in the text.
fn open_error(path: &Path, what: &str, e: &std::io::Error, remedy: &str) -> TransportError {
    let reason = match e.kind() {
        ErrorKind::NotFound => "does not exist".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    TransportError::Io(format!(
        "cannot open {} ({what}): {reason}; {remedy}",
        path.display()
    ))
}

fn open_rw(path: &Path, sync: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if sync {
        options.custom_flags(libc::O_SYNC);
    }
    options.open(path)
}

/// Reads a sysfs attribute holding one number (decimal, or hex with 0x).
fn read_number(path: &Path, what: &str) -> Result<u64, TransportError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        open_error(
            path,
            what,
            &e,
            "is the u-dma-buf or UIO driver loaded for this device?",
        )
    })?;
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| {
        TransportError::Io(format!(
            "{} ({what}) reads `{t}`, not a number",
            path.display()
        ))
    })
}

impl DevmemConfig {
    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// Refuses to touch physical memory unless the device tree says this is
    /// the board family the board file describes: /dev/mem at the wrong
    /// address can hang or corrupt a machine.
    fn check_machine(&self) -> Result<(), TransportError> {
        let path = self.path("/proc/device-tree/compatible");
        let found = match std::fs::read(&path) {
            Ok(bytes) => bytes
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(TransportError::WrongBoard(format!(
                    "board file `{}` is for a {} device, but this machine has no device tree \
                     ({} is missing): --backend devmem runs on the board itself",
                    self.board,
                    self.compatible,
                    path.display()
                )))
            }
            Err(e) => return Err(open_error(&path, "the device tree", &e, "")),
        };
        if found.iter().any(|c| c == &self.compatible) {
            Ok(())
        } else {
            Err(TransportError::WrongBoard(format!(
                "board file `{}` is for a {} device, but this machine's device tree says `{}`; \
                 pass the --board that matches this machine (see `kiln boards`)",
                self.board,
                self.compatible,
                found.join("`, `")
            )))
        }
    }

    fn open_registers(&self) -> Result<(MappedFile, Box<dyn Completion>), TransportError> {
        let window = u64::from(regs::WINDOW_BYTES);
        match &self.registers {
            RegisterSource::DevMem { phys } => {
                let path = self.path("/dev/mem");
                let file = open_rw(&path, true).map_err(|e| {
                    open_error(
                        &path,
                        "physical memory",
                        &e,
                        "run kiln as root (sudo), or use a UIO device for the registers (--uio uio0)",
                    )
                })?;
                let what = format!("/dev/mem at {phys:#x}");
                let map = MappedFile::map(&file, *phys, window, &what)?;
                Ok((map, Box::new(PollIsr::new(WallClock::default()))))
            }
            RegisterSource::Uio { device, phys } => {
                let map0 = self.path(&format!("/sys/class/uio/{device}/maps/map0"));
                let addr = read_number(&map0.join("addr"), "UIO map address")?;
                let size = read_number(&map0.join("size"), "UIO map size")?;
                if addr != *phys {
                    return Err(TransportError::WrongBoard(format!(
                        "{device}'s registers are at {addr:#x}, but board file `{}` puts the \
                         accelerator at {phys:#x}: wrong UIO device, or a bitstream for another board",
                        self.board
                    )));
                }
                if size < window {
                    return Err(TransportError::Io(format!(
                        "{device} maps {size:#x} bytes; the register map needs {window:#x}"
                    )));
                }
                let path = self.path(&format!("/dev/{device}"));
                let file = open_rw(&path, false).map_err(|e| {
                    open_error(
                        &path,
                        "the accelerator's UIO device",
                        &e,
                        "check the device tree names the accelerator as a generic-uio device and that you may open it",
                    )
                })?;
                let what = format!("/dev/{device} (registers at {phys:#x})");
                // UIO selects map N by mmap offset N pages; map 0 is offset 0.
                let map = MappedFile::map(&file, 0, window, &what)?;
                let irq = file.try_clone().map_err(|e| {
                    TransportError::Io(format!("cannot duplicate /dev/{device}: {e}"))
                })?;
                Ok((
                    map,
                    Box::new(UioInterrupt::new(irq, &format!("/dev/{device}"))),
                ))
            }
        }
    }

    /// The sysfs folder of the u-dma-buf device: /sys/class/u-dma-buf/NAME
    /// (u-dma-buf 2.x and later), else /sys/class/udmabuf/NAME (1.x).
    fn udmabuf_sysfs(&self) -> Result<PathBuf, TransportError> {
        let new = self.path(&format!("/sys/class/u-dma-buf/{}", self.udmabuf));
        let old = self.path(&format!("/sys/class/udmabuf/{}", self.udmabuf));
        [new.clone(), old]
            .into_iter()
            .find(|p| p.is_dir())
            .ok_or_else(|| {
                TransportError::NoDmaBuffer(format!(
                    "no u-dma-buf device `{}` ({} is missing): load the driver with \
                     `sudo insmod u-dma-buf.ko udmabuf0=67108864` (a 64 MiB buffer) or `sudo modprobe u-dma-buf udmabuf0=67108864`, \
                     or add a u-dma-buf node to the device tree",
                    self.udmabuf,
                    new.display()
                ))
            })
    }

    fn open_dma(&self) -> Result<DmaRegion, TransportError> {
        let sysfs = self.udmabuf_sysfs()?;
        let phys = read_number(&sysfs.join("phys_addr"), "u-dma-buf physical address")?;
        let size = read_number(&sysfs.join("size"), "u-dma-buf size")?;
        let (ddr_base, ddr_bytes) = self.ddr;
        if phys < ddr_base
            || phys
                .checked_add(size)
                .is_none_or(|e| e > ddr_base + ddr_bytes)
        {
            return Err(TransportError::WrongBoard(format!(
                "u-dma-buf `{}` is at {phys:#x}+{size:#x}, outside the DDR of board `{}` \
                 ({ddr_base:#x}+{ddr_bytes:#x})",
                self.udmabuf, self.board
            )));
        }
        let path = self.path(&format!("/dev/{}", self.udmabuf));
        let file = open_rw(&path, false).map_err(|e| {
            open_error(
                &path,
                "the DMA buffer",
                &e,
                "run kiln as root (sudo) or give your user access to the u-dma-buf device",
            )
        })?;
        let what = format!("u-dma-buf {} ({phys:#x})", self.udmabuf);
        let mem = MappedFile::map(&file, 0, size, &what)?;
        Ok(DmaRegion {
            mem: Box::new(mem),
            phys,
            sync: Box::new(UdmabufSync { dir: sysfs }),
            name: what,
        })
    }

    /// Opens the transport: machine check, registers, DMA buffer.
    pub fn open(&self) -> Result<DevmemTransport, TransportError> {
        self.check_machine()?;
        let (regs, completion) = self.open_registers()?;
        let dma = self.open_dma()?;
        DevmemTransport::new(Box::new(regs), dma, completion)
    }
}

/// u-dma-buf's manual cache maintenance: write the range and direction to
/// sync_offset, sync_size and sync_direction, then 1 to sync_for_device
/// (write back) or sync_for_cpu (invalidate).
#[derive(Debug)]
pub struct UdmabufSync {
    dir: PathBuf,
}

/// DMA directions as u-dma-buf numbers them (the kernel's enum).
const DMA_TO_DEVICE: u32 = 1;
const DMA_FROM_DEVICE: u32 = 2;

impl UdmabufSync {
    /// Cache maintenance through the u-dma-buf sysfs folder `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn sync(
        &self,
        offset: u64,
        len: u64,
        direction: u32,
        trigger: &str,
    ) -> Result<(), TransportError> {
        let write = |name: &str, value: String| {
            let path = self.dir.join(name);
            std::fs::write(&path, value).map_err(|e| {
                TransportError::Io(format!("cache sync: writing {}: {e}", path.display()))
            })
        };
        write("sync_offset", offset.to_string())?;
        write("sync_size", len.to_string())?;
        write("sync_direction", direction.to_string())?;
        write(trigger, "1".to_string())
    }
}

impl CacheSync for UdmabufSync {
    fn for_device(&mut self, offset: u64, len: u64) -> Result<(), TransportError> {
        self.sync(offset, len, DMA_TO_DEVICE, "sync_for_device")
    }

    fn for_cpu(&mut self, offset: u64, len: u64) -> Result<(), TransportError> {
        self.sync(offset, len, DMA_FROM_DEVICE, "sync_for_cpu")
    }
}
