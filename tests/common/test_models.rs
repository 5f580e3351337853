//! The models tests/models/*.py writes (`make test-models`) into
//! $KILN_TEST_MODELS, by default target/test-models.

use std::path::PathBuf;

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
