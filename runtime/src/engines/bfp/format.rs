//! The two element kinds and a format (element kind plus block size).

use std::fmt;

use serde::Serialize;

use super::BfpError;

/// The block sizes the engine supports.
pub const BLOCK_SIZES: [usize; 3] = [16, 32, 64];

/// The block size when none is given: OCP MX v1.0's.
pub const DEFAULT_BLOCK: usize = 32;

/// The integer elements of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    /// int8 in `-127..=127`, 6 fractional bits (OCP MXINT8).
    Int8,
    /// int4 in `-7..=7`, 2 fractional bits (not in OCP MX v1.0).
    Int4,
}

impl ElementKind {
    /// Fractional bits `F`: an element `q` of a block with exponent `X` is
    /// worth `q * 2^(X - 127 - F)`.
    pub fn frac_bits(self) -> i32 {
        match self {
            ElementKind::Int8 => 6,
            ElementKind::Int4 => 2,
        }
    }

    /// Largest magnitude of an element. The two's-complement minimum (-128,
    /// -8) is excluded so that the range is symmetric.
    pub fn max_code(self) -> i8 {
        match self {
            ElementKind::Int8 => 127,
            ElementKind::Int4 => 7,
        }
    }

    /// Bits per element in device memory.
    pub fn bits(self) -> usize {
        match self {
            ElementKind::Int8 => 8,
            ElementKind::Int4 => 4,
        }
    }

    /// The format's name: `mxint8` or `mxint4`.
    pub fn name(self) -> &'static str {
        match self {
            ElementKind::Int8 => "mxint8",
            ElementKind::Int4 => "mxint4",
        }
    }
}

/// An element kind and a block size: everything needed to read a BFP row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BfpFormat {
    pub element: ElementKind,
    /// Elements per shared exponent: 16, 32 or 64.
    pub block: usize,
}

impl BfpFormat {
    /// Errors when `block` is not 16, 32 or 64.
    pub fn new(element: ElementKind, block: usize) -> Result<Self, BfpError> {
        if !BLOCK_SIZES.contains(&block) {
            return Err(BfpError::BlockSize { block });
        }
        Ok(Self { element, block })
    }

    /// The format named `mxint8` or `mxint4`, with `block`.
    pub fn named(name: &str, block: usize) -> Result<Self, BfpError> {
        let element = match name {
            "mxint8" => ElementKind::Int8,
            "mxint4" => ElementKind::Int4,
            _ => {
                return Err(BfpError::FormatName {
                    name: name.to_string(),
                })
            }
        };
        Self::new(element, block)
    }

    /// `mxint8` or `mxint4`.
    pub fn name(&self) -> &'static str {
        self.element.name()
    }

    /// Blocks in a row of `k` elements: `ceil(k / block)`.
    pub fn blocks(&self, k: usize) -> usize {
        k.div_ceil(self.block)
    }

    /// `k` rounded up to whole blocks; elements `k..padded_k` are zeros.
    pub fn padded_k(&self, k: usize) -> usize {
        self.blocks(k) * self.block
    }

    /// Storage per element, the shared exponent included: `bits + 8 / block`.
    pub fn bits_per_element(&self) -> f64 {
        self.element.bits() as f64 + 8.0 / self.block as f64
    }
}

impl fmt::Display for BfpFormat {
    /// `mxint8/32`: the name and the block size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name(), self.block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        let f = BfpFormat::named("mxint4", 64).unwrap();
        assert_eq!(
            (f.element, f.block, f.to_string()),
            (ElementKind::Int4, 64, "mxint4/64".into())
        );
        assert_eq!(f.blocks(65), 2);
        assert_eq!(f.padded_k(65), 128);
        assert_eq!(f.padded_k(64), 64);
        assert_eq!(
            BfpFormat::named("mxint8", 24).unwrap_err().to_string(),
            "block 24; it must be 16, 32 or 64"
        );
        assert!(matches!(
            BfpFormat::named("mxfp8", 32),
            Err(BfpError::FormatName { .. })
        ));
        assert_eq!(
            BfpFormat::named("mxint8", 32).unwrap().bits_per_element(),
            8.25
        );
    }
}
