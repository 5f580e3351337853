//! Error of a layer's output against tract's, accumulated over a data set.
//! NaN and infinite elements are counted, not summed: one of them would
//! turn every statistic into NaN and hide where it came from.

use crate::report::{LayerError, NonFiniteCount};

/// Running sums for max |error|, SQNR and cosine similarity.
#[derive(Debug, Clone, Default)]
pub struct ErrorStats {
    elements: u64,
    nonfinite: NonFiniteCount,
    max_abs: f64,
    signal: f64,
    noise: f64,
    dot: f64,
    test_power: f64,
}

impl ErrorStats {
    /// Adds one output: `reference` from tract, `test` from the accelerator.
    pub fn add(&mut self, reference: &[f32], test: &[f32]) {
        for (&r, &t) in reference.iter().zip(test) {
            if !(r.is_finite() && t.is_finite()) {
                self.nonfinite.reference += u64::from(!r.is_finite());
                self.nonfinite.test += u64::from(!t.is_finite());
                continue;
            }
            let (r, t) = (f64::from(r), f64::from(t));
            let e = t - r;
            self.max_abs = self.max_abs.max(e.abs());
            self.signal += r * r;
            self.noise += e * e;
            self.dot += r * t;
            self.test_power += t * t;
            self.elements += 1;
        }
    }

    /// Adds the sums of `other` (another sample's outputs).
    pub fn merge(&mut self, other: &ErrorStats) {
        self.elements += other.elements;
        self.nonfinite.reference += other.nonfinite.reference;
        self.nonfinite.test += other.nonfinite.test;
        self.max_abs = self.max_abs.max(other.max_abs);
        self.signal += other.signal;
        self.noise += other.noise;
        self.dot += other.dot;
        self.test_power += other.test_power;
    }

    /// Non-finite elements seen so far, per side.
    pub fn nonfinite(&self) -> NonFiniteCount {
        self.nonfinite
    }

    /// `None` before any finite output was added.
    pub fn finish(&self) -> Option<LayerError> {
        if self.elements == 0 {
            return None;
        }
        let sqnr_db = if self.noise == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (self.signal / self.noise).log10()
        };
        let norms = (self.signal * self.test_power).sqrt();
        let cosine = if norms == 0.0 {
            if self.signal == self.test_power {
                1.0
            } else {
                0.0
            }
        } else {
            self.dot / norms
        };
        Some(LayerError {
            max_abs: self.max_abs,
            sqnr_db,
            cosine,
        })
    }
}

/// Index of the largest value (the first of equals): the top-1 label.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqnr_and_cosine_match_hand_values() {
        let mut s = ErrorStats::default();
        s.add(&[3.0, 4.0], &[3.0, 4.5]);
        let e = s.finish().unwrap();
        assert!((e.max_abs - 0.5).abs() < 1e-12);
        // signal 25, noise 0.25 -> 20 dB
        assert!((e.sqnr_db - 20.0).abs() < 1e-9);
        let cos = (9.0 + 18.0) / (5.0 * (9.0f64 + 20.25).sqrt());
        assert!((e.cosine - cos).abs() < 1e-12);
        let mut exact = ErrorStats::default();
        exact.add(&[1.0, -2.0], &[1.0, -2.0]);
        assert_eq!(exact.finish().unwrap().sqnr_db, f64::INFINITY);
        assert!(ErrorStats::default().finish().is_none());
        // Non-finite elements are counted per side and left out of the sums.
        let mut nan = ErrorStats::default();
        nan.add(&[f32::NAN, 1.0, 2.0], &[0.0, f32::INFINITY, 2.0]);
        let counts = nan.nonfinite();
        assert_eq!((counts.reference, counts.test), (1, 1));
        assert_eq!(nan.finish().unwrap().sqnr_db, f64::INFINITY);
        let mut all_nan = ErrorStats::default();
        all_nan.add(&[f32::NAN], &[f32::NAN]);
        assert!(all_nan.finish().is_none());
        assert_eq!(argmax(&[0.1, 0.7, 0.7, -1.0]), 1);
    }
}
