//! The BFP golden model (runtime/src/bfp, docs/bfp.md) against independent
//! references: exact big-integer sums of the quantised blocks (the
//! accumulator), f64 dot products of the original data (the documented error
//! bound), a hand-worked example, and llama.cpp blocks made by the `gguf`
//! Python package (tests/data/ggml/make_vectors.py).

use std::path::PathBuf;

use kiln::engines::bfp::bound::{error_bound, error_terms};
use kiln::engines::bfp::ggml::{
    dequantise_q4_0, dequantise_q8_0, q4_0_to_mxint4, q8_0_to_mxint8, quantise_q4_0, quantise_q8_0,
    Q4_0_BYTES, Q8_0_BYTES,
};
use kiln::engines::bfp::layout::{pack, row_bytes, unpack};
use kiln::engines::bfp::{e_off, golden_matmul, BfpError, BfpFormat, BfpMatrix, ElementKind};
use kiln::rng::SplitMix64;

// ---------------------------------------------------------------------------
// A signed big integer, just enough for exact sums of powers of two
// ---------------------------------------------------------------------------

const LIMBS: usize = 12;

/// Two's complement over 768 bits, limbs little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Big([u64; LIMBS]);

impl Big {
    const ZERO: Big = Big([0; LIMBS]);

    /// `v * 2^shift` (the result must fit 767 bits).
    fn shl(v: i64, shift: u32) -> Big {
        let mut x = [if v < 0 { u64::MAX } else { 0 }; LIMBS];
        x[0] = v as u64;
        let (limbs, bits) = ((shift / 64) as usize, shift % 64);
        let mut out = [0u64; LIMBS];
        for (i, o) in out.iter_mut().enumerate().skip(limbs) {
            let src = i - limbs;
            *o = x[src] << bits;
            if bits > 0 && src > 0 {
                *o |= x[src - 1] >> (64 - bits);
            }
        }
        Big(out)
    }

    fn add(self, other: Big) -> Big {
        let mut out = [0u64; LIMBS];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *o = s2;
            carry = c1 || c2;
        }
        Big(out)
    }

    fn neg(self) -> Big {
        let mut inv = self.0;
        for l in &mut inv {
            *l = !*l;
        }
        Big(inv).add(Big::shl(1, 0))
    }

    fn sub(self, other: Big) -> Big {
        self.add(other.neg())
    }

    fn is_neg(self) -> bool {
        self.0[LIMBS - 1] >> 63 == 1
    }

    fn abs(self) -> Big {
        if self.is_neg() {
            self.neg()
        } else {
            self
        }
    }

    fn le(self, other: Big) -> bool {
        !other.sub(self).is_neg()
    }
}

/// Every value below is an integer number of units of `2^-UNIT`.
const UNIT: i32 = 320;

/// `2^e` in units.
fn pow2_units(e: i32) -> Big {
    Big::shl(1, (e + UNIT) as u32)
}

/// A finite f32, exactly, in units.
fn f32_units(x: f32) -> Big {
    let bits = x.to_bits();
    let biased = ((bits >> 23) & 0xff) as i32;
    let frac = i64::from(bits & 0x7f_ffff);
    let (mant, exp) = if biased == 0 {
        (frac, -149)
    } else {
        (frac | 1 << 23, biased - 150)
    };
    let v = Big::shl(mant, (exp + UNIT) as u32);
    if x.is_sign_negative() {
        v.neg()
    } else {
        v
    }
}

/// Half an ulp of a finite f32 result, in units (`2^-150` below the normals).
fn half_ulp_units(x: f32) -> Big {
    let biased = ((x.to_bits() >> 23) & 0xff) as i32;
    pow2_units(if biased <= 1 { -150 } else { biased - 127 - 24 })
}

/// Checks every output of `golden_matmul(a, w)` against the exact sum of
/// the same quantised blocks, written from the format definition: block `j`
/// is worth `p_j * 2^(Xa - 127 - Fa) * 2^(Xw - 127 - Fw)`, i.e. `p_j *
/// 2^(s_j + G - E_OFF)`. The result must be within `nb * 2^(s_max - E_OFF)`
/// (alignment: one floor per block, in units of the accumulator) plus half
/// an ulp (rounding). An
/// infinite result must be one that the exact sum, give or take the
/// alignment error, rounds to infinity. Returns how many outputs were
/// infinite.
fn check_against_exact(a: &BfpMatrix, w: &BfpMatrix) -> usize {
    let c = golden_matmul(a, w).unwrap();
    let e_off = e_off(w.format().element);
    let frac_bits = a.format().element.frac_bits() + w.format().element.frac_bits();
    let block = a.format().block;
    let nb = a.blocks_per_row();
    let mut infinite = 0;
    for m in 0..a.rows() {
        for n in 0..w.rows() {
            let mut exact = Big::ZERO;
            let mut s_max = 0;
            for j in 0..nb {
                let r = j * block..(j + 1) * block;
                let p: i64 = a.row_elems(m)[r.clone()]
                    .iter()
                    .zip(&w.row_elems(n)[r])
                    .map(|(&x, &y)| i64::from(x) * i64::from(y))
                    .sum();
                let s = i32::from(a.row_exps(m)[j]) + i32::from(w.row_exps(n)[j]);
                s_max = s_max.max(s);
                exact = exact.add(Big::shl(p, (s - 254 - frac_bits + UNIT) as u32));
            }
            let align = Big::shl(nb as i64, (s_max - e_off + UNIT) as u32);
            let g = c[m * w.rows() + n];
            assert!(!g.is_nan(), "[{m}][{n}] is NaN");
            if g.is_infinite() {
                infinite += 1;
                // Values at or above 2^128 - 2^103 round to infinity.
                let threshold = pow2_units(128).sub(pow2_units(103));
                let signed = if g < 0.0 { exact.neg() } else { exact };
                assert!(
                    threshold.le(signed.add(align)),
                    "[{m}][{n}] = {g} but the exact sum is below the overflow threshold"
                );
                continue;
            }
            let bound = align.add(half_ulp_units(g));
            let diff = f32_units(g).sub(exact).abs();
            assert!(
                diff.le(bound),
                "[{m}][{n}] = {g}: further from the exact block sum than the \
                 alignment + rounding bound ({a:?} / {w:?})"
            );
        }
    }
    infinite
}

// ---------------------------------------------------------------------------
// Random data
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Data {
    Gaussian,
    Outliers,
    ZeroBlocks,
    Tiny,
    Huge,
    /// Every block at its own scale, from 2^-140 to 2^100.
    Scattered,
}

const DATA: [Data; 6] = [
    Data::Gaussian,
    Data::Outliers,
    Data::ZeroBlocks,
    Data::Tiny,
    Data::Huge,
    Data::Scattered,
];

fn uniform(rng: &mut SplitMix64, lo: i32, hi: i32) -> i32 {
    lo + rng.below((hi - lo + 1) as u64) as i32
}

/// A `rows x k` matrix of `data`, built in f64 and rounded to f32 (never to
/// infinity: the huge values stay below 2^128).
fn random_matrix(
    rng: &mut SplitMix64,
    data: Data,
    rows: usize,
    k: usize,
    block: usize,
) -> Vec<f32> {
    let nb = k.div_ceil(block);
    let mut out = Vec::with_capacity(rows * k);
    for _ in 0..rows {
        let row_scale = match data {
            Data::Tiny => uniform(rng, -149, -128),
            Data::Huge => uniform(rng, 100, 124),
            _ => uniform(rng, -20, 20),
        };
        let block_scales: Vec<i32> = (0..nb)
            .map(|_| match data {
                Data::Scattered => uniform(rng, -140, 100),
                _ => row_scale,
            })
            .collect();
        let zero_blocks: Vec<bool> = (0..nb)
            .map(|_| matches!(data, Data::ZeroBlocks) && rng.below(5) < 2)
            .collect();
        for col in 0..k {
            let j = col / block;
            let mut x = rng.gaussian() * 2f64.powi(block_scales[j]);
            if matches!(data, Data::Outliers) && rng.below(40) == 0 {
                x *= 100.0 + 900.0 * rng.below(1000) as f64 / 1000.0;
            }
            if zero_blocks[j] {
                x = if rng.below(2) == 0 { 0.0 } else { -0.0 };
            }
            let limit = f64::from(f32::MAX);
            out.push(x.clamp(-limit, limit) as f32);
        }
    }
    out
}

fn random_k(rng: &mut SplitMix64, block: usize) -> usize {
    match rng.below(4) {
        // A whole number of blocks, sometimes more than 8 (two groups).
        0 => block * (1 + rng.below(299 / block as u64) as usize),
        _ => 1 + rng.below(299) as usize,
    }
}

/// One random case: shapes, data kinds and formats.
struct Case {
    fa: BfpFormat,
    fw: BfpFormat,
    m: usize,
    n: usize,
    k: usize,
    a: Vec<f32>,
    w: Vec<f32>,
}

fn random_case(rng: &mut SplitMix64, element: ElementKind) -> Case {
    let block = [16, 32, 64][rng.below(3) as usize];
    let (m, n) = (1 + rng.below(6) as usize, 1 + rng.below(6) as usize);
    let k = random_k(rng, block);
    let (da, dw) = (DATA[rng.below(6) as usize], DATA[rng.below(6) as usize]);
    Case {
        fa: BfpFormat::new(ElementKind::Int8, block).unwrap(),
        fw: BfpFormat::new(element, block).unwrap(),
        m,
        n,
        k,
        a: random_matrix(rng, da, m, k, block),
        w: random_matrix(rng, dw, n, k, block),
    }
}

// ---------------------------------------------------------------------------
// (1) The accumulator against exact block sums
// ---------------------------------------------------------------------------

#[test]
fn golden_matches_exact_block_sums() {
    let mut rng = SplitMix64::new(1);
    let mut infinite = 0;
    for element in [ElementKind::Int8, ElementKind::Int4] {
        for _ in 0..1000 {
            let c = random_case(&mut rng, element);
            let a = BfpMatrix::quantise(c.fa, c.m, c.k, &c.a).unwrap();
            let w = BfpMatrix::quantise(c.fw, c.n, c.k, &c.w).unwrap();
            infinite += check_against_exact(&a, &w);
        }
    }
    assert!(infinite > 0, "the cases include overflow to infinity");
}

/// Random codes and exponents straight into `from_parts`, exponents spread
/// over the whole E8M0 range: alignment shifts of every length, up to 63.
#[test]
fn golden_matches_exact_block_sums_on_random_codes() {
    let mut rng = SplitMix64::new(2);
    for element in [ElementKind::Int8, ElementKind::Int4] {
        for _ in 0..500 {
            let block = [16, 32, 64][rng.below(3) as usize];
            let (m, n) = (1 + rng.below(4) as usize, 1 + rng.below(4) as usize);
            let k = random_k(&mut rng, block);
            let random = |rng: &mut SplitMix64, f: BfpFormat, rows: usize| {
                let nb = f.blocks(k);
                let max = u64::from(f.element.max_code() as u8);
                // Exponents clustered (a window of 40) or anywhere in 0..=254.
                let (lo, width) = match rng.below(2) {
                    0 => (rng.below(215), 40),
                    _ => (0, 255),
                };
                let exps = (0..rows * nb)
                    .map(|_| (lo + rng.below(width)) as u8)
                    .collect();
                let mut elems = vec![0i8; rows * f.padded_k(k)];
                for r in 0..rows {
                    for col in 0..k {
                        elems[r * f.padded_k(k) + col] =
                            (rng.below(2 * max + 1) as i64 - max as i64) as i8;
                    }
                }
                BfpMatrix::from_parts(f, rows, k, exps, elems).unwrap()
            };
            let a = random(
                &mut rng,
                BfpFormat::new(ElementKind::Int8, block).unwrap(),
                m,
            );
            let w = random(&mut rng, BfpFormat::new(element, block).unwrap(), n);
            check_against_exact(&a, &w);
        }
    }
}

// ---------------------------------------------------------------------------
// (2) Against f64, within the documented bound
// ---------------------------------------------------------------------------

#[test]
fn golden_within_error_bound_of_f64() {
    let mut rng = SplitMix64::new(3);
    for element in [ElementKind::Int8, ElementKind::Int4] {
        let (mut outputs, mut infinite, mut subnormal, mut worst) = (0, 0, 0, 0.0f64);
        let mut small_reference = 0;
        for _ in 0..1200 {
            let c = random_case(&mut rng, element);
            let a = BfpMatrix::quantise(c.fa, c.m, c.k, &c.a).unwrap();
            let w = BfpMatrix::quantise(c.fw, c.n, c.k, &c.w).unwrap();
            let out = golden_matmul(&a, &w).unwrap();
            for m in 0..c.m {
                for n in 0..c.n {
                    let (a_row, w_row) = (&c.a[m * c.k..][..c.k], &c.w[n * c.k..][..c.k]);
                    let reference: f64 = a_row
                        .iter()
                        .zip(w_row)
                        .map(|(&x, &y)| f64::from(x) * f64::from(y))
                        .sum();
                    let g = out[m * c.n + n];
                    outputs += 1;
                    if g.is_infinite() {
                        // Overflow is outside the bound, but it must be
                        // explained: the quantised sum, which is within the
                        // bound's other terms of the reference, reached the
                        // overflow threshold 2^128 - 2^103.
                        infinite += 1;
                        let t = error_terms(a_row, w_row, c.fw, g).unwrap();
                        let reach = reference.abs() + t.quantisation + t.alignment + t.reference;
                        assert!(
                            reach >= 2f64.powi(128) - 2f64.powi(103),
                            "{g} from a reference of {reference}, which the bound keeps finite"
                        );
                        let others = t.quantisation + t.alignment + t.reference;
                        if reference.abs() > others {
                            assert_eq!(g > 0.0, reference > 0.0, "{g} from {reference}");
                        }
                        if reference.abs() <= f64::from(f32::MAX) / 2.0 {
                            small_reference += 1;
                        }
                        continue;
                    }
                    if g != 0.0 && g.abs() < f32::MIN_POSITIVE {
                        subnormal += 1;
                    }
                    let bound = error_bound(a_row, w_row, c.fw, g).unwrap();
                    let err = (f64::from(g) - reference).abs();
                    assert!(
                        err <= bound,
                        "{}: golden {g}, reference {reference}, error {err:e} > bound {bound:e}",
                        c.fw
                    );
                    worst = worst.max(err / bound);
                }
            }
        }
        eprintln!(
            "{element:?}: {outputs} outputs, {infinite} infinite ({small_reference} of them \
             with |reference| <= f32::MAX / 2), {subnormal} subnormal, largest error / bound = \
             {worst:.3}"
        );
        assert!(
            infinite > 0 && subnormal > 0,
            "the cases reach both ends of f32"
        );
        // With mxint8 weights (about 1% error), every overflow on these seeds
        // also has |reference| > f32::MAX / 2. mxint4's coarser weights can
        // overflow from a smaller reference under heavy cancellation (4 of
        // 1669 here); the bound check above is the criterion for both.
        if element == ElementKind::Int8 {
            assert_eq!(
                small_reference, 0,
                "mxint8 overflow from a reference below f32::MAX / 2"
            );
        }
        // The bound is not vacuous: some outputs come within 10x of it.
        assert!(worst > 0.1, "largest error / bound is only {worst}");
    }
}

// ---------------------------------------------------------------------------
// (3) Hand-worked
// ---------------------------------------------------------------------------

/// The worked example of runtime/src/bfp/matmul.rs and docs/bfp.md.
///
/// mxint8 x mxint8, block 16, K = 20 (two blocks; the second is padded with
/// 12 zeros). Non-zero inputs:
///
/// ```text
/// k       0      1       16      17
/// a       1.5    -0.75   40.0    0.3
/// w       0.5    2.0     -0.125  0.25
/// ```
///
/// - A block 0: amax 1.5, floor(log2) = 0, X = 127, step 2^-6: codes 96, -48.
/// - A block 1: amax 40, floor(log2) = 5, X = 132, step 2^-1: 80, and 0.3 / 0.5
///   = 0.6 rounds to 1.
/// - W block 0: amax 2, X = 128, step 2^-5: 16, 64.
/// - W block 1: amax 0.25, X = 125, step 2^-8: -32, 64.
/// - p0 = 96 * 16 + (-48) * 64 = -1536, s0 = 255;
///   p1 = 80 * (-32) + 1 * 64 = -2496, s1 = 257.
/// - acc = -1536 << 16 = -100663296 at 255; then s = 257 > 255:
///   acc = (-100663296 >> 2) + (-2496 << 16) = -25165824 - 163577856
///   = -188743680 at 257.
/// - C = -188743680 * 2^(257 - 282) = -5.625 (the f64 reference is -5.675;
///   the difference is 0.2 * 0.25 from rounding 0.3 to 0.5).
#[test]
fn hand_worked_example() {
    let f = BfpFormat::named("mxint8", 16).unwrap();
    let mut a = vec![0.0f32; 20];
    let mut w = vec![0.0f32; 20];
    (a[0], a[1], a[16], a[17]) = (1.5, -0.75, 40.0, 0.3);
    (w[0], w[1], w[16], w[17]) = (0.5, 2.0, -0.125, 0.25);
    let qa = BfpMatrix::quantise(f, 1, 20, &a).unwrap();
    let qw = BfpMatrix::quantise(f, 1, 20, &w).unwrap();
    assert_eq!(qa.exps(), [127, 132]);
    assert_eq!(qw.exps(), [128, 125]);
    let e = |m: &BfpMatrix| [m.elems()[0], m.elems()[1], m.elems()[16], m.elems()[17]];
    assert_eq!(e(&qa), [96, -48, 80, 1]);
    assert_eq!(e(&qw), [16, 64, -32, 64]);
    assert_eq!(golden_matmul(&qa, &qw).unwrap(), [-5.625]);
    assert_eq!(-188743680.0 * 2f64.powi(257 - 282), -5.625);

    // The row record of A: one group, 8 exponent bytes, then 2 x 16 bytes.
    let bytes = pack(&qa, row_bytes(f, 20)).unwrap();
    let mut expected = vec![0u8; 40];
    expected[..2].copy_from_slice(&[127, 132]);
    expected[8..10].copy_from_slice(&[96, (-48i8) as u8]);
    expected[24..26].copy_from_slice(&[80, 1]);
    assert_eq!(bytes, expected);
}

// ---------------------------------------------------------------------------
// (4) Malformed input
// ---------------------------------------------------------------------------

#[test]
fn malformed_input_is_named() {
    let f8 = BfpFormat::named("mxint8", 32).unwrap();
    let f4 = BfpFormat::named("mxint4", 32).unwrap();
    let mut x = vec![0.5f32; 4 * 40];
    x[3 * 40 + 17] = f32::NAN;
    assert_eq!(
        BfpMatrix::quantise(f8, 4, 40, &x).unwrap_err().to_string(),
        "element [3][17] is NaN; BFP quantisation needs finite values"
    );
    x[3 * 40 + 17] = f32::NEG_INFINITY;
    x[2] = f32::INFINITY;
    assert_eq!(
        BfpMatrix::quantise(f4, 4, 40, &x).unwrap_err(),
        BfpError::NonFinite {
            row: 0,
            col: 2,
            value: f32::INFINITY
        }
    );
    assert_eq!(
        BfpFormat::named("mxint8", 24).unwrap_err().to_string(),
        "block 24; it must be 16, 32 or 64"
    );
    assert_eq!(
        BfpMatrix::from_parts(f8, 1, 40, vec![3, 255], vec![0; 64])
            .unwrap_err()
            .to_string(),
        "exponent of row 0, block 1 is 255, which is NaN in E8M0; valid exponents are 0..=254"
    );
    assert_eq!(
        BfpMatrix::from_parts(f4, 1, 40, vec![3, 3], {
            let mut e = vec![0i8; 64];
            e[5] = 8;
            e
        })
        .unwrap_err()
        .to_string(),
        "element [0][5] is 8, outside mxint4's range -7..=7"
    );
    assert!(matches!(
        BfpMatrix::from_parts(f8, 1, 40, vec![3], vec![0; 64]),
        Err(BfpError::Length { what: "exps", .. })
    ));

    // An exponent of 255 in device memory is caught when unpacked.
    let m = BfpMatrix::quantise(f8, 1, 40, &[1.0; 40]).unwrap();
    let mut bytes = pack(&m, 72).unwrap();
    bytes[1] = 255;
    assert!(matches!(
        unpack(f8, 1, 40, &bytes, 72),
        Err(BfpError::ExponentNaN { row: 0, block: 1 })
    ));
    // -128 in an int8 element.
    bytes[1] = 3;
    bytes[8] = 0x80;
    assert!(matches!(
        unpack(f8, 1, 40, &bytes, 72),
        Err(BfpError::ElementRange { value: -128, .. })
    ));

    let a = BfpMatrix::quantise(f8, 1, 40, &[1.0; 40]).unwrap();
    let w = BfpMatrix::quantise(f8, 1, 41, &[1.0; 41]).unwrap();
    assert_eq!(
        golden_matmul(&a, &w).unwrap_err().to_string(),
        "A has K = 40 but W has K = 41; both operands must have the same K"
    );
    let w16 =
        BfpMatrix::quantise(BfpFormat::named("mxint8", 16).unwrap(), 1, 40, &[1.0; 40]).unwrap();
    assert_eq!(
        golden_matmul(&a, &w16).unwrap_err(),
        BfpError::BlockMismatch { a: 32, w: 16 }
    );
    let a4 = BfpMatrix::quantise(f4, 1, 40, &[1.0; 40]).unwrap();
    assert_eq!(
        golden_matmul(&a4, &a).unwrap_err().to_string(),
        "A is mxint4; activations must be mxint8"
    );
}

// ---------------------------------------------------------------------------
// (5) llama.cpp blocks from the gguf package
// ---------------------------------------------------------------------------

struct Fixture {
    blocks: usize,
    source: Vec<f32>,
    bytes: Vec<u8>,
    dequantised: Vec<f32>,
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Reads tests/data/ggml/<name> (layout in make_vectors.py).
fn fixture(name: &str, type_id: u32, block_bytes: usize) -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/ggml")
        .join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&raw[..8], b"KLNGGML1");
    assert_eq!(u32::from_le_bytes(raw[8..12].try_into().unwrap()), type_id);
    let blocks = u32::from_le_bytes(raw[12..16].try_into().unwrap()) as usize;
    let values = blocks * 32 * 4;
    assert_eq!(raw.len(), 16 + 2 * values + blocks * block_bytes);
    let (source, rest) = raw[16..].split_at(values);
    let (bytes, dequantised) = rest.split_at(blocks * block_bytes);
    Fixture {
        blocks,
        source: f32s(source),
        bytes: bytes.to_vec(),
        dequantised: f32s(dequantised),
    }
}

/// Our decoders equal gguf's dequantisation bit for bit, our port of the
/// reference quantisers makes gguf's bytes, and the converted BFP values
/// are within half a step of the ggml values (one step when saturated).
#[test]
fn ggml_blocks_match_gguf() {
    type Decode = fn(&[u8]) -> Result<Vec<f32>, BfpError>;
    type Quantise = fn(&[f32]) -> Result<Vec<u8>, BfpError>;
    type Convert = fn(&[u8], usize, usize) -> Result<BfpMatrix, BfpError>;
    let cases: [(&str, u32, usize, Decode, Quantise, Convert); 2] = [
        (
            "q8_0.bin",
            8,
            Q8_0_BYTES,
            dequantise_q8_0,
            quantise_q8_0,
            q8_0_to_mxint8,
        ),
        (
            "q4_0.bin",
            2,
            Q4_0_BYTES,
            dequantise_q4_0,
            quantise_q4_0,
            q4_0_to_mxint4,
        ),
    ];
    for (name, id, block_bytes, decode, quantise, convert) in cases {
        let fx = fixture(name, id, block_bytes);
        let ours = decode(&fx.bytes).unwrap();
        assert_eq!(ours.len(), fx.dequantised.len());
        for (i, (x, y)) in ours.iter().zip(&fx.dequantised).enumerate() {
            assert_eq!(
                x.to_bits(),
                y.to_bits(),
                "{name} element {i}: {x} vs gguf {y}"
            );
        }
        assert!(
            quantise(&fx.source).unwrap() == fx.bytes,
            "{name}: quantiser port"
        );

        // 8 rows of K = 32 * blocks / 8.
        let (rows, k) = (8, 32 * fx.blocks / 8);
        let bfp = convert(&fx.bytes, rows, k).unwrap();
        let kind = bfp.format().element;
        for (i, (&c, &g)) in bfp.dequantise().iter().zip(&fx.dequantised).enumerate() {
            let (row, col) = (i / k, i % k);
            let x = bfp.row_exps(row)[col / 32];
            let step = 2f64.powi(i32::from(x) - 127 - kind.frac_bits());
            let err = (f64::from(c) - f64::from(g)).abs();
            let saturated = (f64::from(g) / step).round().abs() > f64::from(kind.max_code());
            let limit = if saturated { step } else { step / 2.0 };
            assert!(err <= limit, "{name} [{row}][{col}]: {g} -> {c}");
        }
        assert!(convert(&fx.bytes, rows, k + 32).is_err());
    }
}
