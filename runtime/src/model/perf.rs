//! Cycles of accelerator calls that were not simulated, from a model
//! calibrated on the calls that were (the replays).
//!
//! The engine's cycles depend on the call's shape and the board's memory,
//! not on the data, so a layer whose calls were replayed takes their mean.
//! Other layers get `cycles = a * bound + b`, fitted by least squares, where
//! `bound` is the larger of the call's compute cycles (MACs over PEs) and
//! its memory cycles (bytes over the port's bytes per cycle). The
//! calibration error is measured leaving one layer out at a time.

use super::report::Calibration;

/// One replayed call: its layer, its roofline bound and its cycles.
#[derive(Debug, Clone, Copy)]
pub struct Replay {
    pub layer: usize,
    pub bound: f64,
    pub cycles: f64,
}

/// `(a, b)` of `cycles = a * bound + b`; through the origin when fewer than
/// two distinct bounds are known.
fn fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx > 1e-9 * mx.max(1.0).powi(2) {
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let a = sxy / sxx;
        Some((a, my - a * mx))
    } else if sx > 0.0 {
        Some((sy / sx, 0.0))
    } else {
        None
    }
}

/// Mean cycles per layer of `replays`.
fn layer_means(replays: &[Replay]) -> Vec<(usize, f64, f64)> {
    let mut layers: Vec<usize> = replays.iter().map(|r| r.layer).collect();
    layers.sort_unstable();
    layers.dedup();
    layers
        .into_iter()
        .map(|l| {
            let mine: Vec<&Replay> = replays.iter().filter(|r| r.layer == l).collect();
            let mean = mine.iter().map(|r| r.cycles).sum::<f64>() / mine.len() as f64;
            (l, mine[0].bound, mean)
        })
        .collect()
}

/// Cycles per call for each layer, given its roofline bound.
#[derive(Debug, Clone)]
pub struct PerfModel {
    measured: Vec<(usize, f64, f64)>,
    line: Option<(f64, f64)>,
}

impl PerfModel {
    pub fn calibrate(replays: &[Replay]) -> Self {
        let measured = layer_means(replays);
        let points: Vec<(f64, f64)> = measured.iter().map(|m| (m.1, m.2)).collect();
        Self {
            line: fit(&points),
            measured,
        }
    }

    /// Cycles per call of `layer` (measured if replayed, else predicted).
    pub fn cycles(&self, layer: usize, bound: f64) -> Option<f64> {
        if let Some(m) = self.measured.iter().find(|m| m.0 == layer) {
            return Some(m.2);
        }
        self.line.map(|(a, b)| (a * bound + b).max(bound))
    }

    /// Leave-one-layer-out error of the fitted line on the replayed layers;
    /// `None` with fewer than two layers replayed.
    pub fn calibration(&self, replays: usize) -> Option<Calibration> {
        if self.measured.len() < 2 {
            return None;
        }
        let mut errors = Vec::new();
        for (i, held) in self.measured.iter().enumerate() {
            let rest: Vec<(f64, f64)> = self
                .measured
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, m)| (m.1, m.2))
                .collect();
            if let Some((a, b)) = fit(&rest) {
                let predicted = (a * held.1 + b).max(held.1);
                errors.push((predicted - held.2).abs() / held.2);
            }
        }
        if errors.is_empty() {
            return None;
        }
        Some(Calibration {
            replays,
            mean_abs_error: errors.iter().sum::<f64>() / errors.len() as f64,
            max_abs_error: errors.iter().cloned().fold(0.0, f64::max),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_layers_win_and_the_line_predicts_the_rest() {
        let replays = [
            Replay {
                layer: 0,
                bound: 100.0,
                cycles: 210.0,
            },
            Replay {
                layer: 0,
                bound: 100.0,
                cycles: 190.0,
            },
            Replay {
                layer: 1,
                bound: 300.0,
                cycles: 600.0,
            },
            Replay {
                layer: 2,
                bound: 500.0,
                cycles: 1000.0,
            },
        ];
        let m = PerfModel::calibrate(&replays);
        assert_eq!(m.cycles(0, 100.0), Some(200.0));
        // Points (100,200), (300,600), (500,1000): cycles = 2 * bound.
        assert!((m.cycles(7, 400.0).unwrap() - 800.0).abs() < 1e-6);
        let c = m.calibration(4).unwrap();
        assert!(c.max_abs_error < 1e-9, "{c:?}");
        let skewed = PerfModel::calibrate(&[
            Replay {
                layer: 0,
                bound: 100.0,
                cycles: 200.0,
            },
            Replay {
                layer: 1,
                bound: 200.0,
                cycles: 400.0,
            },
            Replay {
                layer: 2,
                bound: 300.0,
                cycles: 900.0,
            },
        ]);
        assert!(skewed.calibration(3).unwrap().max_abs_error > 0.3);
        assert!(PerfModel::calibrate(&replays[..1]).calibration(1).is_none());
    }
}
