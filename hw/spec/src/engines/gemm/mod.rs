//! The GEMM engine's design fields: a PE kind from the library, the R x C
//! array, the output block's tiles and the K depth of each operand buffer
//! half (hw/ip/gemm, docs/gemm-layouts.md).

use std::any::Any;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    check_fields, deserialize_fields, in_range, library_pe, DesignContext, EngineIdentity,
    EngineParams, EngineSpec, Params,
};
use crate::{code_container_bits, invalid, PeLibrary, SpecError};

/// The GEMM engine's Rust half in kiln-spec.
#[derive(Debug)]
pub(crate) struct Gemm;

/// A GEMM design's PE array and buffers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GemmArray {
    /// PE kind, a name from the PE library.
    pub pe: String,
    /// PE rows: output rows computed at once.
    pub rows: u32,
    /// PE columns: output channels computed at once.
    pub cols: u32,
    /// K elements each half of the A and B buffers holds (a multiple of 16
    /// whose codes, in their containers, fill whole 64-bit words).
    pub k_depth: u32,
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

    fn weight_bits(&self, library: &PeLibrary) -> Result<u32, SpecError> {
        Ok(library.get(&self.pe)?.weight_bits)
    }
}

impl EngineSpec for Gemm {
    fn name(&self) -> &'static str {
        GemmArray::ENGINE
    }

    fn fields(&self) -> &'static [&'static str] {
        &["pe", "rows", "cols", "k_depth", "m_tiles", "n_tiles"]
    }

    fn parse(
        &self,
        file: &str,
        fields: toml::Table,
        context: &DesignContext<'_>,
    ) -> Result<Arc<dyn EngineParams>, SpecError> {
        check_fields(file, self, &fields)?;
        let array: GemmArray = deserialize_fields(file, fields)?;
        let pe = library_pe(file, context, &array.pe)?;
        in_range(file, "rows", array.rows, 1, 64)?;
        in_range(file, "cols", array.cols, 1, 64)?;
        in_range(file, "m_tiles", array.m_tiles, 1, 64)?;
        in_range(file, "n_tiles", array.n_tiles, 1, 64)?;
        in_range(file, "k_depth", array.k_depth, 16, 16384)?;
        // B rows are stored in containers (kiln_spec::code_container_bits):
        // a buffer half's row must be whole 64-bit words of them.
        let container = code_container_bits(pe.weight_bits).ok_or_else(|| {
            invalid(
                file,
                format!(
                    "pe `{}` has {}-bit codes; the GEMM engine carries 1..=8",
                    pe.name, pe.weight_bits
                ),
            )
        })?;
        if !(array.k_depth * container).is_multiple_of(64) {
            return Err(invalid(
                file,
                format!(
                    "k_depth {} x {}-bit code containers ({}-bit codes) must fill whole 64-bit words",
                    array.k_depth, container, pe.weight_bits
                ),
            ));
        }
        if !array.k_depth.is_multiple_of(16) {
            return Err(invalid(
                file,
                format!("k_depth is {}; it must be a multiple of 16", array.k_depth),
            ));
        }
        Ok(Arc::new(array))
    }
}

impl Params for GemmArray {
    const ENGINE: &'static str = "gemm";
}

impl EngineParams for GemmArray {
    fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).unwrap_or_default()
    }

    fn pe(&self) -> Option<&str> {
        Some(&self.pe)
    }

    fn identity(&self, library: &PeLibrary) -> Result<EngineIdentity, SpecError> {
        Ok(EngineIdentity {
            rows: self.rows,
            cols: self.cols,
            weight_bits: self.weight_bits(library)?,
            k_depth: self.k_depth,
            m_tiles: self.m_tiles,
            n_tiles: self.n_tiles,
            block: 0,
        })
    }

    fn core_parameters(
        &self,
        library: &PeLibrary,
    ) -> Result<Vec<(&'static str, String)>, SpecError> {
        Ok(vec![
            ("Rows", self.rows.to_string()),
            ("Cols", self.cols.to_string()),
            ("WBits", self.weight_bits(library)?.to_string()),
            ("KDepth", self.k_depth.to_string()),
            ("MTiles", self.m_tiles.to_string()),
            ("NTiles", self.n_tiles.to_string()),
        ])
    }

    fn compute_summary(&self) -> (String, String) {
        (self.pe.clone(), format!("{}x{}", self.rows, self.cols))
    }

    fn show(&self) -> Vec<(&'static str, String)> {
        vec![
            ("pe", self.pe.clone()),
            ("array", format!("{}x{} PEs", self.rows, self.cols)),
            ("k_depth", format!("{} (K per buffer half)", self.k_depth)),
            (
                "block",
                format!(
                    "{} x {} outputs ({} x {} tiles)",
                    self.block_rows(),
                    self.block_cols(),
                    self.m_tiles,
                    self.n_tiles
                ),
            ),
        ]
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    /// k_depth's rule counts code containers, not code bits: 16 one-bit
    /// codes are a quarter of a word; 16 three-bit codes in 4-bit
    /// containers are a whole one, though 48 bits would not be.
    #[test]
    fn k_depth_must_fill_whole_words_of_code_containers() {
        let text = |pe: &str, k_depth: u32| {
            format!(
                "name = \"gemm-t\"\nsummary = \"t\"\nengine = \"gemm\"\npe = \"{pe}\"\nrows = 2\n\
                 cols = 2\nk_depth = {k_depth}\nm_tiles = 1\nn_tiles = 1\nclock_mhz = 100.0\n\
                 max_burst_beats = 4\nmax_outstanding_reads = 2\ntest_only = true\n"
            )
        };
        let load = |pe: &str, k_depth: u32| crate::Design::parse("gemm-t.toml", &text(pe, k_depth));
        for (pe, k_depth) in [("test_sign1", 64), ("test_pot3", 16), ("test_log5", 16)] {
            let design = load(pe, k_depth).unwrap_or_else(|e| panic!("{pe}: {e}"));
            let bits = design.weight_bits().unwrap();
            assert_eq!(
                design.core_parameters().unwrap()[2],
                ("WBits", bits.to_string()),
                "the core takes the PE's width; it derives the container"
            );
        }
        for k_depth in [16, 32, 48] {
            let err = load("test_sign1", k_depth).unwrap_err().to_string();
            assert!(
                err.contains(&format!(
                    "k_depth {k_depth} x 1-bit code containers (1-bit codes) must fill whole 64-bit words"
                )),
                "{err}"
            );
        }
    }
}
