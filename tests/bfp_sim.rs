//! The BFP MatMul RTL against the golden model, bit for bit, through the
//! real driver on the simulated board: over a thousand random cases per
//! weight format (random shapes, K not a multiple of the block, all-zero
//! blocks, outliers, extreme exponents), and the refusals a user must see.

mod common;

use std::time::Duration;

use kiln::backend::{expected_design, sim_board, GoldenBackend, SimBackend};
use kiln::engines::bfp::{
    weight_format, BfpFormat, BfpMatrix, ElementKind, MatmulDescriptor, MatmulProblem, RunMatmul,
};
use kiln::engines::gemm::{GemmDescriptor, OutputMode};
use kiln::rng::SplitMix64;
use kiln_driver::transport::{SimTransport, Transport};
use kiln_driver::{regs, Accelerator, DriverError, Operand};
use kiln_spec::{BfpEngine, Board, Design};

/// How a random operand's values are drawn.
#[derive(Debug, Clone, Copy)]
enum Data {
    /// N(0, 1) f32 values, quantised.
    Gaussian,
    /// Gaussian with one value in fifty scaled by 1000, quantised.
    Outliers,
    /// Gaussian, with whole blocks set to zero.
    ZeroBlocks,
    /// Raw blocks: any exponent 0..=254 and any element in range, so that
    /// results overflow to infinity or fall to subnormals and zero.
    RawExtreme,
    /// Raw blocks with exponents near the bottom (0..=20).
    RawTiny,
}

const DATA: [Data; 5] = [
    Data::Gaussian,
    Data::Outliers,
    Data::ZeroBlocks,
    Data::RawExtreme,
    Data::RawTiny,
];

fn random_matrix(
    rng: &mut SplitMix64,
    format: BfpFormat,
    rows: usize,
    k: usize,
    data: Data,
) -> BfpMatrix {
    match data {
        Data::Gaussian | Data::Outliers | Data::ZeroBlocks => {
            let mut values: Vec<f32> = (0..rows * k).map(|_| rng.gaussian() as f32).collect();
            if let Data::Outliers = data {
                for v in values.iter_mut() {
                    if rng.below(50) == 0 {
                        *v *= 1000.0;
                    }
                }
            }
            if let Data::ZeroBlocks = data {
                for r in 0..rows {
                    for b in 0..format.blocks(k) {
                        if rng.below(3) == 0 {
                            let end = ((b + 1) * format.block).min(k);
                            values[r * k + b * format.block..r * k + end].fill(0.0);
                        }
                    }
                }
            }
            BfpMatrix::quantise(format, rows, k, &values).unwrap()
        }
        Data::RawExtreme | Data::RawTiny => {
            let nb = format.blocks(k);
            let padded = format.padded_k(k);
            let top = if let Data::RawTiny = data { 21 } else { 255 };
            let exps: Vec<u8> = (0..rows * nb).map(|_| rng.below(top) as u8).collect();
            let max = i64::from(format.element.max_code());
            let mut elems = vec![0i8; rows * padded];
            for r in 0..rows {
                for c in 0..k {
                    elems[r * padded + c] = (rng.below((2 * max + 1) as u64) as i64 - max) as i8;
                }
            }
            BfpMatrix::from_parts(format, rows, k, exps, elems).unwrap()
        }
    }
}

/// Runs `cases` random MatMuls on `design` and requires every output to
/// equal the golden model's bit for bit; returns how many outputs were
/// compared and how many of them were infinite or subnormal.
fn check_random(design: &str, cases: usize, seed: u64) -> (usize, usize) {
    let design = Design::by_name(design).unwrap();
    let engine = design.params::<BfpEngine>().unwrap().clone();
    let board = Board::by_name("pynq-z1").unwrap();
    let w_format = weight_format(&design).unwrap();
    let a_format = BfpFormat::new(ElementKind::Int8, w_format.block).unwrap();
    let mut sim = SimBackend::open(&design, &board, None).unwrap();
    let mut golden = GoldenBackend::new(&design).unwrap();
    let mut rng = SplitMix64::new(seed);
    let (mut outputs, mut special) = (0, 0);
    let k_max = (engine.k_depth as usize).min(8 * w_format.block + 40);
    for case in 0..cases {
        let m = 1 + rng.below(2 * u64::from(engine.lanes) + 1) as usize;
        let n = 1 + rng.below(2 * u64::from(engine.n_tile) + 3) as usize;
        let k = 1 + rng.below(k_max as u64) as usize;
        let data_a = DATA[rng.below(DATA.len() as u64) as usize];
        let data_w = DATA[rng.below(DATA.len() as u64) as usize];
        let problem = MatmulProblem {
            a: random_matrix(&mut rng, a_format, m, k, data_a),
            w: random_matrix(&mut rng, w_format, n, k, data_w),
        };
        let want = golden.matmul(&problem).unwrap().output;
        let run = sim.matmul(&problem).unwrap();
        let counters = run.counters.expect("the sim backend reports counters");
        let wrong: Vec<usize> = (0..want.len())
            .filter(|&j| want[j].to_bits() != run.output[j].to_bits())
            .collect();
        assert!(
            wrong.is_empty(),
            "{} case {case}: {m}x{n}x{k} (A {data_a:?}, W {data_w:?}): {} of {} outputs differ, \
             first at ({}, {}): RTL {:e} ({:#010x}) golden {:e} ({:#010x})",
            design.name,
            wrong.len(),
            want.len(),
            wrong[0] / n,
            wrong[0] % n,
            run.output[wrong[0]],
            run.output[wrong[0]].to_bits(),
            want[wrong[0]],
            want[wrong[0]].to_bits(),
        );
        assert_eq!(
            counters.macs,
            (m * n * k) as u64,
            "MAC counter, {m}x{n}x{k}"
        );
        assert_eq!(counters.bytes_written, (4 * m * n) as u64, "bytes written");
        assert!(counters.busy <= counters.cycles);
        outputs += want.len();
        special += want
            .iter()
            .filter(|v| v.is_infinite() || v.is_subnormal())
            .count();
    }
    (outputs, special)
}

#[test]
fn mxint8_matches_golden_bit_for_bit_on_random_cases() {
    // 1,000 cases in all: the default design and a small one with blocks
    // of 16 and three lanes.
    let (outputs, special) = check_random("bfp-mxint8", 500, 1);
    let (outputs_b16, special_b16) = check_random("bfp-mxint8-b16", 500, 2);
    assert!(outputs + outputs_b16 > 50_000);
    // The extreme data must really reach infinities and subnormals.
    assert!(
        special + special_b16 > 100,
        "only {} special outputs",
        special + special_b16
    );
}

#[test]
fn mxint4_matches_golden_bit_for_bit_on_random_cases() {
    let (outputs, special) = check_random("bfp-mxint4", 500, 3);
    let (outputs_b64, special_b64) = check_random("bfp-mxint4-b64", 500, 4);
    assert!(outputs + outputs_b64 > 50_000);
    assert!(
        special + special_b64 > 100,
        "only {} special outputs",
        special + special_b64
    );
}

#[test]
fn a_decode_shape_matches_golden() {
    // M = 1, as in LLM token generation, with K and N past several tiles.
    let design = Design::by_name("bfp-mxint4").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let w_format = weight_format(&design).unwrap();
    let a_format = BfpFormat::new(ElementKind::Int8, 32).unwrap();
    let mut rng = SplitMix64::new(9);
    let problem = MatmulProblem {
        a: random_matrix(&mut rng, a_format, 1, 1000, Data::Outliers),
        w: random_matrix(&mut rng, w_format, 300, 1000, Data::Gaussian),
    };
    let want = GoldenBackend::new(&design)
        .unwrap()
        .matmul(&problem)
        .unwrap()
        .output;
    let got = SimBackend::open(&design, &board, None)
        .unwrap()
        .matmul(&problem)
        .unwrap()
        .output;
    assert_eq!(
        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

fn open(design: &str) -> Accelerator<SimTransport> {
    let board = Board::by_name("pynq-z1").unwrap();
    let transport =
        SimTransport::open(&Design::by_name(design).unwrap(), sim_board(&board), None).unwrap();
    Accelerator::open(
        transport,
        &expected_design(&Design::by_name(design).unwrap()).unwrap(),
    )
    .unwrap()
}

#[test]
fn bad_matmuls_are_refused_before_any_register_is_written() {
    let mut accel = open("bfp-mxint8-b16");
    // K = 40 in blocks of 16: 3 blocks, 8 + 48 bytes a row.
    let mut op = |bytes: u64, stride: u64| Operand {
        buffer: accel.alloc(bytes).unwrap(),
        offset: 0,
        stride,
    };
    let good = MatmulDescriptor {
        m: 2,
        n: 3,
        k: 40,
        a: op(112, 56),
        w: op(168, 56),
        c: op(32, 16),
    };
    let timeout = Duration::from_millis(10);
    let cases: Vec<(MatmulDescriptor, &str)> = vec![
        (MatmulDescriptor { k: 0, ..good }, "dimension K is 0"),
        (
            MatmulDescriptor { k: 513, ..good },
            "K is 513; 528 once padded to whole blocks of 16; this design holds at most 512",
        ),
        (
            MatmulDescriptor {
                w: Operand {
                    stride: 48,
                    ..good.w
                },
                ..good
            },
            "operand W has row stride 48 bytes, shorter than its 56 bytes",
        ),
        (
            MatmulDescriptor {
                c: Operand {
                    offset: 8,
                    ..good.c
                },
                ..good
            },
            "would reach outside the buffer",
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
    // A GEMM submission to a BFP engine is refused the same way.
    let gemm_err = accel
        .run(
            &GemmDescriptor {
                m: 1,
                n: 1,
                k: 1,
                a: good.a,
                b: good.w,
                c: good.c,
                params: good.a,
                act_zero_point: 0,
                output: OutputMode::Int32,
            },
            timeout,
        )
        .unwrap_err();
    assert!(
        gemm_err
            .to_string()
            .contains("a GEMM (for ENGINE.KIND 0) went to an accelerator whose ENGINE.KIND is 1"),
        "{gemm_err}"
    );
    let mut transport = accel.into_transport();
    for reg in [regs::M, regs::N, regs::K, regs::C_ADDR_LO] {
        assert_eq!(
            transport.read32(reg.offset).unwrap(),
            0,
            "{} was written",
            reg.name
        );
    }
}

#[test]
fn operands_in_the_wrong_format_are_named() {
    let design = Design::by_name("bfp-mxint4").unwrap();
    let mut golden = GoldenBackend::new(&design).unwrap();
    let int8 = BfpFormat::new(ElementKind::Int8, 32).unwrap();
    let problem = MatmulProblem {
        a: BfpMatrix::quantise(int8, 1, 4, &[1.0; 4]).unwrap(),
        w: BfpMatrix::quantise(int8, 1, 4, &[1.0; 4]).unwrap(),
    };
    let err = golden.matmul(&problem).unwrap_err().to_string();
    assert_eq!(
        err,
        "W is mxint8 in blocks of 32; design `bfp-mxint4` takes mxint4 in blocks of 32"
    );
    let gemm = Design::by_name("gemm-pot-8x8").unwrap();
    let err = GoldenBackend::new(&gemm)
        .unwrap()
        .matmul(&problem)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("design `gemm-pot-8x8` is a gemm engine; this needs a bfp design"),
        "{err}"
    );
}

#[test]
fn cli_matmul_reports_checks_and_projection() {
    let r = common::kiln_json(
        &[
            "matmul",
            "--design",
            "bfp-mxint8",
            "--m",
            "3",
            "--k",
            "300",
            "--n",
            "70",
            "--board",
            "pynq-z1",
            "--json",
        ],
        0,
    );
    assert_eq!(r["backend"], "sim");
    assert_eq!(r["outputs"], 210);
    assert_eq!(r["mismatches"], 0);
    assert_eq!(r["outside_bound"], 0);
    assert!(r["worst_bound_ratio"].as_f64().unwrap() <= 1.0);
    let cycles = r["cycles"].as_f64().unwrap();
    assert!(cycles >= r["compute_cycles"].as_f64().unwrap());
    // 100 MHz on the PYNQ-Z1: one cycle is 0.01 us.
    assert!((r["projected_us"].as_f64().unwrap() - cycles / 100.0).abs() < 1e-6);

    let text = common::kiln([
        "matmul",
        "--design",
        "bfp-mxint4",
        "--m",
        "1",
        "--k",
        "64",
        "--n",
        "8",
    ]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("8 outputs bit-identical to the golden model"),
        "{text}"
    );
    assert!(text.contains("us at 100 MHz"), "{text}");

    let dir = std::env::temp_dir().join(format!("kiln-bfp-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("matmul.fst");
    let traced = common::kiln_json(
        &[
            "matmul",
            "--design",
            "bfp-mxint4",
            "--m",
            "2",
            "--k",
            "40",
            "--n",
            "5",
            "--trace",
            trace.to_str().unwrap(),
            "--json",
        ],
        0,
    );
    assert_eq!(traced["mismatches"], 0);
    let fst = std::fs::read(&trace).unwrap();
    assert!(fst.len() > 1000, "the FST trace is {} bytes", fst.len());
    std::fs::remove_dir_all(&dir).unwrap();

    let err = common::kiln_error(["matmul", "--design", "gemm-pot-8x8"]);
    assert!(err.contains("design `gemm-pot-8x8` is a gemm engine; this needs a bfp design (bfp-mxint4, bfp-mxint8)"), "{err}");
    let err = common::kiln_error(["matmul", "--k", "9000"]);
    assert!(
        err.contains("--k 9000 is longer than design `bfp-mxint8` holds (K up to 8192)"),
        "{err}"
    );
    let err = common::kiln_error(["matmul", "--workload", "gpt-5"]);
    assert!(
        err.contains("no workload named `gpt-5`; known: tinyllama"),
        "{err}"
    );
}

#[test]
fn cli_workload_projects_tinyllama_per_token() {
    let r = common::kiln_json(
        &[
            "matmul",
            "--workload",
            "tinyllama",
            "--design",
            "bfp-mxint4",
            "--board",
            "pynq-z1",
            "--json",
        ],
        0,
    );
    let shapes = r["shapes"].as_array().unwrap();
    let names: Vec<_> = shapes.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
            "lm_head"
        ]
    );
    let mut total = 0.0;
    for s in shapes {
        assert_eq!(s["mismatches"], 0, "{}", s["name"]);
        assert_eq!(s["outside_bound"], 0, "{}", s["name"]);
        total += s["cycles"].as_f64().unwrap() * s["per_token"].as_f64().unwrap();
    }
    assert_eq!(r["cycles_per_token"].as_f64().unwrap(), total);
    // At M = 1 the engine runs at the memory roof: every weight byte is read
    // once, and the lanes keep up with the port.
    let memory = r["memory_cycles_per_token"].as_f64().unwrap();
    assert!(
        total >= memory && total < 1.01 * memory,
        "{total} vs {memory}"
    );
    assert_eq!(r["reference"]["seconds_per_token"], 1.7);
    // 4.5 bits a weight: about 557 MiB, more than the PYNQ-Z1's 512 MiB.
    assert_eq!(r["weights_fit_ddr"], false);
}
