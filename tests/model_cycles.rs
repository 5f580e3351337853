//! Exact cycles for every call: on a MobileNet-shaped model
//! (tests/models/mobilenet.py: 17 MAC layers, 10 of them depthwise, 284
//! calls per inference) with fewer replays than layers, the golden
//! backend's cycles (each distinct call signature simulated once) equal the
//! sim backend's (every call simulated), per design, board and layer.

mod common;
#[path = "common/test_models.rs"]
mod test_models;

use common::{kiln, kiln_error, kiln_json};
use serde_json::Value;
use test_models::{measure, model_and_inputs};

const DESIGNS: [&str; 2] = ["gemm-pot-8x8", "bfp-mxint8"];

fn run(backend: &str, boards: [&str; 2]) -> Value {
    let (model, inputs) = model_and_inputs("mobilenet");
    let mut args = vec![
        "run",
        model.as_str(),
        "--inputs",
        inputs.as_str(),
        "--limit",
        "2",
        "--verify-sample",
        "2",
        "--backend",
        backend,
        "--json",
    ];
    for d in DESIGNS {
        args.extend(["--design", d]);
    }
    for b in boards {
        args.extend(["--board", b]);
    }
    kiln_json(&args, 0)
}

/// (board, cycles per inference) pairs.
type ByBoard = Vec<(String, f64)>;

/// (board, cycles per inference) of each entry of a JSON array.
fn by_board(entries: &Value) -> ByBoard {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["board"].as_str().unwrap().to_string(),
                e["cycles_per_inference"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// A run's cycles per inference per board, and per layer per board.
fn cycles(run: &Value) -> (ByBoard, Vec<ByBoard>) {
    let layers = run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| sorted(by_board(&l["timing"])))
        .collect();
    (by_board(&run["timing"]["boards"]), layers)
}

fn sorted(mut v: ByBoard) -> ByBoard {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn golden_cycles_equal_simulated_cycles_exactly() {
    let golden = run("golden", ["pynq-z1", "kv260"]);
    // The sim backend simulates every call on its first board; each board
    // is the first once.
    let sim_pynq = run("sim", ["pynq-z1", "kv260"]);
    let sim_kv260 = run("sim", ["kv260", "pynq-z1"]);
    for (d, design) in DESIGNS.iter().enumerate() {
        let g = &golden["runs"][d];
        assert_eq!(g["design"], *design);
        assert_eq!(g["timing"]["source"], "exact per call signature");
        let layers = g["layers"].as_array().unwrap();
        let replays = g["verify"]["sampled"].as_u64().unwrap();
        assert_eq!(replays, 4, "{design}: 2 replays on each of 2 boards");
        assert!(layers.len() > 2 * 8, "{design}: more layers than replays");
        assert!(g["timing"]["signatures_simulated"].as_u64().unwrap() >= 8);
        let (g_boards, g_layers) = cycles(g);
        for (s, first) in [(&sim_pynq, "pynq-z1"), (&sim_kv260, "kv260")] {
            let s = &s["runs"][d];
            assert!(s["timing"]["source"]
                .as_str()
                .unwrap()
                .starts_with("simulated"));
            // Every call really ran on the RTL of the first board.
            assert_eq!(s["verify"]["sampled"], s["verify"]["total_calls"]);
            let (s_boards, s_layers) = cycles(s);
            assert_eq!(s_boards[0].0, first);
            assert_eq!(
                sorted(g_boards.clone()),
                sorted(s_boards),
                "{design}: cycles per inference, golden vs sim on {first}"
            );
            assert_eq!(g_layers, s_layers, "{design}: per layer, sim on {first}");
        }
        // Per-layer shares sum to the whole; utilisation is a fraction and
        // the depthwise layers (N = 1 GEMMs) use few of the PEs.
        for b in 0..2 {
            let share: f64 = layers
                .iter()
                .map(|l| l["timing"][b]["share"].as_f64().unwrap())
                .sum();
            assert!((share - 1.0).abs() < 1e-9, "{design}: shares {share}");
        }
        for l in layers {
            let util = l["timing"][0]["pe_utilisation"].as_f64().unwrap();
            assert!(util > 0.0 && util <= 1.0, "{design}: {util}");
        }
        let depthwise = &layers[1];
        assert!(depthwise["op"].as_str().unwrap().contains("16 groups"));
        let board = &g["timing"]["boards"][0];
        assert!(
            depthwise["timing"][0]["pe_utilisation"].as_f64().unwrap()
                < board["pe_utilisation"].as_f64().unwrap(),
            "{design}: depthwise below the model's utilisation"
        );
    }
}

#[test]
fn the_text_report_shows_per_layer_cycles_and_utilisation() {
    let (model, inputs) = model_and_inputs("mobilenet");
    let out = kiln([
        "run",
        &model,
        "--inputs",
        &inputs,
        "--limit",
        "1",
        "--design",
        "gemm-pot-8x8",
        "--board",
        "pynq-z1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let header = text.lines().find(|l| l.contains("  layer ")).unwrap();
    assert!(
        header.contains("cycles/inf") && header.contains("cycles %") && header.contains("PE util")
    );
    let board = text.lines().find(|l| l.contains("    pynq-z1")).unwrap();
    assert!(
        board.trim_end().ends_with('%'),
        "board utilisation: {board}"
    );
    assert!(text.contains("exact per call signature"));
}

#[test]
fn bench_model_and_run_take_an_input_shape_for_a_dynamic_model() {
    let (model, inputs) = model_and_inputs("mobilenet-dynamic");
    let err = kiln_error(["bench", "model", &model, "--inputs", &inputs]);
    assert!(err.contains("--input-shape"), "{err}");
    let bench = kiln_json(
        &[
            "bench",
            "model",
            &model,
            "--inputs",
            &inputs,
            "--input-shape",
            "1x3x32x32",
            "--design",
            "gemm-pot-8x8",
            "--rounds",
            "1",
            "--limit",
            "2",
            "--json",
        ],
        0,
    );
    assert_eq!(bench["inputs"], 2);
    assert!(bench["golden"][0]["per_second"].as_f64().unwrap() > 0.0);
    let report = kiln_json(
        &[
            "run",
            &model,
            "--inputs",
            &inputs,
            "--input-shape",
            "1x3x32x32",
            "--design",
            "gemm-pot-8x8",
            "--board",
            "pynq-z1",
            "--limit",
            "1",
            "--task",
            "regress",
            "--json",
        ],
        0,
    );
    assert_eq!(report["runs"][0]["task"]["task"], "regress");
    assert!(measure(&report["runs"][0], "mean_abs_error") > 0.0);
}

/// A GEMM design and a dwconv design run one model together: the
/// depthwise layers go to dwconv, everything else to the GEMM array, every
/// layer's output equals the GEMM array's alone (the same quantised
/// operands give the same int32 sums on both engines), and the golden
/// backend's exact cycles equal the RTL's call by call, per layer and
/// board.
#[test]
fn a_gemm_and_a_dwconv_design_share_a_model_exactly() {
    let (model, inputs) = model_and_inputs("mobilenet");
    let run = |backend: &str, designs: &[&str]| {
        let mut args = vec![
            "run",
            model.as_str(),
            "--inputs",
            inputs.as_str(),
            "--limit",
            "2",
            "--verify-sample",
            "3",
            "--backend",
            backend,
            "--board",
            "pynq-z1",
            "--board",
            "kv260",
            "--json",
        ];
        for d in designs {
            args.extend(["--design", d]);
        }
        kiln_json(&args, 0)
    };
    let both = run("golden", &["gemm-pot-8x8", "gemm-pot-8x8+dwconv-pot-16"]);
    let (alone, system) = (&both["runs"][0], &both["runs"][1]);
    assert_eq!(system["design"], "gemm-pot-8x8+dwconv-pot-16");
    assert_eq!(system["engine"], "gemm+dwconv");
    let mut depthwise = 0;
    for (a, s) in alone["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(system["layers"].as_array().unwrap())
    {
        let grouped = s["op"].as_str().unwrap().contains("groups");
        let want = if grouped {
            "dwconv-pot-16"
        } else {
            "gemm-pot-8x8"
        };
        assert_eq!(s["design"], want, "{}", s["name"]);
        if grouped {
            depthwise += 1;
            assert!(s["call"].as_str().unwrap().starts_with("DWConv 3x3/"));
        }
        assert_eq!(a["error"], s["error"], "{}: the same outputs", s["name"]);
    }
    assert_eq!(depthwise, 5);
    assert_eq!(alone["task"], system["task"]);
    let fewer = |r: &Value| {
        r["timing"]["boards"][0]["cycles_per_inference"]
            .as_f64()
            .unwrap()
    };
    assert!(
        fewer(system) < fewer(alone),
        "the depthwise layers take fewer cycles"
    );
    // The same system on the sim backend, each board first once.
    let sim = run("sim", &["gemm-pot-8x8", "dwconv-pot-16"]);
    let sim_system = &sim["runs"][0];
    assert_eq!(sim_system["design"], "gemm-pot-8x8+dwconv-pot-16");
    assert_eq!(cycles(sim_system), cycles(system));
    let v = &sim_system["verify"];
    assert_eq!(v["sampled"], v["bit_identical"]);
}
