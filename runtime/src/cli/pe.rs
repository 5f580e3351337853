//! `kiln pe list | verify | docs`.

use std::path::PathBuf;

#[cfg(feature = "sim")]
use anyhow::Context;
use clap::{Args, Subcommand};
#[cfg(feature = "sim")]
use kiln::pe_check::{check_pe, CheckOptions, PeReport};
use kiln_spec::PeLibrary;
#[cfg(feature = "sim")]
use kiln_spec::PeSpec;
use serde::Serialize;
#[cfg(feature = "sim")]
use std::sync::Arc;

#[cfg(feature = "sim")]
use super::output::progress;
use super::output::{print_json, write_atomically};
use super::Outcome;

#[derive(Debug, Subcommand)]
pub enum PeCommand {
    /// List the PE kinds and their codebooks.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Drive every (activation, weight code) pair and a random accumulate
    /// chain through each PE's RTL and compare with its golden model.
    Verify(VerifyArgs),
    /// Print docs/pe-library.md as generated from the codebooks.
    Docs {
        /// Write the page to this file instead of stdout.
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// PE to verify (repeatable). Without --pe, every library PE.
    #[arg(long = "pe", value_name = "NAME", conflicts_with = "all")]
    pes: Vec<String>,
    /// Verify every library PE (the default).
    #[arg(long)]
    all: bool,
    /// Seed of the random accumulate chain.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Valid MAC steps in the random accumulate chain.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    chain_steps: u64,
    /// Write a waveform of the check (.fst or .vcd); needs exactly one --pe.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Print a JSON report instead of a table.
    #[arg(long)]
    json: bool,
    /// Verify again on every save of a source of the project (the PE's
    /// RTL or codebook); only what changed is re-Verilated.
    #[arg(long)]
    watch: bool,
}

#[derive(Serialize)]
struct ListEntry<'a> {
    name: &'a str,
    summary: &'a str,
    weight_bits: u32,
    codes: u32,
    values: Vec<i32>,
}

pub fn run(cmd: PeCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PeCommand::List { json } => list(&super::catalog()?.library, json),
        PeCommand::Verify(args) if args.watch => {
            let paths: Vec<&str> = args.pes.iter().map(String::as_str).collect();
            let root = super::watch::folder(&paths)?;
            super::watch::watch(&root, || verify(&args))
        }
        PeCommand::Verify(args) => verify(&args),
        PeCommand::Docs { write } => {
            // The page documents kiln's own library, project or not.
            let page = kiln::pe_docs::render(PeLibrary::builtin()?.as_ref());
            match write {
                Some(path) => write_atomically(&path, &page)?,
                None => print!("{page}"),
            }
            Ok(Outcome::Passed)
        }
    }
}

fn list(library: &PeLibrary, json: bool) -> anyhow::Result<Outcome> {
    let entries: Vec<ListEntry<'_>> = library
        .library_pes()
        .map(|pe| ListEntry {
            name: &pe.name,
            summary: &pe.summary,
            weight_bits: pe.weight_bits,
            codes: pe.code_count(),
            values: (0..pe.code_count()).map(|c| pe.weight_value(c)).collect(),
        })
        .collect();
    if json {
        print_json(&entries)?;
    } else {
        println!("{:<11} {:>5}  summary", "PE", "wbits");
        for e in &entries {
            println!("{:<11} {:>5}  {}", e.name, e.weight_bits, e.summary);
        }
    }
    Ok(Outcome::Passed)
}

#[cfg(feature = "sim")]
#[derive(Serialize)]
struct VerifyJson<'a> {
    passed: bool,
    mismatches: usize,
    pes: &'a [PeReport],
}

/// The PEs `--pe` names (project or built-in names, or PE folders), each
/// with the library holding it; every listed PE without `--pe`.
#[cfg(feature = "sim")]
pub(super) fn select(names: &[String]) -> anyhow::Result<Vec<(Arc<PeLibrary>, PeSpec)>> {
    let catalog = super::catalog()?;
    if names.is_empty() {
        return Ok(catalog
            .pes()
            .map(|pe| (catalog.library.clone(), pe.clone()))
            .collect());
    }
    names
        .iter()
        .map(|n| catalog.pe(n).map_err(Into::into))
        .collect()
}

#[cfg(feature = "sim")]
fn verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let pes = select(&args.pes)?;
    if args.trace.is_some() && pes.len() != 1 {
        anyhow::bail!(
            "--trace writes one waveform: name exactly one PE with --pe (got {})",
            pes.len()
        );
    }
    let options = CheckOptions {
        seed: args.seed,
        chain_steps: args.chain_steps as usize,
        trace: args.trace.clone(),
    };
    let bar = progress(pes.len() as u64, args.json);
    let mut reports = Vec::new();
    for (library, pe) in &pes {
        bar.set_message(pe.name.clone());
        let report = check_pe(library, pe, &options)
            .with_context(|| format!("verifying PE `{}`", pe.name))?;
        reports.push(report);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mismatches: usize = reports.iter().map(|r| r.mismatches).sum();
    let passed = mismatches == 0;
    if args.json {
        print_json(&VerifyJson {
            passed,
            mismatches,
            pes: &reports,
        })?;
    } else {
        print_table(&reports);
        if let Some(trace) = &args.trace {
            println!("waveform: {}", trace.display());
        }
    }
    Ok(if passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

#[cfg(feature = "sim")]
fn print_table(reports: &[PeReport]) {
    println!(
        "{:<17} {:>10} {:>8} {:>11} {:>9}  result",
        "PE", "exhaustive", "chain", "mismatches", "cycles"
    );
    for r in reports {
        println!(
            "{:<17} {:>10} {:>8} {:>11} {:>9}  {}",
            r.pe,
            r.exhaustive.cases,
            r.chain.cases,
            r.mismatches,
            r.cycles,
            if r.passed { "ok" } else { "MISMATCH" }
        );
    }
    for r in reports.iter().filter(|r| !r.passed) {
        println!(
            "\n{}: {} mismatches against the `{}` golden model; first {}:",
            r.pe,
            r.mismatches,
            r.golden,
            r.first_mismatches.len()
        );
        for m in &r.first_mismatches {
            println!(
                "  {} #{}: act={} wcode={:#b}: {:?} expected {}, RTL gave {}",
                m.phase, m.index, m.act, m.wcode, m.signal, m.expected, m.got
            );
        }
    }
}

#[cfg(not(feature = "sim"))]
fn verify(_: &VerifyArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!(super::NO_SIMULATOR)
}
