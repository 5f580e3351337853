//! Checks a device backend (any transport) the same way: random GEMMs in
//! both output modes against the golden model bit for bit and against the
//! plain simulation transport counter for counter, and BFP MatMuls against
//! the golden model bit for bit. tests/devmem_sim.rs and tests/xrt_emu.rs
//! include this file with `#[path]`.

use kiln::backend::{Backend, GoldenBackend, SimBackend};
use kiln::engines::bfp::{BfpFormat, BfpMatrix, ElementKind, MatmulProblem, RunMatmul};
use kiln::engines::gemm::{random_problem, OutputMode, RunGemm};
use kiln::formats::Codebook;
use kiln::rng::SplitMix64;
use kiln_spec::{Board, Design, GemmArray};

/// Runs random GEMMs of `shapes` on `device` (alternating int8 and int32
/// output) and requires the golden model's outputs and the sim transport's
/// counters on `board`.
pub fn check_gemms(
    device: &mut dyn Backend,
    design: &Design,
    board: &Board,
    shapes: &[(usize, usize, usize)],
    seed: u64,
) {
    let codebook = Codebook::named(&design.params::<GemmArray>().unwrap().pe).unwrap();
    let mut sim = SimBackend::open(design, board, None).unwrap();
    let mut golden = GoldenBackend::new(design).unwrap();
    let mut rng = SplitMix64::new(seed);
    let via = device.name();
    for (i, &(m, n, k)) in shapes.iter().enumerate() {
        let output = if i % 2 == 0 {
            OutputMode::Int8 {
                zero_point: rng.below(256) as u8 as i8,
            }
        } else {
            OutputMode::Int32
        };
        let problem = random_problem(&mut rng, &codebook, m, n, k, output);
        let want = golden.gemm(&problem).unwrap().output;
        let got = device.gemm(&problem).unwrap();
        let first_wrong = (0..want.len()).find(|&j| want[j] != got.output[j]);
        if let Some(j) = first_wrong {
            panic!(
                "{} {m}x{n}x{k} {output:?} over {via}: output {j} differs: RTL {} golden {}",
                design.name, got.output[j], want[j]
            );
        }
        // Same RTL, same register sequence, same simulated board: the
        // hardware's own counters agree with the sim transport's.
        let plain = sim.gemm(&problem).unwrap();
        assert_eq!(
            got.counters, plain.counters,
            "{} {m}x{n}x{k}: counters over {via} and over the sim transport",
            design.name
        );
    }
}

/// Runs BFP MatMuls of `shapes` (Gaussian data in mxint8 blocks of 32) on
/// `device` and requires the golden model's output bits.
pub fn check_matmuls(
    device: &mut dyn Backend,
    design: &Design,
    shapes: &[(usize, usize, usize)],
    seed: u64,
) {
    let format = BfpFormat::new(ElementKind::Int8, 32).unwrap();
    let mut golden = GoldenBackend::new(design).unwrap();
    let mut rng = SplitMix64::new(seed);
    for &(m, n, k) in shapes {
        let mut matrix = |rows: usize| {
            let values: Vec<f32> = (0..rows * k).map(|_| rng.gaussian() as f32).collect();
            BfpMatrix::quantise(format, rows, k, &values).unwrap()
        };
        let problem = MatmulProblem {
            a: matrix(m),
            w: matrix(n),
        };
        let want = golden.matmul(&problem).unwrap().output;
        let got = device.matmul(&problem).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&got.output),
            bits(&want),
            "{m}x{n}x{k} over {}",
            device.name()
        );
        assert_eq!(got.counters.unwrap().macs, (m * n * k) as u64);
    }
}
