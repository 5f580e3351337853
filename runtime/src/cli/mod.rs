//! Argument parsing and dispatch.

mod bench;
mod bitstream;
mod boards;
mod designs;
mod gemm;
mod hardware;
mod matmul;
mod model_args;
mod output;
mod pe;
mod regs;
mod run;
mod synth;

use clap::{Parser, Subcommand};

/// Co-design DNN accelerators for Zynq FPGAs: check PEs against their golden
/// models on Verilated RTL, synthesise them with yosys, benchmark the simulator.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
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
}

/// How a command that checks something came out.
/// What commands that need Verilator say in a board build.
#[cfg(not(feature = "sim"))]
const NO_SIMULATOR: &str = "this kiln was built without the simulator (a board build): run this \
     command with a kiln built with the `sim` feature, where Verilator is installed";

pub enum Outcome {
    Passed,
    Failed,
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
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
    }
}
