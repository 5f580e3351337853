//! `kiln synth`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args};
use kiln::synth::{
    markdown, synth_design, synth_pe, yosys_version, DesignReport, SynthOptions, SynthReport,
};
use kiln_spec::{Design, PeLibrary};

use super::output::{print_json, progress, write_atomically};
use super::Outcome;

/// The board the figures are for when neither --board nor --part is given.
const DEFAULT_BOARD: &str = "pynq-z1";

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("what")
        .args(["pes", "all", "designs", "all_designs"])
        .required(true)
        .multiple(true)
))]
pub struct SynthArgs {
    /// PE to synthesise in its input-register wrapper (repeatable).
    #[arg(long = "pe", value_name = "NAME", conflicts_with = "all")]
    pes: Vec<String>,
    /// Synthesise every library PE.
    #[arg(long)]
    all: bool,
    /// Accelerator design to synthesise whole (repeatable; see `kiln designs`).
    #[arg(long = "design", value_name = "NAME", conflicts_with = "all_designs")]
    designs: Vec<String>,
    /// Synthesise every listed design.
    #[arg(long = "designs")]
    all_designs: bool,
    /// Board whose part and resources the figures are for [default: pynq-z1].
    #[arg(long, value_name = "NAME", conflicts_with = "part")]
    board: Option<String>,
    /// Target part instead of a board (prefix of a part in boards/, e.g. xc7z020 or xck26).
    #[arg(long)]
    part: Option<String>,
    /// yosys binary to run.
    #[arg(long, default_value = "yosys")]
    yosys: String,
    /// Also write the Markdown page to this file (as docs/resources.md).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

enum Job {
    Pe(std::sync::Arc<PeLibrary>, kiln_spec::PeSpec),
    Design(Design),
}

pub fn run(args: SynthArgs) -> anyhow::Result<Outcome> {
    let catalog = super::catalog()?;
    let mut jobs: Vec<Job> = if args.all {
        catalog
            .pes()
            .map(|pe| Job::Pe(catalog.library.clone(), pe.clone()))
            .collect()
    } else {
        args.pes
            .iter()
            .map(|n| catalog.pe(n).map(|(library, pe)| Job::Pe(library, pe)))
            .collect::<Result<_, _>>()?
    };
    if args.all_designs {
        jobs.extend(catalog.designs()?.into_iter().map(Job::Design));
    } else {
        for name in &args.designs {
            jobs.push(Job::Design(super::design(name)?));
        }
    }
    let options = match (&args.board, &args.part) {
        (_, Some(part)) => SynthOptions::for_part(part, &args.yosys)?,
        (board, None) => {
            SynthOptions::for_board(board.as_deref().unwrap_or(DEFAULT_BOARD), &args.yosys)?
        }
    };
    let version = yosys_version(&options.yosys)?;
    let bar = progress(jobs.len() as u64, args.json);
    // A design takes a minute or more in yosys: keep the spinner turning.
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut pes: Vec<SynthReport> = Vec::new();
    let mut designs: Vec<DesignReport> = Vec::new();
    for job in jobs {
        match job {
            Job::Pe(library, pe) => {
                bar.set_message(format!("PE {}", pe.name));
                pes.push(
                    synth_pe(&library, &pe, &options)
                        .with_context(|| format!("synthesising PE `{}`", pe.name))?,
                );
            }
            Job::Design(design) => {
                bar.set_message(format!("design {}", design.name));
                designs.push(
                    synth_design(&design, &options)
                        .with_context(|| format!("synthesising design `{}`", design.name))?,
                );
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(path) = &args.report {
        let command = command_line(&args, &options, path);
        write_atomically(
            path,
            &markdown(&pes, &designs, &options.board, &command, &version),
        )?;
    }
    if args.json {
        let mut out = serde_json::Map::new();
        out.insert("yosys".into(), version.into());
        out.insert("board".into(), options.board.name.clone().into());
        if !args.pes.is_empty() || args.all {
            out.insert("pes".into(), serde_json::to_value(&pes)?);
        }
        if !args.designs.is_empty() || args.all_designs {
            out.insert("designs".into(), serde_json::to_value(&designs)?);
        }
        print_json(&out)?;
        return Ok(Outcome::Passed);
    }
    let board = &options.board;
    println!(
        "board {}, part {} ({}), {}",
        board.name,
        board.part,
        board.family.yosys_name(),
        version
    );
    if !pes.is_empty() {
        print_pes(&pes);
    }
    for d in &designs {
        print_design(d);
    }
    if designs.len() > 1 {
        print_design_table(&designs);
    }
    Ok(Outcome::Passed)
}

/// The command line recorded in the report, without --json or --yosys.
fn command_line(args: &SynthArgs, options: &SynthOptions, report: &std::path::Path) -> String {
    let mut words = vec!["kiln synth".to_string()];
    if args.all {
        words.push("--all".into());
    }
    words.extend(args.pes.iter().map(|p| format!("--pe {p}")));
    if args.all_designs {
        words.push("--designs".into());
    }
    words.extend(args.designs.iter().map(|d| format!("--design {d}")));
    match &args.part {
        Some(part) => words.push(format!("--part {part}")),
        None => words.push(format!("--board {}", options.board.name)),
    }
    words.push(format!("--report {}", report.display()));
    words.join(" ")
}

fn print_pes(reports: &[SynthReport]) {
    println!(
        "{:<11} {:>6} {:>6} {:>6} {:>5} {:>7} {:>8}",
        "PE", "LUT", "FF", "CARRY", "DSP", "BRAM36", "LUT %"
    );
    for r in reports {
        println!(
            "{:<11} {:>6} {:>6} {:>6} {:>5} {:>7} {:>8.3}",
            r.pe, r.lut, r.ff, r.carry, r.dsp, r.bram36, r.lut_pct
        );
    }
}

fn print_design(d: &DesignReport) {
    let u = &d.usage;
    println!();
    println!(
        "{} ({}, {}) on {}: {} [yosys {:.1} s]",
        d.design,
        d.compute,
        d.array,
        d.board,
        d.fit.summary(),
        d.seconds
    );
    println!(
        "  {:<8} {:>8} {:>10} {:>8}",
        "resource", "used", "available", "%"
    );
    for f in &d.fit.resources {
        let detail = match f.resource {
            "LUT" => format!(
                "  logic {}, LUTRAM {} ({} RAM cells, {} SRL cells)",
                u.lut_logic, u.lutram, u.lutram_cells, u.srl_cells
            ),
            _ => String::new(),
        };
        println!(
            "  {:<8} {:>8} {:>10} {:>7.2}% {}{}",
            f.resource,
            f.used,
            f.available,
            f.percent,
            if f.fits { "ok" } else { "OVER" },
            detail
        );
    }
    println!("  {:<8} {:>8}", "CARRY", u.carry);
}

fn print_design_table(designs: &[DesignReport]) {
    println!();
    println!(
        "{:<16} {:<11} {:>8} {:>6} {:>6} {:>6} {:>6} {:>4} {:>6} {:>7}  fit",
        "design", "PE/format", "array", "LUT", "LUTRAM", "FF", "CARRY", "DSP", "BRAM36", "yosys s"
    );
    for d in designs {
        let u = &d.usage;
        println!(
            "{:<16} {:<11} {:>8} {:>6} {:>6} {:>6} {:>6} {:>4} {:>6} {:>7.1}  {}",
            d.design,
            d.compute,
            d.array,
            u.lut,
            u.lutram,
            u.ff,
            u.carry,
            u.dsp,
            u.bram36,
            d.seconds,
            d.fit.summary()
        );
    }
}
