//! The backend a command runs on, and the arguments that reach hardware:
//! `--backend golden|sim|devmem|xrt`, the bitstream manifest, the device
//! files and the watchdog. `kiln gemm` and `kiln matmul` share them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use kiln::backend::{self, DeviceOptions};
pub use kiln::backend::{BackendKind, OpenBackend};
use kiln::bitstream::manifest::{CheckedManifest, Manifest};
use kiln_spec::{Board, Design};

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
            design: super::design(design.unwrap_or(default_design))?,
            board: Board::by_name(board.unwrap_or("pynq-z1"))?,
            manifest: None,
        });
    }
    let Some(path) = &hw.manifest else {
        bail!(
            "--backend {} needs --manifest <bitstream manifest>: the design and board the \
             loaded bitstream implements (see `kiln bitstream manifest` and docs/bitstreams.md)",
            kind.name()
        );
    };
    let checked = Manifest::load_in(
        path,
        kind == BackendKind::Xrt && hw.xclbin.is_none(),
        super::catalog()?.as_ref(),
    )
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

/// Opens `target` on the backend `kind` (kiln::backend::open, the one
/// place backends are opened); `trace` is the sim backend's waveform.
pub fn open(
    kind: BackendKind,
    hw: &HardwareArgs,
    target: &Target,
    trace: Option<&Path>,
) -> anyhow::Result<OpenBackend> {
    let options = DeviceOptions {
        xclbin: hw.xclbin.clone(),
        device: hw.device,
        uio: hw.uio.clone(),
        udmabuf: hw.udmabuf.clone(),
        min_timeout: Duration::from_millis(hw.timeout_ms),
        ..DeviceOptions::default()
    };
    Ok(backend::open(
        kind,
        &target.design,
        &target.board,
        target.manifest.as_ref(),
        &options,
        trace,
    )?)
}
