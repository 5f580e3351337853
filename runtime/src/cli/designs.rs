//! `kiln designs [show NAME]`.

use clap::{Args, Subcommand};
use kiln_spec::Design;
use serde::Serialize;

use super::output::print_json;
use super::Outcome;

#[derive(Debug, Args)]
pub struct DesignsArgs {
    #[command(subcommand)]
    command: Option<DesignsCommand>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum DesignsCommand {
    /// Everything about one design: geometry, identity, top-module
    /// parameters and RTL sources.
    Show {
        /// Design name, as `kiln designs` lists it.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Entry<'a> {
    /// The design file's fields (the engine's own ones included).
    #[serde(flatten)]
    design: &'a Design,
    weight_bits: u32,
    /// The DESIGN_ID register value, `0x` and eight hex digits.
    id: String,
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(flatten)]
    entry: Entry<'a>,
    pe_kind: u32,
    top_module: &'static str,
    /// Top-module (shell) parameters as (name, Verilog literal).
    parameters: Vec<(&'static str, String)>,
    /// The engine core the generated `kiln_core` binding instantiates.
    core_module: &'a str,
    /// Its parameters as (name, Verilog literal).
    core_parameters: Vec<(&'static str, String)>,
    /// RTL sources relative to the repository root, dependencies first;
    /// the generated sources go after them.
    rtl_sources: Vec<String>,
    /// File names of the sources kiln generates for the design.
    generated_sources: Vec<String>,
}

fn entry(design: &Design) -> anyhow::Result<Entry<'_>> {
    Ok(Entry {
        design,
        weight_bits: design.weight_bits()?,
        id: format!("{:#010x}", design.id()),
    })
}

pub fn run(args: DesignsArgs) -> anyhow::Result<Outcome> {
    match args.command {
        None => list(args.json),
        Some(DesignsCommand::Show { name, json }) => show(&name, json || args.json),
    }
}

fn list(json: bool) -> anyhow::Result<Outcome> {
    let designs = super::catalog()?.designs()?;
    let entries: Vec<Entry<'_>> = designs.iter().map(entry).collect::<Result<_, _>>()?;
    if json {
        print_json(&entries)?;
        return Ok(Outcome::Passed);
    }
    println!(
        "{:<18} {:<6} {:<11} {:>9} {:>5} {:>10}  summary",
        "design", "engine", "PE/format", "array", "MHz", "id"
    );
    for e in &entries {
        let d = e.design;
        let (compute, array) = d.compute_summary();
        println!(
            "{:<18} {:<6} {:<11} {:>9} {:>5} {:>10}  {}",
            d.name,
            d.engine_name(),
            compute,
            array,
            d.clock_mhz,
            e.id,
            d.summary
        );
    }
    Ok(Outcome::Passed)
}

fn show(name: &str, json: bool) -> anyhow::Result<Outcome> {
    let design = super::design(name)?;
    let detail = Detail {
        entry: entry(&design)?,
        pe_kind: design.pe_kind()?,
        top_module: design.top_module(),
        parameters: design.top_parameters()?,
        core_module: design.core_module(),
        core_parameters: design.core_parameters()?,
        generated_sources: design
            .generated_sources()?
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        rtl_sources: design
            .rtl_sources()?
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    if json {
        print_json(&detail)?;
        return Ok(Outcome::Passed);
    }
    let e = &detail.entry;
    let d = e.design;
    println!("{}: {}", d.name, d.summary);
    println!("  engine        {} ({})", d.engine_name(), d.engine.summary);
    if let Some(pe) = d.pe() {
        println!(
            "  PE            {pe} ({}-bit weight codes, PE_KIND {})",
            e.weight_bits, detail.pe_kind
        );
    }
    for (field, value) in d.params.show() {
        println!("  {field:<13} {value}");
    }
    println!("  clock target  {} MHz", d.clock_mhz);
    println!(
        "  AXI master    bursts of up to {} beats, {} reads in flight",
        d.max_burst_beats, d.max_outstanding_reads
    );
    println!("  DESIGN_ID     {}", e.id);
    println!("  top module    {}", detail.top_module);
    for (param, value) in &detail.parameters {
        println!("    {param:<12} {value}");
    }
    println!("  core module   {}", detail.core_module);
    for (param, value) in &detail.core_parameters {
        println!("    {param:<12} {value}");
    }
    println!(
        "  RTL sources (then the generated {}):",
        detail.generated_sources.join(", ")
    );
    for source in &detail.rtl_sources {
        println!("    {source}");
    }
    Ok(Outcome::Passed)
}
