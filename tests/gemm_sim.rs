//! The accelerator RTL against the golden model, through the real driver
//! and the simulated board: random shapes on every design, both output
//! modes, and the refusals and failures a user must see clearly.

mod common;

use kiln::backend::{GemmBackend, GoldenBackend, SimBackend};
use kiln::formats::Codebook;
use kiln::gemm::{random_problem, GemmProblem, OutputMode};
use kiln::rng::SplitMix64;
use kiln_spec::{Board, Design};

fn check(design: &str, shapes: &[(usize, usize, usize)], seed: u64) {
    let design = Design::by_name(design).unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let codebook = Codebook::named(&design.pe).unwrap();
    let mut sim = SimBackend::open(&design, &board, None).unwrap();
    let mut golden = GoldenBackend::new(&design).unwrap();
    let mut rng = SplitMix64::new(seed);
    for (i, &(m, n, k)) in shapes.iter().enumerate() {
        let output = if i % 2 == 0 {
            OutputMode::Int8 {
                zero_point: rng.below(256) as u8 as i8,
            }
        } else {
            OutputMode::Int32
        };
        let problem: GemmProblem = random_problem(&mut rng, &codebook, m, n, k, output);
        let want = golden.gemm(&problem).unwrap().output;
        let run = sim.gemm(&problem).unwrap();
        let counters = run.counters.expect("the sim backend reports counters");
        let wrong: Vec<usize> = (0..want.len())
            .filter(|&j| want[j] != run.output[j])
            .collect();
        assert!(
            wrong.is_empty(),
            "{} {m}x{n}x{k} {output:?}: {} of {} outputs differ, first at ({}, {}): RTL {} golden {}",
            design.name,
            wrong.len(),
            want.len(),
            wrong[0] / n,
            wrong[0] % n,
            run.output[wrong[0]],
            want[wrong[0]]
        );
        assert_eq!(counters.macs, (m * n * k) as u64, "MAC counter");
        let e = output.element_bytes() as u64;
        assert_eq!(counters.bytes_written, (m * n) as u64 * e, "bytes written");
        assert!(counters.busy <= counters.cycles);
    }
}

#[test]
fn small_design_covers_every_tiling_edge() {
    check(
        "gemm-pot-3x5",
        &[
            (1, 1, 1),
            (3, 5, 16),
            (7, 17, 33),
            (13, 31, 97),
            (2, 40, 64),
            (31, 7, 5),
        ],
        1,
    );
}

#[test]
fn every_design_matches_golden_on_odd_shapes() {
    for (i, design) in Design::listed().unwrap().iter().enumerate() {
        check(
            &design.name,
            &[(1, 1, 1), (37, 41, 300), (129, 67, 17), (2, 3, 521)],
            10 + i as u64,
        );
    }
}
