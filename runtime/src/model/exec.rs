//! Running a model node by node: tract evaluates its own ops, kiln's
//! executor evaluates the offloaded ones on a [`JobRunner`], and the
//! outputs of the nodes a report compares are kept.

use std::collections::{HashMap, HashSet};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{SimplePlan, SimpleState};
use tract_onnx::tract_core::plan::eval as tract_eval;

use super::lower::JobRunner;
use super::op::KilnOp;

/// A model ready to run, with the names of the nodes whose outputs to keep.
#[derive(Debug)]
pub struct Runner {
    state: TypedSimpleState,
    keep: HashSet<String>,
}

/// Outputs of one run: the model's outputs and the kept nodes' first outputs.
#[derive(Debug)]
pub struct RunOutputs {
    pub outputs: TVec<TValue>,
    pub nodes: HashMap<String, TValue>,
}

impl Runner {
    pub fn new(model: TypedModel, keep: impl IntoIterator<Item = String>) -> TractResult<Self> {
        let plan = SimplePlan::new(model)?;
        Ok(Self {
            state: SimpleState::new(&plan)?,
            keep: keep.into_iter().collect(),
        })
    }

    /// Runs on `inputs`; offloaded nodes go to `jobs` (which may be `None`
    /// only for a model without them).
    pub fn run(
        &mut self,
        inputs: TVec<TValue>,
        mut jobs: Option<&mut dyn JobRunner>,
    ) -> TractResult<RunOutputs> {
        let mut nodes = HashMap::new();
        let keep = &self.keep;
        let outputs = self.state.run_plan_with_eval(
            inputs,
            |ctx, state, node, inputs| -> TractResult<TVec<TValue>> {
                let out = match (node.op_as::<KilnOp>(), jobs.as_deref_mut()) {
                    (Some(op), Some(runner)) => op.run(inputs, runner)?,
                    _ => tract_eval(ctx, state, node, inputs)?,
                };
                if keep.contains(&node.name) {
                    nodes.insert(node.name.clone(), out[0].clone());
                }
                Ok(out)
            },
        )?;
        Ok(RunOutputs { outputs, nodes })
    }
}
