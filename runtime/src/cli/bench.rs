//! `kiln bench sim`.

use clap::{Args, Subcommand};
use kiln::bench::bench_pe;
use kiln_spec::PeLibrary;

use super::output::{print_json, progress};
use super::Outcome;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Simulated PE cycles per second: one cycle per call, batched, and bare stepping.
    Sim(SimArgs),
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// PE to measure (repeatable). Without --pe, every library PE.
    #[arg(long = "pe", value_name = "NAME")]
    pes: Vec<String>,
    /// Cycles per measurement.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    cycles: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    let BenchCommand::Sim(args) = cmd;
    let library = PeLibrary::builtin()?;
    let pes: Vec<_> = if args.pes.is_empty() {
        library.library_pes().collect()
    } else {
        args.pes
            .iter()
            .map(|n| library.get(n))
            .collect::<Result<_, _>>()?
    };
    let bar = progress(pes.len() as u64, args.json);
    let mut results = Vec::new();
    for pe in pes {
        bar.set_message(pe.name.clone());
        results.push(bench_pe(&pe.name, pe.weight_bits, args.cycles)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if args.json {
        print_json(&results)?;
    } else {
        println!(
            "{} cycles per measurement, million cycles per second:",
            args.cycles
        );
        println!(
            "{:<11} {:>9} {:>9} {:>9}",
            "PE", "per-call", "batched", "step"
        );
        for r in &results {
            println!(
                "{:<11} {:>9.2} {:>9.2} {:>9.2}",
                r.pe,
                r.per_call_cycles_per_s / 1e6,
                r.batched_cycles_per_s / 1e6,
                r.step_only_cycles_per_s / 1e6
            );
        }
    }
    Ok(Outcome::Passed)
}
