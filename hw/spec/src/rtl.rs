//! kiln's own RTL, carried inside the binary and written out as real files
//! when a tool needs them.
//!
//! Verilator, yosys and Vivado read files, and an installed or
//! cross-compiled `kiln` has no source tree beside it. So every file of
//! hw/ip/*/rtl (and the test PEs of hw/ip/pe/dv) is embedded at compile
//! time and, on first use, written under the cache directory in a folder
//! named by the hash of all of them: `<cache>/rtl/<hash>/hw/ip/...`. The
//! folder is written under a temporary name and renamed into place, so a
//! reader never sees half of it, and it is never changed once there: a
//! kiln built from other RTL gets another folder.
//!
//! Paths in designs and the PE library are relative to the repository
//! root for built-in RTL and absolute for a user's; `builtin_root().join(p)`
//! gives the file to read in both cases.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::SpecError;

include!(concat!(env!("OUT_DIR"), "/rtl_files.rs"));

/// Every built-in RTL file, as (path relative to the repository root, text).
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    RTL_FILES
}

/// The text of a built-in RTL file, by its path relative to the repository
/// root.
pub fn builtin_text(path: &str) -> Option<&'static str> {
    RTL_FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// SHA-256 over every built-in file's path and text, in hex.
pub fn builtin_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut hash = Sha256::new();
        for (path, text) in RTL_FILES {
            hash.update((path.len() as u64).to_le_bytes());
            hash.update(path.as_bytes());
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text.as_bytes());
        }
        hex(&hash.finalize())
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory kiln caches built simulators and written-out RTL in:
/// `$KILN_CACHE` if set, else the user's cache directory (XDG on Linux,
/// `~/.cache/kiln` when `XDG_CACHE_HOME` is unset).
pub fn cache_dir() -> Result<PathBuf, SpecError> {
    if let Some(dir) = std::env::var_os("KILN_CACHE").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir()
        .map(|d| d.join("kiln"))
        .ok_or_else(|| SpecError::Io {
            path: "$KILN_CACHE".into(),
            message: "no cache directory: set KILN_CACHE (or HOME) to a writable directory".into(),
        })
}

/// The root under which the built-in RTL is written out: the files are at
/// `builtin_root()?.join("hw/ip/...")`. Written once per cache and kiln
/// build; later calls return at once.
pub fn builtin_root() -> Result<PathBuf, SpecError> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| write_out().map_err(|e| e.to_string()))
        .clone()
        .map_err(|message| SpecError::Io {
            path: "built-in RTL".into(),
            message,
        })
}

/// Marks a complete folder; checked before trusting one.
const COMPLETE: &str = ".complete";

fn write_out() -> Result<PathBuf, SpecError> {
    let parent = cache_dir()?.join("rtl");
    let dest = parent.join(&builtin_hash()[..16]);
    let complete = |dir: &Path| dir.join(COMPLETE).is_file();
    if complete(&dest) {
        return Ok(dest);
    }
    let io = |path: &Path, e: std::io::Error| SpecError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    crate::publish::publish_dir(
        &dest,
        complete,
        |staging| {
            for (path, text) in RTL_FILES {
                let file = staging.join(path);
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                }
                std::fs::write(&file, text).map_err(|e| io(&file, e))?;
            }
            std::fs::write(staging.join(COMPLETE), builtin_hash()).map_err(|e| io(staging, e))
        },
        io,
    )?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_design_and_pe_source_is_embedded() {
        for design in crate::Design::all().unwrap() {
            for path in design.rtl_sources().unwrap() {
                let path = path.to_string_lossy();
                assert!(builtin_text(&path).is_some(), "{path} of {}", design.name);
            }
        }
        for pe in &crate::PeLibrary::builtin().unwrap().pes {
            for path in &pe.rtl {
                let path = path.to_string_lossy();
                assert!(
                    builtin_text(&path).is_some_and(|t| t.contains(&pe.name)),
                    "{path}"
                );
            }
        }
        for header in crate::shell::HEADERS {
            assert!(builtin_text(header).is_some(), "{header}");
        }
    }
}
