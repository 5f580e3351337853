//! ONNX's own backend test models, from the onnx wheel (`make
//! onnx-testdata` unpacks them into $KILN_ONNX_TESTDATA).

use std::path::{Path, PathBuf};

use prost::Message;
use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::pb::TensorProto;
use tract_onnx::prelude::*;

/// The folder of the node test cases.
pub fn testdata() -> PathBuf {
    let dir = std::env::var_os("KILN_ONNX_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/onnx-testdata/onnx/backend/test/data/node"
            ))
        });
    assert!(
        dir.is_dir(),
        "ONNX backend test data not found at {}; run `make onnx-testdata`",
        dir.display()
    );
    dir
}

/// A tensor of a test case (`input_<i>.pb`, `output_<i>.pb`).
pub fn load_pb(path: &Path) -> Tensor {
    let bytes = std::fs::read(path).unwrap();
    let proto = TensorProto::decode(&bytes[..]).unwrap();
    tract_onnx::tensor::load_tensor(&FopenDataResolver, &proto, None).unwrap()
}
