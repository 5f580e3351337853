//! Generated from hw/ip/dwconv/engine.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//! `make test` fails when this file is stale.
//!
//! The dwconv engine's MODE fields, written into the MODE register's word.

use kiln_driver::regs::{RwField, SwAccess};

/// 1: write raw int32 sums plus bias; 0: requantise to int8.
///
/// Bit 0 of MODE.
pub const OUT_INT32: RwField = RwField::new("OUT_INT32", 0, 1, SwAccess::ReadWrite);

/// K: the kernel is K x K, 1 to the design's max_kernel.
///
/// Bits 7:4 of MODE.
pub const KERNEL: RwField = RwField::new("KERNEL", 4, 4, SwAccess::ReadWrite);

/// s: the stride on both axes, 1 to K.
///
/// Bits 11:8 of MODE.
pub const STRIDE: RwField = RwField::new("STRIDE", 8, 4, SwAccess::ReadWrite);

/// Output zero point (int8, two's complement), int8 mode only.
///
/// Bits 23:16 of MODE.
pub const OUT_ZP: RwField = RwField::new("OUT_ZP", 16, 8, SwAccess::ReadWrite);
