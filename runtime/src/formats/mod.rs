//! Number formats and their bit-exact golden models.
//!
//! Pure arithmetic: nothing here touches hardware or files. Each PE kind's
//! weight codebook comes from hw/ip/pe/data/codebooks.toml through
//! kiln-spec; [`Codebook`] turns it into the golden product and
//! [`quantise_per_channel`] maps f32 weights onto it.

mod codebook;
mod quantise;
pub mod requant;

pub use codebook::Codebook;
pub use quantise::{dequantise, quantise_per_channel, quantise_rows, QuantisedMatrix, ScaleRule};

/// Bad input to a format operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    #[error("weight code {code} does not fit the {bits}-bit codes of PE `{pe}`")]
    CodeOutOfRange { pe: String, code: u32, bits: u32 },
    #[error("weight [{row}, {col}] is {value}: only finite weights can be quantised")]
    NonFinite { row: usize, col: usize, value: f32 },
    #[error("{len} weights cannot be a {rows} x {cols} matrix (rows are output channels)")]
    Shape {
        len: usize,
        rows: usize,
        cols: usize,
    },
    #[error(transparent)]
    Spec(#[from] kiln_spec::SpecError),
}
