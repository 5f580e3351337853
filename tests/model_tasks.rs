//! The task measures of `kiln run` on models whose answers are worked out
//! by hand (tests/models/tasks.py), and the refusal of non-finite inputs.
//!
//! In both models the 4-bit power-of-two PE (gemm-pot-8x8) turns the weight
//! row [1, 0.75] into [0.875, 0.875] (the least-squares scale with both
//! codes +1; docs/quantisation.md), and the integer inputs spanning
//! [-128, 127] quantise exactly, so the accelerator computes
//! a = 0.875 (x0 + x1) where tract computes r = x0 + 0.75 x1.

mod common;
#[path = "common/test_models.rs"]
mod test_models;

use common::{kiln_error, kiln_json};
use serde_json::Value;
use test_models::{measure, model_and_inputs, test_model};

fn run_json(name: &str, extra: &[&str]) -> Value {
    let (model, inputs) = model_and_inputs(name);
    let mut args = vec![
        "run",
        &model,
        "--inputs",
        &inputs,
        "--design",
        "gemm-pot-8x8",
        "--board",
        "pynq-z1",
        "--json",
    ];
    args.extend_from_slice(extra);
    let report = kiln_json(&args, 0);
    report["runs"][0].clone()
}

#[test]
fn dense_probability_map_iou_by_hand() {
    // Pixels (x0, x1), r, a, and the masks sigmoid(.) > 0.3, i.e.
    // value > ln(0.3 / 0.7) = -0.847:
    //   (127, -128):  r  31     -> 1   a -0.875 -> 0
    //   (-128, 127):  r -32.75  -> 0   a -0.875 -> 0
    //   (4, -4):      r   1     -> 1   a  0     -> 1
    //   (-4, 4):      r  -1     -> 0   a  0     -> 1
    //   (10, 10):     r  17.5   -> 1   a 17.5   -> 1
    //   (-10, -10):   r -17.5   -> 0   a -17.5  -> 0
    //   (0, -2):      r  -1.5   -> 0   a -1.75  -> 0
    //   (3, -1):      r   2.25  -> 1   a  1.75  -> 1
    // reference mask {0, 2, 4, 7}, accelerator mask {2, 3, 4, 7}:
    // IoU 3 / 5; the masks agree on 6 of 8 pixels.
    let run = run_json("dense", &[]);
    assert_eq!(run["task"]["task"], "dense");
    assert!(run["task"]["chosen"]
        .as_str()
        .unwrap()
        .contains("output shape [1, 1, 2, 4]"));
    assert_eq!(measure(&run, "iou"), 0.6);
    assert_eq!(measure(&run, "pixel_agreement"), 0.75);
    assert_eq!(measure(&run, "threshold"), 0.3);
    // At threshold 0.5 (value > 0): reference {0, 2, 4, 7}, accelerator
    // {4, 7} (a = 0 is not above 0): IoU 2 / 4.
    let run = run_json("dense", &["--threshold", "0.5"]);
    assert_eq!(measure(&run, "iou"), 0.5);
    // Overridden: the map measured as a regression has no IoU.
    let run = run_json("dense", &["--task", "regress"]);
    assert_eq!(run["task"]["task"], "regress");
    assert_eq!(run["task"]["chosen"], "--task regress");
    assert!(measure(&run, "sqnr_db").is_finite());
}

#[test]
fn sequence_with_blanks_by_hand() {
    // Classes: c0 (blank) = x0 + 0.75 x1 (accelerator 0.875 (x0 + x1)),
    // c1 = x0 - x1, c2 = x1 - x0. Per step (x0, x1) -> reference / accelerator
    // argmax:
    //   sample 0: (8,-1) 1/1, (16,1) 0/1, (8,8) 0/0, (1,9) 2/0, (1,9) 2/0,
    //             (8,8) 0/0: "1 0 0 2 2 0" -> [1, 2] and "1 1 0 0 0 0" -> [1];
    //   sample 1: (127,-128) 1/1, (-128,127) 2/2, (8,8) 0/0, (8,-1) 1/1,
    //             (8,-1) 1/1, (16,1) 0/1: [1, 2, 1] both.
    // Steps agreeing: 3 + 5 of 12; sequences agreeing: 1 of 2.
    let run = run_json("sequence", &[]);
    assert_eq!(run["task"]["task"], "sequence");
    assert_eq!(measure(&run, "sequence_agreement"), 0.5);
    assert!((measure(&run, "step_agreement") - 8.0 / 12.0).abs() < 1e-12);
    assert_eq!(measure(&run, "blank"), 0.0);
    // With class 1 as the blank the 0s count: sample 0 decodes [0, 2, 0] and
    // [0], sample 1 ("1 2 0 1 1 0" and "1 2 0 1 1 1") [2, 0, 0] and [2, 0]:
    // none agree, though every step is unchanged.
    let run = run_json("sequence", &["--blank", "1"]);
    assert_eq!(measure(&run, "sequence_agreement"), 0.0);
    assert!((measure(&run, "step_agreement") - 8.0 / 12.0).abs() < 1e-12);
    // A blank that is no class is refused before anything runs.
    let (model, inputs) = model_and_inputs("sequence");
    let err = kiln_error(["run", &model, "--inputs", &inputs, "--blank", "3"]);
    assert!(
        err.contains("--blank 3 is not one of the output's 3 classes"),
        "{err}"
    );
    // So are labels for a task that is not classification.
    let labels = std::env::temp_dir().join(format!("kiln-seq-labels-{}.npy", std::process::id()));
    kiln::model::npy::write_i64(&labels, &[2], &[1, 2]).unwrap();
    let err = kiln_error([
        "run",
        &model,
        "--inputs",
        &inputs,
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert!(err.contains("labels are for classification"), "{err}");
    std::fs::remove_file(&labels).ok();
}

#[test]
fn non_finite_inputs_are_refused_naming_sample_and_element() {
    let dir = std::env::temp_dir().join(format!("kiln-nan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = test_model("dense").join("model.onnx");
    let model = model.to_str().unwrap();
    // All NaN: the first element of the first sample is named.
    let all_nan = dir.join("nan.npy");
    kiln::model::npy::write_f32(&all_nan, &[2, 1, 2, 2, 4], &[f32::NAN; 32]).unwrap();
    let err = kiln_error(["run", model, "--inputs", all_nan.to_str().unwrap()]);
    assert!(
        err.contains("nan.npy: sample 0, element 0 is NaN") && err.contains("--allow-nonfinite"),
        "{err}"
    );
    // One infinity in the second sample, element 13 (channel 1, pixel 5).
    let mut values = vec![1.0f32; 32];
    values[16 + 13] = f32::INFINITY;
    let one_inf = dir.join("inf.npy");
    kiln::model::npy::write_f32(&one_inf, &[2, 1, 2, 2, 4], &values).unwrap();
    let err = kiln_error(["run", model, "--inputs", one_inf.to_str().unwrap()]);
    assert!(err.contains("sample 1, element 13 is inf"), "{err}");
    // The same in a calibration file, named as such.
    let (_, good) = model_and_inputs("dense");
    let err = kiln_error([
        "run",
        model,
        "--inputs",
        &good,
        "--calibration",
        one_inf.to_str().unwrap(),
    ]);
    assert!(
        err.contains("calibration set") && err.contains("sample 1, element 13"),
        "{err}"
    );
    // Let through, the report says where it first appeared: in the conv's
    // output, in sample 1.
    let report = kiln_json(
        &[
            "run",
            model,
            "--inputs",
            one_inf.to_str().unwrap(),
            "--calibration",
            &good,
            "--allow-nonfinite",
            "--design",
            "gemm-mac-dsp-8x8",
            "--board",
            "pynq-z1",
            "--json",
        ],
        0,
    );
    let run = &report["runs"][0];
    assert_eq!(
        run["first_nonfinite"]["sample"], 1,
        "{}",
        run["first_nonfinite"]
    );
    assert_eq!(run["first_nonfinite"]["layer"], "conv");
    // The accelerator saturates the infinity to 127, so only tract sees it.
    assert_eq!(run["first_nonfinite"]["side"], "reference");
    assert_eq!(run["layers"][0]["nonfinite"]["reference"], 1);
    assert_eq!(run["layers"][0]["nonfinite"]["test"], 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// The transformer-class test model (tests/models/transformer.py): every
/// MatMul offloaded, the two attention MatMuls among them (activation by
/// activation, their second operand quantised on every call), every call
/// on the RTL bit-identical to golden, the sequence output measured, and
/// int8 weights (max-abs scales for the per-call operands) within 30 dB of
/// f32 at every layer.
#[test]
fn transformer_attention_runs_on_the_rtl() {
    let (model, inputs) = model_and_inputs("transformer");
    let report = kiln_json(
        &[
            "run",
            &model,
            "--inputs",
            &inputs,
            "--backend",
            "sim",
            "--design",
            "gemm-mac-dsp-8x8",
            "--json",
        ],
        0,
    );
    let run = &report["runs"][0];
    let layers = run["layers"].as_array().unwrap();
    // Patch conv, QKV, Q K^T, P V, projection, two MLP layers, classifier.
    assert_eq!(layers.len(), 8);
    assert!(layers.iter().all(|l| l["offloaded"] == true));
    let batched = layers
        .iter()
        .filter(|l| l["calls_per_inference"].as_f64() == Some(2.0))
        .count();
    assert_eq!(batched, 2, "one call per head for Q K^T and for P V");
    let verify = &run["verify"];
    assert_eq!(verify["bit_identical"], verify["sampled"]);
    assert!(verify["sampled"].as_u64().unwrap() >= 16);
    assert_eq!(run["task"]["task"], "sequence");
    for l in layers {
        let sqnr = l["error"]["sqnr_db"].as_f64().unwrap();
        assert!(sqnr > 30.0, "{}: {sqnr} dB", l["name"]);
    }
}
