//! The formats' golden models against independent f64 references.

use kiln::formats::{dequantise, quantise_per_channel, Codebook};
use kiln::rng::SplitMix64;

const PES: [&str; 5] = ["mac_dsp", "mac_lut", "shift_pot", "shift_msq", "shift_apot"];

/// The PoTAcc encodings written out from their definitions (shared/FACTS),
/// not from the codebook file: the file and this must agree.
fn reference_value(pe: &str, code: u32) -> f64 {
    let sign = if code & 8 != 0 { -1.0 } else { 1.0 };
    let magnitude = match pe {
        "shift_pot" => 2f64.powi((code & 7) as i32),
        "shift_msq" => {
            let first = match (code >> 1) & 3 {
                0 => 0.0,
                k => 2f64.powi(k as i32),
            };
            first + if code & 1 != 0 { 2.0 } else { 0.0 }
        }
        "shift_apot" => {
            let first = [0.0, 2.0, 4.0, 16.0][((code >> 1) & 3) as usize];
            first + if code & 1 != 0 { 8.0 } else { 0.0 }
        }
        "mac_lut" => return f64::from(((code as i32) << 28) >> 28),
        "mac_dsp" => return f64::from(code as u8 as i8),
        other => panic!("no reference for {other}"),
    };
    sign * magnitude
}

#[test]
fn every_product_matches_f64_multiplication() {
    for pe in PES {
        let cb = Codebook::named(pe).unwrap();
        for code in 0..cb.len() as u32 {
            for act in i8::MIN..=i8::MAX {
                let expected = f64::from(act) * reference_value(pe, code);
                assert_eq!(
                    f64::from(cb.product(act, code).unwrap()),
                    expected,
                    "{pe} act {act} code {code}"
                );
            }
        }
    }
}

fn gaussian_matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..rows * cols)
        .map(|i| (rng.gaussian() * (0.02 + 0.01 * (i / cols) as f64)) as f32)
        .collect()
}

/// Best squared error over a dense scan of scales, computed in f64 with
/// brute-force nearest-value search: an independent check on the search.
fn dense_scan_error(values: &[f64], row: &[f32]) -> f64 {
    let peak = row.iter().fold(0.0f64, |m, &w| m.max(f64::from(w).abs()));
    let vmax = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let base = peak / vmax;
    (0..20_000)
        .map(|i| base * (-5.0 + 7.0 * f64::from(i) / 20_000.0).exp2())
        .map(|s| {
            row.iter()
                .map(|&w| {
                    let w = f64::from(w);
                    values
                        .iter()
                        .map(|v| (w - s * v).powi(2))
                        .fold(f64::INFINITY, f64::min)
                })
                .sum::<f64>()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn quantiser_is_at_least_as_good_as_a_dense_scan() {
    for pe in PES {
        let cb = Codebook::named(pe).unwrap();
        let values: Vec<f64> = cb.values().iter().map(|&v| f64::from(v)).collect();
        let (rows, cols) = (6, 48);
        let w = gaussian_matrix(rows, cols, 42);
        let q = quantise_per_channel(&cb, &w, rows, cols).unwrap();
        for r in 0..rows {
            let row = &w[r * cols..(r + 1) * cols];
            let scan = dense_scan_error(&values, row);
            // Allow 1e-6 relative for the f32 rounding of the stored scale.
            assert!(
                q.row_sq_error[r] <= scan * (1.0 + 1e-6) + 1e-18,
                "{pe} row {r}: search {} vs dense scan {scan}",
                q.row_sq_error[r]
            );
        }
    }
}

#[test]
fn dequantisation_matches_f64_and_the_reported_error() {
    for pe in PES {
        let cb = Codebook::named(pe).unwrap();
        let (rows, cols) = (4, 64);
        let w = gaussian_matrix(rows, cols, 9);
        let q = quantise_per_channel(&cb, &w, rows, cols).unwrap();
        let deq = dequantise(&cb, &q).unwrap();
        for r in 0..rows {
            let s = f64::from(q.scales[r]);
            let mut sq = 0.0;
            for c in 0..cols {
                let i = r * cols + c;
                let v = reference_value(pe, q.codes[i]);
                assert_eq!(deq[i], (s * v) as f32, "{pe} [{r},{c}]");
                sq += (f64::from(w[i]) - s * v).powi(2);
            }
            assert!(
                (sq - q.row_sq_error[r]).abs() <= 1e-12 * sq.max(1e-30),
                "{pe} row {r}"
            );
        }
        // Inside the codebook's range each weight lands on its nearest value:
        // the error is at most half the widest gap between neighbouring values.
        let mut sorted: Vec<f64> = (0..cb.len() as u32)
            .map(|c| reference_value(pe, c))
            .collect();
        sorted.sort_by(f64::total_cmp);
        let widest_gap = sorted.windows(2).map(|p| p[1] - p[0]).fold(0.0, f64::max);
        for (i, (&wi, &di)) in w.iter().zip(&deq).enumerate() {
            let s = f64::from(q.scales[i / cols]);
            let x = f64::from(wi) / s;
            if x >= sorted[0] && x <= sorted[sorted.len() - 1] {
                assert!(
                    (f64::from(wi) - f64::from(di)).abs() <= s * widest_gap / 2.0 * (1.0 + 1e-6),
                    "{pe} weight {i}"
                );
            }
        }
    }
}
