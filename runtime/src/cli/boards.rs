//! `kiln boards`.

use clap::Args;
use kiln_spec::Board;

use super::output::print_json;
use super::Outcome;

#[derive(Debug, Args)]
pub struct BoardsArgs {
    /// Print JSON (every field of each board file) instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BoardsArgs) -> anyhow::Result<Outcome> {
    let boards = Board::all()?;
    if args.json {
        print_json(&boards)?;
        return Ok(Outcome::Passed);
    }
    println!(
        "{:<8} {:<21} {:<6} {:>5} {:<9} {:<31} {:>6} {:>7} {:>7} {:>7} {:>5} {:>6}",
        "board",
        "part",
        "family",
        "MHz",
        "transport",
        "rust target",
        "B/cyc",
        "rd lat",
        "LUT",
        "FF",
        "DSP",
        "BRAM36"
    );
    for b in &boards {
        let r = b.resources;
        println!(
            "{:<8} {:<21} {:<6} {:>5} {:<9} {:<31} {:>6} {:>7} {:>7} {:>7} {:>5} {:>6}",
            b.name,
            b.part,
            b.family.yosys_name(),
            b.fabric_clock_mhz,
            b.transport,
            b.rust_target,
            b.memory.bytes_per_cycle,
            b.memory.read_latency_cycles,
            r.lut,
            r.ff,
            r.dsp,
            r.bram36
        );
    }
    Ok(Outcome::Passed)
}
