//! The offload op that replaces an offloaded node (an EinSum, Conv or
//! Deconv) in the decluttered model. It holds the node's [`Lowering`] onto
//! the engine that took it, and is evaluated by kiln's executor (see
//! `exec`), which hands it a [`JobRunner`]; tract's own evaluation refuses
//! it, so a patched model cannot silently run without the accelerator.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::lower::{JobRunner, Lowering, NodeValues};
use super::matrix::{scalars_f64, scalars_i32};

#[derive(Debug, Clone)]
pub struct KilnOp {
    /// Name of the replaced node.
    pub name: String,
    /// Index of this layer in the run's layer list.
    pub layer: usize,
    /// Which design of the run's system runs it.
    pub design: usize,
    /// The node consumes already-quantised operands: its output is
    /// quantised with the output zero point and scale inputs.
    pub quantised: bool,
    pub lowering: Arc<dyn Lowering>,
    pub output_fact: TypedFact,
}

impl PartialEq for KilnOp {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.layer == other.layer
    }
}
impl Eq for KilnOp {}

impl Op for KilnOp {
    fn name(&self) -> StaticName {
        "KilnOffload".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![self.lowering.info()])
    }

    op_as_typed_op!();
}

impl EvalOp for KilnOp {
    not_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, _inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        bail!(
            "node {} is offloaded to the accelerator and runs only through kiln's executor",
            self.name
        )
    }
}

impl TypedOp for KilnOp {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(self.output_fact.clone()))
    }

    as_op!();
}

impl KilnOp {
    /// Evaluates the node: every engine call on `runner`, the rest on the host.
    pub fn run(
        &self,
        inputs: TVec<TValue>,
        runner: &mut dyn JobRunner,
    ) -> TractResult<TVec<TValue>> {
        let tensors: Vec<&Tensor> = inputs.iter().map(|v| &**v).collect();
        let y = self.lowering.run(&tensors, runner)?;
        let tensor = self.output_tensor(&tensors, y)?;
        Ok(tvec!(tensor.into_tvalue()))
    }

    /// The output tensor in the node's type: f32 as is, quantised types
    /// through their output zero point and scale.
    fn output_tensor(&self, inputs: &[&Tensor], y: NodeValues) -> TractResult<Tensor> {
        let shape: Vec<usize> = self.output_fact.shape.as_concrete().unwrap_or(&[]).to_vec();
        let dt = self.output_fact.datum_type.unquantized();
        if dt.is_float() {
            let t = match y {
                // Already the tensor: reshaped, not copied.
                NodeValues::F32(t) => t.into_shape(&shape)?,
                NodeValues::F64(y) => {
                    let v: Vec<f32> = y.iter().map(|&v| v as f32).collect();
                    tract_ndarray::ArrayD::from_shape_vec(shape, v)?.into_tensor()
                }
            };
            return Ok(if dt == DatumType::F32 {
                t
            } else {
                t.cast_to_dt(dt)?.into_owned()
            });
        }
        let y = match y {
            NodeValues::F64(y) => y,
            NodeValues::F32(_) => bail!(
                "{}: an integer output ({dt:?}) reached the host as f32; it is requantised from f64",
                self.name
            ),
        };
        let (c0, cs) = if self.quantised {
            (scalars_i32(inputs[7])?[0], scalars_f64(inputs[8])?[0])
        } else {
            (0, 1.0)
        };
        let q = |v: f64, lo: f64, hi: f64| ((v / cs).round() + f64::from(c0)).clamp(lo, hi);
        Ok(match dt {
            DatumType::U8 => {
                let v: Vec<u8> = y.iter().map(|&v| q(v, 0.0, 255.0) as u8).collect();
                Tensor::from_shape(&shape, &v)?
            }
            DatumType::I8 => {
                let v: Vec<i8> = y.iter().map(|&v| q(v, -128.0, 127.0) as i8).collect();
                Tensor::from_shape(&shape, &v)?
            }
            DatumType::I32 => {
                let v: Vec<i32> = y
                    .iter()
                    .map(|&v| q(v, f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
                    .collect();
                Tensor::from_shape(&shape, &v)?
            }
            dt => bail!("{}: output type {dt:?} is not supported", self.name),
        })
    }
}
