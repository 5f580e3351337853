//! `kiln cache`: the simulator's cache of built models.

#[cfg(feature = "sim")]
use std::path::PathBuf;

use clap::Args;
#[cfg(feature = "sim")]
use serde::Serialize;

#[cfg(feature = "sim")]
use super::output::print_json;
use super::Outcome;

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Remove every built simulation model (they are built again on use).
    #[arg(long)]
    clean: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[cfg(feature = "sim")]
#[derive(Debug, Serialize)]
struct CacheReport {
    dir: PathBuf,
    models: Vec<CachedModel>,
    bytes: u64,
    removed: Option<usize>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Serialize)]
struct CachedModel {
    key: String,
    model: String,
    bytes: u64,
}

/// `kiln cache`: the simulator cache's models and their size; `--clean`
/// empties it.
#[cfg(feature = "sim")]
pub fn run(args: CacheArgs) -> anyhow::Result<Outcome> {
    let dir = kiln_sim::cache::cache_root()?;
    let removed = if args.clean {
        Some(kiln_sim::cache::clean()?.0)
    } else {
        None
    };
    let models: Vec<CachedModel> = kiln_sim::cache::entries()?
        .into_iter()
        .map(|e| CachedModel {
            key: e.key,
            model: e.label,
            bytes: e.bytes,
        })
        .collect();
    let report = CacheReport {
        bytes: models.iter().map(|m| m.bytes).sum(),
        dir,
        models,
        removed,
    };
    if args.json {
        print_json(&report)?;
        return Ok(Outcome::Passed);
    }
    if let Some(n) = report.removed {
        println!("removed {n} models from {}", report.dir.display());
    }
    for m in &report.models {
        println!(
            "{}  {:>8.1} KiB  {}",
            m.key,
            m.bytes as f64 / 1024.0,
            m.model
        );
    }
    println!(
        "{} models, {:.1} MiB in {}",
        report.models.len(),
        report.bytes as f64 / (1024.0 * 1024.0),
        report.dir.display()
    );
    Ok(Outcome::Passed)
}

#[cfg(not(feature = "sim"))]
pub fn run(_: CacheArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!(super::NO_SIMULATOR)
}
