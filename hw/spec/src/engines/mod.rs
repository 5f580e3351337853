//! Engines, as the hardware descriptions define them.
//!
//! hw/engines.toml is the one list of engines and their ENGINE.KIND codes.
//! Each engine then has
//! - `hw/ip/<name>/engine.toml` ([`EngineDesc`]): its core module, RTL
//!   files, whether its designs name a PE, what the argument registers mean
//!   to it and its MODE fields, from which kiln generates the engine's SV
//!   package, its Rust MODE constants and its register page;
//! - a folder here, `engines/<name>/` ([`EngineSpec`]): the fields a design
//!   file of the engine takes, their checks, and what a design of it reports
//!   in the identity registers and passes to its core.
//!
//! Nothing outside an engine's folders names an engine: design parsing,
//! the simulator build, synthesis and the Vivado project iterate over
//! [`specs`] and [`descs`].

mod bfp;
mod dwconv;
mod gemm;

pub use bfp::BfpEngine;
pub use dwconv::DwconvArray;
pub use gemm::GemmArray;

use std::any::Any;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use crate::regs::{field_from_parts, rw_field_const, Field, GeneratedFile, HwAccess, SwAccess};
use crate::{invalid, parse_toml, PeLibrary, SpecError};

include!(concat!(env!("OUT_DIR"), "/engine_files.rs"));

/// Path of the engine list, relative to the repository root.
pub const ENGINES_FILE: &str = "hw/engines.toml";
const ENGINES_TOML: &str = include_str!("../../../engines.toml");

/// The Rust half of every engine, in hw/engines.toml's order (a test holds
/// the two lists equal).
fn registered() -> [&'static dyn EngineSpec; 3] {
    [&gemm::Gemm, &bfp::Bfp, &dwconv::Dwconv]
}

/// One engine's design-file fields and what a design of it builds.
pub trait EngineSpec: Send + Sync + std::fmt::Debug {
    /// The engine's name: its entry in hw/engines.toml and its folders.
    fn name(&self) -> &'static str;
    /// The fields a design of this engine takes beside the common ones
    /// (name, summary, engine, clock and bus settings), in file order.
    fn fields(&self) -> &'static [&'static str];
    /// Parses and checks the engine's fields of design file `file`.
    fn parse(
        &self,
        file: &str,
        fields: toml::Table,
        context: &DesignContext<'_>,
    ) -> Result<Arc<dyn EngineParams>, SpecError>;
}

/// What an engine's field checks may need beside the fields themselves.
#[derive(Debug, Clone, Copy)]
pub struct DesignContext<'a> {
    pub library: &'a PeLibrary,
    /// The design is built only for kiln's own tests (it may use test PEs).
    pub test_only: bool,
}

/// One design's engine parameters, parsed and checked.
pub trait EngineParams: Send + Sync + std::fmt::Debug + Any {
    /// The fields as a design file writes them (manifests and listings).
    fn to_table(&self) -> toml::Table;
    /// The PE kind the design's engine is built from, if it has PEs.
    fn pe(&self) -> Option<&str>;
    /// The identity registers' engine fields (ARRAY, BUFFERS, ENGINE.BLOCK).
    fn identity(&self, library: &PeLibrary) -> Result<EngineIdentity, SpecError>;
    /// Parameters of the core module, as (name, Verilog literal).
    fn core_parameters(
        &self,
        library: &PeLibrary,
    ) -> Result<Vec<(&'static str, String)>, SpecError>;
    /// What computes, in two words for tables: the PE kind or formats, and
    /// the array or lanes.
    fn compute_summary(&self) -> (String, String);
    /// Lines for `kiln designs show`: (field, value and meaning).
    fn show(&self) -> Vec<(&'static str, String)>;
    fn as_any(&self) -> &dyn Any;
}

/// An engine's parameter type, for [`crate::Design::params`].
pub trait Params: EngineParams + Sized {
    /// The engine's name in hw/engines.toml.
    const ENGINE: &'static str;
}

/// The engine-specific identity fields of a design. Each engine says what
/// they mean for it (hw/ip/<engine>/doc/registers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineIdentity {
    pub rows: u32,
    pub cols: u32,
    pub weight_bits: u32,
    pub k_depth: u32,
    pub m_tiles: u32,
    pub n_tiles: u32,
    pub block: u32,
}

/// One engine's entry in hw/engines.toml and its hw/ip/<name>/engine.toml.
#[derive(Debug, Clone)]
pub struct EngineDesc {
    pub name: String,
    /// ENGINE.KIND.
    pub kind: u32,
    pub summary: String,
    /// The core module inside kiln_shell.
    pub core: String,
    /// RTL modules in hw/ip/<name>/rtl, dependencies first.
    pub rtl: Vec<String>,
    /// Designs of this engine name a PE from the library.
    pub pe: bool,
    /// (argument register, what it means to this engine), in the order of
    /// the kernel's arguments.
    pub args: Vec<(String, String)>,
    /// MODE's fields for this engine.
    pub mode: Vec<Field>,
    spec: &'static dyn EngineSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnginesFile {
    engine: Vec<EngineEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineEntry {
    name: String,
    kind: u32,
    summary: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineFile {
    core: String,
    rtl: Vec<String>,
    pe: bool,
    args: toml::Table,
    #[serde(default)]
    mode: Vec<ModeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeEntry {
    name: String,
    bits: String,
    desc: String,
}

/// The argument registers an engine gives a meaning to, in kernel order.
pub const ARG_REGISTERS: &[&str] = &[
    "A_ADDR", "B_ADDR", "C_ADDR", "P_ADDR", "M", "N", "K", "LDA", "LDB", "LDC",
];

/// The KIND field holds 4 bits (hw/regs/kiln.toml).
const MAX_KIND: u32 = 15;

impl EngineDesc {
    /// Path of the engine's description, relative to the repository root.
    pub fn file(&self) -> String {
        format!("hw/ip/{}/engine.toml", self.name)
    }

    /// The engine's Rust half.
    pub fn spec(&self) -> &'static dyn EngineSpec {
        self.spec
    }

    /// The SystemVerilog package of the engine's MODE fields, if it has any.
    pub fn args_package(&self) -> Option<String> {
        (!self.mode.is_empty()).then(|| format!("{}_args_pkg", self.name))
    }

    /// The engine's RTL, relative to the repository root, dependencies first.
    pub fn rtl_sources(&self) -> Vec<PathBuf> {
        let dir = format!("hw/ip/{}/rtl", self.name);
        self.args_package()
            .iter()
            .chain(&self.rtl)
            .map(|m| PathBuf::from(format!("{dir}/{m}.sv")))
            .collect()
    }

    /// The MODE field called `name`.
    pub fn mode_field(&self, name: &str) -> Result<&Field, SpecError> {
        self.mode
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| SpecError::Unknown {
                what: "MODE field",
                name: format!("{}.{name}", self.name),
                known: self
                    .mode
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The files generated from this description: the MODE package for the
    /// RTL and the MODE constants for the Rust side (when the engine has
    /// MODE fields), and the engine's register page.
    pub fn generated_files(&self) -> Vec<GeneratedFile> {
        let mut files = Vec::new();
        if let Some(package) = self.args_package() {
            files.push(GeneratedFile {
                path: format!("hw/ip/{}/rtl/{package}.sv", self.name),
                text: self.render_sv(&package),
            });
            files.push(GeneratedFile {
                path: format!("runtime/src/engines/{}/mode.rs", self.name),
                text: self.render_rust(),
            });
        }
        files.push(GeneratedFile {
            path: format!("hw/ip/{}/doc/registers.md", self.name),
            text: self.render_markdown(),
        });
        files
    }

    fn note(&self) -> String {
        format!(
            "Generated from {} by `kiln regs generate` (`make regs`); do not edit by hand.",
            self.file()
        )
    }

    fn render_sv(&self, package: &str) -> String {
        let prefix = self.name.to_ascii_uppercase();
        let mut s = format!(
            "// {}\n//\n// The {} engine's MODE fields (the register is hw/regs/kiln.toml's MODE).\npackage {package};\n",
            self.note(),
            self.name
        );
        let width = self.mode.iter().map(|f| f.name.len()).max().unwrap_or(0) + prefix.len() + 12;
        for f in &self.mode {
            let _ = writeln!(s, "\n  // {}", f.desc);
            for (suffix, value) in [("LSB", f.lsb), ("WIDTH", f.width)] {
                let name = format!("{prefix}_MODE_{}_{suffix}", f.name);
                let _ = writeln!(s, "  localparam int unsigned {name:<width$} = {value};");
            }
        }
        s.push_str("\nendpackage\n");
        s
    }

    fn render_rust(&self) -> String {
        let mut s = format!(
            "//! {}\n//! `make test` fails when this file is stale.\n//!\n//! The {} engine's MODE fields, written into the MODE register's word.\n\nuse kiln_driver::regs::{{RwField, SwAccess}};\n",
            self.note(),
            self.name
        );
        for f in &self.mode {
            let _ = writeln!(s);
            let _ = writeln!(s, "/// {}", f.desc);
            let _ = writeln!(s, "///");
            let _ = writeln!(
                s,
                "/// {} {} of MODE.",
                if f.width == 1 { "Bit" } else { "Bits" },
                f.bits()
            );
            s.push_str(&rw_field_const(0, f));
        }
        s
    }

    fn render_markdown(&self) -> String {
        let mut s = format!(
            "<!-- {} -->\n\n# {}: the argument registers\n\n{}. The registers are kiln's \
             (docs/registers.md); this page says what each argument means to this engine.\n\n\
             | register | meaning |\n|---|---|\n",
            self.note(),
            self.name,
            capitalise(&self.summary)
        );
        for (register, meaning) in &self.args {
            let _ = writeln!(s, "| {register} | {} |", meaning.replace('|', "\\|"));
        }
        if self.mode.is_empty() {
            s.push_str("| MODE | Not used; write 0. |\n");
        } else {
            s.push_str("| MODE | The fields below; other bits are reserved (write 0). |\n");
            s.push_str("\n## MODE\n\n| bits | field | meaning |\n|---|---|---|\n");
            for f in &self.mode {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    f.bits(),
                    f.name,
                    f.desc.replace('|', "\\|")
                );
            }
        }
        s
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Every engine, in hw/engines.toml's order, with its description checked.
pub fn descs() -> Result<&'static [EngineDesc], SpecError> {
    static DESCS: OnceLock<Result<Vec<EngineDesc>, String>> = OnceLock::new();
    DESCS
        .get_or_init(|| parse_descs(ENGINES_TOML).map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|message| SpecError::Invalid {
            file: ENGINES_FILE.into(),
            message: message.clone(),
        })
}

/// The engine called `name`.
pub fn desc(name: &str) -> Result<&'static EngineDesc, SpecError> {
    let all = descs()?;
    all.iter()
        .find(|d| d.name == name)
        .ok_or_else(|| SpecError::Unknown {
            what: "engine",
            name: name.into(),
            known: all
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The engine whose ENGINE.KIND is `kind`, if kiln knows one.
pub fn by_kind(kind: u32) -> Option<&'static EngineDesc> {
    descs().ok()?.iter().find(|d| d.kind == kind)
}

/// Every engine's Rust half, in hw/engines.toml's order.
pub fn specs() -> Result<Vec<&'static dyn EngineSpec>, SpecError> {
    Ok(descs()?.iter().map(|d| d.spec).collect())
}

fn parse_descs(text: &str) -> Result<Vec<EngineDesc>, SpecError> {
    let list: EnginesFile = parse_toml(ENGINES_FILE, text)?;
    let err = |message: String| invalid(ENGINES_FILE, message);
    let mut descs: Vec<EngineDesc> = Vec::new();
    for entry in list.engine {
        let name = entry.name;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(err(format!(
                "engine `{name}`: names are lower case letters and digits (they name folders, modules and packages)"
            )));
        }
        if entry.kind > MAX_KIND {
            return Err(err(format!(
                "engine `{name}`: kind is {}; ENGINE.KIND holds 0..={MAX_KIND}",
                entry.kind
            )));
        }
        if let Some(other) = descs
            .iter()
            .find(|d| d.name == name || d.kind == entry.kind)
        {
            return Err(err(format!(
                "engine `{name}` (kind {}) repeats the name or kind of `{}` (kind {})",
                entry.kind, other.name, other.kind
            )));
        }
        let spec = registered()
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                err(format!(
                    "engine `{name}` has no Rust half: hw/spec/src/engines/{name}/ must register it"
                ))
            })?;
        let text = ENGINE_FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| err(format!("engine `{name}` has no hw/ip/{name}/engine.toml")))?;
        descs.push(parse_engine_file(
            name,
            entry.kind,
            entry.summary,
            text,
            spec,
        )?);
    }
    for spec in registered() {
        if !descs.iter().any(|d| d.name == spec.name()) {
            return Err(err(format!(
                "the Rust engine `{}` is not listed here",
                spec.name()
            )));
        }
    }
    Ok(descs)
}

fn parse_engine_file(
    name: String,
    kind: u32,
    summary: String,
    text: &str,
    spec: &'static dyn EngineSpec,
) -> Result<EngineDesc, SpecError> {
    let file = format!("hw/ip/{name}/engine.toml");
    let raw: EngineFile = parse_toml(&file, text)?;
    let err = |message: String| invalid(&file, message);
    if raw.rtl.last() != Some(&raw.core) {
        return Err(err(format!(
            "rtl must end with the core `{}` (dependencies first)",
            raw.core
        )));
    }
    let mut args = Vec::new();
    for (register, meaning) in &raw.args {
        if !ARG_REGISTERS.contains(&register.as_str()) {
            return Err(err(format!(
                "args: `{register}` is not an argument register; they are {}",
                ARG_REGISTERS.join(", ")
            )));
        }
        let meaning = meaning
            .as_str()
            .ok_or_else(|| err(format!("args: {register} must be a string")))?;
        args.push((register.clone(), meaning.to_string()));
    }
    args.sort_by_key(|(r, _)| ARG_REGISTERS.iter().position(|a| a == r));
    if let Some(missing) = ARG_REGISTERS
        .iter()
        .find(|r| !args.iter().any(|(a, _)| a == *r))
    {
        return Err(err(format!(
            "args: say what {missing} means to this engine (\"Not used; write 0.\" if nothing)"
        )));
    }
    let mut mode: Vec<Field> = Vec::new();
    for entry in raw.mode {
        let field = field_from_parts(
            &file,
            "MODE",
            entry.name,
            &entry.bits,
            SwAccess::ReadWrite,
            HwAccess::ReadOnly,
            0,
            entry.desc,
        )?;
        if let Some(other) = mode
            .iter()
            .find(|o| o.name == field.name || o.mask() & field.mask() != 0)
        {
            return Err(err(format!(
                "MODE field `{}` repeats or overlaps `{}`",
                field.name, other.name
            )));
        }
        mode.push(field);
    }
    Ok(EngineDesc {
        name,
        kind,
        summary,
        core: raw.core,
        rtl: raw.rtl,
        pe: raw.pe,
        args,
        mode,
        spec,
    })
}

/// Checks that a design file's engine fields are the engine's: a field of
/// another engine, or one no engine takes, and a missing one, are named
/// with the fields the engine does take.
pub(crate) fn check_fields(
    file: &str,
    spec: &dyn EngineSpec,
    fields: &toml::Table,
) -> Result<(), SpecError> {
    let engine = spec.name();
    let takes = spec.fields().join(", ");
    for key in fields.keys() {
        if spec.fields().contains(&key.as_str()) {
            continue;
        }
        let other = registered()
            .into_iter()
            .any(|s| s.fields().contains(&key.as_str()));
        return Err(invalid(
            file,
            if other {
                format!(
                    "`{key}` does not apply to a {engine} design; a {engine} design takes {takes}"
                )
            } else {
                format!("unknown field `{key}`; a {engine} design takes {takes}")
            },
        ));
    }
    if let Some(missing) = spec.fields().iter().find(|f| !fields.contains_key(**f)) {
        return Err(invalid(
            file,
            format!("a {engine} design needs `{missing}`"),
        ));
    }
    Ok(())
}

/// Deserialises an engine's checked fields into its parameter type.
pub(crate) fn deserialize_fields<T: serde::de::DeserializeOwned>(
    file: &str,
    fields: toml::Table,
) -> Result<T, SpecError> {
    T::deserialize(toml::Value::Table(fields)).map_err(|e| invalid(file, e.to_string()))
}

/// `value` must lie in `lo..=hi`; the error names the field.
pub(crate) fn in_range(
    file: &str,
    what: &str,
    value: u32,
    lo: u32,
    hi: u32,
) -> Result<(), SpecError> {
    if value < lo || value > hi {
        Err(invalid(
            file,
            format!("{what} is {value}; it must be in {lo}..={hi}"),
        ))
    } else {
        Ok(())
    }
}

/// The PE `name` from the library, refused when it is test-only and the
/// design is not.
pub(crate) fn library_pe<'a>(
    file: &str,
    context: &DesignContext<'a>,
    name: &str,
) -> Result<&'a crate::PeSpec, SpecError> {
    let pe = context
        .library
        .get(name)
        .map_err(|e| invalid(file, format!("pe: {e}")))?;
    if pe.test_only && !context.test_only {
        return Err(invalid(
            file,
            format!(
                "pe `{}` is test-only; only a test_only design may use it",
                pe.name
            ),
        ));
    }
    Ok(pe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_engine_has_its_folders_and_every_folder_is_listed() {
        let descs = descs().unwrap();
        let root = crate::repo_root();
        for d in descs {
            for dir in [
                format!("hw/ip/{}/rtl", d.name),
                format!("hw/spec/src/engines/{}", d.name),
                format!("runtime/src/engines/{}", d.name),
            ] {
                assert!(root.join(&dir).is_dir(), "{}: {dir} is missing", d.name);
            }
            for source in d.rtl_sources() {
                assert!(root.join(&source).is_file(), "{}", source.display());
            }
        }
        for (name, _) in ENGINE_FILES {
            assert!(
                descs.iter().any(|d| d.name == *name),
                "hw/ip/{name}/engine.toml is not in hw/engines.toml"
            );
        }
        let listed: Vec<_> = descs.iter().map(|d| d.name.as_str()).collect();
        let rust: Vec<_> = registered().iter().map(|s| s.name()).collect();
        assert_eq!(
            listed, rust,
            "hw/engines.toml and the Rust registry list the same engines in the same order"
        );
    }

    #[test]
    fn bad_engine_lists_are_refused_with_what_is_wrong() {
        let cases = [
            (
                ENGINES_TOML.replace("kind = 1", "kind = 0"),
                "repeats the name or kind",
            ),
            (
                ENGINES_TOML.replace("kind = 1", "kind = 16"),
                "holds 0..=15",
            ),
            (
                format!("{ENGINES_TOML}\n[[engine]]\nname = \"nope\"\nkind = 9\nsummary = \"x\"\n"),
                "has no Rust half",
            ),
            (
                ENGINES_TOML.replace("name = \"bfp\"", "name = \"Bfp\""),
                "lower case letters",
            ),
        ];
        for (text, want) in cases {
            let err = parse_descs(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn an_engine_file_must_say_what_each_argument_means() {
        let gemm = ENGINE_FILES.iter().find(|(n, _)| *n == "gemm").unwrap().1;
        let parse = |text: &str| {
            parse_engine_file("gemm".into(), 0, "s".into(), text, &gemm::Gemm).map(|_| ())
        };
        parse(gemm).unwrap();
        let err = parse(&gemm.replace("LDC = ", "XYZ = "))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`XYZ` is not an argument register"), "{err}");
        let no_ldc: String = gemm
            .lines()
            .filter(|l| !l.starts_with("LDC ="))
            .collect::<Vec<_>>()
            .join("\n");
        let err = parse(&no_ldc).unwrap_err().to_string();
        assert!(err.contains("say what LDC means"), "{err}");
        let err = parse(&gemm.replace("bits = \"15:8\"", "bits = \"4:0\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("overlaps"), "{err}");
        let err = parse(&gemm.replace(
            "\"gemm_drain\", \"gemm_core\"]",
            "\"gemm_core\", \"gemm_drain\"]",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("must end with the core"), "{err}");
    }

    #[test]
    fn mode_fields_render_for_both_languages() {
        let gemm = desc("gemm").unwrap();
        let files = gemm.generated_files();
        let sv = &files[0];
        assert_eq!(sv.path, "hw/ip/gemm/rtl/gemm_args_pkg.sv");
        assert!(sv.text.contains("GEMM_MODE_ACT_ZP_LSB"), "{}", sv.text);
        assert!(
            files[1].text.contains("pub const OUT_ZP: RwField"),
            "{}",
            files[1].text
        );
        let bfp = desc("bfp").unwrap();
        assert_eq!(bfp.generated_files().len(), 1, "no MODE fields, no package");
        assert_eq!(gemm.mode_field("ACT_ZP").unwrap().bits(), "15:8");
        assert!(gemm.mode_field("NOPE").is_err());
    }
}
