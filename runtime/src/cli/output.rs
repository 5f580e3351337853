//! Shared output helpers: JSON to stdout, files written whole or not at all,
//! progress bars that stay off when output is for machines.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Writes `text` to `path` through a temporary file in the same directory,
/// so that an interrupted run never leaves a half-written file.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)
        .with_context(|| format!("cannot write {}", Path::new(&tmp).display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move the new file to {}", path.display()))
}

/// A progress bar on stderr, hidden when stderr is not a terminal or when
/// the output is JSON.
pub fn progress(len: u64, json: bool) -> ProgressBar {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

/// The last lines of a simulated run's text report, shared by `kiln gemm`
/// and `kiln matmul`: projected device time, simulation speed, waveform.
pub fn print_run_tail(
    projected_us: f64,
    clock_mhz: f64,
    wall_seconds: f64,
    cycles_per_second: Option<f64>,
    trace: Option<&Path>,
) {
    println!("  projected:    {projected_us:.1} us at {clock_mhz} MHz");
    if let Some(rate) = cycles_per_second {
        println!(
            "  simulation:   {:.2} s wall, {:.2} M cycles/s",
            wall_seconds,
            rate / 1e6
        );
    }
    if let Some(path) = trace {
        println!("  waveform:     {}", path.display());
    }
}
