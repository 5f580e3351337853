//! The models tests/models/*.py writes (`make test-models`) into
//! $KILN_TEST_MODELS, by default target/test-models.

// Each test file uses the part it needs.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// `$KILN_TEST_MODELS/<name>`, which must hold `model.onnx`.
pub fn test_model(name: &str) -> PathBuf {
    let root = std::env::var_os("KILN_TEST_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/test-models"
            ))
        });
    let dir = root.join(name);
    assert!(
        dir.join("model.onnx").is_file(),
        "test model {name} not found in {}; run `make test-models` (tests/models/*.py write them)",
        root.display()
    );
    dir
}

/// `model.onnx` and `inputs.npy` of a test model, as CLI arguments.
pub fn model_and_inputs(name: &str) -> (String, String) {
    let dir = test_model(name);
    (
        dir.join("model.onnx").display().to_string(),
        dir.join("inputs.npy").display().to_string(),
    )
}

/// A task measure of one design's run in `kiln run --json`, by name.
pub fn measure(run: &Value, name: &str) -> f64 {
    run["task"]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no measure {name} in {}", run["task"]))["value"]
        .as_f64()
        .unwrap()
}
