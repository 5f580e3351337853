//! The BFP MatMul engine's design fields: the weight format, the block
//! size, the lanes, the output tile and the longest K (hw/ip/bfp,
//! docs/bfp.md).

use std::any::Any;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    check_fields, deserialize_fields, in_range, DesignContext, EngineIdentity, EngineParams,
    EngineSpec, Params,
};
use crate::{invalid, PeLibrary, SpecError};

/// The BFP engine's Rust half in kiln-spec.
#[derive(Debug)]
pub(crate) struct Bfp;

/// A BFP MatMul design's lanes and formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfpEngine {
    /// Weight element format: `mxint8` or `mxint4`. Activations are mxint8.
    pub format: String,
    /// Elements per block sharing one exponent: 16, 32 or 64.
    pub block: u32,
    /// Lanes: rows of A held on chip, output rows computed at once.
    pub lanes: u32,
    /// Output columns collected on chip before they are written to C.
    pub n_tile: u32,
    /// The longest K a MatMul may have (a multiple of 8 blocks).
    pub k_depth: u32,
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

impl EngineSpec for Bfp {
    fn name(&self) -> &'static str {
        BfpEngine::ENGINE
    }

    fn fields(&self) -> &'static [&'static str] {
        &["format", "block", "lanes", "n_tile", "k_depth"]
    }

    fn parse(
        &self,
        file: &str,
        fields: toml::Table,
        _context: &DesignContext<'_>,
    ) -> Result<Arc<dyn EngineParams>, SpecError> {
        check_fields(file, self, &fields)?;
        let engine: BfpEngine = deserialize_fields(file, fields)?;
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
        in_range(file, "k_depth", engine.k_depth, 8 * engine.block, 16384)?;
        if !engine.k_depth.is_multiple_of(8 * engine.block) {
            return Err(invalid(
                file,
                format!(
                    "k_depth is {}; it must be a multiple of 8 blocks ({})",
                    engine.k_depth,
                    8 * engine.block
                ),
            ));
        }
        Ok(Arc::new(engine))
    }
}

impl Params for BfpEngine {
    const ENGINE: &'static str = "bfp";
}

impl EngineParams for BfpEngine {
    fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).unwrap_or_default()
    }

    fn pe(&self) -> Option<&str> {
        None
    }

    fn identity(&self, _library: &PeLibrary) -> Result<EngineIdentity, SpecError> {
        Ok(EngineIdentity {
            rows: self.lanes,
            cols: self.n_tile,
            weight_bits: self.weight_bits(),
            k_depth: self.k_depth,
            m_tiles: 1,
            n_tiles: 1,
            block: self.block,
        })
    }

    fn core_parameters(
        &self,
        _library: &PeLibrary,
    ) -> Result<Vec<(&'static str, String)>, SpecError> {
        Ok(vec![
            ("Lanes", self.lanes.to_string()),
            ("NTile", self.n_tile.to_string()),
            ("WBits", self.weight_bits().to_string()),
            ("Block", self.block.to_string()),
            ("KDepth", self.k_depth.to_string()),
        ])
    }

    fn compute_summary(&self) -> (String, String) {
        (
            format!("{}/b{}", self.format, self.block),
            format!("{} lanes", self.lanes),
        )
    }

    fn show(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "format",
                format!(
                    "{} weights x mxint8 activations, blocks of {}",
                    self.format, self.block
                ),
            ),
            ("lanes", format!("{} (rows of A held on chip)", self.lanes)),
            (
                "n_tile",
                format!("{} (output columns per write)", self.n_tile),
            ),
            ("k_depth", format!("{} (longest K)", self.k_depth)),
        ]
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_design_with_the_other_engines_fields_is_refused() {
        let text =
            std::fs::read_to_string(crate::repo_root().join("hw/designs/bfp-mxint8.toml")).unwrap();
        let load = |text: &str| crate::Design::parse("hw/designs/bfp-mxint8.toml", text);
        let good = load(&text).unwrap();
        assert_eq!(good.params::<BfpEngine>().unwrap().lanes, 8);
        assert!(good
            .params::<crate::GemmArray>()
            .unwrap_err()
            .to_string()
            .contains("is a bfp engine"));
        let err = load(&format!("{text}rows = 8\n")).unwrap_err().to_string();
        assert!(
            err.contains("`rows` does not apply to a bfp design; a bfp design takes format, block, lanes, n_tile, k_depth"),
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
}
