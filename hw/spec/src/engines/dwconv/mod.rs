//! The dwconv engine's design fields: a PE kind from the library, the
//! lanes (channels computed at once, one PE each), the largest kernel and
//! the longest padded input row its line buffer holds (hw/ip/dwconv,
//! hw/ip/dwconv/doc/README.md).

use std::any::Any;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    check_fields, deserialize_fields, in_range, library_pe, DesignContext, EngineIdentity,
    EngineParams, EngineSpec, Params,
};
use crate::{invalid, PeLibrary, SpecError};

/// The dwconv engine's Rust half in kiln-spec.
#[derive(Debug)]
pub(crate) struct Dwconv;

/// A dwconv design's lanes and line buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DwconvArray {
    /// PE kind, a name from the PE library.
    pub pe: String,
    /// L: channels computed at once, one PE each; a multiple of 8.
    pub lanes: u32,
    /// The largest K of a K x K kernel.
    pub max_kernel: u32,
    /// The longest padded input row, in pixels (a power of two).
    pub max_width: u32,
}

impl DwconvArray {
    fn weight_bits(&self, library: &PeLibrary) -> Result<u32, SpecError> {
        Ok(library.get(&self.pe)?.weight_bits)
    }
}

impl EngineSpec for Dwconv {
    fn name(&self) -> &'static str {
        DwconvArray::ENGINE
    }

    fn fields(&self) -> &'static [&'static str] {
        &["pe", "lanes", "max_kernel", "max_width"]
    }

    fn parse(
        &self,
        file: &str,
        fields: toml::Table,
        context: &DesignContext<'_>,
    ) -> Result<Arc<dyn EngineParams>, SpecError> {
        check_fields(file, self, &fields)?;
        let array: DwconvArray = deserialize_fields(file, fields)?;
        library_pe(file, context, &array.pe)?;
        in_range(file, "lanes", array.lanes, 8, 32)?;
        if !array.lanes.is_multiple_of(8) {
            return Err(invalid(
                file,
                format!(
                    "lanes is {}; it must be a multiple of 8 (a pixel of L channels is whole 64-bit beats)",
                    array.lanes
                ),
            ));
        }
        in_range(file, "max_kernel", array.max_kernel, 1, 7)?;
        in_range(file, "max_width", array.max_width, 16, 1024)?;
        if !array.max_width.is_power_of_two() {
            return Err(invalid(
                file,
                format!(
                    "max_width is {}; it must be a power of two (it is a line buffer address field)",
                    array.max_width
                ),
            ));
        }
        Ok(Arc::new(array))
    }
}

impl Params for DwconvArray {
    const ENGINE: &'static str = "dwconv";
}

impl EngineParams for DwconvArray {
    fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).unwrap_or_default()
    }

    fn pe(&self) -> Option<&str> {
        Some(&self.pe)
    }

    /// ROWS: lanes; COLS: max_kernel; K_DEPTH: max_width.
    fn identity(&self, library: &PeLibrary) -> Result<EngineIdentity, SpecError> {
        Ok(EngineIdentity {
            rows: self.lanes,
            cols: self.max_kernel,
            weight_bits: self.weight_bits(library)?,
            k_depth: self.max_width,
            m_tiles: 1,
            n_tiles: 1,
            block: 0,
        })
    }

    fn core_parameters(
        &self,
        library: &PeLibrary,
    ) -> Result<Vec<(&'static str, String)>, SpecError> {
        Ok(vec![
            ("Lanes", self.lanes.to_string()),
            ("WBits", self.weight_bits(library)?.to_string()),
            ("MaxKernel", self.max_kernel.to_string()),
            ("MaxWidth", self.max_width.to_string()),
        ])
    }

    fn compute_summary(&self) -> (String, String) {
        (self.pe.clone(), format!("{} lanes", self.lanes))
    }

    fn show(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "lanes",
                format!("{} (channels at once, one PE each)", self.lanes),
            ),
            (
                "max_kernel",
                format!("{0} (kernels up to {0}x{0})", self.max_kernel),
            ),
            (
                "max_width",
                format!("{} (longest padded input row, pixels)", self.max_width),
            ),
        ]
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
