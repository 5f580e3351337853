//! Bitstream manifests: what a built .bit or .xclbin implements.
//!
//! A manifest is a TOML file beside its bitstream (bitstreams/README.md
//! documents every field). It names the design with the parameters it was
//! built from, the identity registers that design must report, the
//! register-map version, the board, the tools and the file's sha256. kiln
//! refuses a manifest that does not match the design it knows by that name,
//! a bitstream whose hash differs, and (when it opens the hardware) identity
//! registers that differ from the manifest's, before any DMA.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_driver::DesignIdentity;
use kiln_spec::{Board, Design, SpecError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::expected_design;

/// The manifest format this kiln reads and writes.
pub const FORMAT: u32 = 1;

/// One bitstream's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version ([`FORMAT`]).
    pub format: u32,
    /// Design name (hw/designs/<design>.toml).
    pub design: String,
    /// Board name (boards/<board>.toml).
    pub board: String,
    /// The bitstream (.bit, .bin or .xclbin), relative to the manifest.
    pub file: String,
    /// sha256 of that file, 64 lowercase hex digits.
    pub sha256: String,
    /// Version of hw/regs/kiln.toml the RTL was generated from.
    pub register_map_version: u32,
    /// Build date, YYYY-MM-DD (UTC).
    pub built: String,
    /// Tool versions: `vivado = "2023.2"`, `kiln = "0.1.0"`.
    pub tools: BTreeMap<String, String>,
    /// What the identity registers must read.
    pub identity: ManifestIdentity,
    /// The design's parameters when the bitstream was built (the fields of
    /// its design file).
    pub parameters: toml::Table,
}

/// The identity registers, as the manifest records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestIdentity {
    pub magic: u32,
    pub design_id: u32,
    pub engine: u32,
    pub block: u32,
    pub rows: u32,
    pub cols: u32,
    pub pe_kind: u32,
    pub weight_bits: u32,
    pub k_depth: u32,
    pub m_tiles: u32,
    pub n_tiles: u32,
}

impl ManifestIdentity {
    fn of(design: &Design) -> Result<Self, SpecError> {
        let d = expected_design(design)?.identity;
        Ok(Self {
            magic: kiln_driver::regs::MAGIC_VALUE,
            design_id: d.id,
            engine: d.engine,
            block: d.block,
            rows: d.rows,
            cols: d.cols,
            pe_kind: d.pe_kind,
            weight_bits: d.weight_bits,
            k_depth: d.k_depth,
            m_tiles: d.m_tiles,
            n_tiles: d.n_tiles,
        })
    }

    /// The driver's view of the same identity.
    pub fn design_identity(&self) -> DesignIdentity {
        DesignIdentity {
            id: self.design_id,
            engine: self.engine,
            block: self.block,
            rows: self.rows,
            cols: self.cols,
            pe_kind: self.pe_kind,
            weight_bits: self.weight_bits,
            k_depth: self.k_depth,
            m_tiles: self.m_tiles,
            n_tiles: self.n_tiles,
        }
    }
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {path} is not a valid manifest: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("manifest {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "bitstream {file} does not match its manifest {path}: its sha256 is {found}, \
         the manifest says {expected}"
    )]
    Hash {
        path: PathBuf,
        file: PathBuf,
        expected: String,
        found: String,
    },
    #[error("cannot read bitstream {file} named by manifest {path}: {source}")]
    Bitstream {
        path: PathBuf,
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// sha256 of a file, as 64 lowercase hex digits.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date((secs / 86_400) as i64)
}

/// The proleptic Gregorian date `days` after 1970-01-01.
fn civil_date(days: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm, in eras of 400 years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn parameters_of(design: &Design) -> Result<toml::Table, SpecError> {
    match toml::Value::try_from(design) {
        Ok(toml::Value::Table(t)) => Ok(t),
        _ => Err(SpecError::Invalid {
            file: design.name.clone(),
            message: "the design's parameters do not form a TOML table".into(),
        }),
    }
}

/// A manifest checked against this kiln: the design and board it names,
/// and the bitstream file's path.
#[derive(Debug, Clone)]
pub struct CheckedManifest {
    pub manifest: Manifest,
    pub path: PathBuf,
    pub design: Design,
    pub board: Board,
    /// The bitstream, resolved against the manifest's folder.
    pub bitstream: PathBuf,
    /// Whether the bitstream file was found and its hash checked.
    pub hash_checked: bool,
}

impl Manifest {
    /// A manifest for `file`, built for `design` on `board` with `tools`.
    pub fn new(
        design: &Design,
        board: &Board,
        file: &Path,
        tools: BTreeMap<String, String>,
    ) -> Result<Self, ManifestError> {
        let sha256 = sha256_file(file).map_err(|source| ManifestError::Bitstream {
            path: PathBuf::from("(new manifest)"),
            file: file.to_path_buf(),
            source,
        })?;
        let mut tools = tools;
        tools
            .entry("kiln".into())
            .or_insert_with(|| env!("CARGO_PKG_VERSION").into());
        Ok(Self {
            format: FORMAT,
            design: design.name.clone(),
            board: board.name.clone(),
            file: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256,
            register_map_version: kiln_driver::regs::REG_VERSION,
            built: today(),
            tools,
            identity: ManifestIdentity::of(design)?,
            parameters: parameters_of(design)?,
        })
    }

    /// The manifest as TOML, with a header comment.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# kiln bitstream manifest (format {FORMAT}): {} on {}. Written by `kiln bitstream \
             manifest`; checked by `kiln bitstream check`.\n{body}",
            self.design, self.board
        )
    }

    /// Writes the manifest to `path` whole or not at all (through a
    /// temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), ManifestError> {
        let tmp = path.with_extension("toml.partial");
        let write_err = |source| ManifestError::Write {
            path: path.to_path_buf(),
            source,
        };
        std::fs::write(&tmp, self.to_toml()).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            write_err(e)
        })
    }

    /// Reads a manifest (no checks beyond its syntax).
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a manifest (no checks beyond its syntax); `path`
    /// names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        toml::from_str(text).map_err(|e| ManifestError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })
    }

    /// Reads and checks a manifest against this kiln: format, register-map
    /// version, design (parameters and identity), board, and the
    /// bitstream's sha256 when the file is present. `require_file` makes a
    /// missing bitstream an error.
    pub fn load(path: &Path, require_file: bool) -> Result<CheckedManifest, ManifestError> {
        Self::read(path)?.check(path, require_file)
    }

    /// [`Manifest::load`] with the design looked up in `catalog`, so that a
    /// manifest of a project's design checks against the project.
    pub fn load_in(
        path: &Path,
        require_file: bool,
        catalog: &kiln_spec::Catalog,
    ) -> Result<CheckedManifest, ManifestError> {
        Self::read(path)?.check_in(path, require_file, catalog)
    }

    /// The checks of [`Manifest::load`] on a manifest read from `path`: the
    /// bitstream is looked for beside it.
    pub fn check(self, path: &Path, require_file: bool) -> Result<CheckedManifest, ManifestError> {
        self.check_in(path, require_file, &kiln_spec::Catalog::builtin()?)
    }

    /// [`Manifest::check`] with the design looked up in `catalog`.
    pub fn check_in(
        self,
        path: &Path,
        require_file: bool,
        catalog: &kiln_spec::Catalog,
    ) -> Result<CheckedManifest, ManifestError> {
        let manifest = self;
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if manifest.format != FORMAT {
            return Err(invalid(format!(
                "format {} is not the format {FORMAT} this kiln reads",
                manifest.format
            )));
        }
        if manifest.register_map_version != kiln_driver::regs::REG_VERSION {
            return Err(invalid(format!(
                "the bitstream implements register-map version {}; this kiln speaks version {}: \
                 rebuild the bitstream from this tree, or use the kiln it was built with",
                manifest.register_map_version,
                kiln_driver::regs::REG_VERSION
            )));
        }
        let design = catalog.design(&manifest.design)?;
        let board = Board::by_name(&manifest.board)?;
        let params = parameters_of(&design)?;
        if manifest.parameters != params {
            let differ: Vec<String> = params
                .iter()
                .filter(|(k, v)| manifest.parameters.get(*k) != Some(v))
                .map(|(k, v)| {
                    let was = manifest
                        .parameters
                        .get(k)
                        .map_or("absent".to_string(), ToString::to_string);
                    format!("{k} = {was} in the manifest, {v} in this kiln")
                })
                .chain(
                    manifest
                        .parameters
                        .keys()
                        .filter(|k| !params.contains_key(*k))
                        .map(|k| format!("{k} is unknown to this kiln")),
                )
                .collect();
            return Err(invalid(format!(
                "design `{}` was built with other parameters than this kiln's: {}",
                design.name,
                differ.join("; ")
            )));
        }
        let identity = ManifestIdentity::of(&design)?;
        if manifest.identity != identity {
            return Err(invalid(format!(
                "its identity registers ({}) are not those of design `{}` ({})",
                manifest.identity.design_identity(),
                design.name,
                identity.design_identity()
            )));
        }
        let valid_hash = manifest.sha256.len() == 64
            && manifest
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !valid_hash {
            return Err(invalid(format!(
                "sha256 `{}` is not 64 lowercase hex digits",
                manifest.sha256
            )));
        }
        let bitstream = path.parent().unwrap_or(Path::new(".")).join(&manifest.file);
        let hash_checked = match sha256_file(&bitstream) {
            Ok(found) if found == manifest.sha256 => true,
            Ok(found) => {
                return Err(ManifestError::Hash {
                    path: path.to_path_buf(),
                    file: bitstream,
                    expected: manifest.sha256.clone(),
                    found,
                })
            }
            Err(source) if require_file || source.kind() != std::io::ErrorKind::NotFound => {
                return Err(ManifestError::Bitstream {
                    path: path.to_path_buf(),
                    file: bitstream,
                    source,
                })
            }
            Err(_) => false,
        };
        Ok(CheckedManifest {
            manifest,
            path: path.to_path_buf(),
            design,
            board,
            bitstream,
            hash_checked,
        })
    }
}

/// The known design whose identity registers read `found`, if any: names a
/// mismatched bitstream for the user.
pub fn design_with_identity(found: &DesignIdentity) -> Option<String> {
    Design::all().ok()?.into_iter().find_map(|d| {
        let e = expected_design(&d).ok()?;
        (e.identity == *found).then_some(d.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_415), "2025-11-23");
        assert_eq!(civil_date(-1), "1969-12-31");
    }
}
