//! The GEMM golden model and its operand layouts against independent
//! references: exact i128 arithmetic and f64 written from the definitions
//! (docs/gemm-layouts.md), never by calling the functions under test.

use kiln::engines::gemm::layout::{
    self, pack_a, pack_b, pack_channels, unpack_c, Strides, CHANNEL_RECORD_BYTES,
};
use kiln::engines::gemm::{
    golden_gemm, multiply_by_quantized_multiplier, quantize_multiplier, random_problem,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul, ChannelParams, GemmProblem,
    OutputMode,
};
use kiln::formats::Codebook;
use kiln::rng::SplitMix64;
use kiln_spec::PeLibrary;

/// The codebook of every PE, test PEs of 1-, 3- and 5-bit codes included.
fn every_codebook() -> Vec<Codebook> {
    let library = PeLibrary::builtin().unwrap();
    let books: Vec<Codebook> = library
        .pes
        .iter()
        .map(|pe| Codebook::for_pe(&library, pe).unwrap())
        .collect();
    for bits in [1, 3, 4, 5, 8] {
        assert!(
            books.iter().any(|b| b.weight_bits() == bits),
            "a PE of {bits}-bit codes"
        );
    }
    books
}

fn library_codebooks() -> Vec<Codebook> {
    let library = PeLibrary::builtin().unwrap();
    let books: Vec<Codebook> = library
        .library_pes()
        .map(|pe| Codebook::for_pe(&library, pe).unwrap())
        .collect();
    assert!(books.len() >= 5, "the library has at least five PE kinds");
    books
}

// ---------------------------------------------------------------------------
// Requantisation
// ---------------------------------------------------------------------------

/// `floor(p / 2^bits)` in i128.
fn floor_div_pot(p: i128, bits: u32) -> i128 {
    p.div_euclid(1i128 << bits)
}

/// The double rounding written from its definition in exact arithmetic:
/// `x * m / 2^31` rounded half up, then divided by `2^right` rounded half
/// away from zero. (Valid when no left shift overflows and not MIN * MIN.)
fn reference_requant(x: i32, multiplier: i32, shift: i32) -> i128 {
    let left = shift.max(0) as u32;
    let right = (-shift).max(0) as u32;
    let p = (i128::from(x) << left) * i128::from(multiplier);
    let high = floor_div_pot(p + (1 << 30), 31);
    if right == 0 {
        return high;
    }
    let magnitude = floor_div_pot(high.abs() + (1i128 << (right - 1)), right);
    high.signum() * magnitude
}

#[test]
fn srdhm_hand_worked() {
    // The one saturating case: 2^62 / 2^31 = 2^31 does not fit.
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    // (-2^31)(2^31 - 1) / 2^31 = -2^31 + 1 exactly... minus 2^-31 ... rounds to -2^31 + 1.
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
        i32::MIN + 1
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
        i32::MAX - 1
    );
    // m = 2^30 is one half: ties round up (towards +infinity).
    let half = 1 << 30;
    assert_eq!(saturating_rounding_doubling_high_mul(1, half), 1); // 0.5 -> 1
    assert_eq!(saturating_rounding_doubling_high_mul(-1, half), 0); // -0.5 -> 0
    assert_eq!(saturating_rounding_doubling_high_mul(3, half), 2); // 1.5 -> 2
    assert_eq!(saturating_rounding_doubling_high_mul(-3, half), -1); // -1.5 -> -1
    assert_eq!(saturating_rounding_doubling_high_mul(-5, half), -2); // -2.5 -> -2
    assert_eq!(saturating_rounding_doubling_high_mul(100, half), 50);
    assert_eq!(saturating_rounding_doubling_high_mul(0, i32::MIN), 0);
}

#[test]
fn rounding_divide_by_pot_hand_worked() {
    // (x, exponent, result): mask = 2^e - 1, threshold = mask/2 (+1 if x < 0),
    // result = (x >> e) + (x & mask > threshold).
    let cases = [
        (5, 1, 3),   // 5 >> 1 = 2, rem 1 > 0: 3 (2.5 away from zero)
        (-5, 1, -3), // -5 >> 1 = -3, rem 1, threshold 1: -3 (-2.5 away)
        (6, 2, 2),   // 1, rem 2 > 1: 2 (1.5)
        (-6, 2, -2), // -2, rem 2, threshold 2: -2 (-1.5)
        (5, 2, 1),   // 1.25
        (-5, 2, -1), // -2, rem 3 > 2: -1 (-1.25)
        (7, 2, 2),   // 1.75
        (-7, 2, -2), // -2, rem 1: -2 (-1.75)
        (-1, 1, -1), // -1, rem 1, threshold 1: -1 (-0.5 away)
        (1, 1, 1),   // 0.5 away
        (123, 0, 123),
        (-123, 0, -123),
        (i32::MAX, 31, 1),    // 0.99999...
        (i32::MIN, 31, -1),   // exactly -1
        (1 << 30, 31, 1),     // 0.5
        (-(1 << 30), 31, -1), // -0.5
        ((1 << 30) - 1, 31, 0),
        (1 - (1 << 30), 31, 0),
    ];
    for (x, e, expected) in cases {
        assert_eq!(rounding_divide_by_pot(x, e), expected, "{x} / 2^{e}");
    }
}

#[test]
fn multiply_by_quantized_multiplier_hand_worked() {
    // 100 * 0.5 = 50.
    assert_eq!(multiply_by_quantized_multiplier(100, 1 << 30, 0), 50);
    // 3 << 2 = 12, * 0.5 = 6.
    assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, 2), 6);
    // -3 * 0.5 = -1.5 -> -1 (SRDHM rounds half up); / 2 = -0.5 -> -1 (away).
    assert_eq!(multiply_by_quantized_multiplier(-3, 1 << 30, -1), -1);
    // docs/gemm-layouts.md: 13682 * 0.5 = 6841, / 64 = 106.89 -> 107.
    assert_eq!(multiply_by_quantized_multiplier(13682, 1 << 30, -6), 107);
    // 1374389535 = round(0.64 * 2^31): 1171 * 0.64 = 749.44 -> 749, / 8 = 93.6 -> 94.
    assert_eq!(
        multiply_by_quantized_multiplier(1171, 1_374_389_535, -3),
        94
    );
    // Shift -31 with the largest multiplier: i32::MAX * (1 - 2^-31) / 2^31 -> 1.
    assert_eq!(multiply_by_quantized_multiplier(i32::MAX, i32::MAX, -31), 1);
    // The left shift wraps in 32 bits, as the hardware's does: 2^30 << 2 = 0.
    assert_eq!(multiply_by_quantized_multiplier(1 << 30, 1 << 30, 2), 0);
    // 2^29 << 2 = 2^31 wraps to -2^31; * 0.5 = -2^30.
    assert_eq!(
        multiply_by_quantized_multiplier(1 << 29, 1 << 30, 2),
        -(1 << 30)
    );
}

fn random_i32_of_magnitude(rng: &mut SplitMix64) -> i32 {
    // Spread over magnitudes: 2^0 .. 2^31.
    let bits = rng.below(32) as u32;
    let raw = rng.next_u64() as i64 & ((1i64 << bits) - 1).max(1);
    let v = if rng.below(2) == 0 { raw } else { -raw - 1 };
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// |mbqm(x, m, s) - x m 2^(s-31)| <= 3/4 (so within the stated bound of 1),
/// and equality with the exact double rounding, for random parameters in the
/// valid ranges: multiplier >= 0, shift in -31..=30, and no left-shift overflow.
#[test]
fn requantisation_is_within_three_quarters_of_exact() {
    let mut rng = SplitMix64::new(0x5eed_0001);
    let mut max_err = 0.0f64;
    for i in 0..400_000 {
        let multiplier = match i % 4 {
            // TFLite's range.
            0 | 1 => (1 << 30) + rng.below(1 << 30) as i32,
            2 => rng.below(1 << 31) as i32,
            _ => [0, 1, i32::MAX, 1 << 30][rng.below(4) as usize],
        };
        let shift = if i % 3 == 0 {
            rng.below(31) as i32 // 0..=30
        } else {
            -(rng.below(32) as i32) // -31..=0
        };
        let mut x = random_i32_of_magnitude(&mut rng);
        if shift > 0 {
            // Keep x << shift inside i32.
            x >>= shift;
        }
        let got = multiply_by_quantized_multiplier(x, multiplier, shift);
        let expected = reference_requant(x, multiplier, shift);
        assert_eq!(
            i128::from(got),
            expected,
            "x {x} multiplier {multiplier} shift {shift}"
        );
        // Bound, exactly: |got * 2^(31 - s) - x m| <= 3/4 * 2^(31 - s), scaled by 4.
        let scale_bits = (31 - shift) as u32;
        let diff = (i128::from(got) << scale_bits) - i128::from(x) * i128::from(multiplier);
        assert!(
            4 * diff.abs() <= 3 << scale_bits,
            "x {x} multiplier {multiplier} shift {shift}: got {got}"
        );
        max_err = max_err.max(diff.abs() as f64 / 2f64.powi(scale_bits as i32));
    }
    assert!(
        max_err > 0.5,
        "the sample should reach the double-rounding error, max {max_err}"
    );
}

#[test]
fn quantize_multiplier_is_within_2_pow_minus_31_relative() {
    let mut rng = SplitMix64::new(0x5eed_0002);
    for _ in 0..200_000 {
        // Log-uniform in [1e-6, 1e3].
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let real = 10f64.powf(-6.0 + 9.0 * u);
        let (multiplier, shift) = quantize_multiplier(real).unwrap();
        assert!(
            (1 << 30..=i32::MAX).contains(&multiplier),
            "{real}: multiplier {multiplier}"
        );
        assert!((-31..=30).contains(&shift), "{real}: shift {shift}");
        // multiplier has 31 significant bits: exact in f64, as is the scaling.
        let approx = f64::from(multiplier) * 2f64.powi(shift - 31);
        assert!(
            (approx - real).abs() <= real * 2f64.powi(-31),
            "{real}: {multiplier} * 2^({shift} - 31) = {approx}"
        );
    }
    // Exact powers of two map to multiplier 2^30.
    assert_eq!(quantize_multiplier(0.25).unwrap(), (1 << 30, -1));
    assert_eq!(quantize_multiplier(1.0).unwrap(), (1 << 30, 1));
    assert_eq!(quantize_multiplier(0.0).unwrap(), (0, 0));
    for bad in [-0.5, f64::INFINITY, f64::NAN, 2f64.powi(31)] {
        let err = quantize_multiplier(bad).unwrap_err().to_string();
        assert!(err.contains("real multiplier"), "{bad}: {err}");
    }
}

// ---------------------------------------------------------------------------
// The GEMM
// ---------------------------------------------------------------------------

/// `sum_k (a - za) w + bias` for every output, exactly in i128, from the
/// codebook's value of each code.
fn reference_accumulators(codebook: &Codebook, p: &GemmProblem) -> Vec<i128> {
    let za = i128::from(p.act_zero_point);
    let mut out = Vec::with_capacity(p.m * p.n);
    for m in 0..p.m {
        for n in 0..p.n {
            let mut acc = i128::from(p.channels[n].bias);
            for k in 0..p.k {
                let w = i128::from(codebook.value(u32::from(p.b[n * p.k + k])).unwrap());
                acc += (i128::from(p.a[m * p.k + k]) - za) * w;
            }
            out.push(acc);
        }
    }
    out
}

/// `clamp(round(x * multiplier * 2^(shift - 31)) + zp)` in f64, before and
/// after the clamp.
fn reference_int8(x: i128, ch: &ChannelParams, zero_point: i8) -> (f64, i32) {
    let real = x as f64 * f64::from(ch.multiplier) * 2f64.powi(ch.shift - 31);
    let rounded = real.round() + f64::from(zero_point);
    (rounded, rounded.clamp(-128.0, 127.0) as i32)
}

const SHAPES: [(usize, usize, usize); 12] = [
    (1, 1, 1),
    (1, 1, 7),
    (1, 13, 1),
    (11, 1, 2),
    (2, 3, 5),
    (7, 11, 13),
    (16, 16, 16),
    (17, 19, 23),
    (1, 64, 257),
    (31, 37, 101),
    (64, 3, 1021),
    (97, 89, 331),
];

#[test]
fn int32_mode_equals_the_exact_sum() {
    let mut rng = SplitMix64::new(0x5eed_0003);
    for codebook in every_codebook() {
        for &(m, n, k) in &SHAPES {
            for _ in 0..2 {
                let p = random_problem(&mut rng, &codebook, m, n, k, OutputMode::Int32);
                let got = golden_gemm(&codebook, &p).unwrap();
                let expected = reference_accumulators(&codebook, &p);
                assert_eq!(got.len(), m * n);
                for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
                    let e = i32::try_from(e).expect("operand ranges chosen so the sum fits i32");
                    assert_eq!(g, e, "{} {m}x{n}x{k} element {i}", codebook.pe());
                }
            }
        }
    }
}

#[test]
fn int32_mode_at_the_operand_extremes() {
    // Every activation and the zero point at the far ends: |a - za| = 255.
    for codebook in every_codebook() {
        let values = codebook.values();
        let (k, n) = (509, 4);
        let largest = (0..values.len())
            .max_by_key(|&c| values[c].unsigned_abs())
            .unwrap() as u8;
        for (act, za) in [(-128i8, 127i8), (127, -128)] {
            let mut rng = SplitMix64::new(7);
            let mut p = random_problem(&mut rng, &codebook, 3, n, k, OutputMode::Int32);
            p.a.fill(act);
            p.act_zero_point = za;
            p.b[..k].fill(largest);
            let got = golden_gemm(&codebook, &p).unwrap();
            let expected = reference_accumulators(&codebook, &p);
            for (&g, &e) in got.iter().zip(&expected) {
                assert_eq!(i128::from(g), e, "{}", codebook.pe());
            }
        }
    }
}

/// Checks Int8 outputs against the f64 reference; returns how many
/// outputs saturated low and high.
fn check_int8(codebook: &Codebook, p: &GemmProblem, got: &[i32]) -> (usize, usize) {
    let OutputMode::Int8 { zero_point } = p.output else {
        panic!("not an int8 problem")
    };
    let acc = reference_accumulators(codebook, p);
    let (mut low, mut high) = (0, 0);
    for (i, (&g, &x)) in got.iter().zip(&acc).enumerate() {
        let ch = &p.channels[i % p.n];
        let (unclamped, expected) = reference_int8(x, ch, zero_point);
        let ctx = || {
            format!(
                "{} {}x{}x{} element {i}: acc {x}, {ch:?}",
                codebook.pe(),
                p.m,
                p.n,
                p.k
            )
        };
        assert!((-128..=127).contains(&g), "{}: {g}", ctx());
        assert!(
            (g - expected).abs() <= 1,
            "{}: got {g}, f64 {expected}",
            ctx()
        );
        if unclamped > 127.0 {
            assert_eq!(g, 127, "{}: saturated high", ctx());
            high += 1;
        } else if unclamped < -128.0 {
            assert_eq!(g, -128, "{}: saturated low", ctx());
            low += 1;
        }
    }
    (low, high)
}

#[test]
fn int8_mode_is_within_one_of_f64_and_exact_when_saturated() {
    let mut rng = SplitMix64::new(0x5eed_0004);
    for codebook in library_codebooks() {
        let (mut low, mut high, mut total) = (0, 0, 0);
        for &(m, n, k) in &SHAPES {
            for zero_point in [-128i8, -3, 0, 17, 127] {
                let output = OutputMode::Int8 { zero_point };
                let p = random_problem(&mut rng, &codebook, m, n, k, output);
                let got = golden_gemm(&codebook, &p).unwrap();
                let (l, h) = check_int8(&codebook, &p, &got);
                low += l;
                high += h;
                total += got.len();
            }
        }
        // random_problem spreads outputs over the range with some saturating.
        assert!(
            low * 200 > total && high * 200 > total,
            "{}: {low} low and {high} high of {total}",
            codebook.pe()
        );
    }
}

#[test]
fn int8_mode_with_heavy_saturation_and_left_shifts() {
    let mut rng = SplitMix64::new(0x5eed_0005);
    for codebook in library_codebooks() {
        // Scales 16x too large: most outputs clamp at one end or the other.
        let output = OutputMode::Int8 { zero_point: 5 };
        let mut p = random_problem(&mut rng, &codebook, 23, 29, 61, output);
        for ch in &mut p.channels {
            ch.shift += 4;
        }
        let got = golden_gemm(&codebook, &p).unwrap();
        let (low, high) = check_int8(&codebook, &p, &got);
        assert!(
            low * 4 > got.len() && high * 4 > got.len(),
            "{}: {low} low, {high} high of {}",
            codebook.pe(),
            got.len()
        );

        // Real scales in [1, 16): positive shifts (left shifts before the
        // multiply) on accumulators small enough not to overflow.
        let mut p = random_problem(&mut rng, &codebook, 9, 7, 2, output);
        for ch in &mut p.channels {
            let real = 1.0 + 15.0 * rng.below(1000) as f64 / 1000.0;
            (ch.multiplier, ch.shift) = quantize_multiplier(real).unwrap();
            assert!(ch.shift > 0);
        }
        p.a.iter_mut().for_each(|a| *a /= 64);
        let got = golden_gemm(&codebook, &p).unwrap();
        check_int8(&codebook, &p, &got);
    }
}

#[test]
fn a_gigamac_problem_runs_in_seconds() {
    let codebook = Codebook::named("shift_pot").unwrap();
    let mut rng = SplitMix64::new(0x5eed_0006);
    let (m, n, k) = (1024, 1024, 1024);
    let p = random_problem(&mut rng, &codebook, m, n, k, OutputMode::Int32);
    let start = std::time::Instant::now();
    let got = golden_gemm(&codebook, &p).unwrap();
    let elapsed = start.elapsed();
    eprintln!("golden_gemm {m}x{n}x{k}: {elapsed:?}");
    // Spot-check a sample of outputs against the exact sum.
    for _ in 0..200 {
        let (i, j) = (rng.below(m as u64) as usize, rng.below(n as u64) as usize);
        let za = i128::from(p.act_zero_point);
        let mut acc = i128::from(p.channels[j].bias);
        for kk in 0..k {
            let w = i128::from(codebook.value(u32::from(p.b[j * k + kk])).unwrap());
            acc += (i128::from(p.a[i * k + kk]) - za) * w;
        }
        assert_eq!(i128::from(got[i * n + j]), acc, "[{i}, {j}]");
    }
    // Generous, for a loaded CI machine; it takes well under a second here.
    assert!(elapsed.as_secs() < 30, "{elapsed:?}");
}

// ---------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------

/// Bits of the container a `wbits`-bit code takes in B, from the layout's
/// definition (docs/gemm-layouts.md): the smallest of 1, 2, 4 and 8 that
/// holds it.
fn container(wbits: usize) -> usize {
    [1, 2, 4, 4, 8, 8, 8, 8][wbits - 1]
}

/// The container of element `k` of a B row, read from the layout's
/// definition: `cbits` bits from bit `(k * cbits) % 8` of byte
/// `(k * cbits) / 8`.
fn read_container(row: &[u8], k: usize, wbits: usize) -> u8 {
    let cbits = container(wbits);
    let bit = k * cbits;
    let mask = ((1u16 << cbits) - 1) as u8;
    (row[bit / 8] >> (bit % 8)) & mask
}

#[test]
fn default_strides_are_aligned_and_hold_a_row() {
    for wbits in 1u32..=8 {
        for n in 1..40 {
            for k in 1..40 {
                for output in [OutputMode::Int8 { zero_point: 0 }, OutputMode::Int32] {
                    let s = Strides::packed(n, k, wbits, output).unwrap();
                    let rows = [
                        (s.lda, k),
                        (s.ldb, (k * container(wbits as usize)).div_ceil(8)),
                        (s.ldc, n * output.element_bytes()),
                    ];
                    for (stride, row) in rows {
                        assert_eq!(stride % 8, 0, "{n} {k} {wbits}");
                        assert!(stride >= row && stride < row + 8, "{n} {k} {wbits}");
                    }
                }
            }
        }
    }
    for wbits in [0, 9] {
        let err = Strides::packed(4, 4, wbits, OutputMode::Int32)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{wbits}-bit")) && err.contains("codes of 1 to 8 bits"),
            "{err}"
        );
    }
}

#[test]
fn packed_operands_read_back_from_their_definitions() {
    let mut rng = SplitMix64::new(0x5eed_0007);
    for codebook in every_codebook() {
        let wbits = codebook.weight_bits();
        for &(m, n, k) in &SHAPES {
            let output = OutputMode::Int8 { zero_point: 0 };
            let p = random_problem(&mut rng, &codebook, m, n, k, output);
            let s = Strides::packed(n, k, wbits, output).unwrap();
            // Also a wider, unaligned stride.
            for (lda, ldb) in [(s.lda, s.ldb), (s.lda + 3, s.ldb + 5)] {
                let a = pack_a(&p, lda).unwrap();
                assert_eq!(a.len(), layout::a_bytes(m, lda));
                for row in 0..m {
                    for col in 0..lda {
                        let expected = if col < k { p.a[row * k + col] as u8 } else { 0 };
                        assert_eq!(a[row * lda + col], expected, "A [{row}, {col}]");
                    }
                }
                let b = pack_b(&p, wbits, ldb).unwrap();
                assert_eq!(b.len(), layout::b_bytes(n, ldb));
                let used_bits = k * container(wbits as usize);
                for row in 0..n {
                    let bytes = &b[row * ldb..(row + 1) * ldb];
                    for col in 0..k {
                        // The whole container: the code, spare bits zero.
                        assert_eq!(
                            read_container(bytes, col, wbits as usize),
                            p.b[row * k + col],
                            "{} B [{row}, {col}]",
                            codebook.pe()
                        );
                    }
                    // Everything past the last code is zero.
                    if !used_bits.is_multiple_of(8) {
                        assert_eq!(bytes[used_bits / 8] >> (used_bits % 8), 0);
                    }
                    assert!(bytes[used_bits.div_ceil(8)..].iter().all(|&x| x == 0));
                }
            }
        }
    }
}

#[test]
fn four_bit_codes_are_low_nibble_first() {
    let p = GemmProblem {
        m: 1,
        n: 2,
        k: 3,
        a: vec![1, 2, 3],
        b: vec![0x1, 0x2, 0x3, 0xA, 0xB, 0xC].into(),
        channels: vec![
            ChannelParams {
                bias: 0,
                multiplier: 0,
                shift: 0
            };
            2
        ],
        act_zero_point: 0,
        output: OutputMode::Int32,
    };
    assert_eq!(
        pack_b(&p, 4, 8).unwrap(),
        [0x21, 0x03, 0, 0, 0, 0, 0, 0, 0xBA, 0x0C, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(pack_b(&p, 4, 2).unwrap(), [0x21, 0x03, 0xBA, 0x0C]);
    assert_eq!(pack_b(&p, 8, 3).unwrap(), [1, 2, 3, 10, 11, 12]);
}

#[test]
fn channel_records_are_16_little_endian_bytes() {
    let params = [
        ChannelParams {
            bias: 1000,
            multiplier: 1 << 30,
            shift: -6,
        },
        ChannelParams {
            bias: -7,
            multiplier: 1_374_389_535,
            shift: 3,
        },
    ];
    let bytes = pack_channels(&params);
    assert_eq!(bytes.len(), 2 * CHANNEL_RECORD_BYTES);
    assert_eq!(layout::channel_bytes(2), 32);
    let word = |i: usize| i32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!(
        (0..8).map(word).collect::<Vec<_>>(),
        [1000, 1 << 30, -6, 0, -7, 1_374_389_535, 3, 0]
    );
    assert_eq!(&bytes[..4], [0xe8, 0x03, 0x00, 0x00]);
    assert_eq!(&bytes[20..24], [0x1f, 0x85, 0xeb, 0x51]);
}

#[test]
fn unpack_c_of_hand_built_bytes() {
    // Int8, 2 x 3 with ldc 8: padding bytes (0xEE) are ignored.
    let bytes = [
        0x00, 0x7f, 0x80, 0xee, 0xee, 0xee, 0xee, 0xee, //
        0xff, 0x01, 0xfe, 0xee, 0xee, 0xee, 0xee, 0xee,
    ];
    let c = unpack_c(&bytes, 2, 3, 8, OutputMode::Int8 { zero_point: 9 }).unwrap();
    assert_eq!(c, [0, 127, -128, -1, 1, -2]);

    // Int32, 2 x 1 with ldc 8: little-endian words.
    let bytes = [
        0x78, 0x56, 0x34, 0x12, 0xee, 0xee, 0xee, 0xee, //
        0xff, 0xff, 0xff, 0x80, 0xee, 0xee, 0xee, 0xee,
    ];
    let c = unpack_c(&bytes, 2, 1, 8, OutputMode::Int32).unwrap();
    assert_eq!(
        c,
        [0x1234_5678, i32::from_le_bytes([0xff, 0xff, 0xff, 0x80])]
    );
    assert_eq!(c[1], -2_130_706_433);

    // The golden result, laid out by hand, reads back unchanged.
    let codebook = Codebook::named("shift_apot").unwrap();
    let mut rng = SplitMix64::new(0x5eed_0008);
    for output in [OutputMode::Int8 { zero_point: -1 }, OutputMode::Int32] {
        let (m, n, k) = (5, 7, 9);
        let p = random_problem(&mut rng, &codebook, m, n, k, output);
        let golden = golden_gemm(&codebook, &p).unwrap();
        let ldc = Strides::packed(n, k, 4, output).unwrap().ldc;
        let mut bytes = vec![0xa5u8; layout::c_bytes(m, ldc)];
        for (i, &v) in golden.iter().enumerate() {
            let at = (i / n) * ldc + (i % n) * output.element_bytes();
            let le = v.to_le_bytes();
            bytes[at..at + output.element_bytes()].copy_from_slice(&le[..output.element_bytes()]);
        }
        assert_eq!(unpack_c(&bytes, m, n, ldc, output).unwrap(), golden);
    }
}

/// The worked example of docs/gemm-layouts.md, byte for byte.
#[test]
fn the_documented_example() {
    let codebook = Codebook::named("shift_pot").unwrap();
    let mut p = GemmProblem {
        m: 1,
        n: 2,
        k: 3,
        a: vec![3, -2, 100],
        b: vec![0x1, 0x9, 0x7, 0x0, 0xF, 0x3].into(),
        channels: vec![
            ChannelParams {
                bias: 1000,
                multiplier: 1 << 30,
                shift: -6,
            },
            ChannelParams {
                bias: -7,
                multiplier: 1_374_389_535,
                shift: -3,
            },
        ],
        act_zero_point: 1,
        output: OutputMode::Int8 { zero_point: -5 },
    };
    let s = Strides::packed(p.n, p.k, 4, p.output).unwrap();
    assert_eq!((s.lda, s.ldb, s.ldc), (8, 8, 8));
    assert_eq!(
        pack_a(&p, s.lda).unwrap(),
        [0x03, 0xfe, 0x64, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        pack_b(&p, 4, s.ldb).unwrap(),
        [0x91, 0x07, 0, 0, 0, 0, 0, 0, 0xf0, 0x03, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        pack_channels(&p.channels),
        [
            0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0xfa, 0xff, 0xff, 0xff, 0, 0, 0,
            0, //
            0xf9, 0xff, 0xff, 0xff, 0x1f, 0x85, 0xeb, 0x51, 0xfd, 0xff, 0xff, 0xff, 0, 0, 0, 0,
        ]
    );
    // w row 0 = [2, -2, 128], row 1 = [1, -128, 8].
    // raw0 = 6 + 4 + 12800 = 12810, zp_corr0 = 128, x0 = 12810 - 128 + 1000 = 13682.
    // raw1 = 3 + 256 + 800 = 1059, zp_corr1 = -119, x1 = 1059 + 119 - 7 = 1171.
    // ch0: 13682 * 0.5 = 6841, / 64 = 106.89 -> 107, - 5 = 102.
    // ch1: 1171 * 0.64 = 749.44 -> 749, / 8 = 93.6 -> 94, - 5 = 89.
    assert_eq!(golden_gemm(&codebook, &p).unwrap(), [102, 89]);
    let c = [0x66, 0x59, 0, 0, 0, 0, 0, 0];
    assert_eq!(unpack_c(&c, 1, 2, 8, p.output).unwrap(), [102, 89]);
    p.output = OutputMode::Int32;
    assert_eq!(golden_gemm(&codebook, &p).unwrap(), [13682, 1171]);
    let c = [0x72, 0x35, 0, 0, 0x93, 0x04, 0, 0];
    assert_eq!(unpack_c(&c, 1, 2, 8, p.output).unwrap(), [13682, 1171]);
    assert_eq!(Strides::packed(2, 3, 4, p.output).unwrap().ldc, 8);
    assert_eq!(quantize_multiplier(0.64).unwrap(), (1_374_389_535, 0));
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

fn small_problem() -> GemmProblem {
    GemmProblem {
        m: 2,
        n: 3,
        k: 4,
        a: vec![1; 8],
        b: vec![2; 12].into(),
        channels: vec![
            ChannelParams {
                bias: 0,
                multiplier: 1 << 30,
                shift: -1
            };
            3
        ],
        act_zero_point: 0,
        output: OutputMode::Int8 { zero_point: 0 },
    }
}

fn error_of(codebook: &Codebook, edit: impl FnOnce(&mut GemmProblem)) -> String {
    let mut p = small_problem();
    edit(&mut p);
    let err = p.validate(codebook).unwrap_err().to_string();
    // golden_gemm refuses the same problem with the same error.
    assert_eq!(golden_gemm(codebook, &p).unwrap_err().to_string(), err);
    err
}

#[test]
fn validation_errors_name_what_is_wrong() {
    let pot = Codebook::named("shift_pot").unwrap();
    assert!(small_problem().validate(&pot).is_ok());

    // Row 1, column 2 of a K = 4 matrix.
    let err = error_of(&pot, |p| p.b[6] = 16);
    assert!(
        err.contains("B[1, 2]")
            && err.contains("16")
            && err.contains("4-bit")
            && err.contains("shift_pot"),
        "{err}"
    );
    let err = error_of(&pot, |p| {
        p.m = 0;
        p.a.clear();
    });
    assert!(err.contains("dimension M is 0"), "{err}");
    let err = error_of(&pot, |p| p.k = 0);
    assert!(err.contains("dimension K is 0"), "{err}");
    let err = error_of(&pot, |p| {
        p.channels.pop();
    });
    assert!(
        err.contains("channels holds 2") && err.contains("N = 3"),
        "{err}"
    );
    let err = error_of(&pot, |p| p.channels[2].shift = 31);
    assert!(
        err.contains("channel 2") && err.contains("shift 31") && err.contains("-31..=30"),
        "{err}"
    );
    let err = error_of(&pot, |p| p.channels[0].shift = -32);
    assert!(err.contains("shift -32"), "{err}");
    let err = error_of(&pot, |p| p.channels[1].multiplier = -1);
    assert!(
        err.contains("channel 1") && err.contains("multiplier -1"),
        "{err}"
    );
    let err = error_of(&pot, |p| p.a.push(0));
    assert!(
        err.contains("A (activations) holds 9") && err.contains("needs 8"),
        "{err}"
    );
    let err = error_of(&pot, |p| {
        p.b = p.b[..p.b.len() - 1].to_vec().into();
    });
    assert!(
        err.contains("B (weight codes) holds 11") && err.contains("needs 12"),
        "{err}"
    );

    // Any byte is an 8-bit code.
    let dsp = Codebook::named("mac_dsp").unwrap();
    let mut p = small_problem();
    p.b.fill(255);
    assert!(p.validate(&dsp).is_ok());

    // Layout functions check their own inputs.
    let mut p = small_problem();
    let err = pack_a(&p, 3).unwrap_err().to_string();
    assert!(
        err.contains("A row stride 3") && err.contains("at least 4"),
        "{err}"
    );
    let err = pack_b(&p, 4, 1).unwrap_err().to_string();
    assert!(
        err.contains("B row stride 1") && err.contains("at least 2"),
        "{err}"
    );
    let err = pack_b(&p, 9, 8).unwrap_err().to_string();
    assert!(
        err.contains("9-bit") && err.contains("1 to 8 bits"),
        "{err}"
    );
    // 6-bit codes take a byte each: K = 4 needs 4 bytes of row.
    let err = pack_b(&p, 6, 3).unwrap_err().to_string();
    assert!(
        err.contains("B row stride 3") && err.contains("at least 4"),
        "{err}"
    );
    p.b[5] = 17;
    let err = pack_b(&p, 4, 8).unwrap_err().to_string();
    assert!(
        err.contains("B[1, 1]") && err.contains("17") && err.contains("4 bits"),
        "{err}"
    );
    let err = unpack_c(&[0; 15], 2, 3, 8, OutputMode::Int8 { zero_point: 0 })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("C buffer holds 15") && err.contains("needs 16"),
        "{err}"
    );
    let err = unpack_c(&[0; 64], 2, 3, 8, OutputMode::Int32)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("C row stride 8") && err.contains("at least 12"),
        "{err}"
    );
}
