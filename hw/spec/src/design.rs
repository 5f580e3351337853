//! Accelerator designs: one per file in hw/designs/ (and hw/designs/dv/ for
//! kiln's own test designs). A design fixes the engine, the PE kind, the
//! array and buffer geometry and the target clock. The simulator build,
//! `kiln synth`, the driver's identity check and the bitstream manifests all
//! read designs through this module.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::{check_file_name, invalid, parse_toml, PeLibrary, SpecError};

include!(concat!(env!("OUT_DIR"), "/designs.rs"));

/// The BFP engine's RTL modules (hw/ip/bfp/rtl), dependencies first.
const BFP_MODULES: &[&str] = &[
    "bfp_to_f32",
    "bfp_facc",
    "bfp_dot",
    "bfp_lane",
    "bfp_seq",
    "bfp_stream",
    "bfp_writer",
    "bfp_core",
];

/// What kind of engine a design instantiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Quantised GEMM over a PE array (hw/ip/gemm).
    Gemm,
    /// Block-floating-point MatMul (hw/ip/bfp).
    Bfp,
}

impl Engine {
    /// The value of the ENGINE.KIND identity register.
    pub fn kind_code(self) -> u32 {
        match self {
            Engine::Gemm => 0,
            Engine::Bfp => 1,
        }
    }

    /// The name used in design files and listings.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Gemm => "gemm",
            Engine::Bfp => "bfp",
        }
    }
}

/// A GEMM engine's PE array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GemmArray {
    /// PE kind, a name from the PE library.
    pub pe: String,
    /// PE rows: output rows computed at once.
    pub rows: u32,
    /// PE columns: output channels computed at once.
    pub cols: u32,
    /// Array-row tiles per output block.
    pub m_tiles: u32,
    /// Array-column tiles per output block.
    pub n_tiles: u32,
}

impl GemmArray {
    /// PEs in the array.
    pub fn pes(&self) -> u32 {
        self.rows * self.cols
    }

    /// Rows of an output block.
    pub fn block_rows(&self) -> u32 {
        self.rows * self.m_tiles
    }

    /// Columns (output channels) of an output block.
    pub fn block_cols(&self) -> u32 {
        self.cols * self.n_tiles
    }
}

/// A BFP MatMul engine's lanes and formats (docs/bfp.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BfpEngine {
    /// Weight element format: `mxint8` or `mxint4`. Activations are mxint8.
    pub format: String,
    /// Elements per block sharing one exponent: 16, 32 or 64.
    pub block: u32,
    /// Lanes: rows of A held on chip, output rows computed at once.
    pub lanes: u32,
    /// Output columns collected on chip before they are written to C.
    pub n_tile: u32,
}

impl BfpEngine {
    /// Bits per weight element.
    pub fn weight_bits(&self) -> u32 {
        if self.format == "mxint4" {
            4
        } else {
            8
        }
    }

    /// Weight elements in one 64-bit beat: the multiplies per lane per cycle.
    pub fn elements_per_beat(&self) -> u32 {
        64 / self.weight_bits()
    }
}

/// The engine-specific half of a design.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "engine", rename_all = "lowercase")]
pub enum EngineConfig {
    Gemm(GemmArray),
    Bfp(BfpEngine),
}

/// One accelerator design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    /// Name, used on the command line and hashed into the DESIGN_ID register.
    pub name: String,
    /// One line for listings.
    pub summary: String,
    /// The engine and its own parameters.
    #[serde(flatten)]
    pub config: EngineConfig,
    /// GEMM: K elements each half of the A and B buffers holds (a multiple
    /// of 16). BFP: the longest K a MatMul may have (a multiple of 8 blocks).
    pub k_depth: u32,
    /// Target fabric clock, MHz.
    pub clock_mhz: f64,
    /// Longest AXI4 burst the memory master issues, in 64-bit beats.
    pub max_burst_beats: u32,
    /// Read bursts the memory master keeps in flight.
    pub max_outstanding_reads: u32,
    /// Built only for kiln's own tests; never listed to users.
    pub test_only: bool,
    /// Test hook: the controller never reports done (watchdog tests).
    pub hold_busy: bool,
}

/// A design file as written: the fields of every engine, each optional, so
/// that one with the wrong engine's fields gets a message naming them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesignFile {
    name: String,
    summary: String,
    engine: Engine,
    pe: Option<String>,
    rows: Option<u32>,
    cols: Option<u32>,
    m_tiles: Option<u32>,
    n_tiles: Option<u32>,
    format: Option<String>,
    block: Option<u32>,
    lanes: Option<u32>,
    n_tile: Option<u32>,
    k_depth: u32,
    clock_mhz: f64,
    max_burst_beats: u32,
    max_outstanding_reads: u32,
    #[serde(default)]
    test_only: bool,
    #[serde(default)]
    hold_busy: bool,
}

/// A field's name and whether the file sets it.
type FieldSet = (&'static str, bool);

impl DesignFile {
    fn into_design(self, file: &str) -> Result<Design, SpecError> {
        let gemm_fields = [
            ("pe", self.pe.is_some()),
            ("rows", self.rows.is_some()),
            ("cols", self.cols.is_some()),
            ("m_tiles", self.m_tiles.is_some()),
            ("n_tiles", self.n_tiles.is_some()),
        ];
        let bfp_fields = [
            ("format", self.format.is_some()),
            ("block", self.block.is_some()),
            ("lanes", self.lanes.is_some()),
            ("n_tile", self.n_tile.is_some()),
        ];
        let (own, foreign): (&[FieldSet], &[FieldSet]) = match self.engine {
            Engine::Gemm => (&gemm_fields, &bfp_fields),
            Engine::Bfp => (&bfp_fields, &gemm_fields),
        };
        let engine = self.engine.name();
        if let Some((field, _)) = foreign.iter().find(|(_, set)| *set) {
            let wanted: Vec<_> = own.iter().map(|(n, _)| *n).collect();
            return Err(invalid(
                file,
                format!(
                    "`{field}` does not apply to a {engine} design; a {engine} design takes {}",
                    wanted.join(", ")
                ),
            ));
        }
        if let Some((field, _)) = own.iter().find(|(_, set)| !*set) {
            return Err(invalid(file, format!("a {engine} design needs `{field}`")));
        }
        let config = match self.engine {
            Engine::Gemm => EngineConfig::Gemm(GemmArray {
                pe: self.pe.unwrap_or_default(),
                rows: self.rows.unwrap_or_default(),
                cols: self.cols.unwrap_or_default(),
                m_tiles: self.m_tiles.unwrap_or_default(),
                n_tiles: self.n_tiles.unwrap_or_default(),
            }),
            Engine::Bfp => EngineConfig::Bfp(BfpEngine {
                format: self.format.unwrap_or_default(),
                block: self.block.unwrap_or_default(),
                lanes: self.lanes.unwrap_or_default(),
                n_tile: self.n_tile.unwrap_or_default(),
            }),
        };
        Ok(Design {
            name: self.name,
            summary: self.summary,
            config,
            k_depth: self.k_depth,
            clock_mhz: self.clock_mhz,
            max_burst_beats: self.max_burst_beats,
            max_outstanding_reads: self.max_outstanding_reads,
            test_only: self.test_only,
            hold_busy: self.hold_busy,
        })
    }
}

impl Design {
    /// Every design, test-only ones included, sorted by name.
    pub fn all() -> Result<Vec<Design>, SpecError> {
        let library = PeLibrary::builtin()?;
        let mut designs = Vec::new();
        for (file, text) in DESIGN_FILES {
            designs.push(Self::parse_with(file, text, &library)?);
        }
        designs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(designs)
    }

    /// Parses and checks the text of a design file against the built-in PE
    /// library. `file` is its path, which errors name and whose stem the
    /// design's `name` must be.
    pub fn parse(file: &str, text: &str) -> Result<Design, SpecError> {
        Self::parse_with(file, text, &PeLibrary::builtin()?)
    }

    fn parse_with(file: &str, text: &str, library: &PeLibrary) -> Result<Design, SpecError> {
        let raw: DesignFile = parse_toml(file, text)?;
        let design = raw.into_design(file)?;
        design.validate(file, library)?;
        Ok(design)
    }

    /// The designs users see (test-only ones left out).
    pub fn listed() -> Result<Vec<Design>, SpecError> {
        Ok(Self::all()?.into_iter().filter(|d| !d.test_only).collect())
    }

    /// The design with this name (test-only ones included).
    pub fn by_name(name: &str) -> Result<Design, SpecError> {
        let designs = Self::all()?;
        let known = designs
            .iter()
            .filter(|d| !d.test_only)
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        designs
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| SpecError::Unknown {
                what: "design",
                name: name.to_string(),
                known,
            })
    }

    /// The engine kind.
    pub fn engine(&self) -> Engine {
        match self.config {
            EngineConfig::Gemm(_) => Engine::Gemm,
            EngineConfig::Bfp(_) => Engine::Bfp,
        }
    }

    /// The PE array of a GEMM design; an error naming the design otherwise.
    pub fn gemm(&self) -> Result<&GemmArray, SpecError> {
        match &self.config {
            EngineConfig::Gemm(array) => Ok(array),
            EngineConfig::Bfp(_) => Err(self.wrong_engine(Engine::Gemm)),
        }
    }

    /// The lanes and formats of a BFP design; an error naming the design otherwise.
    pub fn bfp(&self) -> Result<&BfpEngine, SpecError> {
        match &self.config {
            EngineConfig::Bfp(engine) => Ok(engine),
            EngineConfig::Gemm(_) => Err(self.wrong_engine(Engine::Bfp)),
        }
    }

    /// The error for using this design where a `wanted` engine is needed;
    /// it names the listed designs of that engine.
    pub fn wrong_engine(&self, wanted: Engine) -> SpecError {
        let known = Self::listed()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.engine() == wanted)
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ");
        SpecError::WrongEngine {
            design: self.name.clone(),
            engine: self.engine().name(),
            wanted: wanted.name(),
            known,
        }
    }

    /// The value of the DESIGN_ID register: 32-bit FNV-1a of the name.
    pub fn id(&self) -> u32 {
        self.name.bytes().fold(0x811c_9dc5u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    }

    /// The value of ARRAY.PE_KIND: the PE's index in the library (0 for a
    /// BFP design, which has no PE).
    pub fn pe_kind(&self) -> Result<u32, SpecError> {
        let EngineConfig::Gemm(array) = &self.config else {
            return Ok(0);
        };
        let library = PeLibrary::builtin()?;
        library.get(&array.pe)?;
        Ok(library
            .pes
            .iter()
            .position(|p| p.name == array.pe)
            .unwrap_or(0) as u32)
    }

    /// Bits per weight code (GEMM) or weight element (BFP).
    pub fn weight_bits(&self) -> Result<u32, SpecError> {
        match &self.config {
            EngineConfig::Gemm(array) => Ok(PeLibrary::builtin()?.get(&array.pe)?.weight_bits),
            EngineConfig::Bfp(engine) => Ok(engine.weight_bits()),
        }
    }

    /// The values of the ARRAY identity register's ROWS and COLS fields and
    /// BUFFERS' M_TILES and N_TILES: (rows, cols, m_tiles, n_tiles). A BFP
    /// design reports (lanes, n_tile, 1, 1).
    pub fn geometry(&self) -> (u32, u32, u32, u32) {
        match &self.config {
            EngineConfig::Gemm(a) => (a.rows, a.cols, a.m_tiles, a.n_tiles),
            EngineConfig::Bfp(b) => (b.lanes, b.n_tile, 1, 1),
        }
    }

    /// What computes, in two words for tables: the PE kind and array
    /// (`shift_pot`, `8x8`), or the formats and lanes (`mxint4/b32`,
    /// `8 lanes`).
    pub fn compute_summary(&self) -> (String, String) {
        match &self.config {
            EngineConfig::Gemm(a) => (a.pe.clone(), format!("{}x{}", a.rows, a.cols)),
            EngineConfig::Bfp(b) => (
                format!("{}/b{}", b.format, b.block),
                format!("{} lanes", b.lanes),
            ),
        }
    }

    /// ENGINE.BLOCK: elements per BFP block (0 for a GEMM design).
    pub fn block(&self) -> u32 {
        match &self.config {
            EngineConfig::Gemm(_) => 0,
            EngineConfig::Bfp(b) => b.block,
        }
    }

    /// The top module of every design: the engine shell.
    pub fn top_module(&self) -> &'static str {
        crate::shell::SHELL_TOP
    }

    /// The engine's core module, which the generated `kiln_core` binding
    /// instantiates inside the shell.
    pub fn core_module(&self) -> &'static str {
        match self.engine() {
            Engine::Gemm => "gemm_core",
            Engine::Bfp => "bfp_core",
        }
    }

    /// Directories `include` searches, relative to the repository root
    /// (the shell's generated port list is included).
    pub fn include_dirs(&self) -> Vec<PathBuf> {
        vec![PathBuf::from("hw/ip/common/rtl")]
    }

    /// The sources kiln generates for this design, as (file name, text),
    /// to be written beside each other and compiled after
    /// [`Design::rtl_sources`]: the `kiln_core` binding and, for a GEMM
    /// design, the PE binding.
    pub fn generated_sources(&self) -> Result<Vec<(String, String)>, SpecError> {
        let shell = crate::ShellPorts::builtin()?;
        let mut files = Vec::new();
        if let Some(pe) = self.pe_binding_sv()? {
            files.push(("kiln_pe.sv".to_string(), pe));
        }
        files.push((
            format!("{}.sv", crate::shell::CORE_BINDING),
            shell.core_binding_sv(&self.name, self.core_module(), &self.core_parameters()?),
        ));
        Ok(files)
    }

    /// RTL sources, relative to the repository root, dependencies first.
    /// The generated sources ([`Design::generated_sources`]) go after them.
    pub fn rtl_sources(&self) -> Result<Vec<PathBuf>, SpecError> {
        let mut files = vec![PathBuf::from("hw/ip/common/rtl/kiln_reg_pkg.sv")];
        for name in [
            "kiln_fifo",
            "kiln_ram",
            "kiln_axi_addr_gen",
            "kiln_axi_rd_master",
            "kiln_axi_wr_master",
            "kiln_ctrl_regs",
            "kiln_run_status",
            "kiln_requant",
            "kiln_shell",
        ] {
            files.push(PathBuf::from(format!("hw/ip/common/rtl/{name}.sv")));
        }
        let (dir, modules): (&str, &[&str]) = match &self.config {
            EngineConfig::Gemm(array) => {
                let library = PeLibrary::builtin()?;
                files.push(library.get(&array.pe)?.rtl.clone());
                (
                    "gemm",
                    &[
                        "gemm_cell",
                        "gemm_array",
                        "gemm_loader",
                        "gemm_compute",
                        "gemm_drain",
                        "gemm_core",
                    ],
                )
            }
            EngineConfig::Bfp(_) => ("bfp", BFP_MODULES),
        };
        for name in modules {
            files.push(PathBuf::from(format!("hw/ip/{dir}/rtl/{name}.sv")));
        }
        Ok(files)
    }

    /// The `kiln_pe` module that binds a GEMM array's cells to this design's
    /// PE kind, generated because a module name cannot be a parameter.
    /// `None` for a BFP design, which has no PE.
    fn pe_binding_sv(&self) -> Result<Option<String>, SpecError> {
        let EngineConfig::Gemm(array) = &self.config else {
            return Ok(None);
        };
        let library = PeLibrary::builtin()?;
        let pe = library.get(&array.pe)?;
        let shape = library.port_shape;
        Ok(Some(format!(
            "// Generated by kiln from hw/designs ({design}): binds the PE array's cells\n\
             // to PE `{pe}`. Do not edit.\n\
             module kiln_pe (\n\
             \x20 input  logic                   clk_i,\n\
             \x20 input  logic                   rst_ni,\n\
             \x20 input  logic                   valid_i,\n\
             \x20 input  logic [{act}-1:0]        act_i,\n\
             \x20 input  logic [{w}-1:0]        wcode_i,\n\
             \x20 output logic                   valid_o,\n\
             \x20 output logic [{prod}-1:0]       prod_o\n\
             );\n\
             \x20 {pe} u_pe (\n\
             \x20   .clk_i   (clk_i),\n\
             \x20   .rst_ni  (rst_ni),\n\
             \x20   .valid_i (valid_i),\n\
             \x20   .act_i   (act_i),\n\
             \x20   .wcode_i (wcode_i),\n\
             \x20   .valid_o (valid_o),\n\
             \x20   .prod_o  (prod_o)\n\
             \x20 );\n\
             endmodule\n",
            design = self.name,
            pe = pe.name,
            act = shape.act_bits,
            w = pe.weight_bits,
            prod = shape.product_bits,
        )))
    }

    /// Parameters of the top module (the shell), as (name, Verilog
    /// literal): the identity registers' values, the memory master's burst
    /// limits and the test hook.
    pub fn top_parameters(&self) -> Result<Vec<(&'static str, String)>, SpecError> {
        let (rows, cols, m_tiles, n_tiles) = self.geometry();
        Ok(vec![
            ("DesignId", format!("32'h{:08x}", self.id())),
            ("Engine", self.engine().kind_code().to_string()),
            ("Block", self.block().to_string()),
            ("Rows", rows.to_string()),
            ("Cols", cols.to_string()),
            ("PeKind", self.pe_kind()?.to_string()),
            ("WBits", self.weight_bits()?.to_string()),
            ("KDepth", self.k_depth.to_string()),
            ("MTiles", m_tiles.to_string()),
            ("NTiles", n_tiles.to_string()),
            ("MaxBeats", self.max_burst_beats.to_string()),
            ("Outstanding", self.max_outstanding_reads.to_string()),
            ("HoldBusy", u32::from(self.hold_busy).to_string()),
        ])
    }

    /// Parameters of the engine core, as (name, Verilog literal).
    pub fn core_parameters(&self) -> Result<Vec<(&'static str, String)>, SpecError> {
        Ok(match &self.config {
            EngineConfig::Gemm(a) => vec![
                ("Rows", a.rows.to_string()),
                ("Cols", a.cols.to_string()),
                ("WBits", self.weight_bits()?.to_string()),
                ("KDepth", self.k_depth.to_string()),
                ("MTiles", a.m_tiles.to_string()),
                ("NTiles", a.n_tiles.to_string()),
            ],
            EngineConfig::Bfp(b) => vec![
                ("Lanes", b.lanes.to_string()),
                ("NTile", b.n_tile.to_string()),
                ("WBits", b.weight_bits().to_string()),
                ("Block", b.block.to_string()),
                ("KDepth", self.k_depth.to_string()),
            ],
        })
    }

    fn validate(&self, file: &str, library: &PeLibrary) -> Result<(), SpecError> {
        check_file_name(file, &self.name)?;
        match &self.config {
            EngineConfig::Gemm(array) => self.validate_gemm(file, library, array)?,
            EngineConfig::Bfp(engine) => self.validate_bfp(file, engine)?,
        }
        in_range(file, "max_burst_beats", self.max_burst_beats, 1, 256)?;
        in_range(
            file,
            "max_outstanding_reads",
            self.max_outstanding_reads,
            2,
            64,
        )?;
        if !self.clock_mhz.is_finite() || self.clock_mhz <= 0.0 {
            return Err(invalid(file, "clock_mhz must be positive"));
        }
        if self.hold_busy && !self.test_only {
            return Err(invalid(file, "hold_busy is a test hook: set test_only too"));
        }
        Ok(())
    }

    fn validate_gemm(
        &self,
        file: &str,
        library: &PeLibrary,
        array: &GemmArray,
    ) -> Result<(), SpecError> {
        let pe = library
            .get(&array.pe)
            .map_err(|e| invalid(file, format!("pe: {e}")))?;
        if pe.test_only && !self.test_only {
            return Err(invalid(
                file,
                format!(
                    "pe `{}` is test-only; only a test_only design may use it",
                    pe.name
                ),
            ));
        }
        in_range(file, "rows", array.rows, 1, 64)?;
        in_range(file, "cols", array.cols, 1, 64)?;
        in_range(file, "m_tiles", array.m_tiles, 1, 64)?;
        in_range(file, "n_tiles", array.n_tiles, 1, 64)?;
        in_range(file, "k_depth", self.k_depth, 16, 16384)?;
        if !(self.k_depth * pe.weight_bits).is_multiple_of(64) {
            return Err(invalid(
                file,
                format!(
                    "k_depth {} x {}-bit codes must fill whole 64-bit words",
                    self.k_depth, pe.weight_bits
                ),
            ));
        }
        if !self.k_depth.is_multiple_of(16) {
            return Err(invalid(
                file,
                format!("k_depth is {}; it must be a multiple of 16", self.k_depth),
            ));
        }
        Ok(())
    }

    fn validate_bfp(&self, file: &str, engine: &BfpEngine) -> Result<(), SpecError> {
        if !matches!(engine.format.as_str(), "mxint8" | "mxint4") {
            return Err(invalid(
                file,
                format!("format is `{}`; it must be mxint8 or mxint4", engine.format),
            ));
        }
        if !matches!(engine.block, 16 | 32 | 64) {
            return Err(invalid(
                file,
                format!("block is {}; it must be 16, 32 or 64", engine.block),
            ));
        }
        in_range(file, "lanes", engine.lanes, 1, 32)?;
        in_range(file, "n_tile", engine.n_tile, 2, 256)?;
        if !engine.n_tile.is_multiple_of(2) {
            return Err(invalid(
                file,
                format!(
                    "n_tile is {}; it must be even (two f32 results per 64-bit beat)",
                    engine.n_tile
                ),
            ));
        }
        in_range(file, "k_depth", self.k_depth, 8 * engine.block, 16384)?;
        if !self.k_depth.is_multiple_of(8 * engine.block) {
            return Err(invalid(
                file,
                format!(
                    "k_depth is {}; it must be a multiple of 8 blocks ({})",
                    self.k_depth,
                    8 * engine.block
                ),
            ));
        }
        Ok(())
    }
}

fn in_range(file: &str, what: &str, value: u32, lo: u32, hi: u32) -> Result<(), SpecError> {
    if value < lo || value > hi {
        Err(invalid(
            file,
            format!("{what} is {value}; it must be in {lo}..={hi}"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listed_designs_load_and_ids_differ() {
        let designs = Design::listed().unwrap();
        let names: Vec<_> = designs.iter().map(|d| d.name.as_str()).collect();
        for wanted in [
            "gemm-mac-dsp-8x8",
            "gemm-mac-lut-8x8",
            "gemm-pot-8x8",
            "gemm-msq-8x8",
            "gemm-apot-8x8",
            "gemm-pot-16x16",
            "bfp-mxint8",
            "bfp-mxint4",
        ] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
        let mut ids: Vec<_> = Design::all().unwrap().iter().map(Design::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Design::all().unwrap().len());
        // FNV-1a of "a" is a published test vector.
        let mut d = designs[0].clone();
        d.name = "a".into();
        assert_eq!(d.id(), 0xe40c_292c);
    }

    #[test]
    fn a_design_with_the_other_engines_fields_is_refused() {
        let text =
            std::fs::read_to_string(crate::repo_root().join("hw/designs/bfp-mxint8.toml")).unwrap();
        let library = PeLibrary::builtin().unwrap();
        let load = |text: &str| -> Result<Design, SpecError> {
            let raw: DesignFile = parse_toml("bfp-mxint8.toml", text)?;
            let design = raw.into_design("bfp-mxint8.toml")?;
            design.validate("bfp-mxint8.toml", &library)?;
            Ok(design)
        };
        let good = load(&text).unwrap();
        assert_eq!(good.bfp().unwrap().lanes, 8);
        assert!(good
            .gemm()
            .unwrap_err()
            .to_string()
            .contains("is a bfp engine"));
        let err = load(&format!("{text}rows = 8\n")).unwrap_err().to_string();
        assert!(
            err.contains("`rows` does not apply to a bfp design; a bfp design takes format, block, lanes, n_tile"),
            "{err}"
        );
        let err = load(&text.replace("block = 32", "block = 24"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("block is 24; it must be 16, 32 or 64"),
            "{err}"
        );
        let err = load(&text.replace("lanes = 8\n", ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a bfp design needs `lanes`"), "{err}");
        let err = load(&text.replace("k_depth = 8192", "k_depth = 8000"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("must be a multiple of 8 blocks (256)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_design_names_the_known_ones() {
        let err = Design::by_name("gemm-nope").unwrap_err().to_string();
        assert!(err.contains("gemm-pot-8x8"), "{err}");
        assert!(
            !err.contains("hold"),
            "test designs must not be listed: {err}"
        );
    }
}
