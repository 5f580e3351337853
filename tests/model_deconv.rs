//! ConvTranspose (tract's `Deconv`) on the accelerator: one GEMM per group
//! and col2im. The models come from tests/models/convtranspose.py (`make
//! test-models` writes them to $KILN_TEST_MODELS, by default
//! target/test-models). Bounds:
//! - float layers quantised to int8 x int8 (gemm-mac-dsp-8x8) or mxint8
//!   (bfp-mxint8-b16): SQNR >= 30 dB against tract, as for Conv and MatMul
//!   in tests/model_onnx.rs;
//! - the geometry models (small integer inputs, weights and biases): the
//!   lowering in f64 equals tract exactly, and so does the int8 path, whose
//!   quantisation is then lossless (see the builder's notes);
//! - MACs: input positions x input channels per group x output channels per
//!   group x kernel taps x groups x images, worked out here by hand.

// Only `kiln_json` of the shared CLI helpers is used here.
#[allow(dead_code)]
mod common;
#[path = "common/onnx_testdata.rs"]
mod onnx_testdata;
#[path = "common/test_models.rs"]
mod test_models;

use std::path::{Path, PathBuf};

use common::kiln_json;
use kiln::model::exec::Runner;
use kiln::model::graph::{layers, patch, Layer};
use kiln::model::load::load_onnx;
use kiln::model::npy::read_f32;
use kiln::model::op::KilnOp;
use kiln::model::run::{as_f32, calibrate, GoldenRunner};
use kiln::model::site::Site;
use kiln::model::system::System;
use kiln_spec::Design;
use onnx_testdata::{load_pb, testdata};
use serde_json::Value;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Deconv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

const MIN_SQNR_DB: f64 = 30.0;

/// `$KILN_TEST_MODELS/convtranspose`, which must have been built.
fn models() -> PathBuf {
    test_models::test_model("convtranspose")
}

/// The samples of `npy` (one per entry of axis 0) as inputs of `model`.
fn samples(model: &TypedModel, npy: &Path) -> Vec<TVec<TValue>> {
    let data = read_f32(npy).unwrap();
    let want = model
        .input_fact(0)
        .unwrap()
        .shape
        .as_concrete()
        .unwrap()
        .to_vec();
    let per: usize = want.iter().product();
    assert_eq!(data.shape[1..].iter().product::<usize>(), per, "{npy:?}");
    data.data
        .chunks_exact(per)
        .map(|s| tvec![Tensor::from_shape(&want, s).unwrap().into_tvalue()])
        .collect()
}

fn sqnr_db(reference: &[f32], test: &[f32]) -> f64 {
    assert_eq!(reference.len(), test.len());
    let (mut signal, mut noise) = (0.0, 0.0);
    for (&r, &t) in reference.iter().zip(test) {
        signal += f64::from(r).powi(2);
        noise += (f64::from(t) - f64::from(r)).powi(2);
    }
    10.0 * (signal / noise).log10()
}

/// Every layer's output on every sample, tract's and the offloaded model's
/// on the golden backend of `design`, layer by layer:
/// `(layer, [(tract, kiln) per sample])`.
#[allow(clippy::type_complexity)]
fn offload(
    model: &TypedModel,
    found: &[Layer],
    design: &str,
    sets: &[TVec<TValue>],
) -> Vec<(String, Vec<(Vec<f32>, Vec<f32>)>)> {
    let design = Design::by_name(design).unwrap();
    let calibration = calibrate(model, found, sets.iter().cloned()).unwrap();
    let system = System::single(design.clone());
    let assignment = system.assign(found).unwrap();
    let (patched, _) = patch(model, found, &system, &assignment, &calibration).unwrap();
    let replaced = patched
        .nodes()
        .iter()
        .filter(|n| n.op_is::<KilnOp>())
        .count();
    assert_eq!(replaced, found.iter().filter(|l| l.site.is_ok()).count());
    let names: Vec<String> = found.iter().map(|l| l.name.clone()).collect();
    let mut reference = Runner::new(model.clone(), names.clone()).unwrap();
    let mut offloaded = Runner::new(patched, names.clone()).unwrap();
    let mut gemms = GoldenRunner::new(&system).unwrap();
    let mut out: Vec<(String, Vec<(Vec<f32>, Vec<f32>)>)> =
        names.iter().map(|n| (n.clone(), Vec::new())).collect();
    for inputs in sets {
        let r = reference.run(inputs.clone(), None).unwrap();
        let k = offloaded.run(inputs.clone(), Some(&mut gemms)).unwrap();
        for (name, per_sample) in &mut out {
            per_sample.push((
                as_f32(&r.nodes[name.as_str()]).unwrap(),
                as_f32(&k.nodes[name.as_str()]).unwrap(),
            ));
        }
    }
    out
}

/// The segmentation network's layers, in order, with their MACs by hand.
const SEGMENTATION: [(&str, u64); 5] = [
    // 16x16 outputs x (3 channels x 9 taps) x 8 channels.
    ("enc1", 256 * 27 * 8),
    // 8x8 x (8 x 9) x 16.
    ("enc2", 64 * 72 * 16),
    // 8x8 input positions x 16 in x 8 out x 4x4 taps.
    ("up1", 64 * 16 * 8 * 16),
    // 16x16 positions x 4 in per group x 2 out per group x 3x3 x 2 groups.
    ("up2", 256 * 4 * 2 * 9 * 2),
    // The 1x1 head, an EinSum after decluttering: 32x32 x 4 x 1.
    ("head.einsum", 1024 * 4),
];

#[test]
fn segmentation_layers_are_found_and_counted() {
    let model = load_onnx(&models().join("model.onnx"), None).unwrap();
    let found = layers(&model).unwrap();
    let names: Vec<&str> = found.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        SEGMENTATION.map(|(n, _)| n),
        "every MAC layer, ConvTranspose included, in order"
    );
    for (layer, (name, macs)) in found.iter().zip(SEGMENTATION) {
        assert_eq!(layer.macs, macs, "{name}: MACs");
        let site = layer
            .site
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(site.macs(), macs, "{name}: the site's calls x M x K x N");
    }
    let up1 = found[2].site.as_ref().unwrap();
    assert!(matches!(up1, Site::Deconv(_)), "{up1:?}");
    assert_eq!((up1.calls(), up1.shape()), (1, [64, 16, 8 * 16]));
    assert_eq!(found[2].op, "ConvTranspose 4x4 stride 2 (GEMM + col2im)");
    let up2 = found[3].site.as_ref().unwrap();
    assert_eq!((up2.calls(), up2.shape()), (2, [256, 4, 2 * 9]));
    assert_eq!(
        found[3].op,
        "ConvTranspose 3x3 stride 2 (GEMM + col2im, 2 groups)"
    );
}

#[test]
fn segmentation_matches_tract_on_golden() {
    let dir = models();
    let model = load_onnx(&dir.join("model.onnx"), None).unwrap();
    let found = layers(&model).unwrap();
    let sets = samples(&model, &dir.join("inputs.npy"));
    assert_eq!(sets.len(), 8);
    for design in ["gemm-mac-dsp-8x8", "bfp-mxint8-b16"] {
        for (name, per_sample) in offload(&model, &found, design, &sets) {
            let (reference, test): (Vec<f32>, Vec<f32>) = per_sample
                .iter()
                .flat_map(|(r, k)| r.iter().copied().zip(k.iter().copied()))
                .unzip();
            let db = sqnr_db(&reference, &test);
            eprintln!("{design} {name}: SQNR {db:.1} dB");
            assert!(db >= MIN_SQNR_DB, "{design} {name}: SQNR {db:.1} dB");
        }
    }
}

/// The geometry models: name, MACs by hand, and whether every GEMM row has
/// two or more values (so that the int8 path is exact, see the builder).
/// Each is checked three ways: tract against ONNX's definition (the
/// builder's reference outputs), kiln's lowering in f64 against tract, and
/// the int8 design path against tract.
const GEOMETRY: [(&str, u64, bool); 8] = [
    // 5x4 positions x 2 in per group x 3 out per group x 3x2 taps x 3 groups.
    ("groups3", 20 * 2 * 3 * 6 * 3, true),
    // 4x5 x 3 x 2 x 3x3.
    ("dilation_outpad", 20 * 3 * 2 * 9, true),
    // 3x3 x 2 x 3 x 3x3.
    ("output_shape", 9 * 2 * 3 * 9, true),
    // 4x3 x 2 x 3 x 4x4.
    ("same_upper", 12 * 2 * 3 * 16, true),
    // 2 images x 3x3 x 4 x 2 x 2x2.
    ("batch2", 2 * 9 * 4 * 2 * 4, true),
    // 7 x 2 x 2 x 5.
    ("conv1d", 7 * 2 * 2 * 5, true),
    // 2x3x2 x 2 x 2 x 2x2x3.
    ("conv3d", 12 * 2 * 2 * 12, true),
    // 5x5 x 1 x 1 x 3x3 x 4 groups.
    ("depthwise", 25 * 9 * 4, false),
];

/// A constant input of the node `name` as f32.
fn constant(model: &TypedModel, name: &str, input: usize) -> Vec<f32> {
    let node = model.node_by_name(name).unwrap();
    let fact = model.outlet_fact(node.inputs[input]).unwrap();
    let k = fact.konst.as_ref().expect("a constant input");
    k.cast_to::<f32>()
        .unwrap()
        .try_as_plain_ram()
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec()
}

#[test]
fn geometry_matches_tract_exactly() {
    let dir = models().join("geometry");
    for (case, macs, int8_exact) in GEOMETRY {
        let model = load_onnx(&dir.join(format!("{case}.onnx")), None).unwrap();
        let found = layers(&model).unwrap();
        assert_eq!(found.len(), 1, "{case}: one layer");
        let layer = &found[0];
        assert_eq!(layer.macs, macs, "{case}: MACs");
        let Ok(Site::Deconv(site)) = &layer.site else {
            panic!("{case}: not offloaded as a deconvolution: {:?}", layer.site)
        };
        let sets = samples(&model, &dir.join(format!("{case}.npy")));
        // ONNX's outputs by the operator's definition, from the builder.
        let expected = read_f32(&dir.join(format!("{case}.expected.npy"))).unwrap();
        let expected: Vec<&[f32]> = expected
            .data
            .chunks_exact(expected.data.len() / sets.len())
            .collect();

        // The lowering alone, in f64 on the real weights: gather, GEMM,
        // col2im, bias. Integers throughout, so it must equal tract's f32.
        let w = constant(&model, &layer.name, 1);
        let b = constant(&model, &layer.name, 2);
        let bias: Vec<f64> = if b.len() == 1 {
            vec![f64::from(b[0]); site.out_channels]
        } else {
            b.iter().map(|&v| f64::from(v)).collect()
        };
        let mut reference = Runner::new(model.clone(), []).unwrap();
        let [m, k, n] = [site.m(), site.k(), site.n()];
        for (inputs, onnx) in sets.iter().zip(&expected) {
            let tract = as_f32(&reference.run(inputs.clone(), None).unwrap().outputs[0]).unwrap();
            assert_eq!(tract, *onnx, "{case}: tract against ONNX's definition");
            let x: Vec<f64> = as_f32(&inputs[0])
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let mut y = vec![0.0; tract.len()];
            for g in 0..site.groups {
                let a = site.gather(&x, g);
                let wg: Vec<f64> = site.weights(&w, g).iter().map(|&v| f64::from(v)).collect();
                let mut c = vec![0.0; m * n];
                for row in 0..m {
                    for col in 0..n {
                        c[row * n + col] = (0..k).map(|i| a[row * k + i] * wg[col * k + i]).sum();
                    }
                }
                site.col2im(&c, g, &mut y);
            }
            site.add_bias(&bias, &mut y);
            let lowered: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            assert_eq!(lowered, tract, "{case}: GEMM + col2im against tract");
            assert!(
                tract.iter().any(|&v| v != 0.0),
                "{case}: an all-zero output would prove nothing"
            );
        }

        // The int8 design path, whose quantisation is lossless here.
        for (_, per_sample) in offload(&model, &found, "gemm-mac-dsp-8x8", &sets) {
            for (tract, kiln) in per_sample {
                if int8_exact {
                    assert_eq!(kiln, tract, "{case}: int8 golden against tract");
                } else {
                    let db = sqnr_db(&tract, &kiln);
                    assert!(db >= MIN_SQNR_DB, "{case}: SQNR {db:.1} dB");
                }
            }
        }
    }
}

#[test]
fn an_integer_deconvolution_is_listed_with_its_macs() {
    // ONNX's ConvTranspose is float only; an integer Deconv (other front
    // ends) stays on tract, with its MACs counted and the reason given.
    let mut model = TypedModel::default();
    let x = model.add_source("x", i8::fact([1, 4, 3, 3])).unwrap();
    let w = model
        .add_const("w", Tensor::zero::<i8>(&[2, 4, 2, 2]).unwrap())
        .unwrap();
    let b = model
        .add_const("b", Tensor::zero::<i8>(&[2]).unwrap())
        .unwrap();
    let spec = PoolSpec::new(
        DataFormat::NCHW,
        tvec![2, 2],
        PaddingSpec::Valid,
        None,
        Some(tvec![2, 2]),
        4,
        2,
    );
    let op = Deconv::new(spec, KernelFormat::OIHW, tvec![0, 0], 1);
    let y = model.wire_node("int_deconv", op, &[x, w, b]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let found = layers(&model).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "int_deconv");
    // 3x3 positions x 4 in x 2 out x 2x2 taps.
    assert_eq!(found[0].macs, 9 * 4 * 2 * 4);
    let reason = found[0].site.as_ref().unwrap_err();
    assert!(reason.contains("I8"), "{reason}");
}

#[test]
fn recurrent_layers_stay_on_tract_with_their_macs() {
    let dir = models().join("host");
    // 6 steps x batch 2 x directions x (input 5 + hidden 4) x gates x hidden 4.
    for (case, gates, dirs, op) in [
        ("lstm", 4, 1, "Scan"),
        ("lstm_bidirectional", 4, 2, "Scan"),
        ("gru", 3, 1, "GruSeq"),
    ] {
        let model = load_onnx(&dir.join(format!("{case}.onnx")), None).unwrap();
        let found = layers(&model).unwrap();
        let total: u64 = found.iter().map(|l| l.macs).sum();
        assert_eq!(
            total,
            6 * 2 * dirs * (5 + 4) * gates * 4,
            "{case}: {found:#?}"
        );
        let host: Vec<&Layer> = found.iter().filter(|l| l.op == op).collect();
        assert_eq!(
            host.len() as u64,
            dirs,
            "{case}: one {op} per direction: {found:#?}"
        );
        for l in host {
            let reason = l.site.as_ref().unwrap_err();
            assert!(
                reason.contains("loop") || reason.contains("recurren"),
                "{reason}"
            );
            // At least the recurrent product h x R, which cannot leave the loop.
            assert!(l.macs >= 6 * 2 * 4 * gates * 4, "{case}: {}", l.macs);
        }
    }
}

// ---- ONNX's own backend test models ---------------------------------------

/// The test model's inputs (`input_<i>.pb`) and ONNX's output.
fn onnx_case(case: &str) -> (TypedModel, TVec<TValue>, Vec<f32>) {
    let dir = testdata().join(case);
    let model = load_onnx(&dir.join("model.onnx"), None).unwrap();
    let set = dir.join("test_data_set_0");
    let inputs = (0..model.input_outlets().unwrap().len())
        .map(|i| load_pb(&set.join(format!("input_{i}.pb"))).into_tvalue())
        .collect();
    let onnx = as_f32(&load_pb(&set.join("output_0.pb")).into_tvalue()).unwrap();
    (model, inputs, onnx)
}

const ONNX_CONVTRANSPOSE: [&str; 11] = [
    "test_convtranspose",
    "test_convtranspose_1d",
    "test_convtranspose_3d",
    "test_convtranspose_autopad_same",
    "test_convtranspose_dilations",
    "test_convtranspose_group_2",
    "test_convtranspose_group_2_image_3",
    "test_convtranspose_kernel_shape",
    "test_convtranspose_output_shape",
    "test_convtranspose_pad",
    "test_convtranspose_pads",
];

#[test]
fn onnx_convtranspose_models_on_int8_and_bfp() {
    for case in ONNX_CONVTRANSPOSE {
        let (model, inputs, onnx) = onnx_case(case);
        let found = layers(&model).unwrap();
        assert_eq!(found.len(), 1, "{case}: {found:#?}");
        let Ok(site @ Site::Deconv(d)) = &found[0].site else {
            panic!("{case}: not offloaded: {:?}", found[0].site)
        };
        // The weight (input 1) is a graph input here, (in, out / group,
        // kernel..) in ONNX's layout: MACs by the formula, from its shape.
        let x = inputs[0].shape();
        let w = inputs[1].shape();
        let positions: usize = x[2..].iter().product();
        let taps: usize = w[2..].iter().product();
        let macs = x[0] * positions * w[0] * w[1] * taps;
        assert_eq!(found[0].macs, macs as u64, "{case}: MACs");
        assert_eq!(site.macs(), found[0].macs, "{case}");
        assert_eq!(d.groups * w[1], d.out_channels, "{case}");
        let tract = as_f32(
            &Runner::new(model.clone(), [])
                .unwrap()
                .run(inputs.clone(), None)
                .unwrap()
                .outputs[0],
        )
        .unwrap();
        let worst = tract
            .iter()
            .zip(&onnx)
            .map(|(t, o)| (t - o).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-3, "{case}: tract differs from ONNX by {worst}");
        for design in ["gemm-mac-dsp-8x8", "bfp-mxint8-b16"] {
            for (_, per_sample) in offload(&model, &found, design, std::slice::from_ref(&inputs)) {
                let (reference, kiln) = &per_sample[0];
                let db = sqnr_db(reference, kiln);
                assert!(db >= MIN_SQNR_DB, "{case} on {design}: SQNR {db:.1} dB");
            }
        }
    }
}

// The ONNX recurrent tests with more than one step. With one step tract
// inlines the loop body and folds what the zero initial state makes dead
// (the GRU's reset gate), so the operator's formula overcounts them.
const ONNX_RECURRENT: [&str; 2] = ["test_gru_seq_length", "test_rnn_seq_length"];

#[test]
fn onnx_recurrent_models_count_every_mac() {
    for case in ONNX_RECURRENT {
        let (model, inputs, _) = onnx_case(case);
        let found = layers(&model).unwrap();
        // X is (steps, batch, input), W (directions, gates x hidden, input)
        // and R (directions, gates x hidden, hidden): per step and batch
        // row, one product with each.
        let (x, w, r) = (inputs[0].shape(), inputs[1].shape(), inputs[2].shape());
        let macs = x[0] * x[1] * w[0] * (w[1] * w[2] + r[1] * r[2]);
        let total: u64 = found.iter().map(|l| l.macs).sum();
        assert_eq!(total, macs as u64, "{case}: {found:#?}");
        assert!(x[0] > 1, "{case}: more than one step");
        assert!(
            found
                .iter()
                .any(|l| l.site.as_ref().is_err_and(|e| e.contains("loop"))),
            "{case}: the loop stays on tract and says so: {found:#?}"
        );
    }
}

// ---- through the CLI ------------------------------------------------------

/// `kiln run` on the segmentation model: the report and `design`'s run.
fn cli_run(backend: &str, design: &str, extra: &[&str]) -> (Value, Value) {
    let dir = models();
    let model = dir.join("model.onnx");
    let inputs = dir.join("inputs.npy");
    let mut args = vec![
        "run",
        model.to_str().unwrap(),
        "--inputs",
        inputs.to_str().unwrap(),
        "--design",
        design,
        "--backend",
        backend,
        "--json",
    ];
    args.extend_from_slice(extra);
    let report = kiln_json(&args, 0);
    let run = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["design"] == design)
        .unwrap_or_else(|| panic!("no run for {design}"))
        .clone();
    (report, run)
}

fn check_cli_run(run: &Value, what: &str) {
    let layers = run["layers"].as_array().unwrap();
    let names: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, SEGMENTATION.map(|(n, _)| n), "{what}");
    for (layer, (name, macs)) in layers.iter().zip(SEGMENTATION) {
        assert_eq!(layer["offloaded"], true, "{what} {name}");
        assert_eq!(layer["macs_per_inference"], macs, "{what} {name}");
        let db = layer["error"]["sqnr_db"].as_f64().unwrap();
        assert!(db >= MIN_SQNR_DB, "{what} {name}: SQNR {db:.1} dB");
    }
    assert!(layers[2]["op"]
        .as_str()
        .unwrap()
        .starts_with("ConvTranspose"));
    let total: u64 = SEGMENTATION.iter().map(|(_, m)| m).sum();
    assert_eq!(run["macs"]["offloaded"], total, "{what}");
    assert_eq!(run["macs"]["host"], 0, "{what}");
    assert_eq!(run["macs"]["offloaded_share"], 1.0, "{what}");
}

#[test]
fn kiln_run_offloads_convtranspose_on_golden() {
    let (report, run) = cli_run("golden", "gemm-mac-dsp-8x8", &[]);
    assert_eq!(report["inputs"], 8);
    check_cli_run(&run, "golden");
    // Every replay on the RTL matched golden, ConvTranspose calls included.
    let verify = &run["verify"];
    assert!(verify["sampled"].as_u64().unwrap() > 0, "{verify}");
    assert_eq!(verify["bit_identical"], verify["sampled"]);
}

#[test]
fn kiln_run_offloads_convtranspose_on_sim() {
    let (report, run) = cli_run("sim", "gemm-mac-dsp-8x8", &["--limit", "1"]);
    assert_eq!(report["inputs"], 1);
    check_cli_run(&run, "sim");
    // enc1, enc2, up1, up2 (2 groups), head: 6 calls on the RTL, each
    // checked against golden (replays on further boards add to the count).
    let verify = &run["verify"];
    assert!(verify["sampled"].as_u64().unwrap() >= 6, "{verify}");
    assert_eq!(verify["bit_identical"], verify["sampled"]);
}
