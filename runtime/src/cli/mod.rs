//! Argument parsing and dispatch.

mod bench;
mod bitstream;
mod boards;
mod cache;
mod designs;
mod doctor;
mod gemm;
mod hardware;
mod matmul;
mod model_args;
mod new;
mod output;
mod pe;
mod regs;
mod run;
mod synth;
mod watch;

use clap::{Parser, Subcommand};

/// Co-design DNN accelerators for Zynq FPGAs: check PEs against their golden
/// models on Verilated RTL, synthesise them with yosys, benchmark the simulator.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about)]
pub struct Cli {
    /// Your project (a folder made by `kiln new`): its PEs and designs join
    /// the built-in ones. Default: the project containing the working
    /// directory, if any.
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<std::path::PathBuf>,
    /// Threads for work that spreads over cores (data-set samples, RTL
    /// simulations of distinct calls, replays, weight quantisation).
    /// Default: every core.
    #[arg(long, global = true, value_name = "N")]
    jobs: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

static PROJECT_ARG: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

/// The PEs and designs `--pe` and `--design` resolve through: the built-in
/// ones and the project's (from `--project` or the working directory).
/// Opened on first need, so commands that take neither never read a
/// project, and kept until [`reload_catalog`] (`--watch` reloads it before
/// every run, so an edited codebook or design is read again).
pub(crate) fn catalog() -> anyhow::Result<std::sync::Arc<kiln_spec::Catalog>> {
    let mut slot = CATALOG
        .lock()
        .map_err(|_| anyhow::anyhow!("the project catalog was poisoned by a panic"))?;
    if let Some(catalog) = slot.as_ref() {
        return Ok(catalog.clone());
    }
    let dir = PROJECT_ARG.get().cloned().flatten();
    let catalog = std::sync::Arc::new(kiln_spec::Catalog::discover(dir.as_deref())?);
    *slot = Some(catalog.clone());
    Ok(catalog)
}

static CATALOG: std::sync::Mutex<Option<std::sync::Arc<kiln_spec::Catalog>>> =
    std::sync::Mutex::new(None);

/// Forgets the opened catalog: the next [`catalog`] reads the project again.
pub(crate) fn reload_catalog() {
    if let Ok(mut slot) = CATALOG.lock() {
        *slot = None;
    }
}

/// The project folder in use, if any (for `--watch`).
pub(crate) fn project_root() -> Option<std::path::PathBuf> {
    PROJECT_ARG.get().cloned().flatten().or_else(|| {
        std::env::current_dir()
            .ok()
            .and_then(|d| kiln_spec::Project::find(&d))
    })
}

/// The design `arg` names: a project's or built-in name, or a design file.
pub(crate) fn design(arg: &str) -> anyhow::Result<kiln_spec::Design> {
    Ok(catalog()?.design(arg)?)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The processing-element library: list, verify, document.
    #[command(subcommand)]
    Pe(pe::PeCommand),
    /// Synthesise PEs or whole designs with yosys: LUT, FF, CARRY, DSP and
    /// BRAM, and whether a design fits the board.
    Synth(synth::SynthArgs),
    /// One random quantised GEMM on a GEMM design, checked against the golden model.
    Gemm(gemm::GemmArgs),
    /// One BFP MatMul on a BFP design (or an LLM workload's per-token
    /// MatMuls), checked against the golden model and against f64.
    Matmul(matmul::MatmulArgs),
    /// Run an ONNX model with its GEMMs and convolutions on the accelerator,
    /// compared layer by layer with tract's f32 result.
    Run(run::RunArgs),
    /// Bitstreams: manifests, their checks, Vivado projects, emulation xclbins.
    #[command(subcommand)]
    Bitstream(bitstream::BitstreamCommand),
    /// The accelerator designs (hw/designs): list, show one.
    Designs(designs::DesignsArgs),
    /// The boards kiln targets (boards/): part, clock, memory, resources.
    Boards(boards::BoardsArgs),
    /// Simulator benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The control-register map (hw/regs/kiln.toml): list, generate.
    #[command(subcommand)]
    Regs(regs::RegsCommand),
    /// Start a project of your own PEs and designs in a new folder.
    New(new::NewArgs),
    /// Which tools kiln finds (Verilator, C++, yosys, Vivado) and which
    /// commands need each; the cache and project in use.
    Doctor(doctor::DoctorArgs),
    /// The simulator's cache of built models: list them and their size, or
    /// empty it with --clean.
    Cache(cache::CacheArgs),
}

/// Prints a line on stderr when a simulation model is built into the
/// cache (its first use) and when it is done, so a wait of seconds is
/// never silent; stdout stays clean for `--json`.
/// `--jobs`: the threads to use, every core by default; 0 is refused.
pub(crate) fn jobs(asked: Option<usize>) -> anyhow::Result<usize> {
    match asked {
        Some(0) => anyhow::bail!("--jobs must be at least 1 (default: every core)"),
        Some(j) => Ok(j),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

#[cfg(feature = "sim")]
fn report_builds() {
    kiln_sim::set_build_observer(|event| match event {
        kiln_sim::BuildEvent::Started { model } => {
            eprintln!("kiln: Verilating {model} (first use; cached for later runs)...")
        }
        kiln_sim::BuildEvent::Finished { model, seconds } => {
            eprintln!("kiln: built {model} in {seconds:.1} s")
        }
        kiln_sim::BuildEvent::Failed { model, seconds } => {
            eprintln!("kiln: building {model} failed after {seconds:.1} s")
        }
    });
}

/// What commands that need Verilator say in a board build.
#[cfg(not(feature = "sim"))]
const NO_SIMULATOR: &str = "this kiln was built without the simulator (a board build): run this \
     command with a kiln built with the `sim` feature, where Verilator is installed";

/// How a command that checks something came out.
pub enum Outcome {
    Passed,
    Failed,
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    #[cfg(feature = "sim")]
    report_builds();
    let _ = PROJECT_ARG.set(cli.project.clone());
    kiln::parallel::set_jobs(jobs(cli.jobs)?);
    match cli.command {
        Command::Pe(cmd) => pe::run(cmd),
        Command::Synth(args) => synth::run(args),
        Command::Gemm(args) => gemm::run(args),
        Command::Matmul(args) => matmul::run(args),
        Command::Run(args) => run::run_cmd(args),
        Command::Bitstream(cmd) => bitstream::run(cmd),
        Command::Designs(args) => designs::run(args),
        Command::Boards(args) => boards::run(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Regs(cmd) => regs::run(cmd),
        Command::New(args) => new::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Cache(args) => cache::run(args),
    }
}
