//! tract's element-wise binary chains (a conv's bias, a ReLU6's Max and
//! Min, a scale), evaluated by kiln in one vectorised pass.
//!
//! tract fuses such steps into the convolution before them, but not when
//! the convolution's output is kept for a report's comparison or replaced
//! by an offloaded node. Then they run on their own (`OptBinByScalar`,
//! `OptBinChain`), and on x86-64 tract-linalg has only portable kernels for
//! them, fed through a scratch buffer: on MobileNetV2 that was about an
//! eighth of the reference run and of the golden one. This module computes
//! the same values, each step's f32 operation (`+`, `*`, `-`, `f32::max`,
//! `f32::min`) in the node's order, a chunk of the tensor at a time and in
//! place, compiled for AVX2 and AVX-512 where the CPU has them. A node it
//! does not recognise exactly (another operation or type, a strided
//! tensor, an operand that does not tile the tensor as tract's kernels
//! read it) is left to tract.
//!
//! Why by hand: no maintained crate evaluates a tract node, and tract's
//! own kernels for these are the slow part.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::tract_linalg::multithread::BShare;
use tract_onnx::tract_core::internal::tract_linalg::BinOp;
use tract_onnx::tract_core::ops::binary::{OptBinByScalar, OptBinChain};

/// How a step's operand `b` meets the tensor `a` (tract-linalg's
/// `BShare`): one value for everything, one per block of `period`
/// consecutive elements, or a row of `period` values that every block
/// meets element by element.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Scalar(f32),
    PerBlock { values: Vec<f32>, period: usize },
    Lockstep(Vec<f32>),
}

/// One step: `a = a op b`.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    op: BinOp,
    b: Operand,
}

/// A node this module evaluates: its steps, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct BinChain {
    steps: Vec<Step>,
}

/// Elements per pass of every step: small enough to stay in L1.
const CHUNK: usize = 2048;

impl BinChain {
    /// The node as a [`BinChain`] if it is a by-scalar op or a chain of
    /// f32 steps on a plain f32 tensor, `None` to leave it to tract.
    pub fn of(node: &TypedNode, inputs: &TVec<TValue>) -> Option<Self> {
        let ops: Vec<(BinOp, BShare)> = if let Some(op) = node.op_as::<OptBinByScalar>() {
            vec![(op.linalg_op, BShare::PerBlock)]
        } else if let Some(chain) = node.op_as::<OptBinChain>() {
            chain.steps.iter().map(|s| (s.linalg_op, s.share)).collect()
        } else {
            return None;
        };
        let a = inputs.first()?;
        if inputs.len() != ops.len() + 1 || !plain_f32(a) {
            return None;
        }
        let steps = ops
            .iter()
            .zip(&inputs[1..])
            .map(|(&(op, share), b)| {
                if !plain_f32(b) || b.len() == 0 || a.len() % b.len() != 0 {
                    return None;
                }
                let values = b.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.to_vec();
                let b = match (share, values.len()) {
                    (_, 1) => Operand::Scalar(values[0]),
                    (BShare::PerBlock, n) => Operand::PerBlock {
                        values,
                        period: a.len() / n,
                    },
                    (BShare::Lockstep, _) => Operand::Lockstep(values),
                };
                Some(Step { op, b })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { steps })
    }

    /// The node's output, computed in place when the input is not shared.
    pub fn run(&self, mut inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut a = inputs.swap_remove(0).into_tensor();
        {
            let mut plain = a.try_as_plain_ram_mut()?;
            self.apply(plain.as_slice_mut::<f32>()?);
        }
        Ok(tvec!(a.into_tvalue()))
    }

    /// Every step over `values`, a chunk at a time.
    fn apply(&self, values: &mut [f32]) {
        for (c, chunk) in values.chunks_mut(CHUNK).enumerate() {
            for step in &self.steps {
                step.apply(chunk, c * CHUNK);
            }
        }
    }
}

fn plain_f32(t: &Tensor) -> bool {
    t.datum_type() == f32::datum_type()
        && t.len() == t.shape().iter().product::<usize>()
        && t.strides() == &*Tensor::natural_strides(t.shape())
}

impl Step {
    /// The step over `chunk`, which starts at element `at` of the tensor.
    fn apply(&self, chunk: &mut [f32], at: usize) {
        match &self.b {
            Operand::Scalar(v) => by_scalar(self.op, chunk, *v),
            Operand::PerBlock { values, period } => {
                let mut done = 0;
                while done < chunk.len() {
                    let block = (at + done) / period;
                    let end = ((block + 1) * period - at).min(chunk.len());
                    by_scalar(self.op, &mut chunk[done..end], values[block]);
                    done = end;
                }
            }
            Operand::Lockstep(row) => {
                let mut done = 0;
                while done < chunk.len() {
                    let from = (at + done) % row.len();
                    let len = (row.len() - from).min(chunk.len() - done);
                    by_row(
                        self.op,
                        &mut chunk[done..done + len],
                        &row[from..from + len],
                    );
                    done += len;
                }
            }
        }
    }
}

/// `a = a op s` for every element.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn by_scalar(op: BinOp, a: &mut [f32], s: f32) {
    match op {
        BinOp::Add => a.iter_mut().for_each(|x| *x += s),
        BinOp::Mul => a.iter_mut().for_each(|x| *x *= s),
        BinOp::Sub => a.iter_mut().for_each(|x| *x -= s),
        BinOp::SubF => a.iter_mut().for_each(|x| *x = s - *x),
        BinOp::Max => a.iter_mut().for_each(|x| *x = x.max(s)),
        BinOp::Min => a.iter_mut().for_each(|x| *x = x.min(s)),
    }
}

/// `a[i] = a[i] op b[i]`.
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn by_row(op: BinOp, a: &mut [f32], b: &[f32]) {
    let pairs = a.iter_mut().zip(b);
    match op {
        BinOp::Add => pairs.for_each(|(x, &y)| *x += y),
        BinOp::Mul => pairs.for_each(|(x, &y)| *x *= y),
        BinOp::Sub => pairs.for_each(|(x, &y)| *x -= y),
        BinOp::SubF => pairs.for_each(|(x, &y)| *x = y - *x),
        BinOp::Max => pairs.for_each(|(x, &y)| *x = x.max(y)),
        BinOp::Min => pairs.for_each(|(x, &y)| *x = x.min(y)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::internal::{SimplePlan, SimpleState};
    use tract_onnx::tract_core::ops::math;
    use tract_onnx::tract_core::plan::eval as tract_eval;

    fn bits(t: &TValue) -> Vec<u32> {
        let view = t.try_as_plain_ram().unwrap();
        view.as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    /// A conv-like output with a per-channel bias, a ReLU6 (Max then Min
    /// against scalars), a scale and a residual add, optimised by tract:
    /// every node this module takes gives tract's bits, NaN, infinities
    /// and both zeros included, and it takes the by-scalar ones.
    #[test]
    fn same_values_as_tract() {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, 3, 4, 5])).unwrap();
        let y = model.add_source("y", f32::fact([1, 3, 4, 5])).unwrap();
        let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
        let six = model.add_const("six", tensor4(&[[[[6f32]]]])).unwrap();
        let half = model.add_const("half", tensor4(&[[[[0.5f32]]]])).unwrap();
        let bias = model
            .add_const("bias", tensor4(&[[[[1f32]], [[-2.5]], [[3.25]]]]))
            .unwrap();
        let biased = model.wire_node("biased", math::add(), &[x, bias]).unwrap()[0];
        let low = model
            .wire_node("low", math::max(), &[biased, zero])
            .unwrap()[0];
        let clip = model.wire_node("clip", math::min(), &[low, six]).unwrap()[0];
        let scaled = model
            .wire_node("scaled", math::mul(), &[clip, half])
            .unwrap()[0];
        let residual = model
            .wire_node("residual", math::add(), &[scaled, y])
            .unwrap()[0];
        let lone = model.wire_node("lone", math::min(), &[y, six]).unwrap()[0];
        model.select_output_outlets(&[residual, lone]).unwrap();
        let plan = SimplePlan::new(model.into_optimized().unwrap()).unwrap();
        let values = |shift: f32| -> Tensor {
            let v: Vec<f32> = (0..60)
                .map(|i| match i {
                    0 => f32::NAN,
                    1 => -0.0,
                    2 => 0.0,
                    3 => f32::INFINITY,
                    4 => f32::NEG_INFINITY,
                    _ => (i as f32 - 30.0) / 3.0 + shift,
                })
                .collect();
            Tensor::from_shape(&[1, 3, 4, 5], &v).unwrap()
        };
        let mut taken = Vec::new();
        let mut state = SimpleState::new(&plan).unwrap();
        let inputs = tvec!(values(0.0).into_tvalue(), values(0.1).into_tvalue());
        state
            .run_plan_with_eval(inputs, |ctx, state, node, inputs| {
                let want = tract_eval(ctx, state, node, inputs.clone())?;
                if let Some(chain) = BinChain::of(node, &inputs) {
                    let got = chain.run(inputs)?;
                    taken.push(format!("{}: {:?}", node.name, chain.steps));
                    assert_eq!(bits(&got[0]), bits(&want[0]), "{}", node.name);
                }
                Ok::<_, anyhow::Error>(want)
            })
            .unwrap();
        let all = taken.join("; ");
        for op in ["Max", "Min", "Add"] {
            assert!(all.contains(op), "a step of {op} is taken: {all}");
        }
    }

    /// A chain of steps over a tensor longer than a chunk, with operands of
    /// every sharing and periods that cut chunks anywhere, is each step in
    /// turn over the whole tensor, by definition.
    #[test]
    fn chains_are_their_steps_in_turn() {
        let len = 3 * CHUNK + 1234;
        let a: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 1000) as f32 / 37.0 - 13.0)
            .chain([f32::NAN, -0.0, 0.0])
            .collect();
        let len = a.len();
        let row = |n: usize| -> Vec<f32> { (0..n).map(|i| (i % 13) as f32 - 6.5).collect() };
        let divisor = |p: usize| {
            (1..=len)
                .rev()
                .find(|d| len.is_multiple_of(*d) && *d <= p)
                .unwrap()
        };
        let per_block = |blocks: usize| Operand::PerBlock {
            values: row(blocks),
            period: len / blocks,
        };
        let chain = BinChain {
            steps: vec![
                Step {
                    op: BinOp::Add,
                    b: per_block(divisor(len / 700)),
                },
                Step {
                    op: BinOp::Max,
                    b: Operand::Scalar(0.0),
                },
                Step {
                    op: BinOp::Min,
                    b: Operand::Scalar(6.0),
                },
                Step {
                    op: BinOp::Mul,
                    b: Operand::Lockstep(row(divisor(3000))),
                },
                Step {
                    op: BinOp::SubF,
                    b: Operand::Scalar(1.5),
                },
                Step {
                    op: BinOp::Sub,
                    b: per_block(len / divisor(len / 3)),
                },
                Step {
                    op: BinOp::Max,
                    b: Operand::Lockstep(row(divisor(17))),
                },
            ],
        };
        let mut want = a.clone();
        for step in &chain.steps {
            for (i, x) in want.iter_mut().enumerate() {
                let y = match &step.b {
                    Operand::Scalar(v) => *v,
                    Operand::PerBlock { values, period } => values[i / period],
                    Operand::Lockstep(row) => row[i % row.len()],
                };
                *x = match step.op {
                    BinOp::Add => *x + y,
                    BinOp::Mul => *x * y,
                    BinOp::Sub => *x - y,
                    BinOp::SubF => y - *x,
                    BinOp::Max => x.max(y),
                    BinOp::Min => x.min(y),
                };
            }
        }
        let mut got = a;
        chain.apply(&mut got);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want));
    }
}
