//! `kiln synth`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kiln::synth::{markdown, synth_pe, yosys_version, SynthOptions, SynthReport};
use kiln_spec::PeLibrary;

use super::output::{print_json, progress, write_atomically};
use super::Outcome;

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// PE to synthesise (repeatable).
    #[arg(
        long = "pe",
        value_name = "NAME",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pes: Vec<String>,
    /// Synthesise every library PE.
    #[arg(long)]
    all: bool,
    /// Target part (prefix of a part in boards/, e.g. xc7z020 or xck26).
    #[arg(long, default_value = "xc7z020")]
    part: String,
    /// yosys binary to run.
    #[arg(long, default_value = "yosys")]
    yosys: String,
    /// Also write the Markdown table to this file (as docs/resources.md).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SynthArgs) -> anyhow::Result<Outcome> {
    let library = PeLibrary::builtin()?;
    let pes: Vec<_> = if args.all {
        library.library_pes().collect()
    } else {
        args.pes
            .iter()
            .map(|n| library.get(n))
            .collect::<Result<_, _>>()?
    };
    let options = SynthOptions::for_part(&args.part, &args.yosys)?;
    let version = yosys_version(&options.yosys)?;
    let bar = progress(pes.len() as u64, args.json);
    let mut reports: Vec<SynthReport> = Vec::new();
    for pe in pes {
        bar.set_message(pe.name.clone());
        reports.push(
            synth_pe(&library, pe, &options)
                .with_context(|| format!("synthesising PE `{}`", pe.name))?,
        );
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(path) = &args.report {
        let command = format!(
            "kiln synth {} --part {} --report {}",
            if args.all {
                "--all".to_string()
            } else {
                args.pes
                    .iter()
                    .map(|p| format!("--pe {p}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            args.part,
            path.display()
        );
        write_atomically(path, &markdown(&reports, &command, &version))?;
    }
    if args.json {
        print_json(&serde_json::json!({ "yosys": version, "pes": reports }))?;
    } else {
        if let Some(first) = reports.first() {
            println!("part {} ({}), {}", first.part, first.family, version);
        }
        println!(
            "{:<11} {:>6} {:>6} {:>6} {:>5} {:>7} {:>8}",
            "PE", "LUT", "FF", "CARRY", "DSP", "BRAM36", "LUT %"
        );
        for r in &reports {
            println!(
                "{:<11} {:>6} {:>6} {:>6} {:>5} {:>7} {:>8.3}",
                r.pe, r.lut, r.ff, r.carry, r.dsp, r.bram36, r.lut_pct
            );
        }
    }
    Ok(Outcome::Passed)
}
