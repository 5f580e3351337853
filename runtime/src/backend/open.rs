//! Opening a backend: the one place that turns a backend kind, a design, a
//! board and (on hardware) a checked bitstream manifest into a [`Backend`].
//! Transports are built here and nowhere else in the runtime or the CLI:
//! `/dev/mem` or UIO with u-dma-buf on a Zynq-7000, XRT on a Zynq
//! UltraScale+, the Verilated model in simulation. The simulated board is
//! the board file's plain values ([`sim_board`]), which the driver turns
//! into its simulator's memory model.

use std::path::{Path, PathBuf};
use std::time::Duration;

#[cfg(feature = "sim")]
use kiln_driver::transport::SimBoard;
use kiln_driver::transport::{DevmemConfig, DevmemTransport, RegisterSource};
use kiln_driver::DriverError;
use kiln_spec::{Board, Design, Family};

use super::{Backend, BackendError, DeviceBackend, GoldenBackend};
use crate::bitstream::manifest::{design_with_identity, CheckedManifest};

/// Which backend runs the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// The bit-exact Rust model.
    Golden,
    /// The design's RTL in Verilator, through the driver, on the board's simulated memory.
    Sim,
    /// The accelerator on this board through /dev/mem (or UIO) and u-dma-buf (PYNQ-Z1/Z2).
    Devmem,
    /// The accelerator on this board through XRT (KV260, ZCU104).
    Xrt,
}

impl BackendKind {
    /// Runs on a board's hardware (needs a bitstream manifest).
    pub fn is_hardware(self) -> bool {
        matches!(self, BackendKind::Devmem | BackendKind::Xrt)
    }

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Golden => "golden",
            BackendKind::Sim => "sim",
            BackendKind::Devmem => "devmem",
            BackendKind::Xrt => "xrt",
        }
    }
}

/// Where the hardware backends find the accelerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOptions {
    /// The xclbin to load (xrt); `None`: the file the manifest names.
    pub xclbin: Option<PathBuf>,
    /// XRT device index.
    pub device: u32,
    /// Map the registers from this UIO device and wait on its interrupt
    /// (devmem); `None`: /dev/mem and polling.
    pub uio: Option<String>,
    /// The u-dma-buf device that provides DMA buffers (devmem).
    pub udmabuf: String,
    /// Least time any run is given before the accelerator is declared hung.
    pub min_timeout: Duration,
    /// The root the devmem transport finds /dev, /sys and /proc under:
    /// "/" on a board.
    pub root: PathBuf,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        Self {
            xclbin: None,
            device: 0,
            uio: None,
            udmabuf: "udmabuf0".into(),
            min_timeout: Duration::from_secs(1),
            root: PathBuf::from("/"),
        }
    }
}

/// Why a backend could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("--trace needs --backend sim: only the simulation has a waveform")]
    TraceNeedsSim,
    #[error("--backend {backend} needs a bitstream manifest: the design and board the loaded bitstream implements (see `kiln bitstream manifest` and docs/bitstreams.md)")]
    NeedsManifest { backend: &'static str },
    #[error("this kiln was built without {what}: {how}")]
    NotCompiled {
        what: &'static str,
        how: &'static str,
    },
    #[error("{what}: {source}")]
    Transport {
        what: String,
        #[source]
        source: Box<DriverError>,
    },
    #[error("{path} does not match manifest {manifest}: its sha256 is {found}, the manifest says {expected}")]
    Xclbin {
        path: PathBuf,
        manifest: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the loaded bitstream is not the one manifest {manifest} describes: the manifest says design `{design}`, the identity registers say {found}; load the manifest's bitstream, or pass the manifest of the bitstream that is loaded")]
    WrongBitstream {
        manifest: String,
        design: String,
        found: String,
        #[source]
        source: Box<BackendError>,
    },
    #[error("opening the simulation of {design}: {source}")]
    Sim {
        design: String,
        #[source]
        source: Box<BackendError>,
    },
    #[error(transparent)]
    Backend(Box<BackendError>),
}

impl From<BackendError> for OpenError {
    fn from(e: BackendError) -> Self {
        OpenError::Backend(Box::new(e))
    }
}

/// An open backend of any kind (boxed: one lives per command).
pub enum OpenBackend {
    Golden(Box<GoldenBackend>),
    #[cfg(feature = "sim")]
    Sim(Box<super::SimBackend>),
    Devmem(Box<DeviceBackend<DevmemTransport>>),
    #[cfg(feature = "xrt")]
    Xrt(Box<DeviceBackend<kiln_driver::transport::XrtTransport>>),
}

impl std::fmt::Debug for OpenBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            OpenBackend::Golden(b) => b.name(),
            #[cfg(feature = "sim")]
            OpenBackend::Sim(b) => b.name(),
            OpenBackend::Devmem(b) => b.name(),
            #[cfg(feature = "xrt")]
            OpenBackend::Xrt(b) => b.name(),
        };
        f.debug_tuple("OpenBackend").field(&name).finish()
    }
}

impl OpenBackend {
    pub fn backend(&mut self) -> &mut dyn Backend {
        match self {
            OpenBackend::Golden(b) => b.as_mut(),
            #[cfg(feature = "sim")]
            OpenBackend::Sim(b) => b.as_mut(),
            OpenBackend::Devmem(b) => b.as_mut(),
            #[cfg(feature = "xrt")]
            OpenBackend::Xrt(b) => b.as_mut(),
        }
    }

    /// The backend alone, for callers that keep it (no waveform to finish).
    pub fn into_boxed(self) -> Box<dyn Backend> {
        match self {
            OpenBackend::Golden(b) => b,
            #[cfg(feature = "sim")]
            OpenBackend::Sim(b) => b,
            OpenBackend::Devmem(b) => b,
            #[cfg(feature = "xrt")]
            OpenBackend::Xrt(b) => b,
        }
    }

    /// Closes the backend, finishing a waveform if one is being written.
    pub fn finish(self) -> Result<(), BackendError> {
        match self {
            #[cfg(feature = "sim")]
            OpenBackend::Sim(b) => (*b).close(),
            _ => Ok(()),
        }
    }
}

/// The simulated board's memory port, clock and DDR: the board file's
/// values as they are.
#[cfg(feature = "sim")]
pub fn sim_board(board: &Board) -> SimBoard {
    SimBoard {
        clock_mhz: board.fabric_clock_mhz,
        bytes_per_cycle: board.memory.bytes_per_cycle,
        read_latency_cycles: board.memory.read_latency_cycles,
        write_latency_cycles: board.memory.write_latency_cycles,
        ddr_base: board.addresses.ddr_base,
        ddr_bytes: board.addresses.ddr_bytes,
    }
}

/// The device-tree `compatible` entry of a board family's SoC.
fn soc_compatible(family: Family) -> &'static str {
    match family {
        Family::Xc7 => "xlnx,zynq-7000",
        Family::Xcup => "xlnx,zynqmp",
    }
}

/// Opens `design` on `board` with the backend `kind`. Hardware backends
/// take the design and board from `manifest` (checked beforehand with
/// [`crate::bitstream::manifest::Manifest::load`]) and check the
/// accelerator's identity registers against it; `trace` is the sim
/// backend's waveform.
pub fn open(
    kind: BackendKind,
    design: &Design,
    board: &Board,
    manifest: Option<&CheckedManifest>,
    options: &DeviceOptions,
    trace: Option<&Path>,
) -> Result<OpenBackend, OpenError> {
    if trace.is_some() && kind != BackendKind::Sim {
        return Err(OpenError::TraceNeedsSim);
    }
    if kind.is_hardware() && manifest.is_none() {
        return Err(OpenError::NeedsManifest {
            backend: kind.name(),
        });
    }
    let identity = |e: BackendError| identity_error(e, design, manifest);
    match kind {
        BackendKind::Golden => Ok(OpenBackend::Golden(Box::new(GoldenBackend::new(design)?))),
        BackendKind::Sim => open_sim(design, board, trace),
        BackendKind::Devmem => {
            let config = DevmemConfig {
                registers: match &options.uio {
                    Some(device) => RegisterSource::Uio {
                        device: device.clone(),
                        phys: board.addresses.registers,
                    },
                    None => RegisterSource::DevMem {
                        phys: board.addresses.registers,
                    },
                },
                udmabuf: options.udmabuf.clone(),
                compatible: soc_compatible(board.family).into(),
                board: board.name.clone(),
                ddr: (board.addresses.ddr_base, board.addresses.ddr_bytes),
                root: options.root.clone(),
            };
            let transport = config.open().map_err(|e| OpenError::Transport {
                what: "opening the accelerator through /dev/mem and u-dma-buf".into(),
                source: Box::new(e.into()),
            })?;
            let backend =
                DeviceBackend::new(transport, "devmem", design, board).map_err(identity)?;
            Ok(OpenBackend::Devmem(Box::new(
                backend.with_min_timeout(options.min_timeout),
            )))
        }
        BackendKind::Xrt => open_xrt(design, board, manifest, options),
    }
}

#[cfg(feature = "sim")]
fn open_sim(
    design: &Design,
    board: &Board,
    trace: Option<&Path>,
) -> Result<OpenBackend, OpenError> {
    let sim = super::SimBackend::open(design, board, trace).map_err(|e| OpenError::Sim {
        design: design.name.clone(),
        source: Box::new(e),
    })?;
    Ok(OpenBackend::Sim(Box::new(sim)))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_: &Design, _: &Board, _: Option<&Path>) -> Result<OpenBackend, OpenError> {
    Err(OpenError::NotCompiled {
        what: "the simulator (a board build)",
        how: "use --backend golden, devmem or xrt here, or a kiln built with the `sim` feature \
              (needs Verilator)",
    })
}

#[cfg(feature = "xrt")]
fn open_xrt(
    design: &Design,
    board: &Board,
    manifest: Option<&CheckedManifest>,
    options: &DeviceOptions,
) -> Result<OpenBackend, OpenError> {
    let m = manifest.ok_or(OpenError::NeedsManifest { backend: "xrt" })?;
    let xclbin = match &options.xclbin {
        Some(path) => {
            check_xclbin_hash(path, m)?;
            path.clone()
        }
        None => m.bitstream.clone(),
    };
    let transport =
        kiln_driver::transport::XrtTransport::open(options.device, &xclbin).map_err(|e| {
            OpenError::Transport {
                what: format!(
                    "opening XRT device {} with {}",
                    options.device,
                    xclbin.display()
                ),
                source: Box::new(e.into()),
            }
        })?;
    let backend = DeviceBackend::new(transport, "xrt", design, board)
        .map_err(|e| identity_error(e, design, manifest))?;
    Ok(OpenBackend::Xrt(Box::new(
        backend.with_min_timeout(options.min_timeout),
    )))
}

#[cfg(feature = "xrt")]
fn check_xclbin_hash(path: &Path, m: &CheckedManifest) -> Result<(), OpenError> {
    let found =
        crate::bitstream::manifest::sha256_file(path).map_err(|e| OpenError::Transport {
            what: format!("reading {}", path.display()),
            source: Box::new(DriverError::from(kiln_driver::TransportError::Io(
                e.to_string(),
            ))),
        })?;
    if found != m.manifest.sha256 {
        return Err(OpenError::Xclbin {
            path: path.to_path_buf(),
            manifest: m.path.clone(),
            found,
            expected: m.manifest.sha256.clone(),
        });
    }
    Ok(())
}

#[cfg(not(feature = "xrt"))]
fn open_xrt(
    _: &Design,
    _: &Board,
    _: Option<&CheckedManifest>,
    _: &DeviceOptions,
) -> Result<OpenBackend, OpenError> {
    Err(OpenError::NotCompiled {
        what: "XRT",
        how: "build it where XRT is installed with `cargo build --release --features xrt` \
              (source /opt/xilinx/xrt/setup.sh first), or use --backend devmem",
    })
}

/// Names the manifest and the design the hardware turned out to be when
/// the identity check fails.
fn identity_error(
    e: BackendError,
    design: &Design,
    manifest: Option<&CheckedManifest>,
) -> OpenError {
    if let BackendError::Driver(DriverError::WrongDesign { found, .. }) = &e {
        let found = design_with_identity(found).map_or("no design kiln knows".to_string(), |n| {
            format!("design `{n}`")
        });
        return OpenError::WrongBitstream {
            manifest: manifest.map_or("(no manifest)".to_string(), |m| {
                m.path.display().to_string()
            }),
            design: design.name.clone(),
            found,
            source: Box::new(e),
        };
    }
    e.into()
}

/// Size of the DMA region [`devmem_on_sim`] gives the devmem transport, as
/// a board's u-dma-buf would (64 MiB, PYNQ's usual CMA reservation).
#[cfg(feature = "sim")]
pub const SIM_UDMABUF_BYTES: u64 = 64 << 20;

/// The devmem transport with `design`'s Verilated model behind its seams
/// (registers, DMA region, device-time clock) on `board`'s simulated
/// memory: the board transport's own code, exercised without the board.
#[cfg(feature = "sim")]
pub fn devmem_on_sim(
    design: &Design,
    board: &Board,
    trace: Option<&Path>,
) -> Result<kiln_driver::transport::DevmemTransport, BackendError> {
    let device = kiln_driver::transport::SimDevice::open(design, sim_board(board), trace)
        .map_err(DriverError::from)?;
    devmem_on_device(&device, board)
}

/// [`devmem_on_sim`] on an already open simulated device (several
/// transports may share one accelerator, as processes share a board).
#[cfg(feature = "sim")]
pub fn devmem_on_device(
    device: &kiln_driver::transport::SimDevice,
    board: &Board,
) -> Result<kiln_driver::transport::DevmemTransport, BackendError> {
    use kiln_driver::transport::{DevmemTransport, PollIsr};
    // The region sits in the upper half of DDR, where a CMA pool would.
    let phys = board.addresses.ddr_base + board.addresses.ddr_bytes / 2;
    let dma = device
        .dma_region(phys, SIM_UDMABUF_BYTES)
        .map_err(DriverError::from)?;
    let regs = device.registers(u64::from(kiln_driver::regs::WINDOW_BYTES));
    let transport =
        DevmemTransport::new(Box::new(regs), dma, Box::new(PollIsr::new(device.clock())))
            .map_err(DriverError::from)?;
    Ok(transport)
}
