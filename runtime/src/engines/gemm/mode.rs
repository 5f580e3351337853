//! Generated from hw/ip/gemm/engine.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//! `make test` fails when this file is stale.
//!
//! The gemm engine's MODE fields, written into the MODE register's word.

use kiln_driver::regs::{RwField, SwAccess};

/// 1: write raw int32 accumulators plus bias; 0: requantise to int8.
///
/// Bit 0 of MODE.
pub const OUT_INT32: RwField = RwField::new("OUT_INT32", 0, 1, SwAccess::ReadWrite);

/// Activation zero point (int8, two's complement).
///
/// Bits 15:8 of MODE.
pub const ACT_ZP: RwField = RwField::new("ACT_ZP", 8, 8, SwAccess::ReadWrite);

/// Output zero point (int8, two's complement), int8 mode only.
///
/// Bits 23:16 of MODE.
pub const OUT_ZP: RwField = RwField::new("OUT_ZP", 16, 8, SwAccess::ReadWrite);
