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

    /// [`ActQuant::quantise`] of every element.
    pub fn quantise_all(&self, x: &[f32]) -> Vec<i8> {
        x.iter().map(|&v| self.quantise(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
