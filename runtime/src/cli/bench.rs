//! `kiln bench sim`, `kiln bench gemm` and `kiln bench bfp-error`.

#[path = "bench_bfp.rs"]
mod bench_bfp;
#[path = "bench_model.rs"]
mod bench_model;

use clap::{Args, Subcommand};
#[cfg(feature = "sim")]
use kiln::bench::bench_pe;

use super::output::{print_json, progress};
use super::Outcome;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Simulated PE cycles per second: one cycle per call, batched, and bare stepping.
    Sim(SimArgs),
    /// GEMM shapes on a design's RTL under a board's memory model: cycles,
    /// utilisation, stalls and simulation speed, each run checked against golden.
    Gemm(GemmBenchArgs),
    /// Error of the BFP golden MatMul against f64 (mxint8 / mxint4 weights at
    /// blocks 16, 32, 64, and per-tensor int8), and of the llama.cpp converters.
    BfpError(bench_bfp::BfpErrorArgs),
    /// Inferences per second of `kiln run`'s golden backend beside tract's
    /// own f32 execution, on the bundled digits CNN (or a given model).
    Model(bench_model::ModelBenchArgs),
}

#[derive(Debug, Args)]
pub struct GemmBenchArgs {
    /// Design to measure.
    #[arg(long, default_value = "gemm-pot-8x8")]
    design: String,
    /// Board whose memory port and clock the simulation models.
    #[arg(long, default_value = "pynq-z1")]
    board: String,
    /// Shapes: `potacc` (PoTAcc's 27 synthetic MatMuls) or one `MxNxK`.
    #[arg(long, default_value = "potacc")]
    shapes: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct GemmBenchRow {
    m: usize,
    n: usize,
    k: usize,
    cycles: u64,
    ideal_cycles: u64,
    utilisation: f64,
    stall_cycles: u64,
    bytes_read: u64,
    read_bytes_per_cycle: f64,
    projected_us: f64,
    mismatches: usize,
    sim_seconds: f64,
    sim_cycles_per_second: f64,
}

/// PoTAcc's synthetic benchmark: M in {128,256,512}, K in {64,256,1024}, N in {256,512,1024}.
fn potacc_shapes() -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    for m in [128, 256, 512] {
        for k in [64, 256, 1024] {
            for n in [256, 512, 1024] {
                shapes.push((m, n, k));
            }
        }
    }
    shapes
}

fn parse_shapes(text: &str) -> anyhow::Result<Vec<(usize, usize, usize)>> {
    if text == "potacc" {
        return Ok(potacc_shapes());
    }
    let dims: Vec<usize> = text
        .split('x')
        .map(|d| d.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            anyhow::anyhow!("--shapes `{text}`: use `potacc` or MxNxK, e.g. 256x512x1024")
        })?;
    match dims[..] {
        [m, n, k] if m > 0 && n > 0 && k > 0 => Ok(vec![(m, n, k)]),
        _ => anyhow::bail!(
            "--shapes `{text}`: use `potacc` or MxNxK with every dimension at least 1"
        ),
    }
}

fn run_gemm(args: GemmBenchArgs) -> anyhow::Result<Outcome> {
    use super::gemm::check_gemm_sizes;
    use kiln::backend::SimBackend;
    use kiln::budget::BackendMemory;
    use kiln::engines::gemm::check::run_checked;
    use kiln::engines::gemm::{random_problem, OutputMode};
    use kiln::formats::Codebook;
    use kiln::rng::SplitMix64;
    use kiln_spec::GemmArray;

    const OUTPUT: OutputMode = OutputMode::Int8 { zero_point: 3 };

    let design = super::design(&args.design)?;
    let board = kiln_spec::Board::by_name(&args.board)?;
    let shapes = parse_shapes(&args.shapes)?;
    let array = design.params::<GemmArray>()?;
    let codebook = Codebook::of_design(&design)?;
    // Every shape, before the simulator or any operand exists.
    for &(m, n, k) in &shapes {
        check_gemm_sizes(
            &design,
            &board,
            [m, n, k],
            OUTPUT,
            BackendMemory::Simulated {
                ddr_bytes: board.addresses.ddr_bytes,
            },
        )?;
    }
    let mut sim = SimBackend::open(&design, &board, None)?;
    let mut rng = SplitMix64::new(args.seed);
    let bar = progress(shapes.len() as u64, args.json);
    let mut rows = Vec::new();
    for (m, n, k) in shapes {
        bar.set_message(format!("{m}x{n}x{k}"));
        let problem = random_problem(&mut rng, &codebook, m, n, k, OUTPUT);
        let checked = run_checked(&mut sim, &design, &problem)?;
        let c = checked.counters.expect("the sim backend reports counters");
        rows.push(GemmBenchRow {
            m,
            n,
            k,
            cycles: c.cycles,
            ideal_cycles: ((m * n * k) as u64).div_ceil(u64::from(array.pes())),
            utilisation: checked.utilisation().unwrap_or(0.0),
            stall_cycles: c.stall,
            bytes_read: c.bytes_read,
            read_bytes_per_cycle: c.bytes_read as f64 / c.cycles as f64,
            projected_us: c.cycles as f64 / board.fabric_clock_mhz,
            mismatches: checked.mismatches,
            sim_seconds: checked.wall_seconds,
            sim_cycles_per_second: checked.cycles_per_second().unwrap_or(0.0),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = rows.iter().any(|r| r.mismatches > 0);
    if args.json {
        print_json(&rows)?;
    } else {
        println!(
            "{} on {} ({} MHz), every output checked against golden:",
            design.name, board.name, board.fabric_clock_mhz
        );
        println!("| M | N | K | cycles | ideal | utilisation | stall | read B/cycle | projected us | mismatches | sim M cycles/s |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} | {:.1}% | {} | {:.2} | {:.1} | {} | {:.2} |",
                r.m,
                r.n,
                r.k,
                r.cycles,
                r.ideal_cycles,
                r.utilisation * 100.0,
                r.stall_cycles,
                r.read_bytes_per_cycle,
                r.projected_us,
                r.mismatches,
                r.sim_cycles_per_second / 1e6
            );
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Passed
    })
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
    let args = match cmd {
        BenchCommand::Sim(args) => args,
        BenchCommand::Gemm(args) => return run_gemm(args),
        BenchCommand::BfpError(args) => return bench_bfp::run(args),
        BenchCommand::Model(args) => return bench_model::run(args),
    };
    run_sim(args)
}

#[cfg(not(feature = "sim"))]
fn run_sim(_: SimArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!(super::NO_SIMULATOR)
}

#[cfg(feature = "sim")]
fn run_sim(args: SimArgs) -> anyhow::Result<Outcome> {
    let pes = super::pe::select(&args.pes)?;
    let bar = progress(pes.len() as u64, args.json);
    let mut results = Vec::new();
    for (library, pe) in &pes {
        bar.set_message(pe.name.clone());
        results.push(bench_pe(library, pe, args.cycles)?);
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
