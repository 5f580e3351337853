//! A user's project: their own PEs and designs, in a folder of their own,
//! beside kiln's built-in library.
//!
//! ```text
//! my-project/
//!   kiln.toml                  [project] name = "..."
//!   pe/<name>/codebook.toml    what each weight code means (the golden model)
//!   pe/<name>/rtl/*.sv         the PE; module <name>, kiln's PE ports
//!   designs/<design>.toml      designs of built-in or project PEs
//! ```
//!
//! Everything is read and checked when the project is opened, so a wrong
//! codebook, a missing RTL file or a design naming an unknown PE is an
//! error naming the file and field before any simulation starts.
//! [`Catalog`] is what commands resolve `--pe` and `--design` through: the
//! project's names, the built-in names, or plain paths to a design file or
//! PE folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::pe::{library_entry, LibraryEntry};
use crate::{invalid, parse_toml, Design, PeLibrary, PeSpec, SpecError};

/// The file that marks a project's root.
pub const PROJECT_FILE: &str = "kiln.toml";
/// A PE folder's codebook.
pub const CODEBOOK_FILE: &str = "codebook.toml";
/// The ports every PE has, in the order of the harness and the engines.
pub const PE_PORTS: [&str; 7] = [
    "clk_i", "rst_ni", "valid_i", "act_i", "wcode_i", "valid_o", "prod_o",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    project: ProjectTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectTable {
    name: String,
    #[serde(default)]
    summary: String,
    /// Folder of PE folders, relative to the project.
    #[serde(default = "default_pe_dir")]
    pe_dir: String,
    /// Folder of design files, relative to the project.
    #[serde(default = "default_design_dir")]
    design_dir: String,
}

fn default_pe_dir() -> String {
    "pe".into()
}

fn default_design_dir() -> String {
    "designs".into()
}

/// A PE folder's codebook.toml: the library's fields, and optionally the
/// RTL files in dependency order (default: every `rtl/*.sv`, sorted).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodebookFile {
    name: String,
    #[serde(default)]
    summary: String,
    weight_bits: u32,
    encoding: String,
    #[serde(default)]
    magnitudes: Option<Vec<u32>>,
    #[serde(default)]
    values: Option<Vec<i64>>,
    #[serde(default)]
    rtl: Option<Vec<PathBuf>>,
}

/// An opened project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its folder (absolute).
    pub root: PathBuf,
    pub name: String,
    pub summary: String,
    /// The built-in PEs and the project's, in that order.
    pub library: Arc<PeLibrary>,
    /// Names of the project's own PEs.
    pub pes: Vec<String>,
    /// The project's designs, sorted by name.
    pub designs: Vec<Design>,
}

impl Project {
    /// The project containing `start`: the nearest folder at or above it
    /// with a kiln.toml that has a `[project]` table.
    pub fn find(start: &Path) -> Option<PathBuf> {
        start.ancestors().find_map(|dir| {
            let file = dir.join(PROJECT_FILE);
            let text = std::fs::read_to_string(&file).ok()?;
            let table: toml::Table = toml::from_str(&text).ok()?;
            table.contains_key("project").then(|| dir.to_path_buf())
        })
    }

    /// Opens the project at `root`, reading and checking every PE and design.
    pub fn open(root: &Path) -> Result<Self, SpecError> {
        let root = std::fs::canonicalize(root).map_err(|e| io(root, &e))?;
        let file = root.join(PROJECT_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| io(&file, &e))?;
        let file_name = file.display().to_string();
        let parsed: ProjectFile = parse_toml(&file_name, &text)?;
        let table = parsed.project;
        let builtin = PeLibrary::builtin()?;

        let mut pes = Vec::new();
        let pe_root = root.join(&table.pe_dir);
        if pe_root.is_dir() {
            for dir in sorted_entries(&pe_root)?.into_iter().filter(|p| p.is_dir()) {
                pes.push(load_pe(&dir, &builtin)?);
            }
        }
        let names = pes.iter().map(|p| p.name.clone()).collect();
        let library = Arc::new(builtin.with_pes(&file_name, pes)?);

        let mut designs = Vec::new();
        let design_root = root.join(&table.design_dir);
        if design_root.is_dir() {
            for path in sorted_entries(&design_root)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            {
                designs.push(load_design(&path, library.clone())?);
            }
        }
        for design in &designs {
            if Design::by_name(&design.name).is_ok() {
                return Err(invalid(
                    &design_root.join(format!("{}.toml", design.name)).display().to_string(),
                    format!(
                        "design `{}` has the name of a built-in design; rename the file and its `name`",
                        design.name
                    ),
                ));
            }
        }
        Ok(Self {
            root,
            name: table.name,
            summary: table.summary,
            library,
            pes: names,
            designs,
        })
    }
}

/// Reads a design file against `library`.
pub fn load_design(path: &Path, library: Arc<PeLibrary>) -> Result<Design, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, &e))?;
    Design::parse_with(&path.display().to_string(), &text, library)
}

/// Reads and checks one PE folder: its codebook against the engines' limits
/// and the shared port shape, its RTL files for existence, the module and
/// the port names.
pub fn load_pe(dir: &Path, builtin: &PeLibrary) -> Result<PeSpec, SpecError> {
    let dir = std::fs::canonicalize(dir).map_err(|e| io(dir, &e))?;
    let path = dir.join(CODEBOOK_FILE);
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| invalid(&file, format!("a PE folder needs a {CODEBOOK_FILE} ({e})")))?;
    let codebook: CodebookFile = parse_toml(&file, &text)?;
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if codebook.name != folder {
        return Err(invalid(
            &file,
            format!(
                "name is `{}`, must be the folder's name `{folder}`",
                codebook.name
            ),
        ));
    }
    let rtl = match codebook.rtl {
        Some(files) => files.iter().map(|f| dir.join(f)).collect(),
        None => {
            let rtl_dir = dir.join("rtl");
            if !rtl_dir.is_dir() {
                return Err(invalid(
                    &file,
                    format!(
                        "PE `{}` has no rtl/ folder with its SystemVerilog",
                        codebook.name
                    ),
                ));
            }
            sorted_entries(&rtl_dir)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "sv"))
                .collect::<Vec<_>>()
        }
    };
    check_rtl(&file, &codebook.name, &rtl)?;
    let entry = LibraryEntry {
        name: codebook.name,
        summary: codebook.summary,
        weight_bits: codebook.weight_bits,
        encoding: codebook.encoding,
        magnitudes: codebook.magnitudes,
        values: codebook.values,
    };
    library_entry(&file, entry, builtin.port_shape, rtl)
}

/// The RTL exists, one file declares `module <name>`, and its text names
/// every PE port. Widths are left to Verilator, which elaborates the PE
/// against the harness's exact widths and names any that differ.
fn check_rtl(file: &str, name: &str, rtl: &[PathBuf]) -> Result<(), SpecError> {
    if rtl.is_empty() {
        return Err(invalid(
            file,
            format!("PE `{name}` lists no RTL: put its SystemVerilog in rtl/*.sv"),
        ));
    }
    let mut module_text = None;
    for path in rtl {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(file, format!("RTL file {}: {e}", path.display())))?;
        if declares_module(&text, name) {
            module_text = Some((path, text));
        }
    }
    let Some((path, text)) = module_text else {
        return Err(invalid(
            file,
            format!(
                "no RTL file declares `module {name}` (the module must be named after the PE); files: {}",
                rtl.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let missing: Vec<&str> = PE_PORTS
        .iter()
        .copied()
        .filter(|port| !has_word(&text, port))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(
            file,
            format!(
                "module `{name}` in {} lacks port(s) {}: every PE has {}",
                path.display(),
                missing.join(", "),
                PE_PORTS.join(", ")
            ),
        ));
    }
    Ok(())
}

fn declares_module(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        let mut words = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .filter(|w| !w.is_empty());
        words.next() == Some("module") && words.next() == Some(name)
    })
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, SpecError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, &e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    Ok(entries)
}

fn io(path: &Path, e: &std::io::Error) -> SpecError {
    SpecError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// What `--pe` and `--design` resolve through: the built-in library and
/// designs, and the project's when there is one.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub library: Arc<PeLibrary>,
    pub project: Option<Project>,
}

impl Catalog {
    /// The built-in library alone.
    pub fn builtin() -> Result<Self, SpecError> {
        Ok(Self {
            library: PeLibrary::builtin()?,
            project: None,
        })
    }

    /// The project at `dir` if given, else the one containing the working
    /// directory, else the built-in library alone.
    pub fn discover(dir: Option<&Path>) -> Result<Self, SpecError> {
        let root = match dir {
            Some(dir) => {
                if !dir.join(PROJECT_FILE).is_file() {
                    return Err(SpecError::Io {
                        path: dir.display().to_string(),
                        message: format!(
                            "no {PROJECT_FILE} here: --project takes a folder made by `kiln new`"
                        ),
                    });
                }
                Some(dir.to_path_buf())
            }
            None => std::env::current_dir().ok().and_then(|d| Project::find(&d)),
        };
        match root {
            None => Self::builtin(),
            Some(root) => {
                let project = Project::open(&root)?;
                Ok(Self {
                    library: project.library.clone(),
                    project: Some(project),
                })
            }
        }
    }

    /// The PE named `arg`, or read from the PE folder (or its
    /// codebook.toml) at path `arg`, with the library that holds it.
    pub fn pe(&self, arg: &str) -> Result<(Arc<PeLibrary>, PeSpec), SpecError> {
        if let Ok(pe) = self.library.get(arg) {
            return Ok((self.library.clone(), pe.clone()));
        }
        let path = Path::new(arg);
        if looks_like_path(arg) && path.exists() {
            let dir = if path.is_file() {
                path.parent().unwrap_or(Path::new("."))
            } else {
                path
            };
            let pe = load_pe(dir, &self.library)?;
            if let Ok(known) = self.library.get(&pe.name) {
                if known.rtl == pe.rtl {
                    return Ok((self.library.clone(), known.clone()));
                }
            }
            let library = Arc::new(self.library.with_pes(arg, vec![pe.clone()])?);
            return Ok((library, pe));
        }
        // The error lists the names there are.
        self.library
            .get(arg)
            .map(|pe| (self.library.clone(), pe.clone()))
    }

    /// The design named `arg` (the project's first, then the built-in
    /// ones), or read from the design file at path `arg`.
    pub fn design(&self, arg: &str) -> Result<Design, SpecError> {
        if let Some(design) = self
            .project
            .as_ref()
            .and_then(|p| p.designs.iter().find(|d| d.name == arg))
        {
            return Ok(design.clone());
        }
        if looks_like_path(arg) {
            let path = Path::new(arg);
            if !path.is_file() {
                return Err(SpecError::Io {
                    path: arg.to_string(),
                    message: "no such design file".into(),
                });
            }
            return load_design(path, self.library.clone());
        }
        Design::by_name(arg).map_err(|e| match (e, &self.project) {
            (SpecError::Unknown { what, name, known }, Some(project)) => SpecError::Unknown {
                what,
                name,
                known: project
                    .designs
                    .iter()
                    .map(|d| d.name.clone())
                    .chain(std::iter::once(known))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            (e, _) => e,
        })
    }

    /// Every design a user sees: the project's, then the built-in listed ones.
    pub fn designs(&self) -> Result<Vec<Design>, SpecError> {
        let mut designs = self
            .project
            .as_ref()
            .map(|p| p.designs.clone())
            .unwrap_or_default();
        designs.extend(Design::listed()?);
        Ok(designs)
    }

    /// The PEs a user sees: the built-in library's, then the project's.
    pub fn pes(&self) -> impl Iterator<Item = &PeSpec> {
        self.library.library_pes()
    }
}

/// A `--pe`/`--design` argument that names a file rather than an entry.
pub fn looks_like_path(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".toml") || arg == "." || arg == ".."
}
