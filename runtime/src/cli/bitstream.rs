//! `kiln bitstream`: write and check bitstream manifests, generate the
//! Vivado project that builds a bitstream, write an emulation xclbin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::hardware::{self, BackendKind, HardwareArgs, Target};
use super::output::{print_json, write_atomically};
use super::Outcome;
use kiln::bitstream::manifest::{CheckedManifest, Manifest};
use kiln::bitstream::vivado::vivado_project;
use kiln_driver::xclbin::Xclbin;
use kiln_spec::{Board, Design};

#[derive(Debug, Subcommand)]
pub enum BitstreamCommand {
    /// Write the manifest of a built bitstream (.bit, .bin or .xclbin).
    Manifest(ManifestArgs),
    /// Check a manifest against this kiln and its bitstream file, and
    /// optionally against the hardware's identity registers.
    Check(CheckArgs),
    /// Generate the Vivado project (Tcl, RTL kernel wrapper, kernel.xml)
    /// that builds a design's bitstream for a board.
    Vivado(VivadoArgs),
    /// Write an xclbin for kiln's XRT emulation library (the Verilated
    /// design behind XRT's API) and its manifest.
    Emulate(EmulateArgs),
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[arg(long)]
    design: String,
    #[arg(long)]
    board: String,
    /// The built bitstream.
    #[arg(long)]
    file: PathBuf,
    /// A tool and its version, `vivado=2023.2`; repeat for several.
    #[arg(long = "tool", value_parser = parse_tool)]
    tools: Vec<(String, String)>,
    /// Where to write the manifest (default: the bitstream's path with .toml).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The manifest.
    manifest: PathBuf,
    /// Also open the hardware and compare its identity registers with the
    /// manifest (devmem, xrt; sim opens the manifest's design in Verilator).
    #[arg(long, value_enum)]
    backend: Option<BackendKind>,
    #[command(flatten)]
    hardware: HardwareArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct VivadoArgs {
    #[arg(long)]
    design: String,
    #[arg(long)]
    board: String,
    /// Output folder (created).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct EmulateArgs {
    #[arg(long, default_value = "gemm-pot-8x8")]
    design: String,
    /// The XRT board the emulation stands in for.
    #[arg(long, default_value = "kv260")]
    board: String,
    /// The xclbin to write; its manifest goes beside it with .toml.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

fn parse_tool(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}` is not NAME=VERSION (for example vivado=2023.2)"
        )),
    }
}

pub fn run(cmd: BitstreamCommand) -> anyhow::Result<Outcome> {
    match cmd {
        BitstreamCommand::Manifest(args) => manifest(args),
        BitstreamCommand::Check(args) => check(args),
        BitstreamCommand::Vivado(args) => vivado(args),
        BitstreamCommand::Emulate(args) => emulate(args),
    }
}

#[derive(Debug, Serialize)]
struct Written {
    manifest: PathBuf,
    file: PathBuf,
    design: String,
    board: String,
    sha256: String,
}

fn write_manifest(
    design: &Design,
    board: &Board,
    file: &Path,
    tools: BTreeMap<String, String>,
    out: &Path,
    json: bool,
) -> anyhow::Result<Outcome> {
    let m = Manifest::new(design, board, file, tools)?;
    m.write(out)?;
    if json {
        print_json(&Written {
            manifest: out.to_path_buf(),
            file: file.to_path_buf(),
            design: m.design,
            board: m.board,
            sha256: m.sha256,
        })?;
    } else {
        println!(
            "wrote {} ({} on {}, sha256 {})",
            out.display(),
            m.design,
            m.board,
            m.sha256
        );
    }
    Ok(Outcome::Passed)
}

fn manifest(args: ManifestArgs) -> anyhow::Result<Outcome> {
    let design = super::design(&args.design)?;
    let board = Board::by_name(&args.board)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension("toml"));
    if out == args.file {
        bail!(
            "--out would overwrite the bitstream {}",
            args.file.display()
        );
    }
    let tools = args.tools.into_iter().collect();
    write_manifest(&design, &board, &args.file, tools, &out, args.json)
}

#[derive(Debug, Serialize)]
struct CheckReport {
    manifest: PathBuf,
    design: String,
    board: String,
    file: PathBuf,
    sha256: String,
    /// The bitstream was found and its hash matches.
    hash_checked: bool,
    register_map_version: u32,
    built: String,
    /// The backend whose identity registers were compared, if any.
    hardware: Option<&'static str>,
    identity: String,
}

fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let checked: CheckedManifest =
        Manifest::load_in(&args.manifest, false, super::catalog()?.as_ref())?;
    let mut hardware_name = None;
    if let Some(kind) = args.backend {
        if kind == BackendKind::Golden {
            bail!("--backend golden has no hardware to check; use sim, devmem or xrt");
        }
        let target = Target {
            design: checked.design.clone(),
            board: checked.board.clone(),
            manifest: Some(checked.clone()),
        };
        let mut backend = hardware::open(kind, &args.hardware, &target, None)?;
        hardware_name = Some(backend.backend().name());
        backend.finish()?;
    }
    let m = &checked.manifest;
    let report = CheckReport {
        manifest: checked.path.clone(),
        design: m.design.clone(),
        board: m.board.clone(),
        file: checked.bitstream.clone(),
        sha256: m.sha256.clone(),
        hash_checked: checked.hash_checked,
        register_map_version: m.register_map_version,
        built: m.built.clone(),
        hardware: hardware_name,
        identity: m.identity.design_identity().to_string(),
    };
    if args.json {
        print_json(&report)?;
        return Ok(Outcome::Passed);
    }
    println!(
        "manifest {}: {} on {}",
        report.manifest.display(),
        report.design,
        report.board
    );
    println!(
        "  design:       parameters and identity match this kiln ({})",
        report.identity
    );
    println!(
        "  registers:    register-map version {} (this kiln's)",
        report.register_map_version
    );
    if report.hash_checked {
        println!("  bitstream:    {} (sha256 matches)", report.file.display());
    } else {
        println!(
            "  bitstream:    {} not found here; its sha256 was not checked",
            report.file.display()
        );
    }
    match report.hardware {
        Some(name) => println!("  hardware:     identity registers match ({name} backend)"),
        None => println!("  hardware:     not opened (pass --backend devmem or xrt on the board)"),
    }
    Ok(Outcome::Passed)
}

#[derive(Debug, Serialize)]
struct VivadoReport {
    design: String,
    board: String,
    out: PathBuf,
    files: Vec<String>,
}

fn vivado(args: VivadoArgs) -> anyhow::Result<Outcome> {
    let design = super::design(&args.design)?;
    let board = Board::by_name(&args.board)?;
    let files = vivado_project(&design, &board)?;
    for f in &files {
        let path = args.out.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_atomically(&path, &f.text)?;
    }
    let report = VivadoReport {
        design: design.name.clone(),
        board: board.name.clone(),
        out: args.out.clone(),
        files: files.iter().map(|f| f.path.clone()).collect(),
    };
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "Vivado project for {} on {} in {}:",
            report.design,
            report.board,
            report.out.display()
        );
        for f in &report.files {
            println!("  {f}");
        }
        println!(
            "Build it on a machine with Vivado: see {}/README.md",
            report.out.display()
        );
    }
    Ok(Outcome::Passed)
}

fn emulate(args: EmulateArgs) -> anyhow::Result<Outcome> {
    let design = super::design(&args.design)?;
    let board = Board::by_name(&args.board)?;
    if board.transport != "xrt" {
        bail!(
            "board `{}` has no XRT (transport {}); the emulation stands in for an XRT board: kv260 or zcu104",
            board.name,
            board.transport
        );
    }
    let xclbin = Xclbin::emulation_of(&design)?;
    xclbin.write(&args.out)?;
    let tools = BTreeMap::from([(
        "xrt-emulation".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    )]);
    write_manifest(
        &design,
        &board,
        &args.out,
        tools,
        &args.out.with_extension("toml"),
        args.json,
    )
}
