//! Accelerator designs: one per file in hw/designs/ (and hw/designs/dv/ for
//! kiln's own test designs). A design fixes the engine, the PE kind, the
//! array and buffer geometry and the target clock. The simulator build,
//! `kiln synth`, the driver's identity check and the bitstream manifests all
//! read designs through this module.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::{check_file_name, invalid, parse_toml, PeLibrary, SpecError};

include!(concat!(env!("OUT_DIR"), "/designs.rs"));

/// What kind of engine a design instantiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Quantised GEMM over a PE array (hw/ip/gemm).
    Gemm,
}

/// One accelerator design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Design {
    /// Name, used on the command line and hashed into the DESIGN_ID register.
    pub name: String,
    /// One line for listings.
    pub summary: String,
    /// Engine kind.
    pub engine: Engine,
    /// PE kind, a name from the PE library.
    pub pe: String,
    /// PE rows: output rows computed at once.
    pub rows: u32,
    /// PE columns: output channels computed at once.
    pub cols: u32,
    /// K elements each half of the A and B buffers holds (a multiple of 16).
    pub k_depth: u32,
    /// Array-row tiles per output block.
    pub m_tiles: u32,
    /// Array-column tiles per output block.
    pub n_tiles: u32,
    /// Target fabric clock, MHz.
    pub clock_mhz: f64,
    /// Longest AXI4 burst the memory master issues, in 64-bit beats.
    pub max_burst_beats: u32,
    /// Read bursts the memory master keeps in flight.
    pub max_outstanding_reads: u32,
    /// Built only for kiln's own tests; never listed to users.
    #[serde(default)]
    pub test_only: bool,
    /// Test hook: the controller never reports done (watchdog tests).
    #[serde(default)]
    pub hold_busy: bool,
}

impl Design {
    /// Every design, test-only ones included, sorted by name.
    pub fn all() -> Result<Vec<Design>, SpecError> {
        let library = PeLibrary::builtin()?;
        let mut designs = Vec::new();
        for (file, text) in DESIGN_FILES {
            let design: Design = parse_toml(file, text)?;
            design.validate(file, &library)?;
            designs.push(design);
        }
        designs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(designs)
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

    /// The value of the DESIGN_ID register: 32-bit FNV-1a of the name.
    pub fn id(&self) -> u32 {
        self.name.bytes().fold(0x811c_9dc5u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    }

    /// The value of ARRAY.PE_KIND: the PE's index in the library.
    pub fn pe_kind(&self) -> Result<u32, SpecError> {
        let library = PeLibrary::builtin()?;
        library.get(&self.pe)?;
        Ok(library
            .pes
            .iter()
            .position(|p| p.name == self.pe)
            .unwrap_or(0) as u32)
    }

    /// Bits per weight code.
    pub fn weight_bits(&self) -> Result<u32, SpecError> {
        Ok(PeLibrary::builtin()?.get(&self.pe)?.weight_bits)
    }

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

    /// The top module of the engine.
    pub fn top_module(&self) -> &'static str {
        match self.engine {
            Engine::Gemm => "gemm_top",
        }
    }

    /// RTL sources, relative to the repository root, dependencies first.
    /// The generated PE binding ([`Design::pe_binding_sv`]) goes after them.
    pub fn rtl_sources(&self) -> Result<Vec<PathBuf>, SpecError> {
        let library = PeLibrary::builtin()?;
        let pe = library.get(&self.pe)?;
        let mut files = vec![PathBuf::from("hw/ip/common/rtl/kiln_reg_pkg.sv")];
        for name in [
            "kiln_fifo",
            "kiln_axi_addr_gen",
            "kiln_axi_rd_master",
            "kiln_axi_wr_master",
            "kiln_ctrl_regs",
        ] {
            files.push(PathBuf::from(format!("hw/ip/common/rtl/{name}.sv")));
        }
        files.push(pe.rtl.clone());
        for name in [
            "gemm_buf",
            "gemm_cell",
            "gemm_array",
            "gemm_requant",
            "gemm_loader",
            "gemm_compute",
            "gemm_drain",
            "gemm_top",
        ] {
            files.push(PathBuf::from(format!("hw/ip/gemm/rtl/{name}.sv")));
        }
        Ok(files)
    }

    /// The `gemm_pe` module that binds the array's cells to this design's
    /// PE kind. Generated because a module name cannot be a parameter.
    pub fn pe_binding_sv(&self) -> Result<String, SpecError> {
        let library = PeLibrary::builtin()?;
        let pe = library.get(&self.pe)?;
        let shape = library.port_shape;
        Ok(format!(
            "// Generated by kiln from hw/designs ({design}): binds the PE array's cells\n\
             // to PE `{pe}`. Do not edit.\n\
             module gemm_pe (\n\
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
        ))
    }

    /// Parameters of the top module, as (name, Verilog literal).
    pub fn top_parameters(&self) -> Result<Vec<(&'static str, String)>, SpecError> {
        Ok(vec![
            ("DesignId", format!("32'h{:08x}", self.id())),
            ("Rows", self.rows.to_string()),
            ("Cols", self.cols.to_string()),
            ("PeKind", self.pe_kind()?.to_string()),
            ("WBits", self.weight_bits()?.to_string()),
            ("KDepth", self.k_depth.to_string()),
            ("MTiles", self.m_tiles.to_string()),
            ("NTiles", self.n_tiles.to_string()),
            ("MaxBeats", self.max_burst_beats.to_string()),
            ("Outstanding", self.max_outstanding_reads.to_string()),
            ("HoldBusy", u32::from(self.hold_busy).to_string()),
        ])
    }

    fn validate(&self, file: &str, library: &PeLibrary) -> Result<(), SpecError> {
        check_file_name(file, &self.name)?;
        let pe = library
            .get(&self.pe)
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
        let in_range = |what: &str, value: u32, lo: u32, hi: u32| {
            if value < lo || value > hi {
                Err(invalid(
                    file,
                    format!("{what} is {value}; it must be in {lo}..={hi}"),
                ))
            } else {
                Ok(())
            }
        };
        in_range("rows", self.rows, 1, 64)?;
        in_range("cols", self.cols, 1, 64)?;
        in_range("m_tiles", self.m_tiles, 1, 64)?;
        in_range("n_tiles", self.n_tiles, 1, 64)?;
        in_range("k_depth", self.k_depth, 16, 16384)?;
        in_range("max_burst_beats", self.max_burst_beats, 1, 256)?;
        in_range("max_outstanding_reads", self.max_outstanding_reads, 2, 64)?;
        if (self.k_depth * pe.weight_bits) % 64 != 0 {
            return Err(invalid(
                file,
                format!(
                    "k_depth {} x {}-bit codes must fill whole 64-bit words",
                    self.k_depth, pe.weight_bits
                ),
            ));
        }
        if self.k_depth % 16 != 0 {
            return Err(invalid(
                file,
                format!("k_depth is {}; it must be a multiple of 16", self.k_depth),
            ));
        }
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
