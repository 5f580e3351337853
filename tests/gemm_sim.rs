//! The accelerator RTL against the golden model, through the real driver
//! and the simulated board: random shapes on every design, both output
//! modes, and the refusals and failures a user must see clearly.

mod common;

use kiln::backend::{GoldenBackend, SimBackend};
use kiln::engines::gemm::{random_problem, GemmDescriptor, GemmProblem, OutputMode, RunGemm};
use kiln::formats::Codebook;
use kiln::rng::SplitMix64;
use kiln_spec::{Board, Design, GemmArray};

/// The listed GEMM designs (the BFP ones have tests/bfp_sim.rs).
fn gemm_designs() -> Vec<Design> {
    Design::listed()
        .unwrap()
        .into_iter()
        .filter(|d| d.params::<GemmArray>().is_ok())
        .collect()
}

/// Bits of the container a code of `weight_bits` occupies in B, written
/// out from docs/gemm-layouts.md (not through kiln_spec's function): the
/// smallest of 1, 2, 4 and 8 that holds it.
fn container_bits(weight_bits: u32) -> u64 {
    [1, 2, 4, 4, 8, 8, 8, 8][weight_bits as usize - 1]
}

/// Bytes the engine reads for an M x N x K GEMM, from the loader's walk
/// (hw/ip/gemm/rtl/gemm_loader.sv) in whole 64-bit beats: per job (output
/// block x K chunk) each row of A's chunk, each row of B's chunk of code
/// containers, and at a block's first chunk its channel records.
fn expected_bytes_read(array: &GemmArray, weight_bits: u32, m: usize, n: usize, k: usize) -> u64 {
    let (m, n, k) = (m as u64, n as u64, k as u64);
    let block_rows = u64::from(array.block_rows());
    let block_cols = u64::from(array.block_cols());
    let depth = u64::from(array.k_depth);
    let cbits = container_bits(weight_bits);
    let mut beats = 0;
    for m0 in (0..m).step_by(block_rows as usize) {
        let rows = block_rows.min(m - m0);
        for n0 in (0..n).step_by(block_cols as usize) {
            let cols = block_cols.min(n - n0);
            beats += cols * 2;
            for k0 in (0..k).step_by(depth as usize) {
                let klen = depth.min(k - k0);
                beats += rows * klen.div_ceil(8) + cols * (klen * cbits).div_ceil(64);
            }
        }
    }
    beats * 8
}

fn check(design: &str, shapes: &[(usize, usize, usize)], seed: u64) {
    let design = Design::by_name(design).unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let array = design.params::<GemmArray>().unwrap().clone();
    let codebook = Codebook::named(&array.pe).unwrap();
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
        assert_eq!(
            counters.bytes_read,
            expected_bytes_read(&array, codebook.weight_bits(), m, n, k),
            "{} {m}x{n}x{k}: bytes read",
            design.name
        );
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
    for (i, design) in gemm_designs().iter().enumerate() {
        check(
            &design.name,
            &[(1, 1, 1), (37, 41, 300), (129, 67, 17), (2, 3, 521)],
            10 + i as u64,
        );
    }
}

/// Test-only designs of 1-, 3- and 5-bit codes (hw/designs/dv): B in
/// containers of 1, 4 and 8 bits. K runs over primes and values next to the
/// container and chunk boundaries, so that a row's last word is partly
/// filled and K chunks are short.
const ODD_WIDTH_DESIGNS: [&str; 3] = [
    "gemm-test-sign1-4x4",
    "gemm-test-pot3-8x8",
    "gemm-test-log5-8x8",
];

#[test]
fn codes_of_1_3_and_5_bits_match_golden_on_odd_shapes() {
    for (i, name) in ODD_WIDTH_DESIGNS.iter().enumerate() {
        let design = Design::by_name(name).unwrap();
        let bits = design.weight_bits().unwrap();
        assert_eq!(bits, [1, 3, 5][i], "{name}");
        check(
            name,
            &[
                (1, 1, 1),
                (3, 5, 7),
                (9, 17, 13),
                (17, 9, 63),
                (5, 33, 65),
                (2, 3, 97),
                (33, 19, 131),
                (8, 8, 17 * 16),
                (37, 41, 300),
                (3, 2, 521),
            ],
            100 + i as u64,
        );
    }
}

#[test]
fn codes_of_1_3_and_5_bits_match_golden_on_random_shapes() {
    let mut rng = SplitMix64::new(0x0dd_b175);
    for name in ODD_WIDTH_DESIGNS {
        let mut dim = || 1 + rng.below(200) as usize;
        let shapes = [
            (dim(), dim(), dim()),
            (dim(), dim(), dim()),
            (dim(), dim(), dim()),
        ];
        check(name, &shapes, rng.below(1 << 32));
    }
}

#[test]
fn cli_gemm_runs_a_5_bit_design() {
    let report = common::kiln_json(
        &[
            "gemm",
            "--design",
            "gemm-test-log5-8x8",
            "--m",
            "9",
            "--n",
            "21",
            "--k",
            "77",
            "--json",
        ],
        0,
    );
    assert_eq!(report["mismatches"], 0);
    assert_eq!(report["outputs"], 9 * 21);
    // Rows of 77 codes in byte containers: a 5-bit B moves a byte per code.
    let array = Design::by_name("gemm-test-log5-8x8").unwrap();
    let array = array.params::<GemmArray>().unwrap();
    assert_eq!(
        report["bytes_read"].as_u64().unwrap(),
        expected_bytes_read(array, 5, 9, 21, 77)
    );
}

#[test]
fn random_shapes_up_to_several_hundred_match_on_every_design() {
    let mut rng = SplitMix64::new(77);
    for design in gemm_designs() {
        let mut dim = || 1 + rng.below(400) as usize;
        let shapes = [(dim(), dim(), dim()), (dim(), dim(), dim())];
        check(&design.name, &shapes, rng.below(1 << 32));
    }
}

use kiln::backend::{expected_design, sim_board};
use kiln_driver::transport::SimTransport;
use kiln_driver::{regs, Accelerator, DescriptorError, DriverError, Operand, Transport};
use std::time::Duration;

fn open(design: &str, expect: &str) -> Result<Accelerator<SimTransport>, DriverError> {
    let board = Board::by_name("pynq-z1").unwrap();
    let transport = SimTransport::open(&Design::by_name(design).unwrap(), sim_board(&board), None)?;
    Accelerator::open(
        transport,
        &expected_design(&Design::by_name(expect).unwrap()).unwrap(),
    )
}

/// A valid 8 x 16 x 32 descriptor in freshly allocated buffers.
fn descriptor(accel: &mut Accelerator<SimTransport>) -> GemmDescriptor {
    let mut op = |bytes: u64, stride: u64| Operand {
        buffer: accel.alloc(bytes).unwrap(),
        offset: 0,
        stride,
    };
    GemmDescriptor {
        m: 8,
        n: 16,
        k: 32,
        a: op(8 * 32, 32),
        b: op(16 * 16, 16),
        c: op(8 * 16, 16),
        params: op(16 * 16, 0),
        act_zero_point: 0,
        output: OutputMode::Int8 { zero_point: 0 },
    }
}

#[test]
fn bad_descriptors_are_refused_before_any_register_is_written() {
    let mut accel = open("gemm-pot-8x8", "gemm-pot-8x8").unwrap();
    let good = descriptor(&mut accel);
    let timeout = Duration::from_millis(10);
    let cases: Vec<(GemmDescriptor, &str)> = vec![
        (GemmDescriptor { m: 0, ..good }, "dimension M is 0"),
        (
            GemmDescriptor {
                c: Operand {
                    offset: 8,
                    ..good.c
                },
                ..good
            },
            "would reach outside the buffer",
        ),
        (
            GemmDescriptor {
                a: Operand {
                    offset: 4,
                    ..good.a
                },
                ..good
            },
            "not 8-byte aligned",
        ),
        (
            GemmDescriptor {
                output: OutputMode::Int32,
                ..good
            },
            "shorter than its 64 bytes of row data",
        ),
    ];
    for (desc, wanted) in cases {
        let err = accel.run(&desc, timeout).unwrap_err();
        assert!(
            matches!(err, DriverError::Descriptor(_)),
            "{err:?} should be a descriptor error"
        );
        assert!(
            err.to_string().contains(wanted),
            "`{err}` should say `{wanted}`"
        );
    }
    // Nothing reached the hardware: the argument registers still read as reset.
    let mut transport = accel.into_transport();
    for reg in [regs::M, regs::N, regs::K, regs::C_ADDR_LO] {
        assert_eq!(
            transport.read32(reg.offset).unwrap(),
            0,
            "{} was written",
            reg.name
        );
    }
    assert_eq!(
        DescriptorError::ZeroDimension { name: "K" }.to_string(),
        "dimension K is 0; M, N and K must each be at least 1"
    );
}

#[test]
fn a_good_descriptor_runs_through_the_driver() {
    let mut accel = open("gemm-pot-8x8", "gemm-pot-8x8").unwrap();
    let desc = descriptor(&mut accel);
    let counters = accel.run(&desc, Duration::from_millis(10)).unwrap();
    assert_eq!(counters.macs, 8 * 16 * 32);
}

#[test]
fn the_wrong_design_is_named_with_the_right_one() {
    let err = open("gemm-pot-8x8", "gemm-msq-8x8")
        .unwrap_err()
        .to_string();
    assert!(err.contains("gemm-msq-8x8"), "{err}");
    let found = format!("{:#010x}", Design::by_name("gemm-pot-8x8").unwrap().id());
    assert!(
        err.contains(&found),
        "{err} should name the id found, {found}"
    );
}

#[test]
fn the_watchdog_fires_on_a_design_held_busy_and_reports_its_state() {
    let mut accel = open("gemm-pot-2x2-hold", "gemm-pot-2x2-hold").unwrap();
    let mut op = |bytes: u64, stride: u64| Operand {
        buffer: accel.alloc(bytes).unwrap(),
        offset: 0,
        stride,
    };
    let desc = GemmDescriptor {
        m: 3,
        n: 3,
        k: 20,
        a: op(3 * 24, 24),
        b: op(3 * 16, 16),
        c: op(3 * 8, 8),
        params: op(48, 0),
        act_zero_point: 0,
        output: OutputMode::Int8 { zero_point: 0 },
    };
    // 200 us of device time at 100 MHz: 20,000 cycles, far more than the run needs.
    let err = accel.run(&desc, Duration::from_micros(200)).unwrap_err();
    let DriverError::Timeout { state, .. } = &err else {
        panic!("expected a timeout, got {err:?}");
    };
    // The engines finished their work; only the test hook holds done low.
    assert_eq!(state.blocks_drained, 4, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("did not finish") && text.contains("blocks drained"),
        "{text}"
    );
}

#[test]
fn cli_gemm_reports_and_traces() {
    let dir = std::env::temp_dir().join(format!("kiln-gemm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("run.fst");
    let trace_arg = trace.to_str().unwrap();
    let report = common::kiln_json(
        &[
            "gemm",
            "--design",
            "gemm-apot-8x8",
            "--m",
            "19",
            "--n",
            "23",
            "--k",
            "70",
            "--trace",
            trace_arg,
            "--json",
        ],
        0,
    );
    assert_eq!(report["mismatches"], 0);
    assert_eq!(report["outputs"], 19 * 23);
    assert!(report["cycles"].as_u64().unwrap() > 0);
    assert!(report["utilisation"].as_f64().unwrap() > 0.0);
    let fst = std::fs::read(&trace).unwrap();
    assert!(fst.len() > 1000, "the FST trace is {} bytes", fst.len());
    std::fs::remove_dir_all(&dir).unwrap();

    let err = common::kiln_error(["gemm", "--design", "gemm-nope"]);
    assert!(err.contains("gemm-pot-8x8"), "{err}");
    let err = common::kiln_error(["gemm", "--m", "0"]);
    assert!(err.contains("--m is 0"), "{err}");
}
