//! TFLite / gemmlowp fixed-point requantisation, the classic double-rounding
//! version (`MultiplyByQuantizedMultiplier` with a separate left and right
//! shift). The accelerator's output stage implements exactly this, so every
//! operation here is written out in the integer steps the RTL takes.
//!
//! Rounding, as these functions do it (docs/gemm-layouts.md works examples):
//! [`saturating_rounding_doubling_high_mul`] rounds `a * b / 2^31` half up
//! (towards +infinity at a tie), and [`rounding_divide_by_pot`] rounds
//! `x / 2^e` half away from zero. Together, for `multiplier >= 0` and a left
//! shift that does not overflow, the result is within 3/4 of the real value
//! `x * multiplier * 2^(shift - 31)`.
//!
//! The channel record ([`ChannelParams`]) and the output mode are here too:
//! every engine that ends in kiln's requantiser (hw/ip/common/rtl/
//! kiln_requant.sv) takes them.

use serde::Serialize;

/// A channel's requantisation parameters outside what the output stage takes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RequantError {
    #[error("channel {channel}: multiplier {multiplier} is negative; it must be in 0..=i32::MAX (TFLite's are 0 or in [2^30, 2^31))")]
    Multiplier { channel: usize, multiplier: i32 },
    #[error("channel {channel}: shift {shift} is outside the supported range -31..=30")]
    Shift { channel: usize, shift: i32 },
    #[error("cannot quantise the real multiplier {real}: {reason}")]
    RealMultiplier { real: f64, reason: &'static str },
}

/// One output channel's bias and requantisation parameters.
///
/// The channel's int8 output is
/// `multiply_by_quantized_multiplier(acc, multiplier, shift)` plus the output
/// zero point, saturated (see [`requantise`]). In [`OutputMode::Int32`] only
/// `bias` is used, but the parameters are still validated: the hardware
/// loads the same records in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelParams {
    pub bias: i32,
    /// Q0.31 fixed-point multiplier; TFLite's are 0 or in `[2^30, 2^31)`.
    pub multiplier: i32,
    /// Power-of-two exponent: positive shifts left before the multiply,
    /// negative shifts right (rounding) after it.
    pub shift: i32,
}

impl ChannelParams {
    /// Smallest shift the output stage supports (a rounding right shift by 31).
    pub const MIN_SHIFT: i32 = -31;
    /// Largest shift the output stage supports (a left shift by 30).
    pub const MAX_SHIFT: i32 = 30;

    /// Checks the ranges the output stage supports: `multiplier >= 0` and
    /// `shift` in `-31..=30`. `channel` only labels the error.
    pub fn validate(&self, channel: usize) -> Result<(), RequantError> {
        if self.multiplier < 0 {
            return Err(RequantError::Multiplier {
                channel,
                multiplier: self.multiplier,
            });
        }
        if !(Self::MIN_SHIFT..=Self::MAX_SHIFT).contains(&self.shift) {
            return Err(RequantError::Shift {
                channel,
                shift: self.shift,
            });
        }
        Ok(())
    }
}

/// What the accelerator writes to C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum OutputMode {
    /// Requantised and saturated to int8, one byte per element.
    Int8 { zero_point: i8 },
    /// The raw 32-bit accumulator (bias included), four bytes per element.
    Int32,
}

impl OutputMode {
    /// Bytes per element of C.
    pub fn element_bytes(self) -> usize {
        match self {
            OutputMode::Int8 { .. } => 1,
            OutputMode::Int32 => 4,
        }
    }
}

/// One Int8 output: requantise, add the zero point exactly, saturate.
pub fn requantise(x: i32, ch: &ChannelParams, zero_point: i8) -> i32 {
    let y = i64::from(multiply_by_quantized_multiplier(x, ch.multiplier, ch.shift))
        + i64::from(zero_point);
    y.clamp(-128, 127) as i32
}

/// Bytes of `channels` channel records.
pub fn channel_bytes(channels: usize) -> usize {
    16 * channels
}

/// The channel-parameter records, `channel_bytes(params.len())` bytes:
/// little-endian bias, multiplier, shift, then a reserved zero word.
pub fn pack_channels(params: &[ChannelParams]) -> Vec<u8> {
    let mut out = Vec::with_capacity(channel_bytes(params.len()));
    for p in params {
        out.extend_from_slice(&p.bias.to_le_bytes());
        out.extend_from_slice(&p.multiplier.to_le_bytes());
        out.extend_from_slice(&p.shift.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    out
}

/// `round(a * b / 2^31)`, rounding half up, saturated: gemmlowp's
/// `SaturatingRoundingDoublingHighMul`.
///
/// The only input whose result does not fit is `a == b == i32::MIN`
/// (`2^62 / 2^31 = 2^31`), which saturates to `i32::MAX`. Otherwise the
/// 64-bit product gets a nudge of `2^30` (product >= 0) or `1 - 2^30`
/// (product < 0) and is divided by `2^31` truncating towards zero, exactly as
/// C++ integer division does. The nudge-then-truncate pair amounts to
/// `floor((a * b + 2^30) / 2^31)`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // |ab| < 2^62 here, so the sum cannot overflow and the quotient fits i32.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent`, rounding half away from zero: gemmlowp's
/// `RoundingDivideByPOT`.
///
/// With `mask = 2^exponent - 1`, the result is the arithmetic shift
/// `x >> exponent` plus one when the remainder `x & mask` exceeds
/// `mask / 2` (rounded down), or `mask / 2 + 1` for negative `x`.
///
/// # Panics
/// If `exponent > 31` (a caller bug: [`ChannelParams::validate`] bounds the
/// shift so that this never happens from a validated problem).
///
/// [`ChannelParams::validate`]: super::ChannelParams::validate
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    assert!(
        exponent <= 31,
        "rounding_divide_by_pot: exponent {exponent} > 31"
    );
    // In i64 so that exponent 31 gives 0x7fff_ffff rather than overflowing.
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x * multiplier * 2^(shift - 31)`, rounded: TFLite's
/// `MultiplyByQuantizedMultiplier` (the double-rounding version).
///
/// A positive `shift` first shifts `x` left by `shift` **in 32 bits,
/// wrapping** (`x.wrapping_shl`), because the hardware shifts a 32-bit
/// register; C++ leaves the overflow undefined, and TFLite's converter never
/// produces a case that overflows. Then [`saturating_rounding_doubling_high_mul`]
/// by `multiplier`, then [`rounding_divide_by_pot`] by `-shift` when the
/// shift is negative.
///
/// Valid parameters are those [`ChannelParams::validate`] accepts:
/// `multiplier >= 0`, `shift` in `-31..=30`.
///
/// # Panics
/// If `shift < -31` (see [`rounding_divide_by_pot`]).
///
/// [`ChannelParams::validate`]: super::ChannelParams::validate
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.max(0) as u32;
    let right = (-shift).max(0) as u32;
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left), multiplier),
        right,
    )
}

/// Fraction and exponent of a finite `x > 0`: `x = frac * 2^exp` with `frac`
/// in `[0.5, 1)`, like C's `frexp`.
fn frexp(x: f64) -> (f64, i32) {
    const EXP_MASK: u64 = 0x7ff << 52;
    let bits = x.to_bits();
    let biased = ((bits & EXP_MASK) >> 52) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (frac, exp) = frexp(x * 2f64.powi(64));
        return (frac, exp - 64);
    }
    // Biased exponent 1022 puts the significand in [0.5, 1).
    let frac = f64::from_bits((bits & !EXP_MASK) | (1022 << 52));
    (frac, biased - 1022)
}

/// TFLite's `QuantizeMultiplier`: the `(multiplier, shift)` with
/// `multiplier * 2^(shift - 31)` nearest to `real`.
///
/// `real = frac * 2^shift` with `frac` in `[0.5, 1)` (frexp), and
/// `multiplier = round(frac * 2^31)` (half away from zero). When that rounds
/// up to `2^31`, it is halved and the shift grows by one. A real so small
/// that the shift would be below -31 gives `(0, 0)`, as does `0.0`. The
/// multiplier is then 0 or in `[2^30, 2^31)`, and the relative error is at
/// most `2^-31`.
///
/// Errors for a negative or non-finite `real`, and for one so large that
/// the shift would exceed 30 (about `real >= 2^30`).
pub fn quantize_multiplier(real: f64) -> Result<(i32, i32), RequantError> {
    if !real.is_finite() || real < 0.0 {
        return Err(RequantError::RealMultiplier {
            real,
            reason: "it must be finite and non-negative",
        });
    }
    if real == 0.0 {
        return Ok((0, 0));
    }
    let (frac, mut shift) = frexp(real);
    // frac * 2^31 is exact (a power-of-two scaling), in [2^30, 2^31).
    let mut q = (frac * f64::from(1u32 << 31)).round() as i64;
    if q == 1 << 31 {
        q /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Ok((0, 0));
    }
    if shift > 30 {
        return Err(RequantError::RealMultiplier {
            real,
            reason: "it needs a shift above 30: the largest representable real is just under 2^30",
        });
    }
    Ok((q as i32, shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_its_definition() {
        for x in [1.0, 0.5, 0.75, 3.0, 1e-300, 5e-324, 1e300, 0.01] {
            let (f, e) = frexp(x);
            assert!((0.5..1.0).contains(&f), "{x}: {f}");
            // In two steps: 2^-1074 and 2^1000 are out of powi's reach.
            let half = e / 2;
            assert_eq!(f * 2f64.powi(half) * 2f64.powi(e - half), x, "{x}");
        }
        assert_eq!(frexp(1.0), (0.5, 1));
    }

    #[test]
    fn quantize_multiplier_edges() {
        assert_eq!(quantize_multiplier(0.0).unwrap(), (0, 0));
        assert_eq!(quantize_multiplier(1.0).unwrap(), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.5).unwrap(), (1 << 30, 0));
        // Just below 1: frac rounds up to 2^31, so it becomes 2^30 with shift 1.
        assert_eq!(quantize_multiplier(1.0 - 1e-12).unwrap(), (1 << 30, 1));
        // 2^-33 would need shift -32: flushed to zero.
        assert_eq!(quantize_multiplier(2f64.powi(-33)).unwrap(), (0, 0));
        assert_eq!(quantize_multiplier(2f64.powi(-32)).unwrap(), (1 << 30, -31));
        assert!(quantize_multiplier(2f64.powi(30)).is_err());
        assert_eq!(
            quantize_multiplier(2f64.powi(30) * 0.75).unwrap(),
            (3 << 29, 30)
        );
        assert!(quantize_multiplier(-1.0).is_err());
        assert!(quantize_multiplier(f64::NAN).is_err());
    }
}
