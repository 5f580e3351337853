//! Bringing the committed generated files up to date: compare each with
//! its fresh rendering, and write the stale ones (each to a temporary name,
//! then renamed, so no reader sees half a file). `kiln regs generate` and
//! the `kiln-regs` bootstrap (`make regs`, which needs neither the runtime
//! nor the simulator, so an engine's generated files can be written before
//! the code that uses them compiles) share it.

use std::path::Path;

use super::{generated_files, GeneratedFile, RegisterMap};
use crate::SpecError;

/// One generated file against the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// Relative to the repository root.
    pub path: String,
    /// The committed file differs from its rendering (or is missing).
    pub stale: bool,
    /// This run wrote it.
    pub written: bool,
}

fn io(path: &Path, e: std::io::Error) -> SpecError {
    SpecError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn is_stale(root: &Path, file: &GeneratedFile) -> Result<bool, SpecError> {
    let path = root.join(&file.path);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text != file.text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(&path, e)),
    }
}

/// Every generated file of `map` under `root`; the stale ones are written
/// when `write` is set.
pub fn sync_generated(
    root: &Path,
    map: &RegisterMap,
    write: bool,
) -> Result<Vec<Synced>, SpecError> {
    let mut out = Vec::new();
    for file in generated_files(map)? {
        let stale = is_stale(root, &file)?;
        let written = stale && write;
        if written {
            let path = root.join(&file.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
            }
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".tmp");
            std::fs::write(&tmp, &file.text).map_err(|e| io(Path::new(&tmp), e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        }
        out.push(Synced {
            path: file.path,
            stale,
            written,
        });
    }
    Ok(out)
}
