//! Sizes checked before anything is allocated: a shape one element beyond
//! what fits the board's DDR is refused by `kiln gemm` and `kiln matmul`
//! with the bytes needed and available, under an address-space limit of
//! 100 MB (so its peak RSS stays below that), and size arithmetic that
//! overflows is an error, not a wrapped number or a panic.
//!
//! The expected device bytes are written here from docs/gemm-layouts.md
//! and docs/bfp.md, not by calling the layout functions the budget uses.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kiln::budget::BudgetError;
use kiln::engines::bfp::budget::check_matmul;
use kiln::engines::gemm::budget::check_gemm;
use kiln::engines::gemm::OutputMode;
use kiln_spec::{Board, Design};

/// 100 MB (10^8 bytes) in the KiB `ulimit -v` takes.
const LIMIT_KIB: u64 = 100_000_000 / 1024;

/// Runs `kiln` with its address space (RLIMIT_AS) limited to 100 MB. Its
/// resident set can never exceed its address space, so a clean exit under
/// this limit shows a peak RSS below 100 MB; an allocation past it would
/// abort (exit 134), as the issue's 1.6 GB one did under 3 GB.
fn kiln_limited(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("sh runs kiln")
}

/// `kiln_limited`, requiring exit 2 within `within`; returns stderr.
fn refused(args: &[&str], within: Duration) -> String {
    let started = Instant::now();
    let out = kiln_limited(args);
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "kiln {args:?}: {stderr}");
    assert!(
        elapsed < within,
        "kiln {args:?} took {elapsed:?} to refuse: {stderr}"
    );
    stderr
}

const QUICK: Duration = Duration::from_secs(10);

fn round8(x: u64) -> u64 {
    x.div_ceil(8) * 8
}

/// A buffer as the transports allocate it: whole 4 KiB pages, at least one.
fn pages(x: u64) -> u64 {
    x.max(1).div_ceil(4096) * 4096
}

/// docs/gemm-layouts.md: A is M rows of K bytes, B N rows of K packed
/// codes, C M rows of N elements, each row padded to 8 bytes; N channel
/// records of 16 bytes.
fn gemm_device_bytes(m: u64, n: u64, k: u64, weight_bits: u64, out_bytes: u64) -> u64 {
    pages(m * round8(k))
        + pages(n * round8((k * weight_bits).div_ceil(8)))
        + pages(m * round8(n * out_bytes))
        + pages(n * 16)
}

/// docs/bfp.md: a row record is, per group of up to 8 blocks, 8 exponent
/// bytes, then the blocks' elements; C is M rows of N f32, padded to 8.
fn bfp_device_bytes(m: u64, k: u64, n: u64, block: u64, weight_bits: u64) -> u64 {
    let record = |bits: u64| {
        let blocks = k.div_ceil(block);
        8 * blocks.div_ceil(8) + blocks * block * bits / 8
    };
    pages(m * record(8)) + pages(n * record(weight_bits)) + pages(m * round8(4 * n))
}

/// The largest `x` in `lo..hi` with `fits(x)`, for a `fits` true at `lo`
/// and false from some point on.
fn largest(lo: usize, hi: usize, fits: impl Fn(usize) -> bool) -> usize {
    assert!(
        fits(lo) && !fits(hi),
        "the search range {lo}..{hi} brackets the boundary"
    );
    let (mut lo, mut hi) = (lo, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

fn pynq() -> Board {
    Board::by_name("pynq-z1").unwrap()
}

#[test]
fn gemm_one_element_beyond_the_ddr_is_refused_small() {
    let design = Design::by_name("gemm-pot-8x8").unwrap();
    let board = pynq();
    let ddr = board.addresses.ddr_bytes;
    let output = OutputMode::Int8 { zero_point: 0 };
    let fits = |m, n, k| check_gemm(&design, &board, m, n, k, output).is_ok();
    // The largest cube, then the largest M on top of it: (m, s, s) fits
    // and (m + 1, s, s) does not.
    let s = largest(1, 1 << 16, |s| fits(s, s, s));
    let m = largest(s, 4 * s, |m| fits(m, s, s));
    assert!(s > 10_000, "pynq-z1 holds a {s}^3 GEMM at most");

    let bits = u64::from(design.weight_bits().unwrap());
    let (m64, s64) = (m as u64, s as u64);
    let inside = gemm_device_bytes(m64, s64, s64, bits, 1);
    let beyond = gemm_device_bytes(m64 + 1, s64, s64, bits, 1);
    assert!(
        inside <= ddr && beyond > ddr,
        "{inside} and {beyond} bracket {ddr}"
    );
    let accepted = check_gemm(&design, &board, m, s, s, output).unwrap();
    assert_eq!(accepted.total, inside);
    match check_gemm(&design, &board, m + 1, s, s, output) {
        Err(BudgetError::Device {
            budget, ddr_bytes, ..
        }) => {
            assert_eq!(budget.total, beyond);
            assert_eq!(ddr_bytes, ddr);
        }
        other => panic!("expected the DDR refusal, got {other:?}"),
    }

    let (m1, n, k) = ((m + 1).to_string(), s.to_string(), s.to_string());
    let err = refused(
        &[
            "gemm",
            "--m",
            &m1,
            "--n",
            &n,
            "--k",
            &k,
            "--backend",
            "golden",
        ],
        QUICK,
    );
    assert!(
        err.contains(&format!(
            "a {m1}x{n}x{k} (MxNxK) GEMM on gemm-pot-8x8 with int8 output needs {beyond} bytes ("
        )),
        "{err}"
    );
    assert!(
        err.contains("board pynq-z1 has 536870912 bytes (512 MiB) of DDR (0x20000000 bytes)"),
        "{err}"
    );
    // The same on the default backend, the simulator, which would map a
    // 512 MiB DDR image on opening: the refusal comes first.
    let err = refused(&["gemm", "--m", &m1, "--n", &n, "--k", &k], QUICK);
    assert!(err.contains(&format!("needs {beyond} bytes")), "{err}");
}

#[test]
fn matmul_one_element_beyond_the_ddr_is_refused_small() {
    let design = Design::by_name("bfp-mxint8").unwrap();
    let board = pynq();
    let ddr = board.addresses.ddr_bytes;
    let k = 2048;
    let fits = |m, n| check_matmul(&design, &board, m, k, n).is_ok();
    let s = largest(1, 1 << 16, |s| fits(s, s));
    let n = largest(s, 4 * s, |n| fits(s, n));
    assert!(s > 5_000, "pynq-z1 holds an {s}x{s}x{k} MatMul at most");

    let block = u64::from(design.identity().unwrap().engine.block);
    let bits = u64::from(design.weight_bits().unwrap());
    let (s64, n64, k64) = (s as u64, n as u64, k as u64);
    let inside = bfp_device_bytes(s64, k64, n64, block, bits);
    let beyond = bfp_device_bytes(s64, k64, n64 + 1, block, bits);
    assert!(
        inside <= ddr && beyond > ddr,
        "{inside} and {beyond} bracket {ddr}"
    );
    assert_eq!(
        check_matmul(&design, &board, s, k, n).unwrap().total,
        inside
    );
    assert!(matches!(
        check_matmul(&design, &board, s, k, n + 1),
        Err(BudgetError::Device { budget, .. }) if budget.total == beyond
    ));

    let (m, k, n1) = (s.to_string(), k.to_string(), (n + 1).to_string());
    for backend in ["golden", "sim"] {
        let err = refused(
            &[
                "matmul",
                "--m",
                &m,
                "--k",
                &k,
                "--n",
                &n1,
                "--backend",
                backend,
            ],
            QUICK,
        );
        assert!(
            err.contains(&format!(
                "a {m}x{n1}x{k} (MxNxK) BFP MatMul on bfp-mxint8 needs {beyond} bytes ("
            )),
            "{err}"
        );
        assert!(
            err.contains("board pynq-z1 has 536870912 bytes (512 MiB) of DDR"),
            "{err}"
        );
    }
}

/// The two calls of the issue: one grew to 24 GB over 89 s, the other
/// aborted on a 1.6 GB allocation. Both are refused at once, small.
#[test]
fn the_issues_calls_are_refused_at_once() {
    let big = "100000";
    let err = refused(
        &[
            "gemm",
            "--m",
            big,
            "--n",
            big,
            "--k",
            big,
            "--backend",
            "golden",
        ],
        QUICK,
    );
    let a = 100_000u64 * 100_000;
    let needed = gemm_device_bytes(100_000, 100_000, 100_000, 4, 1);
    assert!(err.contains(&format!("needs {needed} bytes")), "{err}");
    assert!(err.contains(&format!("A {a} bytes (9.3 GiB)")), "{err}");
    assert!(err.contains("of DDR (0x20000000 bytes)"), "{err}");

    let mid = "20000";
    let err = refused(&["gemm", "--m", mid, "--n", mid, "--k", mid], QUICK);
    let needed = gemm_device_bytes(20_000, 20_000, 20_000, 4, 1);
    assert!(err.contains(&format!("needs {needed} bytes")), "{err}");

    // `kiln bench gemm` checks every shape before the simulator opens.
    let err = refused(
        &["bench", "gemm", "--shapes", "100000x100000x100000"],
        QUICK,
    );
    assert!(err.contains("of DDR"), "{err}");
}

#[test]
fn overflowing_sizes_are_errors_not_panics() {
    let err = common::kiln_error(["gemm", "--m", "18446744073709551615"]);
    assert!(
        err.contains("--m is 18446744073709551615; it must be between 1 and 4294967295"),
        "{err}"
    );
    // Each dimension and stride fits its register, but A + B + C is past
    // 2^64: A alone is (2^32 - 1) rows of 2^32 - 8 bytes.
    let err = refused(
        &[
            "gemm",
            "--m",
            "4294967295",
            "--n",
            "1073741824",
            "--k",
            "4294967288",
            "--backend",
            "golden",
        ],
        QUICK,
    );
    assert!(err.contains("overflows 64-bit arithmetic"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // K = 2^32 - 1 makes a row of A one byte past what LDA holds.
    let err = refused(
        &["gemm", "--m", "1", "--n", "1", "--k", "4294967295"],
        QUICK,
    );
    assert!(
        err.contains("the LDA register holds at most 4294967295"),
        "{err}"
    );
    // The BFP C region: 2^32 - 1 rows of 2^32 - 8 bytes, plus A and W.
    let err = refused(
        &[
            "matmul",
            "--m",
            "4294967295",
            "--k",
            "16",
            "--n",
            "1073741822",
        ],
        QUICK,
    );
    assert!(err.contains("overflows 64-bit arithmetic"), "{err}");
}

/// Shapes that fit the board but not this process: the host side of the
/// check reads the same 100 MB address-space limit and refuses with it,
/// where the call would otherwise abort on an allocation.
#[test]
fn host_memory_is_checked_too() {
    // The limit leaves room for kiln itself: a small GEMM runs under it.
    let out = kiln_limited(&[
        "gemm",
        "--m",
        "8",
        "--n",
        "8",
        "--k",
        "8",
        "--backend",
        "golden",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The simulator maps the board's whole DDR (512 MiB) as its memory
    // model: past the address-space limit, however small the GEMM, and
    // refused instead of aborting on that allocation.
    let err = refused(&["gemm", "--m", "8", "--n", "8", "--k", "8"], QUICK);
    assert!(
        err.contains("more address space for the simulated DDR image"),
        "{err}"
    );
    assert!(err.contains("RLIMIT_AS"), "{err}");

    // 40 MB of device buffers, a few hundred MB of host vectors.
    let err = refused(
        &[
            "gemm",
            "--m",
            "4000",
            "--n",
            "4000",
            "--k",
            "4000",
            "--backend",
            "golden",
        ],
        QUICK,
    );
    assert!(err.contains("of host memory"), "{err}");
    assert!(
        err.contains("available (the address-space limit (RLIMIT_AS)"),
        "{err}"
    );

    let err = refused(
        &[
            "matmul",
            "--m",
            "2000",
            "--k",
            "2048",
            "--n",
            "2000",
            "--backend",
            "golden",
        ],
        QUICK,
    );
    assert!(err.contains("of host memory"), "{err}");

    let err = refused(
        &[
            "bench",
            "bfp-error",
            "--m",
            "4096",
            "--k",
            "65536",
            "--n",
            "4096",
        ],
        QUICK,
    );
    assert!(
        err.contains("the BFP error study of M=4096 K=65536 N=4096"),
        "{err}"
    );
    assert!(err.contains("RLIMIT_AS"), "{err}");

    // Without the limit, the same host check is quiet for a small call.
    common::kiln_json(
        &[
            "matmul",
            "--m",
            "2",
            "--k",
            "64",
            "--n",
            "3",
            "--backend",
            "golden",
            "--json",
        ],
        0,
    );
}

#[test]
fn a_model_layer_beyond_the_ddr_is_refused_before_it_runs() {
    // tests/models/tasks.py's `huge` model: a MatMul of 4194304 x 128 by
    // 128 x 8, whose int8 A alone is 512 MiB. Its input file is sparse: the
    // right length on disk for one 2 GiB float32 sample, none of it written.
    #[path = "common/test_models.rs"]
    mod test_models;
    let model = test_models::test_model("huge").join("model.onnx");
    let inputs = std::env::temp_dir().join(format!("kiln-huge-{}.npy", std::process::id()));
    let mut header =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4194304, 128), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut head = b"\x93NUMPY\x01\x00".to_vec();
    head.extend((header.len() as u16).to_le_bytes());
    head.extend(header.as_bytes());
    std::fs::write(&inputs, &head).unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&inputs)
        .unwrap();
    file.set_len(head.len() as u64 + 4194304 * 128 * 4).unwrap();
    let err = refused(
        &[
            "run",
            model.to_str().unwrap(),
            "--inputs",
            inputs.to_str().unwrap(),
            // Unwritten bytes read as zeros; skip the scan for NaN.
            "--allow-nonfinite",
            "--design",
            "gemm-pot-8x8",
            "--board",
            "pynq-z1",
        ],
        QUICK,
    );
    std::fs::remove_file(&inputs).ok();
    assert!(
        err.contains("layer `matmul` cannot run on pynq-z1")
            && err.contains("a 4194304x8x128 (MxNxK) GEMM on gemm-pot-8x8")
            && err.contains("536870912 bytes (512 MiB) of DDR"),
        "{err}"
    );
}
