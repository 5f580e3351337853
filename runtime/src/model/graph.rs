//! The decluttered model's MAC-bearing nodes, and the patch that hands the
//! offloadable ones to the accelerator.

use std::collections::HashMap;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::conv::Conv;
use tract_onnx::tract_core::ops::cnn::Deconv;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::gru_seq::GruSeq;
use tract_onnx::tract_core::ops::nn::{Reduce, RmsNorm, ScaledRmsNorm};
use tract_onnx::tract_core::ops::scan::{self, Scan};
use tract_onnx::tract_core::ops::Cost;

use super::lower::{LayerContext, Lowering};
use super::op::KilnOp;
use super::quant::ActQuant;
use super::site::{conv_site, deconv_macs, deconv_site, einsum_site, Refusal, Site};
use super::system::System;
use crate::engines;

/// A node that multiplies and accumulates.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Node name, the same in the reference and the patched model.
    pub name: String,
    /// What the node is, for the report.
    pub op: String,
    /// How it maps onto GEMMs, or why it stays on tract.
    pub site: Result<Site, Refusal>,
    pub macs: u64,
    /// The activation input (calibrated for float models).
    pub act_outlet: Option<OutletId>,
    /// Whether the node consumes already-quantised operands.
    pub quantised: bool,
}

/// Every MAC-bearing node of `model`, in evaluation order.
pub fn layers(model: &TypedModel) -> TractResult<Vec<Layer>> {
    let mut out = Vec::new();
    for id in model.eval_order()? {
        let node = model.node(id);
        let facts: TVec<&TypedFact> = model.node_input_facts(id)?;
        let output = &node.outputs[0].fact;
        let (site, op, quantised) = if let Some(e) = node.op_as::<EinSum>() {
            (
                einsum_site(e, &facts, output),
                format!("EinSum {}", e.axes),
                e.q_params.is_some(),
            )
        } else if let Some(c) = node.op_as::<Conv>() {
            let site = conv_site(c, &facts);
            let op = site
                .as_ref()
                .map(Site::describe)
                .unwrap_or_else(|_| "Conv".into());
            (site, op, c.q_params.is_some())
        } else if let Some(d) = node.op_as::<Deconv>() {
            // tract's cost model has no entry for Deconv, so its MACs are
            // counted here whether or not it is offloaded.
            let site = deconv_site(d, &facts, output);
            let op = site
                .as_ref()
                .map(Site::describe)
                .unwrap_or_else(|_| "ConvTranspose".into());
            (site, op, false)
        } else if node.op_is::<TypedBinOp>()
            || node.op_is::<ElementWiseOp>()
            || node.op_is::<Reduce>()
            || node.op_is::<RmsNorm>()
            || node.op_is::<ScaledRmsNorm>()
        {
            // Element-wise products (scaling, masks) and reductions (sums,
            // maxima, the mean of squares of a norm) are not matrix MACs,
            // though tract's cost model counts them as FMAs: no GEMM engine
            // takes them, and counting them would put vector work into the
            // offloaded share's denominator.
            continue;
        } else {
            let (macs, reason) = match recurrent_macs(node, &facts)? {
                Some(found) => found,
                None => (
                    host_macs(node, &facts)?,
                    format!("kiln does not offload {}", node.op.name()),
                ),
            };
            if macs > 0 {
                out.push(Layer {
                    name: node.name.clone(),
                    op: node.op.name().to_string(),
                    site: Err(reason),
                    macs,
                    act_outlet: None,
                    quantised: false,
                });
            }
            continue;
        };
        let macs = match &site {
            Ok(s) => s.macs(),
            Err(_) => match node.op_as::<Deconv>() {
                Some(d) => deconv_macs(d, &facts).unwrap_or(0),
                None => host_macs(node, &facts)?,
            },
        };
        let act_outlet = site.as_ref().ok().map(|s| match s {
            Site::EinSum(e) => node.inputs[e.act_input],
            Site::Conv(_) | Site::Deconv(_) => node.inputs[0],
        });
        out.push(Layer {
            name: node.name.clone(),
            op,
            site,
            macs,
            act_outlet,
            quantised,
        });
    }
    Ok(out)
}

/// Multiply-accumulates tract counts for a node it runs.
fn host_macs(node: &TypedNode, facts: &[&TypedFact]) -> TractResult<u64> {
    let mut macs = 0u64;
    for (cost, count) in node.op.cost(facts)? {
        if let Cost::FMA(_) = cost {
            macs += count.to_usize().unwrap_or(0) as u64;
        }
    }
    Ok(macs)
}

/// MACs and the reason they stay on tract, for the recurrent ops whose
/// cost tract does not report (`None` for any other op):
/// - `Scan` (ONNX LSTM, RNN, GRU, Scan): its body's MAC layers times the
///   iteration count. The body is a model of its own, run by tract once per
///   step; kiln patches only the outer graph.
/// - `GruSeq` (tract's whole-sequence GRU): per step and batch row the
///   recurrent product h x R (hidden x 3 hidden), plus x x W (input x 3
///   hidden) unless declutter already moved that product out of the op,
///   into an EinSum of the graph.
fn recurrent_macs(node: &TypedNode, facts: &[&TypedFact]) -> TractResult<Option<(u64, Refusal)>> {
    if let Some(s) = node.op_as::<Scan>() {
        let iterations = scan::iteration_count(&s.input_mapping, facts)
            .and_then(|d| d.to_usize().ok())
            .unwrap_or(0) as u64;
        let body: u64 = layers(&s.body)?.iter().map(|l| l.macs).sum();
        return Ok(Some((
            body * iterations,
            format!(
                "the MACs are inside a loop ({iterations} iterations of a body of {body} MACs), \
                 which tract runs step by step; kiln does not offload loop bodies"
            ),
        )));
    }
    if let Some(g) = node.op_as::<GruSeq>() {
        let Some(x) = facts.first().and_then(|f| f.shape.as_concrete()) else {
            return Ok(None);
        };
        let [batch, steps, input] = x[..] else {
            return Ok(None);
        };
        let h = g.hidden;
        let per_row = h * 3 * h + if g.projected { 0 } else { input * 3 * h };
        return Ok(Some((
            (batch * steps * per_row) as u64,
            "GruSeq: a GRU recurrence, one step after another on tract; kiln does not offload \
             recurrent ops"
                .to_string(),
        )));
    }
    Ok(None)
}

/// Each layer's lowering, `None` for the layers left to tract.
pub type Lowerings = Vec<Option<Arc<dyn Lowering>>>;

/// `model` with every layer the system takes replaced by a [`KilnOp`],
/// lowered by the engine of the design `assignment` gives it (see
/// [`System::assign`]). Float activations of engines that want int8 take
/// their quantisation from `calibration`. Also returns each layer's
/// lowering (`None` for the layers left to tract).
pub fn patch(
    model: &TypedModel,
    layers: &[Layer],
    system: &System,
    assignment: &[Option<usize>],
    calibration: &HashMap<OutletId, ActQuant>,
) -> TractResult<(TypedModel, Lowerings)> {
    let mut patched = model.clone();
    let mut lowerings: Lowerings = vec![None; layers.len()];
    for (index, layer) in layers.iter().enumerate() {
        let (Ok(site), Some(d)) = (&layer.site, assignment.get(index).copied().flatten()) else {
            continue;
        };
        let design = &system.designs[d];
        let engine = engines::of(design)?;
        let node = patched.node_by_name(&layer.name)?.clone();
        let act_quant = if !layer.quantised && engine.needs_calibration() {
            Some(
                layer
                    .act_outlet
                    .and_then(|o| calibration.get(&o))
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("layer {} was not calibrated", layer.name))?,
            )
        } else {
            None
        };
        let constants = const_inputs(&patched, &node, site.operands().0)?;
        let context = LayerContext {
            name: &layer.name,
            index,
            site,
            quantised: layer.quantised,
            calibration: act_quant,
            constants: constants.as_deref(),
            output_len: node.outputs[0]
                .fact
                .shape
                .as_concrete()
                .map_or(0, |s| s.iter().product()),
            float_output: node.outputs[0].fact.datum_type.unquantized().is_float(),
        };
        let lowering: Arc<dyn Lowering> = Arc::from(engine.lower(design, &context)?);
        let op = KilnOp {
            name: layer.name.clone(),
            layer: index,
            design: d,
            quantised: layer.quantised,
            lowering: lowering.clone(),
            output_fact: node.outputs[0].fact.clone(),
        };
        let inputs = node.inputs.clone();
        TypedModelPatch::replace_single_op(&patched, &node, &inputs, op)?.apply(&mut patched)?;
        lowerings[index] = Some(lowering);
    }
    Ok((patched, lowerings))
}

/// Every input of `node` but the activation (`act`) as a constant, when
/// all of them are constants: the weights can then be prepared once.
fn const_inputs(
    model: &TypedModel,
    node: &TypedNode,
    act: usize,
) -> TractResult<Option<Vec<Option<Arc<Tensor>>>>> {
    let mut consts: Vec<Option<Arc<Tensor>>> = Vec::with_capacity(node.inputs.len());
    for (i, outlet) in node.inputs.iter().enumerate() {
        if i == act {
            consts.push(None);
            continue;
        }
        match &model.outlet_fact(*outlet)?.konst {
            Some(k) => consts.push(Some(k.clone())),
            None => return Ok(None),
        }
    }
    Ok(Some(consts))
}
