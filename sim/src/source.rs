//! What to Verilate: a top module, its sources, parameters and ports.
//!
//! A [`ModelSource`] is built from kiln's descriptions (a PE of the
//! library inside its accumulator harness, or a design inside the engine
//! shell) and is everything the cache key and the build need. Built-in
//! RTL comes from the files kiln carries (written out by
//! [`kiln_spec::rtl::builtin_root`]); a user's RTL is read where it is, so
//! Verilator's messages name the user's own files and lines.

use std::path::{Path, PathBuf};

use kiln_spec::shell::Dir;
use kiln_spec::{Design, PeLibrary, PeSpec, ShellPorts};

use crate::{PortDir, SimError};

/// The accumulator harness every PE is verified in.
const PE_HARNESS: &str = include_str!("../templates/pe_harness.sv");

/// A top-level port of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub name: String,
    pub dir: PortDir,
    /// Width in bits, 1..=64.
    pub width: u32,
}

/// Everything needed to build one simulation model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSource {
    /// What the model is, for messages: `PE shift_pot`, `design gemm-pot-8x8`.
    pub label: String,
    /// Top module.
    pub top: String,
    /// SystemVerilog sources on disk, dependencies first.
    pub files: Vec<PathBuf>,
    /// Sources kiln generates, as (file name, text), compiled after `files`.
    pub generated: Vec<(String, String)>,
    /// Directories `include` searches.
    pub include_dirs: Vec<PathBuf>,
    /// Top-level parameter overrides, as (name, Verilog literal).
    pub parameters: Vec<(String, String)>,
    /// The top's ports, in the order the Rust side indexes them.
    pub ports: Vec<PortSpec>,
    /// Said after Verilator's messages when it rejects the model: what the
    /// generated files expect of the user's RTL.
    pub hint: Option<String>,
}

impl ModelSource {
    /// PE `pe` of `library` inside the accumulator harness
    /// (templates/pe_harness.sv), whose ports are `clk_i`, `rst_ni`,
    /// `valid_i`, `act_i`, `wcode_i`, `valid_o`, `prod_o` and `acc_o`.
    pub fn pe_harness(library: &PeLibrary, pe: &PeSpec) -> Result<Self, SimError> {
        let shape = library.port_shape;
        let top = format!("kiln_pe_harness_{}", pe.name);
        let harness = PE_HARNESS
            .replace("@PE@", &pe.name)
            .replace("@ACT_BITS@", &shape.act_bits.to_string())
            .replace("@WEIGHT_BITS@", &pe.weight_bits.to_string())
            .replace("@PROD_BITS@", &shape.product_bits.to_string());
        let root = builtin_root()?;
        let port = |name: &str, dir, width| PortSpec {
            name: name.to_string(),
            dir,
            width,
        };
        Ok(Self {
            label: format!("PE {}", pe.name),
            files: pe.rtl.iter().map(|p| root.join(p)).collect(),
            generated: vec![(format!("{top}.sv"), harness)],
            include_dirs: pe_include_dirs(&root, pe),
            parameters: Vec::new(),
            ports: vec![
                port("clk_i", PortDir::In, 1),
                port("rst_ni", PortDir::In, 1),
                port("valid_i", PortDir::In, 1),
                port("act_i", PortDir::In, shape.act_bits),
                port("wcode_i", PortDir::In, pe.weight_bits),
                port("valid_o", PortDir::Out, 1),
                port("prod_o", PortDir::Out, shape.product_bits),
                port("acc_o", PortDir::Out, 32),
            ],
            hint: Some(format!(
                "{top}.sv is kiln's harness: it connects act_i[{}:0], wcode_i[{}:0] (weight_bits in \
                 the codebook) and prod_o[{}:0] of module {}",
                shape.act_bits - 1,
                pe.weight_bits - 1,
                shape.product_bits - 1,
                pe.name
            )),
            top,
        })
    }

    /// A design: the engine shell around its core, with the ports of the
    /// shell's port table (hw/regs/shell.toml).
    pub fn design(design: &Design) -> Result<Self, SimError> {
        let root = builtin_root()?;
        let shell = ShellPorts::builtin().map_err(spec)?;
        let mut include_dirs: Vec<PathBuf> =
            design.include_dirs().iter().map(|d| root.join(d)).collect();
        if let Some(pe) = design.pe_spec().map_err(spec)? {
            for dir in pe_include_dirs(&root, pe) {
                if !include_dirs.contains(&dir) {
                    include_dirs.push(dir);
                }
            }
        }
        Ok(Self {
            label: format!("design {}", design.name),
            top: design.top_module().to_string(),
            files: design
                .rtl_sources()
                .map_err(spec)?
                .iter()
                .map(|p| root.join(p))
                .collect(),
            generated: design.generated_sources().map_err(spec)?,
            include_dirs,
            parameters: design
                .top_parameters()
                .map_err(spec)?
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            ports: shell
                .ports
                .iter()
                .map(|p| PortSpec {
                    name: p.name.clone(),
                    dir: if p.dir == Dir::In {
                        PortDir::In
                    } else {
                        PortDir::Out
                    },
                    width: p.width,
                })
                .collect(),
            hint: None,
        })
    }
}

/// A PE's include path: the folder of each of its sources, so that a
/// user's PE may `include` its own headers.
fn pe_include_dirs(root: &Path, pe: &PeSpec) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for file in &pe.rtl {
        if let Some(dir) = root.join(file).parent() {
            if !dirs.iter().any(|d| d == dir) {
                dirs.push(dir.to_path_buf());
            }
        }
    }
    dirs
}

fn builtin_root() -> Result<PathBuf, SimError> {
    kiln_spec::rtl::builtin_root().map_err(spec)
}

fn spec(e: kiln_spec::SpecError) -> SimError {
    SimError::Spec(e.to_string())
}
