//! `kiln regs list | generate`.

use clap::Subcommand;
use kiln_spec::regs::sync_generated;
use kiln_spec::RegisterMap;
use serde::Serialize;

use super::output::print_json;
use super::Outcome;

#[derive(Debug, Subcommand)]
pub enum RegsCommand {
    /// List the control registers: offset, name, reset value.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write the files generated from hw/regs/kiln.toml (the SystemVerilog
    /// package, the driver's Rust module, docs/registers.md), each only if
    /// it changed.
    Generate {
        /// Write nothing; exit 1 if any generated file is stale.
        #[arg(long)]
        check: bool,
        /// Print a JSON report instead of one line per file.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: RegsCommand) -> anyhow::Result<Outcome> {
    let map = RegisterMap::builtin()?;
    match cmd {
        RegsCommand::List { json } => list(&map, json),
        RegsCommand::Generate { check, json } => generate(&map, check, json),
    }
}

#[derive(Serialize)]
struct FieldJson<'a> {
    name: &'a str,
    bits: String,
    lsb: u32,
    width: u32,
    sw: &'static str,
    hw: &'static str,
    reset: u32,
    desc: &'a str,
}

#[derive(Serialize)]
struct RegisterJson<'a> {
    name: &'a str,
    offset: u32,
    reset: u32,
    desc: &'a str,
    fields: Vec<FieldJson<'a>>,
}

#[derive(Serialize)]
struct ListJson<'a> {
    version: u32,
    magic: u32,
    window_bytes: u32,
    registers: Vec<RegisterJson<'a>>,
}

fn list(map: &RegisterMap, json: bool) -> anyhow::Result<Outcome> {
    if json {
        let registers = map
            .registers
            .iter()
            .map(|r| RegisterJson {
                name: &r.name,
                offset: r.offset,
                reset: r.reset(),
                desc: &r.desc,
                fields: r
                    .fields
                    .iter()
                    .map(|f| FieldJson {
                        name: &f.name,
                        bits: f.bits(),
                        lsb: f.lsb,
                        width: f.width,
                        sw: f.sw.as_str(),
                        hw: f.hw.as_str(),
                        reset: f.reset,
                        desc: &f.desc,
                    })
                    .collect(),
            })
            .collect();
        print_json(&ListJson {
            version: map.version,
            magic: map.magic,
            window_bytes: map.window_bytes,
            registers,
        })?;
    } else {
        println!(
            "{:<6} {:<15} {:<10}  description",
            "offset", "name", "reset"
        );
        for r in &map.registers {
            let offset = format!("{:#04x}", r.offset);
            let reset = format!("{:#010x}", r.reset());
            println!("{offset:<6} {:<15} {reset:<10}  {}", r.name, r.desc);
        }
    }
    Ok(Outcome::Passed)
}

#[derive(Serialize)]
struct FileJson<'a> {
    path: &'a str,
    /// The committed file differs from the map (or is missing).
    stale: bool,
    /// This run wrote the file (never with --check).
    written: bool,
}

#[derive(Serialize)]
struct GenerateJson<'a> {
    check: bool,
    /// With --check: every file is up to date. Otherwise: true.
    fresh: bool,
    files: Vec<FileJson<'a>>,
}

fn generate(map: &RegisterMap, check: bool, json: bool) -> anyhow::Result<Outcome> {
    let synced = sync_generated(&kiln_spec::repo_root(), map, !check)?;
    let report: Vec<FileJson<'_>> = synced
        .iter()
        .map(|f| FileJson {
            path: &f.path,
            stale: f.stale,
            written: f.written,
        })
        .collect();
    let stale: Vec<&str> = report.iter().filter(|f| f.stale).map(|f| f.path).collect();
    let fresh = !check || stale.is_empty();
    if json {
        print_json(&GenerateJson {
            check,
            fresh,
            files: report,
        })?;
    } else {
        for f in &report {
            let state = match (f.stale, f.written) {
                (false, _) => "up to date",
                (true, true) => "written",
                (true, false) => "STALE",
            };
            println!("{:<10}  {}", state, f.path);
        }
        if !fresh {
            println!(
                "\n{} generated file{} out of date with hw/regs/kiln.toml and hw/regs/shell.toml: {}. \
                 Run `make regs` (kiln regs generate) and commit the result.",
                stale.len(),
                if stale.len() == 1 { " is" } else { "s are" },
                stale.join(", ")
            );
        }
    }
    Ok(if fresh {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}
