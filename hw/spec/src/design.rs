//! Accelerator designs: one per file in hw/designs/ (and hw/designs/dv/ for
//! kiln's own test designs). A design names its engine (hw/engines.toml)
//! and fixes the engine's own parameters (parsed and checked by the
//! engine's folder in [`crate::engines`]), the target clock and the memory
//! master's bursts. The simulator build, `kiln synth`, the driver's
//! identity check and the bitstream manifests all read designs through
//! this module, and none of them names an engine.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

use crate::engines::{self, DesignContext, EngineDesc, EngineIdentity, EngineParams, Params};
use crate::{check_file_name, invalid, parse_toml, PeLibrary, PeSpec, SpecError};

include!(concat!(env!("OUT_DIR"), "/designs.rs"));

/// One accelerator design.
#[derive(Debug, Clone)]
pub struct Design {
    /// Name, used on the command line and hashed into the DESIGN_ID register.
    pub name: String,
    /// One line for listings.
    pub summary: String,
    /// The engine it instantiates.
    pub engine: &'static EngineDesc,
    /// The engine's own parameters.
    pub params: Arc<dyn EngineParams>,
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
    /// The PE library the design was checked against (the built-in one,
    /// or a project's, which holds the built-in PEs too).
    pub library: Arc<PeLibrary>,
}

impl PartialEq for Design {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.summary == other.summary
            && self.engine.name == other.engine.name
            && self.params.to_table() == other.params.to_table()
            && self.clock_mhz == other.clock_mhz
            && self.max_burst_beats == other.max_burst_beats
            && self.max_outstanding_reads == other.max_outstanding_reads
            && self.test_only == other.test_only
            && self.hold_busy == other.hold_busy
    }
}

/// A design serialises as its file reads: the common fields with the
/// engine's own among them.
impl Serialize for Design {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let params = self.params.to_table();
        let mut map = serializer.serialize_map(Some(params.len() + 8))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("summary", &self.summary)?;
        map.serialize_entry("engine", &self.engine.name)?;
        for (key, value) in &params {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry("clock_mhz", &self.clock_mhz)?;
        map.serialize_entry("max_burst_beats", &self.max_burst_beats)?;
        map.serialize_entry("max_outstanding_reads", &self.max_outstanding_reads)?;
        map.serialize_entry("test_only", &self.test_only)?;
        map.serialize_entry("hold_busy", &self.hold_busy)?;
        map.end()
    }
}

/// The fields every design file has; the rest are its engine's.
#[derive(Debug, Deserialize)]
struct CommonFields {
    name: String,
    summary: String,
    engine: String,
    clock_mhz: f64,
    max_burst_beats: u32,
    max_outstanding_reads: u32,
    #[serde(default)]
    test_only: bool,
    #[serde(default)]
    hold_busy: bool,
    #[serde(flatten)]
    rest: toml::Table,
}

/// What the identity registers report for a design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// DESIGN_ID.
    pub id: u32,
    /// ENGINE.KIND.
    pub kind: u32,
    /// ARRAY.PE_KIND: the PE's index in the library, 0 without PEs.
    pub pe_kind: u32,
    /// The engine's own fields.
    pub engine: EngineIdentity,
}

impl Design {
    /// Every design, test-only ones included, sorted by name.
    pub fn all() -> Result<Vec<Design>, SpecError> {
        let library = PeLibrary::builtin()?;
        let mut designs = Vec::new();
        for (file, text) in DESIGN_FILES {
            designs.push(Self::parse_with(file, text, library.clone())?);
        }
        designs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(designs)
    }

    /// Parses and checks the text of a design file against the built-in PE
    /// library. `file` is its path, which errors name and whose stem the
    /// design's `name` must be.
    pub fn parse(file: &str, text: &str) -> Result<Design, SpecError> {
        Self::parse_with(file, text, PeLibrary::builtin()?)
    }

    /// Parses and checks the text of a design file against `library` (a
    /// project's PEs beside the built-in ones).
    pub fn parse_with(
        file: &str,
        text: &str,
        library: Arc<PeLibrary>,
    ) -> Result<Design, SpecError> {
        let common: CommonFields = parse_toml(file, text)?;
        check_file_name(file, &common.name)?;
        let engine =
            engines::desc(&common.engine).map_err(|e| invalid(file, format!("engine: {e}")))?;
        let context = DesignContext {
            library: &library,
            test_only: common.test_only,
        };
        let params = engine.spec().parse(file, common.rest, &context)?;
        let design = Design {
            name: common.name,
            summary: common.summary,
            engine,
            params,
            clock_mhz: common.clock_mhz,
            max_burst_beats: common.max_burst_beats,
            max_outstanding_reads: common.max_outstanding_reads,
            test_only: common.test_only,
            hold_busy: common.hold_busy,
            library,
        };
        design.validate(file)?;
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

    /// The engine's name.
    pub fn engine_name(&self) -> &'static str {
        self.engine.spec().name()
    }

    /// The engine's parameters as their own type, or an error naming the
    /// design and the designs of engine `T` when this design is another's.
    pub fn params<T: Params>(&self) -> Result<&T, SpecError> {
        self.params
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| self.wrong_engine(T::ENGINE))
    }

    /// The error for using this design where a `wanted` engine is needed;
    /// it names the listed designs of that engine.
    pub fn wrong_engine(&self, wanted: &str) -> SpecError {
        let known = Self::listed()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.engine.name == wanted)
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ");
        SpecError::WrongEngine {
            design: self.name.clone(),
            engine: self.engine.name.clone(),
            wanted: wanted.to_string(),
            known,
        }
    }

    /// The value of the DESIGN_ID register: 32-bit FNV-1a of the name.
    pub fn id(&self) -> u32 {
        self.name.bytes().fold(0x811c_9dc5u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    }

    /// The PE kind the design is built from, if its engine has PEs.
    pub fn pe(&self) -> Option<&str> {
        self.params.pe()
    }

    /// The value of ARRAY.PE_KIND: the PE's index in the library (0 for a
    /// design without PEs).
    pub fn pe_kind(&self) -> Result<u32, SpecError> {
        let Some(pe) = self.pe() else {
            return Ok(0);
        };
        self.library.get(pe)?;
        Ok(self
            .library
            .pes
            .iter()
            .position(|p| p.name == pe)
            .unwrap_or(0) as u32)
    }

    /// The PE the design is built from, if its engine has PEs.
    pub fn pe_spec(&self) -> Result<Option<&PeSpec>, SpecError> {
        self.pe().map(|pe| self.library.get(pe)).transpose()
    }

    /// What the identity registers report for this design.
    pub fn identity(&self) -> Result<Identity, SpecError> {
        Ok(Identity {
            id: self.id(),
            kind: self.engine.kind,
            pe_kind: self.pe_kind()?,
            engine: self.params.identity(&self.library)?,
        })
    }

    /// Bits per weight code (engines with PEs) or weight element.
    pub fn weight_bits(&self) -> Result<u32, SpecError> {
        Ok(self.identity()?.engine.weight_bits)
    }

    /// What computes, in two words for tables: the PE kind and array
    /// (`shift_pot`, `8x8`), or the formats and lanes (`mxint4/b32`,
    /// `8 lanes`).
    pub fn compute_summary(&self) -> (String, String) {
        self.params.compute_summary()
    }

    /// The top module of every design: the engine shell.
    pub fn top_module(&self) -> &'static str {
        crate::shell::SHELL_TOP
    }

    /// The engine's core module, which the generated `kiln_core` binding
    /// instantiates inside the shell.
    pub fn core_module(&self) -> &str {
        &self.engine.core
    }

    /// Directories `include` searches, relative to the repository root
    /// (the shell's generated port list is included).
    pub fn include_dirs(&self) -> Vec<PathBuf> {
        vec![PathBuf::from("hw/ip/common/rtl")]
    }

    /// The sources kiln generates for this design, as (file name, text),
    /// to be written beside each other and compiled after
    /// [`Design::rtl_sources`]: the PE binding (for an engine with PEs) and
    /// the `kiln_core` binding.
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

    /// RTL sources, dependencies first (built-in ones relative to the
    /// repository root, a project PE's absolute):
    /// the shell's blocks, the design's PE, then the engine's RTL. The
    /// generated sources ([`Design::generated_sources`]) go after them.
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
        if let Some(pe) = self.pe_spec()? {
            files.extend(pe.rtl.iter().cloned());
        }
        files.extend(self.engine.rtl_sources());
        Ok(files)
    }

    /// The `kiln_pe` module that binds an engine's PEs to this design's PE
    /// kind, generated because a module name cannot be a parameter. `None`
    /// for an engine without PEs.
    fn pe_binding_sv(&self) -> Result<Option<String>, SpecError> {
        let Some(pe) = self.pe_spec()? else {
            return Ok(None);
        };
        let shape = self.library.port_shape;
        Ok(Some(format!(
            "// Generated by kiln from hw/designs ({design}): binds the engine's PEs\n\
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
        let identity = self.identity()?;
        let e = identity.engine;
        Ok(vec![
            ("DesignId", format!("32'h{:08x}", identity.id)),
            ("Engine", identity.kind.to_string()),
            ("Block", e.block.to_string()),
            ("Rows", e.rows.to_string()),
            ("Cols", e.cols.to_string()),
            ("PeKind", identity.pe_kind.to_string()),
            ("WBits", e.weight_bits.to_string()),
            ("KDepth", e.k_depth.to_string()),
            ("MTiles", e.m_tiles.to_string()),
            ("NTiles", e.n_tiles.to_string()),
            ("MaxBeats", self.max_burst_beats.to_string()),
            ("Outstanding", self.max_outstanding_reads.to_string()),
            ("HoldBusy", u32::from(self.hold_busy).to_string()),
        ])
    }

    /// Parameters of the engine core, as (name, Verilog literal).
    pub fn core_parameters(&self) -> Result<Vec<(&'static str, String)>, SpecError> {
        self.params.core_parameters(&self.library)
    }

    fn validate(&self, file: &str) -> Result<(), SpecError> {
        engines::in_range(file, "max_burst_beats", self.max_burst_beats, 1, 256)?;
        engines::in_range(
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
    fn unknown_design_names_the_known_ones() {
        let err = Design::by_name("gemm-nope").unwrap_err().to_string();
        assert!(err.contains("gemm-pot-8x8"), "{err}");
        assert!(
            !err.contains("hold"),
            "test designs must not be listed: {err}"
        );
    }
}
