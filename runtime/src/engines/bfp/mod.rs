//! Block floating point (BFP): the MX-style integer formats and the golden
//! MatMul the BFP engine (hw/ip/bfp) reproduces bit for bit.
//!
//! A row of K elements is cut into blocks of `block` (16, 32 or 64)
//! consecutive elements; each block shares one E8M0 exponent byte `X` and
//! holds small signed integers `q`, worth `q * 2^(X - 127 - F)`:
//!
//! - `mxint8`: `q` in `-127..=127`, `F = 6` (OCP MX v1.0 MXINT8);
//! - `mxint4`: `q` in `-7..=7`, `F = 2` (the same construction, 4 bits).
//!
//! [`BfpMatrix::quantise`] turns f32 data into blocks, [`golden_matmul`] is
//! the arithmetic the RTL copies, [`layout`] is where the operands sit in
//! device memory, [`ggml`] converts llama.cpp's Q8_0 / Q4_0 blocks,
//! [`bound`] is an a-priori bound on the error against f64, and [`study`]
//! measures that error. docs/bfp.md explains all of it with worked numbers.
//!
//! The engine's job (`job`), byte budgets (`budget`) and model lowering
//! (`lower`) sit beside the arithmetic.

pub mod bound;
pub mod budget;
pub mod check;
pub mod conv_call;
mod engine;
mod format;
pub mod ggml;
pub mod job;
pub mod layout;
pub mod lower;
mod matmul;
mod matrix;
pub mod study;

pub use engine::{BfpMatmulEngine, BFP};
pub use format::{BfpFormat, ElementKind, BLOCK_SIZES, DEFAULT_BLOCK};
pub use job::{weight_format, MatmulDescriptor, MatmulProblem, MatmulRun, RunMatmul};
pub use matmul::{e_off, golden_matmul, GUARD_BITS, MAX_K};
pub use matrix::BfpMatrix;

/// `2^e` as an f64, exactly, for `e` in `-1074..=1023` (every power of two
/// an f64 holds; the BFP code needs `-282..=230`). Built from the bits so
/// that no library routine's rounding is involved.
pub(crate) fn pow2(e: i32) -> f64 {
    debug_assert!((-1074..=1023).contains(&e), "pow2({e}) is not an f64");
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// `floor(log2(|x|))` for a finite, non-zero f32, exactly, from its bits:
/// the biased exponent for normal numbers, the position of the leading set
/// bit of the significand for subnormals. The result is in `-149..=127`.
pub(crate) fn floor_log2(x: f32) -> i32 {
    let bits = x.to_bits() & 0x7fff_ffff;
    debug_assert!(bits != 0 && bits < 0x7f80_0000, "floor_log2({x})");
    let biased = (bits >> 23) as i32;
    if biased > 0 {
        biased - 127
    } else {
        // Subnormal: |x| = m * 2^-149 with m below 2^23.
        -149 + (31 - bits.leading_zeros() as i32)
    }
}

/// Bad input to the BFP model, a layout function or a converter. Each
/// message says what is wrong and what would be right.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BfpError {
    #[error("block {block}; it must be 16, 32 or 64")]
    BlockSize { block: usize },
    #[error("unknown BFP element format `{name}`; use mxint8 or mxint4")]
    FormatName { name: String },
    #[error("{dim} is 0; a BFP matrix needs at least one row and K >= 1")]
    ZeroDim { dim: &'static str },
    #[error("{what} holds {len} values, but {rows} rows x {per_row} per row needs {expected}")]
    Length {
        what: &'static str,
        len: usize,
        rows: usize,
        per_row: usize,
        expected: String,
    },
    #[error("element [{row}][{col}] is {value}; BFP quantisation needs finite values")]
    NonFinite { row: usize, col: usize, value: f32 },
    #[error(
        "exponent of row {row}, block {block} is 255, which is NaN in E8M0; valid exponents are 0..=254"
    )]
    ExponentNaN { row: usize, block: usize },
    #[error("element [{row}][{col}] is {value}, outside {format}'s range -{max}..={max}")]
    ElementRange {
        row: usize,
        col: usize,
        value: i8,
        format: &'static str,
        max: i8,
    },
    #[error(
        "padding element [{row}][{col}] is {value}; K = {k} is padded to {padded_k} with zeros only"
    )]
    Padding {
        row: usize,
        col: usize,
        value: i8,
        k: usize,
        padded_k: usize,
    },
    #[error("A is {format}; activations must be mxint8")]
    ActivationFormat { format: &'static str },
    #[error("A has K = {a} but W has K = {w}; both operands must have the same K")]
    KMismatch { a: usize, w: usize },
    #[error("A has block {a} but W has block {w}; both operands must use the same block size")]
    BlockMismatch { a: usize, w: usize },
    #[error("K = {k} is above the engine's maximum {max}")]
    KTooLarge { k: usize, max: usize },
    #[error(
        "{operand} row stride {stride} bytes; it must be a multiple of 8 and at least {min} bytes"
    )]
    Stride {
        operand: &'static str,
        stride: usize,
        min: usize,
    },
    #[error("{operand} buffer holds {len} bytes, but the layout needs {expected}")]
    Buffer {
        operand: &'static str,
        len: usize,
        expected: usize,
    },
    #[error(
        "{format} data is {len} bytes, but {rows} rows of K = {k} need {expected} \
         ({blocks_per_row} blocks of {block_bytes} bytes per row)"
    )]
    GgmlLength {
        format: &'static str,
        len: usize,
        rows: usize,
        k: usize,
        blocks_per_row: usize,
        block_bytes: usize,
        expected: usize,
    },
    #[error("{format} data is {len} bytes, not a whole number of {block_bytes}-byte blocks")]
    GgmlBlocks {
        format: &'static str,
        len: usize,
        block_bytes: usize,
    },
    #[error(transparent)]
    PlaneCall(#[from] crate::model::site::PlaneCallError),
    #[error("K = {k} is not a multiple of 32, the block of llama.cpp's {format}")]
    GgmlK { format: &'static str, k: usize },
    #[error(
        "{format} block {block} has fp16 scale {bits:#06x} ({what}); the scale must be finite"
    )]
    GgmlScale {
        format: &'static str,
        block: usize,
        bits: u16,
        what: &'static str,
    },
}
