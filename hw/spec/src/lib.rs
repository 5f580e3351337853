//! kiln's hardware descriptions, parsed in one place.
//!
//! The PE library (`hw/ip/pe/data/codebooks.toml`), the test-only PEs
//! (`hw/ip/pe/dv/test_pes.toml`), the board files (`boards/*.toml`), the
//! design files (`hw/designs/*.toml`), the register map
//! (`hw/regs/kiln.toml`), the shell's port table (`hw/regs/shell.toml`) and
//! the engines (`hw/engines.toml`, `hw/ip/<engine>/engine.toml`) are embedded at compile time, so a cross-compiled
//! `kiln` carries them, and parsed here for both build scripts and the
//! runtime. Nothing else in the workspace reads those files.

mod board;
mod codes;
mod design;
pub mod engines;
mod pe;
pub mod project;
pub mod publish;
pub mod regs;
pub mod rtl;
pub mod shell;

pub use board::{Addresses, Board, Family, Memory, Resources};
pub use codes::{code_container_bits, WEIGHT_BITS};
pub use design::{Design, Identity};
pub use engines::{BfpEngine, EngineDesc, EngineIdentity, EngineParams, GemmArray, Params};
pub use pe::{Encoding, PeLibrary, PeSpec, PortShape};
pub use project::{Catalog, Project};
pub use regs::{Field, HwAccess, Register, RegisterMap, SwAccess};
pub use shell::ShellPorts;

use std::path::PathBuf;

/// A hardware description that does not parse or does not make sense.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The TOML text itself is malformed or has unknown fields.
    #[error("{file}: {source}")]
    Toml {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    /// The file parsed but a value is out of range or inconsistent.
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// A name was looked up that no description declares.
    #[error("no {what} named `{name}`; known: {known}")]
    Unknown {
        what: &'static str,
        name: String,
        known: String,
    },
    /// A design of one engine was given where another engine is needed.
    #[error("design `{design}` is a {engine} engine; this needs a {wanted} design ({known})")]
    WrongEngine {
        design: String,
        engine: String,
        wanted: String,
        known: String,
    },
}

/// The root of the kiln source tree: `$KILN_ROOT` if set, else the tree this
/// crate was compiled from. Used by `kiln regs generate`, the bundled digits
/// model and the tests; RTL is read from [`rtl::builtin_root`], which an
/// installed kiln has too.
pub fn repo_root() -> PathBuf {
    match std::env::var_os("KILN_ROOT") {
        Some(root) => PathBuf::from(root),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
    }
}

pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, SpecError> {
    toml::from_str(text).map_err(|source| SpecError::Toml {
        file: file.to_string(),
        source,
    })
}

/// Checks that a description's `name` is its file's name without `.toml`,
/// so that `--board NAME` / `--design NAME` and the file always agree.
pub(crate) fn check_file_name(file: &str, name: &str) -> Result<(), SpecError> {
    let expected = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".toml");
    if name == expected {
        Ok(())
    } else {
        Err(invalid(
            file,
            format!("name is `{name}`, must match the file name `{expected}`"),
        ))
    }
}

pub(crate) fn invalid(file: &str, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        file: file.to_string(),
        message: message.into(),
    }
}
