//! Activations to int8 with a scale and zero point, for the engines that
//! take int8 activations: `(q - zero_point) * scale` recovers the real
//! value. Weights are each engine's own (its `lower` module).

/// Affine int8 quantisation of activations: `q = clamp(round(x / scale) +
/// zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActQuant {
    pub scale: f32,
    pub zero_point: i8,
}

impl ActQuant {
    /// Maps the observed range `[lo, hi]`, widened to contain 0 so that zero
    /// (padding, ReLU's floor) is exact, onto the 256 int8 levels.
    pub fn from_range(lo: f32, hi: f32) -> Self {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let span = hi - lo;
        if !(span.is_finite() && span > 0.0) {
            return Self {
                scale: 1.0,
                zero_point: 0,
            };
        }
        let scale = span / 255.0;
        let zero_point = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
        Self { scale, zero_point }
    }

    pub fn quantise(&self, x: f32) -> i8 {
        let q = (x / self.scale).round() + f32::from(self.zero_point);
        q.clamp(-128.0, 127.0) as i8
    }

    /// [`ActQuant::quantise`] of every element, bit for bit, without the
    /// `roundf` call that keeps the loop from vectorising: `f32::round`
    /// rounds half away from zero, which is truncation plus one step away
    /// from zero when the dropped fraction is at least a half. Values past
    /// +-1024 saturate either way, so they are clamped first; NaN quantises
    /// to 0, as `as i8` makes it.
    pub fn quantise_all(&self, x: &[f32]) -> Vec<i8> {
        let mut out = vec![0i8; x.len()];
        quantise_into(self, x, &mut out);
        out
    }
}

/// [`ActQuant::quantise_all`]'s loop, compiled for AVX2 and AVX-512 too
/// (8 and 16 lanes, with a vector rounding instruction for the truncation;
/// the default x86-64 target has only SSE2) and picked at run time.
// `max` then `min`, not `clamp`: clamp keeps a NaN, these drop it, which is
// the point (see below).
#[allow(clippy::manual_clamp)]
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn quantise_into(q: &ActQuant, x: &[f32], out: &mut [i8]) {
    let (scale, zp) = (q.scale, f32::from(q.zero_point));
    for (o, &v) in out.iter_mut().zip(x) {
        let q = v / scale;
        // max and min return the other operand for a NaN: `c` is always
        // a finite value in range, the NaN is dealt with at the end.
        let c = q.max(-1024.0).min(1024.0);
        let t = c.trunc();
        let step = if (c - t).abs() >= 0.5 {
            1f32.copysign(c)
        } else {
            0.0
        };
        let y = (t + step + zp).max(-128.0).min(127.0);
        // SAFETY: `y` is a whole number in [-128, 127], never NaN (max and
        // min above), so the conversion is exact and in range; unlike `as`,
        // it vectorises.
        let y = unsafe { y.to_int_unchecked::<i32>() } as i8;
        *o = if q.is_nan() { 0 } else { y };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorised loop and the one-value definition agree on values
    /// around every rounding edge, extremes and non-finite values.
    #[test]
    fn quantise_all_is_quantise() {
        let mut xs = vec![
            0.0f32,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e30,
            -1e30,
        ];
        for i in -3000..3000 {
            let h = i as f32 * 0.5;
            xs.extend([h, h.next_up(), h.next_down()]);
        }
        let mut rng = crate::rng::SplitMix64::new(9);
        xs.extend((0..20000).map(|_| f32::from_bits(rng.below(1 << 32) as u32)));
        for q in [
            ActQuant::from_range(-1.0, 3.0),
            ActQuant::from_range(0.0, 1.0),
            ActQuant {
                scale: 1.0,
                zero_point: -128,
            },
            ActQuant {
                scale: 0.5,
                zero_point: 127,
            },
        ] {
            let all = q.quantise_all(&xs);
            for (x, got) in xs.iter().zip(all) {
                assert_eq!(got, q.quantise(*x), "{x:e} with {q:?}");
            }
        }
    }

    #[test]
    fn activation_range_keeps_zero_exact() {
        let q = ActQuant::from_range(0.0, 2.55);
        assert_eq!(q.zero_point, -128);
        assert_eq!(q.quantise(0.0), -128);
        assert_eq!(q.quantise(2.55), 127);
        let sym = ActQuant::from_range(-1.0, 1.0);
        assert_eq!(sym.quantise(0.0), sym.zero_point);
        assert!(
            (f32::from(sym.quantise(0.5) - sym.zero_point) * sym.scale - 0.5).abs() < sym.scale
        );
    }
}
