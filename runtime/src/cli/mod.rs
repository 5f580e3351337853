//! Argument parsing and dispatch.

mod bench;
mod output;
mod pe;
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
    /// Synthesise PEs with yosys and report LUT, FF, CARRY, DSP and BRAM.
    Synth(synth::SynthArgs),
    /// Simulator benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// How a command that checks something came out.
pub enum Outcome {
    Passed,
    Failed,
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Pe(cmd) => pe::run(cmd),
        Command::Synth(args) => synth::run(args),
        Command::Bench(cmd) => bench::run(cmd),
    }
}
