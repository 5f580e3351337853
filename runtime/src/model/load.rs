//! ONNX loading through tract: parse, fix the input shapes, type, declutter.
//! Every way this can fail ends in a [`ModelError`] that names the file, the
//! input or the node at fault.

use std::path::{Path, PathBuf};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_hir::internal::Factoid;

/// Why a model cannot be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a valid ONNX model (the protobuf does not decode: {reason}); check that the file is complete and really ONNX")]
    Corrupt { path: PathBuf, reason: String },
    #[error("node `{node}` uses op `{op}`, which tract cannot run ({reason}); kiln needs every op supported by tract {version} or offloadable", version = TRACT_VERSION)]
    Unsupported {
        node: String,
        op: String,
        reason: String,
    },
    #[error("input `{input}` has a dynamic shape {shape}; give a concrete one with --input-shape (e.g. --input-shape {example})")]
    DynamicShape {
        input: String,
        shape: String,
        example: String,
    },
    #[error("--input-shape gives {given} shapes but the model has {inputs} inputs")]
    InputShapes { given: usize, inputs: usize },
    #[error("{path}: {message}")]
    Analysis { path: PathBuf, message: String },
}

/// The tract version kiln is built against (pinned in Cargo.toml).
pub const TRACT_VERSION: &str = "0.23.9";

/// Loads `path` as a decluttered typed model. `input_shapes`, when given,
/// fixes each input's shape (in order); otherwise every input must already
/// have a concrete shape.
pub fn load_onnx(
    path: &Path,
    input_shapes: Option<&[Vec<usize>]>,
) -> Result<TypedModel, ModelError> {
    let bytes = std::fs::read(path).map_err(|cause| ModelError::Read {
        path: path.to_owned(),
        cause,
    })?;
    let onnx = tract_onnx::onnx();
    let proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::Corrupt {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        })?;
    let analysis = |e: TractError| ModelError::Analysis {
        path: path.to_owned(),
        message: format!("{e:#}"),
    };
    let mut model = onnx.model_for_proto_model(&proto).map_err(analysis)?;
    check_supported(&model)?;
    let inputs = model.input_outlets().map_err(analysis)?.to_vec();
    if let Some(shapes) = input_shapes {
        if shapes.len() != inputs.len() {
            return Err(ModelError::InputShapes {
                given: shapes.len(),
                inputs: inputs.len(),
            });
        }
        for (i, shape) in shapes.iter().enumerate() {
            let dt = model
                .outlet_fact(inputs[i])
                .map_err(analysis)?
                .datum_type
                .concretize()
                .unwrap_or(DatumType::F32);
            model
                .set_input_fact(i, InferenceFact::dt_shape(dt, shape.clone()))
                .map_err(analysis)?;
        }
    }
    let typed = model.into_typed().map_err(analysis)?;
    for outlet in typed.input_outlets().map_err(analysis)? {
        let fact = typed.outlet_fact(*outlet).map_err(analysis)?;
        if fact.shape.as_concrete().is_none() {
            let example: Vec<String> = fact
                .shape
                .iter()
                .map(|d| {
                    d.to_usize()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|_| "1".into())
                })
                .collect();
            return Err(ModelError::DynamicShape {
                input: typed.node(outlet.node).name.clone(),
                shape: format!("{:?}", fact.shape),
                example: example.join("x"),
            });
        }
    }
    typed.into_decluttered().map_err(analysis)
}

/// Refuses a model with a node tract could not translate, naming it.
/// tract-onnx keeps such a node as an op named `Unimplemented(<ONNX op>)`.
fn check_supported(model: &InferenceModel) -> Result<(), ModelError> {
    for node in model.nodes() {
        let name = node.op.name();
        if let Some(op) = name
            .strip_prefix("Unimplemented(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return Err(ModelError::Unsupported {
                node: node.name.clone(),
                op: op.to_string(),
                reason: "no implementation in tract-onnx".into(),
            });
        }
    }
    Ok(())
}

/// Parses a shape such as `1x1x8x8` or `1,1,8,8`.
pub fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    text.split(['x', ','])
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    format!("`{text}` is not a shape like 1x3x224x224 (positive integers)")
                })
        })
        .collect()
}
