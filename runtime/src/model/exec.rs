//! Running a model node by node: tract evaluates its own ops, kiln's
//! executor evaluates the offloaded ones on a [`JobRunner`], and the
//! outputs of the nodes a report compares are kept.
//!
//! The plan is tract's optimised one (its packed kernels, its fused ops),
//! not the decluttered model node for node: the nodes whose outputs are
//! kept become extra outputs of the model before it is optimised, so tract
//! keeps their values under their names however it rewrites the rest.
//! Element-wise chains that stay unfused beside a kept or offloaded node
//! (a bias, a ReLU6) are evaluated by [`super::bin_chain`], with the same
//! values.

use std::collections::HashMap;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{SimplePlan, SimpleState};
use tract_onnx::tract_core::plan::eval as tract_eval;

use super::bin_chain::BinChain;
use super::lower::JobRunner;
use super::op::KilnOp;

/// A model ready to run, with the names of the nodes whose outputs to keep.
/// A clone shares the plan and is a session of its own (for another
/// thread).
#[derive(Debug, Clone)]
pub struct Runner {
    state: TypedSimpleState,
    /// The model's own outputs, first in the plan's output list.
    outputs: usize,
    /// Kept node names, in the order of the plan's outputs after the
    /// model's own.
    keep: Vec<String>,
}

/// Outputs of one run: the model's outputs and the kept nodes' first outputs.
#[derive(Debug)]
pub struct RunOutputs {
    pub outputs: TVec<TValue>,
    pub nodes: HashMap<String, TValue>,
}

impl Runner {
    /// `model` optimised, with the first output of each node named in
    /// `keep` (a decluttered model's node names; names it does not hold are
    /// skipped) kept as an extra output.
    pub fn new(mut model: TypedModel, keep: impl IntoIterator<Item = String>) -> TractResult<Self> {
        let mut outlets = model.output_outlets()?.to_vec();
        let outputs = outlets.len();
        let mut kept = Vec::new();
        for name in keep {
            if let Ok(node) = model.node_id_by_name(&name) {
                if !kept.contains(&name) {
                    outlets.push(OutletId::new(node, 0));
                    kept.push(name);
                }
            }
        }
        model.select_output_outlets(&outlets)?;
        let plan = SimplePlan::new(model.into_optimized()?)?;
        Ok(Self {
            state: SimpleState::new(&plan)?,
            outputs,
            keep: kept,
        })
    }

    /// Runs on `inputs`; offloaded nodes go to `jobs` (which may be `None`
    /// only for a model without them).
    pub fn run(
        &mut self,
        inputs: TVec<TValue>,
        mut jobs: Option<&mut dyn JobRunner>,
    ) -> TractResult<RunOutputs> {
        let mut outputs = self.state.run_plan_with_eval(
            inputs,
            |ctx, state, node, inputs| -> TractResult<TVec<TValue>> {
                match (node.op_as::<KilnOp>(), jobs.as_deref_mut()) {
                    (Some(op), Some(runner)) => op.run(inputs, runner),
                    _ => match BinChain::of(node, &inputs) {
                        Some(chain) => chain.run(inputs),
                        None => tract_eval(ctx, state, node, inputs),
                    },
                }
            },
        )?;
        let nodes = self
            .keep
            .iter()
            .cloned()
            .zip(outputs.drain(self.outputs..))
            .collect();
        Ok(RunOutputs { outputs, nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::layers;
    use crate::model::load::load_onnx;
    use tract_onnx::tract_core::plan::SimplePlan;

    /// Every layer of the bundled CNN comes out of the optimised plan
    /// under its name, with the value the decluttered model computes
    /// node by node (within f32 rounding: tract's kernels sum in their own
    /// order), and the model's output is unchanged in position.
    #[test]
    fn optimised_plan_keeps_every_tapped_layer() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits/digits-cnn.onnx");
        let model = load_onnx(&path, None).unwrap();
        let names: Vec<String> = layers(&model)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert!(names.len() >= 4);
        let fact = model.input_fact(0).unwrap();
        let shape: Vec<usize> = fact.shape.as_concrete().unwrap().to_vec();
        let x = Tensor::from_shape(&shape, &vec![0.25f32; shape.iter().product()]).unwrap();
        let mut runner = Runner::new(model.clone(), names.clone()).unwrap();
        let got = runner.run(tvec!(x.clone().into_tvalue()), None).unwrap();
        // The decluttered model node by node, each layer's value read off.
        let plan = SimplePlan::new(model.clone()).unwrap();
        let mut state = SimpleState::new(&plan).unwrap();
        let mut want = HashMap::new();
        let outputs = state
            .run_plan_with_eval(tvec!(x.into_tvalue()), |ctx, state, node, inputs| {
                let out = tract_eval(ctx, state, node, inputs)?;
                want.insert(node.name.clone(), out[0].clone());
                Ok::<_, anyhow::Error>(out)
            })
            .unwrap();
        assert_eq!(got.outputs.len(), outputs.len());
        for name in &names {
            let (g, w) = (&got.nodes[name], &want[name]);
            let (g, w) = (
                crate::model::run::as_f32(g).unwrap(),
                crate::model::run::as_f32(w).unwrap(),
            );
            assert_eq!(g.len(), w.len(), "{name}");
            let scale = w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
            for (a, b) in g.iter().zip(w) {
                assert!((a - b).abs() <= 1e-4 * scale, "{name}: {a} against {b}");
            }
        }
    }
}
