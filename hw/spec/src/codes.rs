//! How weight codes are stored in device memory.
//!
//! A PE takes codes of `weight_bits` bits, 1 to 8 ([`WEIGHT_BITS`]). An
//! engine that streams codes in 64-bit words (the GEMM engine's B operand)
//! stores each code in a *container* of [`code_container_bits`] bits: the
//! smallest of 1, 2, 4 and 8 that holds it, the code in the low bits and
//! the spare high bits zero. A container of a power-of-two width divides a
//! 64-bit word, so no code straddles two words and the engine picks code
//! `k` out of a word with one shift. The price is plain: a 3-bit code moves
//! as many bytes as a 4-bit one, and a 5-, 6- or 7-bit code as many as an
//! 8-bit one.
//!
//! [`code_container_bits`] is the one Rust statement of the rule: the GEMM
//! design check, the B layout, the driver's descriptor check and the byte
//! budgets all call it. The RTL states it once too
//! (`gemm_pkg::code_container_bits`, hw/ip/gemm/rtl/gemm_pkg.sv), and
//! tests/gemm_sim.rs holds the two to the same bytes with designs of 1-, 3-
//! and 5-bit codes. The dwconv engine packs its tap records densely
//! instead: each tap is read as one wide record, so straddling costs it
//! nothing.

use std::ops::RangeInclusive;

/// The weight code widths a PE may have.
pub const WEIGHT_BITS: RangeInclusive<u32> = 1..=8;

/// Bits of the container a `weight_bits`-bit weight code is stored in: the
/// smallest of 1, 2, 4 and 8 that is at least `weight_bits`. `None` for a
/// width outside [`WEIGHT_BITS`].
pub const fn code_container_bits(weight_bits: u32) -> Option<u32> {
    match weight_bits {
        1 => Some(1),
        2 => Some(2),
        3 | 4 => Some(4),
        5..=8 => Some(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_the_smallest_power_of_two_that_holds_the_code() {
        let containers: Vec<_> = WEIGHT_BITS.map(code_container_bits).collect();
        assert_eq!(
            containers,
            [1, 2, 4, 4, 8, 8, 8, 8].map(Some),
            "widths 1..=8"
        );
        for bits in WEIGHT_BITS {
            let c = code_container_bits(bits).unwrap();
            assert!(c >= bits && c.is_power_of_two() && 64 % c == 0);
            assert!(c == 1 || c / 2 < bits, "{bits} fits a smaller container");
        }
        assert_eq!(code_container_bits(0), None);
        assert_eq!(code_container_bits(9), None);
        assert_eq!(code_container_bits(u32::MAX), None);
    }
}
