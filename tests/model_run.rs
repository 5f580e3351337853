//! `kiln run` end to end: the bundled digits CNN on the golden and sim
//! backends, the report outputs, and the errors a user's model can hit.

mod common;
#[path = "common/test_models.rs"]
mod test_models;

use common::{kiln, kiln_error, kiln_json};
use kiln::model::load::{load_onnx, ModelError};
use prost::Message;
use serde_json::Value;
use test_models::measure;
use tract_onnx::pb;

fn run_of<'a>(report: &'a Value, design: &str) -> &'a Value {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["design"] == design)
        .unwrap_or_else(|| panic!("no run for {design}"))
}

#[test]
fn bundled_model_on_golden_backend() {
    let report = kiln_json(&["run", "--json"], 0);
    assert_eq!(report["inputs"], 360);
    let reference = report["reference_accuracy"].as_f64().unwrap();
    assert!(reference >= 0.95, "f32 accuracy {reference}");
    for design in ["gemm-pot-8x8", "gemm-mac-dsp-8x8"] {
        let run = run_of(&report, design);
        let layers = run["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 4, "{design}: conv1, conv2, conv3, fc");
        assert!(layers.iter().all(|l| l["offloaded"] == true));
        assert_eq!(run["macs"]["offloaded_share"], 1.0);
        let verify = &run["verify"];
        assert!(verify["sampled"].as_u64().unwrap() >= 4);
        assert_eq!(
            verify["bit_identical"], verify["sampled"],
            "{design}: replays"
        );
        assert_eq!(verify["total_calls"], 360 * 4);
        let boards = run["timing"]["boards"].as_array().unwrap();
        assert_eq!(boards[0]["board"], "pynq-z1");
        assert!(boards[0]["latency_us"].as_f64().unwrap() > 0.0);
        assert_eq!(run["task"]["task"], "classify", "{design}: output 1 x 10");
        let accuracy = measure(run, "accuracy");
        // The PoT recipe must stay within 2 points of f32 (docs/models.md).
        assert!(
            accuracy >= reference - 0.02,
            "{design}: {accuracy} vs f32 {reference}"
        );
        let agree = measure(run, "top1_agreement");
        let changed = measure(run, "label_changes");
        assert_eq!((agree * 360.0).round() + changed, 360.0);
        // Per-layer timing on both boards, shares summing to the whole.
        for layer in layers {
            let timing = layer["timing"].as_array().unwrap();
            assert_eq!(timing.len(), 2, "{design}: pynq-z1 and kv260");
            let util = timing[0]["pe_utilisation"].as_f64().unwrap();
            assert!(util > 0.0 && util <= 1.0, "{design}: utilisation {util}");
        }
        let share: f64 = layers
            .iter()
            .map(|l| l["timing"][0]["share"].as_f64().unwrap())
            .sum();
        assert!(
            (share - 1.0).abs() < 1e-9,
            "{design}: shares sum to {share}"
        );
        assert_eq!(run["timing"]["source"], "exact per call signature");
    }
    // int8 x int8 stays within 20 dB everywhere; 4-bit PoT weights do not.
    let dsp = run_of(&report, "gemm-mac-dsp-8x8");
    assert!(dsp["first_divergent"].is_null());
    assert!(measure(dsp, "top1_agreement") >= 0.99);
    let pot = run_of(&report, "gemm-pot-8x8");
    let pot_sqnr = pot["layers"][1]["error"]["sqnr_db"].as_f64().unwrap();
    let dsp_sqnr = dsp["layers"][1]["error"]["sqnr_db"].as_f64().unwrap();
    assert!(pot_sqnr < dsp_sqnr, "4-bit PoT is noisier than int8");
}

#[test]
fn sim_backend_is_bit_identical_and_times_like_the_replays() {
    let args = |backend: &'static str| {
        vec![
            "run",
            "--backend",
            backend,
            "--limit",
            "4",
            "--design",
            "gemm-pot-8x8",
            "--board",
            "pynq-z1",
            "--json",
        ]
    };
    let sim = kiln_json(&args("sim"), 0);
    let run = run_of(&sim, "gemm-pot-8x8");
    assert_eq!(run["timing"]["source"], "simulated");
    assert_eq!(run["verify"]["sampled"], 16);
    assert_eq!(run["verify"]["bit_identical"], 16);
    let golden = kiln_json(&args("golden"), 0);
    let replayed = run_of(&golden, "gemm-pot-8x8");
    // Cycles depend on shapes, not data: replays of sampled calls reproduce
    // the fully simulated run.
    assert_eq!(
        run["timing"]["boards"][0]["cycles_per_inference"],
        replayed["timing"]["boards"][0]["cycles_per_inference"]
    );
    assert_eq!(run["task"], replayed["task"]);
}

#[test]
fn bfp_design_runs_the_model() {
    let report = kiln_json(
        &[
            "run",
            "--design",
            "bfp-mxint8-b16",
            "--limit",
            "20",
            "--json",
        ],
        0,
    );
    let run = run_of(&report, "bfp-mxint8-b16");
    assert_eq!(run["engine"], "bfp");
    assert!(measure(run, "top1_agreement") >= 0.95);
    assert_eq!(run["verify"]["bit_identical"], run["verify"]["sampled"]);
}

#[test]
fn html_report_and_no_half_written_file_on_failure() {
    let dir = std::env::temp_dir().join(format!("kiln-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("report.html");
    let out = kiln(["run", "--limit", "3", "--html", html.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("conv2"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("top-1 agreement") && text.contains("pynq-z1"),
        "{text}"
    );

    // Labels that do not match the inputs: a clear error, and no report.
    let labels = dir.join("labels.npy");
    kiln::model::npy::write_f32(&labels, &[2], &[1.0, 2.0]).unwrap();
    let failed = dir.join("failed.html");
    let root = env!("CARGO_MANIFEST_DIR");
    let model = format!("{root}/models/digits/digits-cnn.onnx");
    let inputs = format!("{root}/models/digits/test-images.npy");
    let err = kiln_error([
        "run",
        &model,
        "--inputs",
        &inputs,
        "--labels",
        labels.to_str().unwrap(),
        "--html",
        failed.to_str().unwrap(),
    ]);
    assert!(err.contains("labels must be integers"), "{err}");
    assert!(!failed.exists(), "no report from a failed run");
    std::fs::remove_dir_all(&dir).ok();
}

// ---- models with problems -------------------------------------------------

fn tensor_type(dims: &[Result<i64, &str>]) -> pb::TypeProto {
    use pb::tensor_shape_proto::{dimension, Dimension};
    pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: pb::tensor_proto::DataType::Float as i32,
            shape: Some(pb::TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|d| Dimension {
                        value: Some(match d {
                            Ok(v) => dimension::Value::DimValue(*v),
                            Err(s) => dimension::Value::DimParam(s.to_string()),
                        }),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    }
}

/// `y = op(x, w)` with `x` of shape `dims` and a 4x3 weight initializer.
fn model_bytes(op: &str, dims: &[Result<i64, &str>]) -> Vec<u8> {
    let value = |name: &str, t: pb::TypeProto| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(t),
        ..Default::default()
    };
    let graph = pb::GraphProto {
        name: "g".into(),
        node: vec![pb::NodeProto {
            name: "mystery_node".into(),
            op_type: op.into(),
            input: vec!["x".into(), "w".into()],
            output: vec!["y".into()],
            ..Default::default()
        }],
        initializer: vec![pb::TensorProto {
            name: "w".into(),
            dims: vec![4, 3],
            data_type: pb::tensor_proto::DataType::Float as i32,
            float_data: (0..12).map(|i| i as f32 * 0.1 - 0.5).collect(),
            ..Default::default()
        }],
        input: vec![value("x", tensor_type(dims))],
        output: vec![value("y", tensor_type(&[]))],
        ..Default::default()
    };
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}

fn write_model(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_good_model_loads() {
    let path = write_model("good.onnx", &model_bytes("MatMul", &[Ok(2), Ok(4)]));
    let model = load_onnx(&path, None).unwrap();
    let layers = kiln::model::graph::layers(&model).unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].site.as_ref().unwrap().shape(), [2, 4, 3]);
}

#[test]
fn an_unsupported_op_is_named() {
    let path = write_model(
        "unsupported.onnx",
        &model_bytes("KilnNoSuchOp", &[Ok(2), Ok(4)]),
    );
    let err = load_onnx(&path, None).unwrap_err();
    assert!(matches!(err, ModelError::Unsupported { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("mystery_node") && text.contains("KilnNoSuchOp"),
        "{text}"
    );
}

#[test]
fn a_dynamic_shape_is_refused_until_fixed() {
    let path = write_model(
        "dynamic.onnx",
        &model_bytes("MatMul", &[Err("batch"), Ok(4)]),
    );
    let err = load_onnx(&path, None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ModelError::DynamicShape { .. }), "{text}");
    assert!(
        text.contains("`x`") && text.contains("--input-shape"),
        "{text}"
    );
    let fixed = load_onnx(&path, Some(&[vec![3, 4]])).unwrap();
    let layers = kiln::model::graph::layers(&fixed).unwrap();
    assert_eq!(layers[0].site.as_ref().unwrap().shape(), [3, 4, 3]);
}

#[test]
fn a_corrupt_file_is_refused() {
    let good = model_bytes("MatMul", &[Ok(2), Ok(4)]);
    let path = write_model("corrupt.onnx", &good[..good.len() / 2]);
    let err = load_onnx(&path, None).unwrap_err();
    assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("corrupt.onnx"), "{err}");
    let garbage = write_model("garbage.onnx", b"\xff\xfe this is not protobuf");
    assert!(matches!(
        load_onnx(&garbage, None),
        Err(ModelError::Corrupt { .. })
    ));
    let missing = load_onnx(std::path::Path::new("/nonexistent/model.onnx"), None).unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/model.onnx"));
}

/// `--jobs` spreads the samples over threads; the report is the same
/// whatever the count (statistics are added in sample order), but for the
/// time it took. Golden and sim backends both.
#[test]
fn jobs_do_not_change_the_report() {
    let strip_time = |mut report: Value| {
        for run in report["runs"].as_array_mut().unwrap() {
            run.as_object_mut().unwrap().remove("wall_seconds");
        }
        report
    };
    for backend in ["golden", "sim"] {
        let args = |jobs: &'static str| {
            [
                "run",
                "--limit",
                "24",
                "--backend",
                backend,
                "--design",
                "gemm-pot-8x8",
                "--jobs",
                jobs,
                "--json",
            ]
        };
        let one = strip_time(kiln_json(&args("1"), 0));
        for jobs in ["2", "3"] {
            assert_eq!(
                strip_time(kiln_json(&args(jobs), 0)),
                one,
                "{backend} with {jobs} jobs"
            );
        }
    }
}
