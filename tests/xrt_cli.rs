//! `kiln` with `--backend xrt` as a KV260 user runs it, against kiln's XRT
//! emulation library (built with `--features xrt`, XILINX_XRT pointing at
//! `make xrt-emu`'s output): an emulation xclbin and its manifest, GEMMs and
//! a BFP MatMul whose outputs hash the same as the golden model's, the
//! hardware check of a manifest, and the refusal of a manifest that
//! describes another design than the loaded xclbin, naming both.

mod common;

use std::path::{Path, PathBuf};

use common::{kiln_error, kiln_json};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kiln-xrt-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An emulation xclbin of `design` and the path of its manifest.
fn emulated(dir: &Scratch, design: &str) -> (PathBuf, PathBuf) {
    let xclbin = dir.0.join(format!("{design}.xclbin"));
    let out = kiln_json(
        &[
            "bitstream",
            "emulate",
            "--design",
            design,
            "--out",
            s(&xclbin),
            "--json",
        ],
        0,
    );
    (xclbin, PathBuf::from(out["manifest"].as_str().unwrap()))
}

#[test]
fn gemm_over_xrt_hashes_like_the_golden_model() {
    let dir = Scratch::new("gemm");
    let (_xclbin, manifest) = emulated(&dir, "gemm-pot-8x8");
    let shape = [
        "--m", "37", "--n", "29", "--k", "70", "--seed", "21", "--json",
    ];
    let mut xrt = vec!["gemm", "--backend", "xrt", "--manifest", s(&manifest)];
    xrt.extend(shape);
    let run = kiln_json(&xrt, 0);
    assert_eq!(run["backend"], "xrt");
    assert_eq!(run["board"], "kv260");
    assert_eq!(run["mismatches"], 0);
    assert!(run["cycles"].as_u64().unwrap() > 0);
    let mut golden = vec!["gemm", "--backend", "golden", "--board", "kv260"];
    golden.extend(shape);
    let golden = kiln_json(&golden, 0);
    assert_eq!(run["output_sha256"], golden["output_sha256"]);
    let check = kiln_json(
        &[
            "bitstream",
            "check",
            s(&manifest),
            "--backend",
            "xrt",
            "--json",
        ],
        0,
    );
    assert_eq!(check["hardware"], "xrt");
}

#[test]
fn bfp_matmul_over_xrt_matches_golden_bit_for_bit() {
    let dir = Scratch::new("bfp");
    let (_xclbin, manifest) = emulated(&dir, "bfp-mxint8");
    let shape = [
        "--m", "2", "--n", "40", "--k", "256", "--seed", "4", "--json",
    ];
    let mut xrt = vec!["matmul", "--backend", "xrt", "--manifest", s(&manifest)];
    xrt.extend(shape);
    let run = kiln_json(&xrt, 0);
    assert_eq!(run["mismatches"], 0, "{run}");
    let mut golden = vec!["matmul", "--backend", "golden", "--board", "kv260"];
    golden.extend(shape);
    let golden = kiln_json(&golden, 0);
    assert_eq!(run["output_sha256"], golden["output_sha256"]);
}

#[test]
fn a_manifest_of_another_design_than_the_loaded_xclbin_is_refused_naming_both() {
    let dir = Scratch::new("mismatch");
    let (xclbin, _manifest) = emulated(&dir, "gemm-pot-8x8");
    // A manifest that claims the same file is the DSP design: the hash
    // matches, so only the identity registers can tell.
    let wrong = dir.0.join("wrong.toml");
    kiln_json(
        &[
            "bitstream",
            "manifest",
            "--design",
            "gemm-mac-dsp-8x8",
            "--board",
            "kv260",
            "--file",
            s(&xclbin),
            "--out",
            s(&wrong),
            "--json",
        ],
        0,
    );
    let err = kiln_error(["gemm", "--backend", "xrt", "--manifest", s(&wrong)]);
    assert!(err.contains(s(&wrong)), "{err}");
    assert!(
        err.contains("the manifest says design `gemm-mac-dsp-8x8`")
            && err.contains("the identity registers say design `gemm-pot-8x8`"),
        "{err}"
    );
    let err = kiln_error(["bitstream", "check", s(&wrong), "--backend", "xrt"]);
    assert!(
        err.contains("gemm-mac-dsp-8x8") && err.contains("gemm-pot-8x8"),
        "{err}"
    );
}

#[test]
fn an_xclbin_other_than_the_manifests_is_refused_before_loading() {
    let dir = Scratch::new("otherfile");
    let (_pot, manifest) = emulated(&dir, "gemm-pot-8x8");
    let (dsp, _) = emulated(&dir, "gemm-mac-dsp-8x8");
    let err = kiln_error([
        "gemm",
        "--backend",
        "xrt",
        "--manifest",
        s(&manifest),
        "--xclbin",
        s(&dsp),
    ]);
    assert!(
        err.contains("does not match manifest")
            && err.contains(s(&dsp))
            && err.contains(s(&manifest)),
        "{err}"
    );
}

#[test]
fn the_digits_cnn_runs_over_xrt_with_every_call_checked_against_golden() {
    let dir = Scratch::new("run");
    let (_xclbin, manifest) = emulated(&dir, "gemm-pot-8x8");
    let summary = kiln_json(
        &[
            "run",
            "--backend",
            "xrt",
            "--manifest",
            s(&manifest),
            "--limit",
            "6",
            "--json",
        ],
        0,
    );
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "one design: the loaded bitstream's");
    let run = &runs[0];
    assert_eq!(run["design"], "gemm-pot-8x8");
    assert_eq!(run["backend"], "xrt");
    let verify = &run["verify"];
    assert!(verify["total_calls"].as_u64().unwrap() >= 6, "{verify}");
    assert_eq!(verify["sampled"], verify["total_calls"], "{verify}");
    assert_eq!(verify["bit_identical"], verify["sampled"], "{verify}");
    assert_eq!(run["timing"]["source"], "measured on the board");
    assert_eq!(run["timing"]["boards"][0]["board"], "kv260");
    assert!(
        run["timing"]["boards"][0]["cycles_per_inference"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}
