//! ONNX loading through tract: parse, fix the input shapes, type, declutter.
//! Every way this can fail ends in a [`ModelError`] that names the file, the
//! input or the node at fault.

use std::panic::AssertUnwindSafe;
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
    #[error("{path} is not a model tract can load: its graph does not hold together, and tract gave up on it ({message}); check that the file is a complete, valid ONNX model")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: node `{node}` ({op}) computes a constant of {bytes} bytes while the model loads; kiln refuses constants above {limit} bytes (4 times the file, at least 64 MiB), so check the node's shape inputs")]
    ConstantTooLarge {
        path: PathBuf,
        node: String,
        op: String,
        bytes: u64,
        limit: u64,
    },
}

/// The largest constant tract may compute while a model loads, for a file
/// of `file_len` bytes: 4 times the file (an int8 or fp16 weight widened to
/// f32 at load time is the largest legitimate case) and at least 64 MiB
/// (sixteen times tract's own folding budget, so that anything tract keeps
/// is allowed).
pub fn constant_limit(file_len: usize) -> u64 {
    (4 * file_len as u64).max(64 << 20)
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
    load_onnx_bytes(&bytes, path, input_shapes)
}

/// [`load_onnx`] on the bytes of an ONNX file; `path` names it in errors.
pub fn load_onnx_bytes(
    bytes: &[u8],
    path: &Path,
    input_shapes: Option<&[Vec<usize>]>,
) -> Result<TypedModel, ModelError> {
    // tract trusts parts of a model that only a well-formed file gets
    // right, and panics instead of failing on the others. The mutation test
    // (tests/parsers_mutation.rs) found, in tract 0.23.9: a graph output
    // that no node, input or initializer produces ("no entry found for
    // key", tract-onnx model.rs); a stride or dilation of 0 (a division by
    // zero in tract-core's cnn/padding.rs and tract-data's divceil); pads
    // or axes past the input's rank (indexing out of bounds in padding.rs
    // and hir's Flatten). A model that makes tract panic is bad input, so
    // the user gets a ModelError naming the file rather than a crash.
    // Everything tract built is dropped with the panic, so nothing
    // half-made is seen afterwards. The panic hook still prints tract's
    // message on stderr, which helps a bug report to tract.
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        load_unguarded(bytes, path, input_shapes)
    }))
    .unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Err(ModelError::Malformed {
            path: path.to_owned(),
            message: format!("tract {TRACT_VERSION} panicked: {message}"),
        })
    })
}

fn load_unguarded(
    bytes: &[u8],
    path: &Path,
    input_shapes: Option<&[Vec<usize>]>,
) -> Result<TypedModel, ModelError> {
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
    let limit = constant_limit(bytes.len());
    check_inferred_constants(&model, path, limit)?;
    let typed = model.into_typed().map_err(analysis)?;
    check_typed_constants(&typed, path, limit)?;
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

/// Bytes of a tensor of `shape` and `dt`, `None` if that overflows.
fn tensor_bytes(dt: DatumType, shape: &[usize]) -> Option<u64> {
    shape
        .iter()
        .try_fold(dt.size_of() as u64, |n, &d| n.checked_mul(d as u64))
}

fn too_large(path: &Path, node: &str, op: &str, bytes: u64, limit: u64) -> ModelError {
    ModelError::ConstantTooLarge {
        path: path.to_owned(),
        node: node.to_string(),
        op: op.to_string(),
        bytes,
        limit,
    }
}

/// tract evaluates, while it analyses a model, every node whose inputs are
/// all known (initializers, shapes of inputs), and only then compares the
/// result with its folding budget: a ConstantOfShape whose shape is
/// `[2, 2^28]` is allocated (4 GiB) first. A file of a hundred bytes can so
/// ask for gigabytes. This walks the graph in evaluation order ahead of tract,
/// infers each node's output facts with tract's own rules (which give the
/// shape without computing anything), refuses a node whose known-valued
/// inputs would make tract compute an output above `limit`, and evaluates
/// the others to carry their values forward, as tract will.
///
/// An output whose size the rules leave open is not evaluated here, and
/// what depends on it is not checked: tract may still compute it. Errors of
/// tract's rules are left for tract's analysis to report.
fn check_inferred_constants(
    model: &InferenceModel,
    path: &Path,
    limit: u64,
) -> Result<(), ModelError> {
    use std::collections::HashMap;
    use tract_onnx::tract_hir::internal::InferenceOp;
    // Every node, not only those the outputs need (which is what
    // `eval_order` gives): tract's analysis visits a dangling node too.
    let sources: Vec<usize> = model
        .input_outlets()
        .map(|o| o.iter().map(|o| o.node).collect())
        .unwrap_or_default();
    let all: Vec<usize> = (0..model.nodes().len()).collect();
    let Ok(order) = tract_onnx::tract_core::model::order::eval_order_for_nodes(
        model.nodes(),
        &sources,
        &all,
        &[],
    ) else {
        return Ok(());
    };
    // Facts learned in this walk, by outlet; the model's own otherwise.
    let mut known: HashMap<OutletId, InferenceFact> = HashMap::new();
    for id in order {
        let node = model.node(id);
        if node.inputs.is_empty() {
            continue;
        }
        let fact = |outlet: OutletId| -> Option<InferenceFact> {
            known
                .get(&outlet)
                .cloned()
                .or_else(|| model.outlet_fact(outlet).ok().cloned())
        };
        let Some(inputs) = node
            .inputs
            .iter()
            .map(|o| fact(*o))
            .collect::<Option<TVec<_>>>()
        else {
            continue;
        };
        let outputs: TVec<InferenceFact> = node.outputs.iter().map(|o| o.fact.clone()).collect();
        let mut op: Box<dyn InferenceOp> = node.op.clone();
        let Ok((_, inferred, _)) =
            op.infer_facts(inputs.iter().collect(), outputs.iter().collect(), tvec![])
        else {
            continue;
        };
        let values: Option<TVec<TValue>> = inputs
            .iter()
            .map(|f| f.value.concretize().map(|t| t.into_tvalue()))
            .collect();
        let Some(values) = values else {
            // Not all inputs known: nothing is evaluated, but the rules may
            // have found values (a Shape of a known input, say).
            for (ix, f) in inferred.into_iter().enumerate() {
                known.insert(OutletId::new(id, ix), f);
            }
            continue;
        };
        // tract evaluates this node: its outputs must be small, and known
        // for this walk to evaluate it too.
        let mut all_sized = true;
        for f in &inferred {
            let shape = f.shape.as_concrete_finite().ok().flatten();
            let (Some(dt), Some(shape)) = (f.datum_type.concretize(), shape) else {
                all_sized = false;
                continue;
            };
            match tensor_bytes(dt, &shape) {
                Some(b) if b <= limit => {}
                b => {
                    return Err(too_large(
                        path,
                        &node.name,
                        &node.op.name(),
                        b.unwrap_or(u64::MAX),
                        limit,
                    ))
                }
            }
        }
        if !all_sized {
            continue;
        }
        if let Ok(Some(results)) = node.op.eval_out_of_plan(values) {
            for (ix, t) in results.into_iter().enumerate() {
                known.insert(OutletId::new(id, ix), InferenceFact::from(t.into_tensor()));
            }
        }
    }
    Ok(())
}

/// Decluttering folds again, on the typed model, every node whose inputs
/// are all constants, and again compares the result with the budget only
/// once it has it. Typed facts are concrete, so the check is direct.
fn check_typed_constants(model: &TypedModel, path: &Path, limit: u64) -> Result<(), ModelError> {
    for node in model.nodes() {
        if node.inputs.is_empty() {
            continue;
        }
        let all_const = node
            .inputs
            .iter()
            .all(|o| model.outlet_fact(*o).is_ok_and(|f| f.konst.is_some()));
        if !all_const {
            continue;
        }
        for output in &node.outputs {
            let shape = output.fact.shape.as_concrete();
            let bytes = shape.and_then(|s| tensor_bytes(output.fact.datum_type, s));
            if bytes.is_none_or(|b| b > limit) && shape.is_some() {
                return Err(too_large(
                    path,
                    &node.name,
                    &node.op.name(),
                    bytes.unwrap_or(u64::MAX),
                    limit,
                ));
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use tract_onnx::pb;

    /// A float tensor of shape `dims` named `name` (untyped if `dims` is
    /// `None`).
    fn value(name: &str, dims: Option<&[i64]>) -> pb::ValueInfoProto {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        pb::ValueInfoProto {
            name: name.into(),
            r#type: dims.map(|dims| pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: pb::tensor_proto::DataType::Float as i32,
                    shape: Some(pb::TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| Dimension {
                                value: Some(Value::DimValue(d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A model of `graph` at IR 8, opset 13.
    fn onnx_model(graph: pb::GraphProto) -> pb::ModelProto {
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            graph: Some(graph),
            ..Default::default()
        }
    }

    /// `y = x + ConstantOfShape(shape)`, the shape a raw int64 initializer.
    fn folding_model(shape: &[i64]) -> Vec<u8> {
        let node = |op: &str, inputs: &[&str], output: &str| pb::NodeProto {
            name: output.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        };
        onnx_model(pb::GraphProto {
            name: "g".into(),
            node: vec![
                node("ConstantOfShape", &["shape"], "c"),
                node("Add", &["x", "c"], "y"),
            ],
            initializer: vec![pb::TensorProto {
                name: "shape".into(),
                dims: vec![shape.len() as i64],
                data_type: pb::tensor_proto::DataType::Int64 as i32,
                raw_data: shape.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            }],
            input: vec![value("x", Some(&[2, 4]))],
            output: vec![value("y", None)],
            ..Default::default()
        })
        .encode_to_vec()
    }

    /// tract computes a constant before it weighs it: without the check,
    /// this 120-byte file with a shape of [2, 2^28] loaded in 25 s into a
    /// model holding a 4 GiB constant (tract's ConstantOfShape defaults to
    /// f64), and [2, 2^24] into one of 256 MiB.
    #[test]
    fn a_constant_too_large_to_compute_is_refused() {
        for huge in [1i64 << 28, 1 << 24] {
            let bytes = folding_model(&[2, huge]);
            let err = load_onnx_bytes(&bytes, Path::new("fold.onnx"), None).unwrap_err();
            assert!(
                matches!(err, ModelError::ConstantTooLarge { ref node, .. } if node == "c"),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("node `c` (ConstantOfShape)"),
                "{err}"
            );
        }
        // Also when nothing uses the constant: tract computes it all the
        // same (found by the mutation test: an Add that lost its second
        // input left a 128 MiB ConstantOfShape dangling).
        let mut dangling = pb::ModelProto::decode(&folding_model(&[2, 1 << 24])[..]).unwrap();
        let graph = dangling.graph.as_mut().unwrap();
        graph.node[1].input.truncate(1);
        graph.node[1].op_type = "Relu".into();
        let err = load_onnx_bytes(&dangling.encode_to_vec(), Path::new("dangling.onnx"), None)
            .unwrap_err();
        assert!(
            matches!(err, ModelError::ConstantTooLarge { .. }),
            "{err:?}"
        );
        // A constant inside the limit is computed and folded as before.
        let model = load_onnx_bytes(&folding_model(&[2, 4]), Path::new("ok.onnx"), None).unwrap();
        assert_eq!(
            model.output_fact(0).unwrap().shape.as_concrete(),
            Some(&[2, 4][..])
        );
        assert_eq!(constant_limit(100), 64 << 20);
        assert_eq!(constant_limit(100 << 20), 400 << 20);
    }

    /// A Flatten on an axis past the input's rank: tract-hir 0.23.9 slices
    /// the shape with it while typing the model ("range end index 5 out of
    /// range"), later than the parse, inside the same guard.
    #[test]
    fn a_panic_while_typing_is_an_error() {
        let model = onnx_model(pb::GraphProto {
            name: "g".into(),
            node: vec![pb::NodeProto {
                name: "flat".into(),
                op_type: "Flatten".into(),
                input: vec!["x".into()],
                output: vec!["y".into()],
                attribute: vec![pb::AttributeProto {
                    name: "axis".into(),
                    r#type: pb::attribute_proto::AttributeType::Int as i32,
                    i: 5,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            input: vec![value("x", Some(&[2, 4]))],
            output: vec![value("y", None)],
            ..Default::default()
        });
        let err =
            load_onnx_bytes(&model.encode_to_vec(), Path::new("flat.onnx"), None).unwrap_err();
        assert!(matches!(err, ModelError::Malformed { .. }), "{err:?}");
    }

    /// `y = Relu(x)` whose graph output is `ghost`, which nothing
    /// produces: tract-onnx 0.23.9 panicked on it in parse_graph.
    #[test]
    fn an_output_that_nothing_produces_is_an_error() {
        let model = onnx_model(pb::GraphProto {
            name: "g".into(),
            node: vec![pb::NodeProto {
                name: "relu".into(),
                op_type: "Relu".into(),
                input: vec!["x".into()],
                output: vec!["y".into()],
                ..Default::default()
            }],
            input: vec![value("x", Some(&[2, 4]))],
            output: vec![value("ghost", None)],
            ..Default::default()
        });
        let err =
            load_onnx_bytes(&model.encode_to_vec(), Path::new("ghost.onnx"), None).unwrap_err();
        assert!(matches!(err, ModelError::Malformed { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("ghost.onnx is not a model"), "{text}");
    }
}
