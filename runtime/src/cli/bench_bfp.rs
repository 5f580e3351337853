//! `kiln bench bfp-error`: the error tables of docs/bfp.md. The measuring
//! is in `kiln::engines::bfp::study`; this file parses and prints.

use clap::Args;
use kiln::engines::bfp::budget::host_bfp_study_bytes;
use kiln::engines::bfp::study::{conversion_error, matmul_error, ConversionError, MatmulError};

use crate::cli::gemm::check_host;
use crate::cli::output::print_json;
use crate::cli::Outcome;

#[derive(Debug, Args)]
pub struct BfpErrorArgs {
    /// Rows of A (tokens).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    m: u64,
    /// Reduction depth.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=65536))]
    k: u64,
    /// Rows of W (output features).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    n: u64,
    /// Blocks of 32 for the llama.cpp converter measurement.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    blocks: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    m: usize,
    k: usize,
    n: usize,
    seed: u64,
    matmul: Vec<MatmulError>,
    conversion: Vec<ConversionError>,
}

pub fn run(args: BfpErrorArgs) -> anyhow::Result<Outcome> {
    // The study runs on this machine alone: only its memory can be short.
    check_host(&host_bfp_study_bytes(args.m, args.k, args.n, args.blocks)?)?;
    let (m, k, n) = (args.m as usize, args.k as usize, args.n as usize);
    let report = Report {
        m,
        k,
        n,
        seed: args.seed,
        matmul: matmul_error(m, k, n, args.seed)?,
        conversion: conversion_error(args.blocks as usize, args.seed)?,
    };
    if args.json {
        print_json(&report)?;
        return Ok(Outcome::Passed);
    }
    println!(
        "MatMul M={m} K={k} N={n} (seed {}) against f64; activations mxint8 with the weights' block:",
        args.seed
    );
    println!("| data | weights | bits/weight | max error / max ref | RMS error / RMS ref |");
    println!("|---|---|---:|---:|---:|");
    for r in &report.matmul {
        println!(
            "| {} | {} | {:.3} | {:.2e} | {:.2e} |",
            r.data.name(),
            r.scheme,
            r.bits_per_weight,
            r.max_rel,
            r.rms_rel
        );
    }
    println!();
    println!(
        "llama.cpp blocks converted to BFP ({} blocks of 32, seed {}):",
        args.blocks, args.seed
    );
    println!(
        "| conversion | max error / block amax | RMS error / RMS | max error in new steps \
         | ggml RMS vs source | converted RMS vs source | direct BFP RMS vs source |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in &report.conversion {
        println!(
            "| {} | {:.2e} | {:.2e} | {:.3} | {:.2e} | {:.2e} | {:.2e} |",
            r.conversion,
            r.max_rel,
            r.rms_rel,
            r.max_steps,
            r.ggml_rms_rel,
            r.converted_rms_rel,
            r.direct_rms_rel
        );
    }
    Ok(Outcome::Passed)
}
