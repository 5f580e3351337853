//! `--watch`: run a command again whenever a source of the project is saved.
//!
//! The project folder (or the folder of a PE or design given by path) is
//! watched recursively with the `notify` crate; a save of any `.sv`, `.svh`,
//! `.v` or `.toml` file there re-reads the project and re-runs the command.
//! Editors write a file in several steps (a temporary file, a rename), so
//! events are gathered for a short quiet period before the run. What did
//! not change is not built again: the simulator cache keys every model by
//! its sources' bytes.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use notify::{RecursiveMode, Watcher};

use super::Outcome;

/// How long events are gathered after the first before running again.
const QUIET: Duration = Duration::from_millis(200);

/// The folder `--watch` watches: the project's, else the folder of the
/// first path argument among `args`.
pub(super) fn folder(args: &[&str]) -> anyhow::Result<PathBuf> {
    if let Some(root) = super::project_root() {
        return Ok(root);
    }
    for arg in args {
        let path = Path::new(arg);
        if kiln_spec::project::looks_like_path(arg) && path.exists() {
            let dir = if path.is_dir() {
                path
            } else {
                path.parent().unwrap_or(Path::new("."))
            };
            return Ok(std::fs::canonicalize(dir)?);
        }
    }
    anyhow::bail!(
        "--watch watches a project's sources (built-in PEs and designs do not change): \
         run it in a project made by `kiln new`, or name a PE folder or design file by path"
    )
}

/// Runs `once` now and again after every change under `root`, until
/// interrupted. Errors of a run (an RTL error, a bad codebook) are printed
/// and the watch goes on.
pub(super) fn watch(
    root: &Path,
    mut once: impl FnMut() -> anyhow::Result<Outcome>,
) -> anyhow::Result<Outcome> {
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .context("starting the file watcher")?;
    watcher
        .watch(root, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", root.display()))?;
    loop {
        super::reload_catalog();
        let start = Instant::now();
        let verdict = match once() {
            Ok(Outcome::Passed) => "PASSED".to_string(),
            Ok(Outcome::Failed) => "FAILED (mismatches above)".to_string(),
            Err(e) => {
                eprintln!("error: {e:#}");
                "ERROR".to_string()
            }
        };
        eprintln!(
            "kiln: {verdict} in {:.1} s; watching {} for changes (Ctrl-C to stop)",
            start.elapsed().as_secs_f64(),
            root.display()
        );
        wait_for_change(&rx)?;
    }
}

/// Blocks until a relevant file changes, then drains what follows it.
fn wait_for_change(rx: &mpsc::Receiver<notify::Result<notify::Event>>) -> anyhow::Result<()> {
    loop {
        let event = rx.recv().context("the file watcher stopped")?;
        if event.is_ok_and(|e| relevant(&e)) {
            break;
        }
    }
    let until = Instant::now() + QUIET;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if rx.recv_timeout(left).is_err() {
            break;
        }
    }
    Ok(())
}

/// A change to a source: not a read, not a hidden or editor swap file.
fn relevant(event: &notify::Event) -> bool {
    if matches!(event.kind, notify::EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|p| {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let source = p
            .extension()
            .is_some_and(|x| matches!(x.to_str(), Some("sv" | "svh" | "v" | "toml")));
        source && !hidden
    })
}
