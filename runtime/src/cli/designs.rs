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
    name: &'a str,
    summary: &'a str,
    engine: kiln_spec::Engine,
    pe: &'a str,
    weight_bits: u32,
    rows: u32,
    cols: u32,
    m_tiles: u32,
    n_tiles: u32,
    block_rows: u32,
    block_cols: u32,
    k_depth: u32,
    clock_mhz: f64,
    max_burst_beats: u32,
    max_outstanding_reads: u32,
    /// The DESIGN_ID register value, `0x` and eight hex digits.
    id: String,
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(flatten)]
    entry: Entry<'a>,
    pe_kind: u32,
    top_module: &'static str,
    /// Top-module parameters as (name, Verilog literal).
    parameters: Vec<(&'static str, String)>,
    /// RTL sources relative to the repository root, dependencies first;
    /// the generated `gemm_pe` binding goes after them.
    rtl_sources: Vec<String>,
}

fn entry(design: &Design) -> anyhow::Result<Entry<'_>> {
    Ok(Entry {
        name: &design.name,
        summary: &design.summary,
        engine: design.engine,
        pe: &design.pe,
        weight_bits: design.weight_bits()?,
        rows: design.rows,
        cols: design.cols,
        m_tiles: design.m_tiles,
        n_tiles: design.n_tiles,
        block_rows: design.block_rows(),
        block_cols: design.block_cols(),
        k_depth: design.k_depth,
        clock_mhz: design.clock_mhz,
        max_burst_beats: design.max_burst_beats,
        max_outstanding_reads: design.max_outstanding_reads,
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
    let designs = Design::listed()?;
    let entries: Vec<Entry<'_>> = designs.iter().map(entry).collect::<Result<_, _>>()?;
    if json {
        print_json(&entries)?;
        return Ok(Outcome::Passed);
    }
    println!(
        "{:<16} {:<6} {:<10} {:>5} {:>5} {:>6} {:>7} {:>10}  summary",
        "design", "engine", "PE", "array", "block", "k_depth", "MHz", "id"
    );
    for e in &entries {
        println!(
            "{:<16} {:<6} {:<10} {:>5} {:>5} {:>6} {:>7} {:>10}  {}",
            e.name,
            serde_json::to_value(e.engine)?.as_str().unwrap_or("?"),
            e.pe,
            format!("{}x{}", e.rows, e.cols),
            format!("{}x{}", e.block_rows, e.block_cols),
            e.k_depth,
            e.clock_mhz,
            e.id,
            e.summary
        );
    }
    Ok(Outcome::Passed)
}

fn show(name: &str, json: bool) -> anyhow::Result<Outcome> {
    let design = Design::by_name(name)?;
    let detail = Detail {
        entry: entry(&design)?,
        pe_kind: design.pe_kind()?,
        top_module: design.top_module(),
        parameters: design.top_parameters()?,
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
    println!("{}: {}", e.name, e.summary);
    println!(
        "  engine        {}",
        serde_json::to_value(e.engine)?.as_str().unwrap_or("?")
    );
    println!(
        "  PE            {} ({}-bit weight codes, PE_KIND {})",
        e.pe, e.weight_bits, detail.pe_kind
    );
    println!("  array         {} rows x {} cols", e.rows, e.cols);
    println!(
        "  output block  {} x {} ({} x {} tiles)",
        e.block_rows, e.block_cols, e.m_tiles, e.n_tiles
    );
    println!("  k_depth       {}", e.k_depth);
    println!("  clock target  {} MHz", e.clock_mhz);
    println!(
        "  AXI master    bursts of up to {} beats, {} reads in flight",
        e.max_burst_beats, e.max_outstanding_reads
    );
    println!("  DESIGN_ID     {}", e.id);
    println!("  top module    {}", detail.top_module);
    for (param, value) in &detail.parameters {
        println!("    {param:<12} {value}");
    }
    println!("  RTL sources (then the generated gemm_pe binding):");
    for source in &detail.rtl_sources {
        println!("    {source}");
    }
    Ok(Outcome::Passed)
}
