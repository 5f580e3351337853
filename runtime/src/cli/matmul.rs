//! `kiln matmul`: one BFP MatMul from f32 data, or an LLM workload's
//! per-token MatMuls, on a BFP design; checked bit for bit against the
//! golden model and within the documented bound against f64.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::gemm::{backend_memory, check_host, check_run_args};
use super::hardware::{self, resolve, BackendKind, HardwareArgs};
use super::output::{print_json, print_run_tail, progress};
use super::Outcome;
use kiln::backend::Backend;
use kiln::engines::bfp::budget as bfp_budget;
use kiln::engines::bfp::check::{run_checked_matmul, CheckedMatmul, MatmulMismatch};
use kiln::engines::bfp::layout::row_bytes;
use kiln::engines::bfp::study::{generate, DataSet};
use kiln::engines::bfp::weight_format;
use kiln::workload::{Reference, Workload};
use kiln_spec::{BfpEngine, Board, Design};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataArg {
    /// N(0, 1) activations and weights.
    Gaussian,
    /// Gaussian, with 0.1% of activations 100x larger (LLM-like outliers).
    Outliers,
}

/// Run a BFP MatMul (C = A W^T from random f32 data) on a BFP design, or
/// project an LLM workload's MatMul time per token.
#[derive(Debug, Args)]
pub struct MatmulArgs {
    /// BFP design (see `kiln designs`); default bfp-mxint8, or the manifest's.
    #[arg(long)]
    design: Option<String>,
    /// Rows of A and C (tokens).
    #[arg(long, default_value_t = 1)]
    m: usize,
    /// Reduction length.
    #[arg(long, default_value_t = 2048, conflicts_with = "workload")]
    k: usize,
    /// Output features: rows of W, columns of C.
    #[arg(long, default_value_t = 2048, conflicts_with = "workload")]
    n: usize,
    /// Project a model's MatMul time per generated token instead: `tinyllama`.
    #[arg(long)]
    workload: Option<String>,
    /// Board whose memory port and clock the simulation models (see `kiln
    /// boards`); default pynq-z1, or the manifest's.
    #[arg(long)]
    board: Option<String>,
    #[arg(long, value_enum, default_value_t = BackendKind::Sim)]
    backend: BackendKind,
    #[command(flatten)]
    hardware: HardwareArgs,
    /// The random f32 data quantised to BFP.
    #[arg(long, value_enum, default_value_t = DataArg::Outliers)]
    data: DataArg,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write an FST waveform of the run (sim backend, single MatMul).
    #[arg(long, conflicts_with = "workload")]
    trace: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// One checked MatMul, as reported.
#[derive(Debug, Serialize)]
struct MatmulReport {
    m: usize,
    n: usize,
    k: usize,
    outputs: usize,
    mismatches: usize,
    first_mismatch: Option<MatmulMismatch>,
    max_abs_error: f64,
    worst_bound_ratio: f64,
    outside_bound: usize,
    infinite: usize,
    /// sha256 of the outputs (f32 bits little-endian, row-major).
    output_sha256: String,
    cycles: Option<u64>,
    compute_cycles: f64,
    peak_compute_cycles: f64,
    memory_cycles: Option<f64>,
    utilisation: Option<f64>,
    memory_roof_share: Option<f64>,
    stall_cycles: Option<u64>,
    bytes_read: Option<u64>,
    bytes_written: Option<u64>,
    projected_us: Option<f64>,
    wall_seconds: f64,
    simulated_cycles_per_second: Option<f64>,
}

impl MatmulReport {
    fn new(shape: (usize, usize, usize), c: &CheckedMatmul, board: &Board) -> Self {
        let memory = c.memory_cycles(board.memory.bytes_per_cycle);
        let counters = c.counters;
        Self {
            m: shape.0,
            n: shape.1,
            k: shape.2,
            outputs: c.outputs,
            mismatches: c.mismatches,
            first_mismatch: c.first_mismatch,
            max_abs_error: c.max_abs_error,
            worst_bound_ratio: c.worst_bound_ratio,
            outside_bound: c.outside_bound,
            infinite: c.infinite,
            output_sha256: c.output_sha256.clone(),
            cycles: counters.map(|c| c.cycles),
            compute_cycles: c.compute_cycles,
            peak_compute_cycles: c.peak_compute_cycles,
            memory_cycles: memory,
            utilisation: c.utilisation(),
            memory_roof_share: memory.zip(counters).map(|(m, c)| m / c.cycles as f64),
            stall_cycles: counters.map(|c| c.stall),
            bytes_read: counters.map(|c| c.bytes_read),
            bytes_written: counters.map(|c| c.bytes_written),
            projected_us: c.projected_us(board.fabric_clock_mhz),
            wall_seconds: c.wall_seconds,
            simulated_cycles_per_second: c.cycles_per_second(),
        }
    }

    fn passed(&self) -> bool {
        self.mismatches == 0 && self.outside_bound == 0
    }
}

#[derive(Debug, Serialize)]
struct SingleReport {
    design: String,
    board: String,
    backend: &'static str,
    data: &'static str,
    seed: u64,
    fabric_clock_mhz: f64,
    #[serde(flatten)]
    run: MatmulReport,
}

#[derive(Debug, Serialize)]
struct ShapeRow {
    name: &'static str,
    per_token: usize,
    #[serde(flatten)]
    run: MatmulReport,
}

#[derive(Debug, Serialize)]
struct WorkloadReport {
    workload: &'static str,
    summary: &'static str,
    design: String,
    board: String,
    backend: &'static str,
    fabric_clock_mhz: f64,
    shapes: Vec<ShapeRow>,
    /// Simulated cycles of every MatMul of one token.
    cycles_per_token: Option<u64>,
    /// Cycles at the memory roof (bytes read / sustained bytes per cycle).
    memory_cycles_per_token: Option<f64>,
    /// Cycles if every lane did useful MACs every cycle.
    peak_compute_cycles_per_token: f64,
    seconds_per_token: Option<f64>,
    reference: Option<Reference>,
    /// Weights in the design's format, the stored-only tables included.
    weight_bytes: u64,
    ddr_bytes: u64,
    weights_fit_ddr: bool,
}

pub fn run(args: MatmulArgs) -> anyhow::Result<Outcome> {
    let target = resolve(
        args.backend,
        &args.hardware,
        args.design.as_deref(),
        args.board.as_deref(),
        "bfp-mxint8",
    )?;
    let (design, board) = (&target.design, &target.board);
    let k_depth = design.params::<BfpEngine>()?.k_depth as usize;
    check_run_args([args.m, args.n, args.k])?;
    let data = match args.data {
        DataArg::Gaussian => DataSet::Gaussian,
        DataArg::Outliers => DataSet::Outliers,
    };
    if let Some(name) = &args.workload {
        let workload = Workload::by_name(name)?;
        let longest = workload.matmuls.iter().map(|m| m.k).max().unwrap_or(0);
        if weight_format(design)?.padded_k(longest) > k_depth {
            bail!(
                "{} needs K up to {longest}; design `{}` holds K up to {k_depth}",
                workload.name,
                design.name
            );
        }
        if args.trace.is_some() {
            bail!("--trace records one MatMul; it does not combine with --workload");
        }
        // Every shape, before the first one's data exists.
        for mm in &workload.matmuls {
            check_matmul_sizes(design, board, [args.m, mm.k, mm.n], args.backend)
                .with_context(|| format!("{} {}", workload.name, mm.name))?;
        }
        let mut backend = hardware::open(args.backend, &args.hardware, &target, None)?;
        let report = run_workload(backend.backend(), design, board, &workload, &args, data)?;
        backend.finish()?;
        let passed = report.shapes.iter().all(|s| s.run.passed());
        if args.json {
            print_json(&report)?;
        } else {
            print_workload(&report);
        }
        return Ok(if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        });
    }
    if weight_format(design)?.padded_k(args.k) > k_depth {
        bail!(
            "--k {} is longer than design `{}` holds (K up to {k_depth})",
            args.k,
            design.name
        );
    }
    check_matmul_sizes(design, board, [args.m, args.k, args.n], args.backend)?;
    let shape = (args.m, args.n, args.k);
    let (a, w) = generate(data, args.seed, args.m, args.k, args.n);
    let mut backend = hardware::open(args.backend, &args.hardware, &target, args.trace.as_deref())?;
    let backend_name = backend.backend().name();
    let checked = run_checked_matmul(backend.backend(), design, shape, &a, &w)?;
    // Finishes the waveform, reporting a failure to write it.
    backend.finish()?;
    let report = SingleReport {
        design: design.name.clone(),
        board: board.name.clone(),
        backend: backend_name,
        data: data.name(),
        seed: args.seed,
        fabric_clock_mhz: board.fabric_clock_mhz,
        run: MatmulReport::new(shape, &checked, board),
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_single(&report, args.trace.as_deref());
    }
    Ok(if report.run.passed() {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

/// The sizes of one MatMul of M x K activations by N x K weights checked
/// before any data exists: the design's limits and the board's DDR, then
/// this machine's memory for the backend.
fn check_matmul_sizes(
    design: &Design,
    board: &Board,
    [m, k, n]: [usize; 3],
    kind: BackendKind,
) -> anyhow::Result<()> {
    bfp_budget::check_matmul(design, board, m, k, n)?;
    check_host(&bfp_budget::host_matmul_bytes(
        design,
        m,
        k,
        n,
        backend_memory(kind, board),
    )?)
}

fn run_workload(
    backend: &mut dyn Backend,
    design: &Design,
    board: &Board,
    workload: &Workload,
    args: &MatmulArgs,
    data: DataSet,
) -> anyhow::Result<WorkloadReport> {
    let bar = progress(workload.matmuls.len() as u64, args.json);
    let mut shapes = Vec::new();
    for (i, mm) in workload.matmuls.iter().enumerate() {
        bar.set_message(format!("{} {}x{}x{}", mm.name, args.m, mm.n, mm.k));
        let shape = (args.m, mm.n, mm.k);
        let (a, w) = generate(data, args.seed + i as u64, args.m, mm.k, mm.n);
        let checked = run_checked_matmul(backend, design, shape, &a, &w)
            .with_context(|| format!("{} ({}x{}x{})", mm.name, args.m, mm.n, mm.k))?;
        shapes.push(ShapeRow {
            name: mm.name,
            per_token: mm.per_token,
            run: MatmulReport::new(shape, &checked, board),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let per_token = |f: &dyn Fn(&MatmulReport) -> Option<f64>| -> Option<f64> {
        shapes
            .iter()
            .map(|s| f(&s.run).map(|v| v * s.per_token as f64))
            .sum()
    };
    let cycles = per_token(&|r| r.cycles.map(|c| c as f64));
    let format = weight_format(design)?;
    let weight_bytes: u64 = workload
        .matmuls
        .iter()
        .map(|m| (m.n * row_bytes(format, m.k) * m.per_token) as u64)
        .chain(
            workload
                .stored_only
                .iter()
                .map(|&(_, rows, k)| (rows * row_bytes(format, k)) as u64),
        )
        .sum();
    Ok(WorkloadReport {
        workload: workload.name,
        summary: workload.summary,
        design: design.name.clone(),
        board: board.name.clone(),
        backend: backend.name(),
        fabric_clock_mhz: board.fabric_clock_mhz,
        cycles_per_token: cycles.map(|c| c as u64),
        memory_cycles_per_token: per_token(&|r| r.memory_cycles),
        peak_compute_cycles_per_token: per_token(&|r| Some(r.peak_compute_cycles)).unwrap_or(0.0),
        seconds_per_token: cycles.map(|c| c / (board.fabric_clock_mhz * 1e6)),
        reference: workload.reference,
        weight_bytes,
        ddr_bytes: board.addresses.ddr_bytes,
        weights_fit_ddr: weight_bytes <= board.addresses.ddr_bytes,
        shapes,
    })
}

fn print_single(r: &SingleReport, trace: Option<&std::path::Path>) {
    let m = &r.run;
    println!(
        "{} {}x{}x{} ({} data, seed {}) on {} [{} backend]",
        r.design, m.m, m.n, m.k, r.data, r.seed, r.board, r.backend
    );
    match &m.first_mismatch {
        None => println!(
            "  golden:       {} outputs bit-identical to the golden model",
            m.outputs
        ),
        Some(x) => println!(
            "  golden:       {} of {} MISMATCH; first at C[{}][{}]: got {:e}, expected {:e}",
            m.mismatches, m.outputs, x.row, x.col, x.got, x.expected
        ),
    }
    println!(
        "  f64:          max |error| {:.3e}, at most {:.1}% of the bound{}",
        m.max_abs_error,
        m.worst_bound_ratio * 100.0,
        if m.outside_bound > 0 {
            format!(", {} OUTSIDE the bound", m.outside_bound)
        } else {
            String::new()
        }
    );
    if let (Some(cycles), Some(util), Some(memory), Some(us)) =
        (m.cycles, m.utilisation, m.memory_cycles, m.projected_us)
    {
        println!(
            "  cycles:       {cycles} (lanes alone {:.0}, memory roof {memory:.0}, all lanes busy {:.0})",
            m.compute_cycles, m.peak_compute_cycles
        );
        println!(
            "  utilisation:  {:.1}% of the lanes' MACs; {:.1}% of the memory roof",
            util * 100.0,
            m.memory_roof_share.unwrap_or(0.0) * 100.0
        );
        print_run_tail(
            us,
            r.fabric_clock_mhz,
            m.wall_seconds,
            m.simulated_cycles_per_second,
            trace,
        );
    }
}

fn print_workload(r: &WorkloadReport) {
    println!(
        "{} on {} ({}) [{} backend]",
        r.workload, r.design, r.board, r.backend
    );
    println!("  {}", r.summary);
    println!(
        "  {:<10} {:>6} {:>6} {:>5} {:>11} {:>9} {:>7} {:>6}  check",
        "matmul", "K", "N", "x", "cycles", "us", "mem %", "util %"
    );
    for s in &r.shapes {
        let m = &s.run;
        println!(
            "  {:<10} {:>6} {:>6} {:>5} {:>11} {:>9.1} {:>7.1} {:>6.1}  {}",
            s.name,
            m.k,
            m.n,
            s.per_token,
            m.cycles.map_or("-".to_string(), |c| c.to_string()),
            m.projected_us.unwrap_or(0.0),
            m.memory_roof_share.unwrap_or(0.0) * 100.0,
            m.utilisation.unwrap_or(0.0) * 100.0,
            if m.passed() {
                "bit-exact, within bound"
            } else {
                "FAILED"
            }
        );
    }
    if let (Some(cycles), Some(seconds)) = (r.cycles_per_token, r.seconds_per_token) {
        println!(
            "  per token:    {cycles} cycles = {seconds:.3} s at {} MHz",
            r.fabric_clock_mhz
        );
        if let Some(memory) = r.memory_cycles_per_token {
            println!(
                "  memory roof:  {memory:.0} cycles; the run is at {:.1}% of it; all lanes busy would need {:.0} ({:.1}x fewer)",
                memory / cycles as f64 * 100.0,
                r.peak_compute_cycles_per_token,
                memory / r.peak_compute_cycles_per_token
            );
        }
    }
    if let Some(reference) = r.reference {
        println!(
            "  reference:    {} {:.1} s per token on {}",
            reference.system, reference.seconds_per_token, reference.board
        );
    }
    println!(
        "  weights:      {:.1} MiB in this format; DDR {:.0} MiB: {}",
        r.weight_bytes as f64 / 1048576.0,
        r.ddr_bytes as f64 / 1048576.0,
        if r.weights_fit_ddr {
            "fits"
        } else {
            "does NOT fit"
        }
    );
}
