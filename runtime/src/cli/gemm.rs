//! `kiln gemm`: one random GEMM on a design, checked against the golden model.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde::Serialize;

pub use super::hardware::BackendKind;
use super::hardware::{self, resolve, HardwareArgs};
use super::output::{print_json, print_run_tail};
use super::Outcome;
use kiln::budget::{BackendMemory, Budget, HostMemory};
use kiln::engines::gemm::budget as gemm_budget;
use kiln::engines::gemm::check::{run_checked, Mismatch};
use kiln::engines::gemm::{random_problem, OutputMode};
use kiln::formats::Codebook;
use kiln::rng::SplitMix64;
use kiln_spec::GemmArray;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// Requantised int8 (per-channel multiplier and shift, output zero point).
    Int8,
    /// Raw int32 accumulators plus bias.
    Int32,
}

/// Run one random GEMM on a design and check every output against the golden model.
#[derive(Debug, Args)]
pub struct GemmArgs {
    /// Design (see `kiln designs`); default gemm-pot-8x8, or the manifest's.
    #[arg(long)]
    design: Option<String>,
    #[arg(long, default_value_t = 256)]
    m: usize,
    #[arg(long, default_value_t = 256)]
    n: usize,
    #[arg(long, default_value_t = 256)]
    k: usize,
    /// Board whose memory port and clock the simulation models (see `kiln
    /// boards`); default pynq-z1, or the manifest's.
    #[arg(long)]
    board: Option<String>,
    #[arg(long, value_enum, default_value_t = BackendKind::Sim)]
    backend: BackendKind,
    #[command(flatten)]
    hardware: HardwareArgs,
    /// Output mode.
    #[arg(long, value_enum, default_value_t = OutputArg::Int8)]
    output: OutputArg,
    /// Seed of the random operands.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write an FST waveform of the run (sim backend).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Run again on every save of a source of the project (its PEs' RTL
    /// and codebooks, its designs); only what changed is re-Verilated.
    #[arg(long)]
    watch: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    design: String,
    board: String,
    backend: &'static str,
    m: usize,
    n: usize,
    k: usize,
    output: OutputMode,
    seed: u64,
    outputs: usize,
    mismatches: usize,
    first_mismatch: Option<Mismatch>,
    cycles: Option<u64>,
    ideal_cycles: f64,
    utilisation: Option<f64>,
    busy_cycles: Option<u64>,
    stall_cycles: Option<u64>,
    bytes_read: Option<u64>,
    bytes_written: Option<u64>,
    fabric_clock_mhz: f64,
    projected_us: Option<f64>,
    wall_seconds: f64,
    simulated_cycles_per_second: Option<f64>,
    /// sha256 of the outputs (i32 little-endian, row-major).
    output_sha256: String,
}

/// The check `kiln gemm` and `kiln matmul` share: M, N and K fit the
/// 32-bit registers.
pub fn check_run_args([m, n, k]: [usize; 3]) -> anyhow::Result<()> {
    for (name, value) in [("--m", m), ("--n", n), ("--k", k)] {
        if value == 0 || value > u32::MAX as usize {
            bail!("{name} is {value}; it must be between 1 and {}", u32::MAX);
        }
    }
    Ok(())
}

/// Where `kind` keeps its device buffers on `board`, for the host side of
/// a budget.
pub fn backend_memory(kind: BackendKind, board: &kiln_spec::Board) -> BackendMemory {
    match kind {
        BackendKind::Golden => BackendMemory::Golden,
        BackendKind::Sim => BackendMemory::Simulated {
            ddr_bytes: board.addresses.ddr_bytes,
        },
        BackendKind::Devmem | BackendKind::Xrt => BackendMemory::Device,
    }
}

/// Refuses `budget` when this machine cannot hold it. When the machine's
/// memory cannot be read, says so and lets the call go ahead: a refusal
/// would rest on a guess.
pub fn check_host(budget: &Budget) -> anyhow::Result<()> {
    match HostMemory::read() {
        Ok(memory) => Ok(kiln::budget::check_host(budget, &memory)?),
        Err(e) => {
            eprintln!(
                "warning: {e}; not checking that {} fits this machine",
                budget.call
            );
            Ok(())
        }
    }
}

/// The sizes of one GEMM checked, before any operand exists: the design's
/// limits and the board's DDR, then this machine's memory for `kind`.
pub fn check_gemm_sizes(
    design: &kiln_spec::Design,
    board: &kiln_spec::Board,
    [m, n, k]: [usize; 3],
    output: OutputMode,
    kind: BackendMemory,
) -> anyhow::Result<()> {
    gemm_budget::check_gemm(design, board, m, n, k, output)?;
    check_host(&gemm_budget::host_gemm_bytes(
        design, m, n, k, output, kind,
    )?)
}

pub fn run(args: GemmArgs) -> anyhow::Result<Outcome> {
    if args.watch {
        let root = super::watch::folder(&[args.design.as_deref().unwrap_or("")])?;
        return super::watch::watch(&root, || run_once(&args));
    }
    run_once(&args)
}

fn run_once(args: &GemmArgs) -> anyhow::Result<Outcome> {
    let target = resolve(
        args.backend,
        &args.hardware,
        args.design.as_deref(),
        args.board.as_deref(),
        "gemm-pot-8x8",
    )?;
    let (design, board) = (&target.design, &target.board);
    check_run_args([args.m, args.n, args.k])?;
    design.params::<GemmArray>()?;
    let codebook = Codebook::of_design(design)?;
    let output = match args.output {
        OutputArg::Int8 => OutputMode::Int8 { zero_point: 0 },
        OutputArg::Int32 => OutputMode::Int32,
    };
    check_gemm_sizes(
        design,
        board,
        [args.m, args.n, args.k],
        output,
        backend_memory(args.backend, board),
    )?;
    let mut rng = SplitMix64::new(args.seed);
    let mut problem = random_problem(&mut rng, &codebook, args.m, args.n, args.k, output);
    if let OutputMode::Int8 { .. } = output {
        problem.output = OutputMode::Int8 {
            zero_point: rng.below(256) as u8 as i8,
        };
    }
    let mut backend = hardware::open(args.backend, &args.hardware, &target, args.trace.as_deref())?;
    let backend_name = backend.backend().name();
    let checked = run_checked(backend.backend(), design, &problem)?;
    backend.finish()?;
    let c = checked.counters;
    let report = Report {
        design: design.name.clone(),
        board: board.name.clone(),
        backend: backend_name,
        m: args.m,
        n: args.n,
        k: args.k,
        output: problem.output,
        seed: args.seed,
        outputs: checked.outputs,
        mismatches: checked.mismatches,
        first_mismatch: checked.first_mismatch,
        cycles: c.map(|c| c.cycles),
        ideal_cycles: checked.ideal_cycles,
        utilisation: checked.utilisation(),
        busy_cycles: c.map(|c| c.busy),
        stall_cycles: c.map(|c| c.stall),
        bytes_read: c.map(|c| c.bytes_read),
        bytes_written: c.map(|c| c.bytes_written),
        fabric_clock_mhz: board.fabric_clock_mhz,
        projected_us: checked.projected_us(board.fabric_clock_mhz),
        wall_seconds: checked.wall_seconds,
        simulated_cycles_per_second: checked.cycles_per_second(),
        output_sha256: checked.output_sha256.clone(),
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_text(&report, args.trace.as_deref());
    }
    Ok(if report.mismatches == 0 {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

fn print_text(r: &Report, trace: Option<&std::path::Path>) {
    println!(
        "{} {}x{}x{} ({:?}) on {} [{} backend]",
        r.design, r.m, r.n, r.k, r.output, r.board, r.backend
    );
    match &r.first_mismatch {
        None => println!(
            "  outputs:      {} checked against golden, 0 mismatches",
            r.outputs
        ),
        Some(m) => println!(
            "  outputs:      {} of {} MISMATCH; first at C[{}][{}]: got {}, expected {}",
            r.mismatches, r.outputs, m.row, m.col, m.got, m.expected
        ),
    }
    if let (Some(cycles), Some(util), Some(stall), Some(us)) =
        (r.cycles, r.utilisation, r.stall_cycles, r.projected_us)
    {
        println!("  cycles:       {cycles} (ideal {:.0})", r.ideal_cycles);
        println!("  utilisation:  {:.1}% of the PE array", util * 100.0);
        println!("  stall cycles: {stall} waiting for memory");
        print_run_tail(
            us,
            r.fabric_clock_mhz,
            r.wall_seconds,
            r.simulated_cycles_per_second,
            trace,
        );
    }
}
