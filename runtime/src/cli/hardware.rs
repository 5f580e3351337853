//! The backend a command runs on, and the arguments that reach hardware:
//! `--backend golden|sim|devmem|xrt`, the bitstream manifest, the device
//! files and the watchdog. `kiln gemm` and `kiln matmul` share them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use kiln::backend::{Backend, BackendError, DeviceBackend, GoldenBackend};
use kiln::bitstream::manifest::{design_with_identity, CheckedManifest, Manifest};
use kiln_driver::transport::{DevmemConfig, DevmemTransport, RegisterSource};
use kiln_driver::DriverError;
use kiln_spec::{Board, Design, Family};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
}

/// Where the hardware backends find the accelerator.
#[derive(Debug, Clone, Args)]
pub struct HardwareArgs {
    /// The loaded bitstream's manifest (devmem and xrt backends): the design
    /// and board come from it, and the hardware must report its identity.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// The xclbin to load (xrt backend); default: the file the manifest names.
    #[arg(long)]
    xclbin: Option<PathBuf>,
    /// XRT device index (xrt backend).
    #[arg(long, default_value_t = 0)]
    device: u32,
    /// Map the registers from this UIO device (`uio0`) and wait on its
    /// interrupt, instead of /dev/mem and polling (devmem backend).
    #[arg(long)]
    uio: Option<String>,
    /// The u-dma-buf device that provides DMA buffers (devmem backend).
    #[arg(long, default_value = "udmabuf0")]
    udmabuf: String,
    /// Least time any run is given before the accelerator is declared hung,
    /// in milliseconds (devmem and xrt backends).
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
}

/// What a command runs on, resolved from its arguments.
#[derive(Debug)]
pub struct Target {
    pub design: Design,
    pub board: Board,
    pub manifest: Option<CheckedManifest>,
}

/// The design and board a command uses: from the manifest for hardware
/// backends (where `--design` and `--board`, if given, must agree with
/// it), else from the arguments or their defaults.
pub fn resolve(
    kind: BackendKind,
    hw: &HardwareArgs,
    design: Option<&str>,
    board: Option<&str>,
    default_design: &str,
) -> anyhow::Result<Target> {
    if !kind.is_hardware() {
        if hw.manifest.is_some() || hw.xclbin.is_some() {
            bail!("--manifest and --xclbin are for --backend devmem or xrt");
        }
        return Ok(Target {
            design: Design::by_name(design.unwrap_or(default_design))?,
            board: Board::by_name(board.unwrap_or("pynq-z1"))?,
            manifest: None,
        });
    }
    let Some(path) = &hw.manifest else {
        bail!(
            "--backend {} needs --manifest <bitstream manifest>: the design and board the \
             loaded bitstream implements (see `kiln bitstream manifest` and docs/bitstreams.md)",
            backend_name(kind)
        );
    };
    let checked = Manifest::load(path, kind == BackendKind::Xrt && hw.xclbin.is_none())
        .context("checking the bitstream manifest")?;
    if let Some(d) = design.filter(|d| *d != checked.design.name) {
        bail!(
            "manifest {} is for design `{}`, but --design is `{d}`",
            path.display(),
            checked.design.name
        );
    }
    if let Some(b) = board.filter(|b| *b != checked.board.name) {
        bail!(
            "wrong board: manifest {} is for board `{}`, but --board is `{b}`",
            path.display(),
            checked.board.name
        );
    }
    Ok(Target {
        design: checked.design.clone(),
        board: checked.board.clone(),
        manifest: Some(checked),
    })
}

fn backend_name(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Golden => "golden",
        BackendKind::Sim => "sim",
        BackendKind::Devmem => "devmem",
        BackendKind::Xrt => "xrt",
    }
}

/// An open backend of any kind (boxed: one lives per command).
pub enum OpenBackend {
    Golden(Box<GoldenBackend>),
    #[cfg(feature = "sim")]
    Sim(Box<kiln::backend::SimBackend>),
    Devmem(Box<DeviceBackend<DevmemTransport>>),
    #[cfg(feature = "xrt")]
    Xrt(Box<DeviceBackend<kiln_driver::transport::XrtTransport>>),
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
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            #[cfg(feature = "sim")]
            OpenBackend::Sim(b) => Ok((*b).close()?),
            _ => Ok(()),
        }
    }
}

/// The device-tree `compatible` entry of a board family's SoC.
fn soc_compatible(family: Family) -> &'static str {
    match family {
        Family::Xc7 => "xlnx,zynq-7000",
        Family::Xcup => "xlnx,zynqmp",
    }
}

/// Opens `target` on the backend `kind`; `trace` is the sim backend's
/// waveform.
pub fn open(
    kind: BackendKind,
    hw: &HardwareArgs,
    target: &Target,
    trace: Option<&Path>,
) -> anyhow::Result<OpenBackend> {
    let (design, board) = (&target.design, &target.board);
    if trace.is_some() && kind != BackendKind::Sim {
        bail!("--trace needs --backend sim: only the simulation has a waveform");
    }
    let floor = Duration::from_millis(hw.timeout_ms);
    match kind {
        BackendKind::Golden => Ok(OpenBackend::Golden(Box::new(GoldenBackend::new(design)?))),
        BackendKind::Sim => open_sim(design, board, trace),
        BackendKind::Devmem => {
            let config = DevmemConfig {
                registers: match &hw.uio {
                    Some(device) => RegisterSource::Uio {
                        device: device.clone(),
                        phys: board.addresses.registers,
                    },
                    None => RegisterSource::DevMem {
                        phys: board.addresses.registers,
                    },
                },
                udmabuf: hw.udmabuf.clone(),
                compatible: soc_compatible(board.family).into(),
                board: board.name.clone(),
                ddr: (board.addresses.ddr_base, board.addresses.ddr_bytes),
                root: PathBuf::from("/"),
            };
            let transport = config
                .open()
                .map_err(DriverError::from)
                .context("opening the accelerator through /dev/mem and u-dma-buf")?;
            let backend = DeviceBackend::new(transport, "devmem", design, board)
                .map_err(|e| identity_context(e, target))?;
            Ok(OpenBackend::Devmem(Box::new(
                backend.with_min_timeout(floor),
            )))
        }
        BackendKind::Xrt => open_xrt(hw, target, floor),
    }
}

#[cfg(feature = "sim")]
fn open_sim(design: &Design, board: &Board, trace: Option<&Path>) -> anyhow::Result<OpenBackend> {
    let sim = kiln::backend::SimBackend::open(design, board, trace)
        .with_context(|| format!("opening the simulation of {}", design.name))?;
    Ok(OpenBackend::Sim(Box::new(sim)))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_: &Design, _: &Board, _: Option<&Path>) -> anyhow::Result<OpenBackend> {
    bail!(
        "this kiln was built without the simulator (a board build): use --backend golden, \
         devmem or xrt here, or a kiln built with the `sim` feature (needs Verilator)"
    )
}

#[cfg(feature = "xrt")]
fn open_xrt(hw: &HardwareArgs, target: &Target, floor: Duration) -> anyhow::Result<OpenBackend> {
    let xclbin = match (&hw.xclbin, &target.manifest) {
        (Some(path), Some(m)) => {
            check_xclbin_hash(path, m)?;
            path.clone()
        }
        (None, Some(m)) => m.bitstream.clone(),
        (_, None) => bail!("--backend xrt needs --manifest"),
    };
    let transport = kiln_driver::transport::XrtTransport::open(hw.device, &xclbin)
        .map_err(DriverError::from)
        .with_context(|| format!("opening XRT device {} with {}", hw.device, xclbin.display()))?;
    let backend = DeviceBackend::new(transport, "xrt", &target.design, &target.board)
        .map_err(|e| identity_context(e, target))?;
    Ok(OpenBackend::Xrt(Box::new(backend.with_min_timeout(floor))))
}

#[cfg(feature = "xrt")]
fn check_xclbin_hash(path: &Path, m: &CheckedManifest) -> anyhow::Result<()> {
    let found = kiln::bitstream::manifest::sha256_file(path)
        .with_context(|| format!("reading {}", path.display()))?;
    if found != m.manifest.sha256 {
        bail!(
            "{} does not match manifest {}: its sha256 is {found}, the manifest says {}",
            path.display(),
            m.path.display(),
            m.manifest.sha256
        );
    }
    Ok(())
}

#[cfg(not(feature = "xrt"))]
fn open_xrt(_: &HardwareArgs, _: &Target, _: Duration) -> anyhow::Result<OpenBackend> {
    bail!(
        "this kiln was built without XRT: build it where XRT is installed with \
         `cargo build --release --features xrt` (source /opt/xilinx/xrt/setup.sh first), \
         or use --backend devmem"
    )
}

/// Names the manifest and the design the hardware turned out to be when
/// the identity check fails.
fn identity_context(e: BackendError, target: &Target) -> anyhow::Error {
    if let BackendError::Driver(DriverError::WrongDesign { found, .. }) = &e {
        let manifest = target
            .manifest
            .as_ref()
            .map_or("(no manifest)".to_string(), |m| {
                m.path.display().to_string()
            });
        let found_name = design_with_identity(found)
            .map_or("no design kiln knows".to_string(), |n| {
                format!("design `{n}`")
            });
        return anyhow::Error::new(e).context(format!(
            "the loaded bitstream is not the one manifest {manifest} describes: the manifest says \
             design `{}`, the identity registers say {found_name}; load the manifest's bitstream, \
             or pass the manifest of the bitstream that is loaded",
            target.design.name
        ));
    }
    e.into()
}
