"""Tiny models whose task measures can be worked out by hand
(tests/model_tasks.rs), built with the onnx package.

    tasks.py OUT_DIR

Both use the weight row [1, 0.75], which the 4-bit power-of-two PE
(gemm-pot-8x8) cannot hold: its least-squares scale is 0.875 with both codes
+1, so the accelerator computes 0.875 (x0 + x1) where tract computes
x0 + 0.75 x1. Every other weight is a power of two, and the inputs are
integers spanning exactly [-128, 127], so the int8 activations are exact
(scale 1, zero point 0) and that one row is the only difference.

- dense/model.onnx: a 1x1 convolution of two channels, then a sigmoid: a
  1x1x2x4 probability map. inputs.npy: one sample.
- sequence/model.onnx: a MatMul of 1x6x2 steps by [[1, 1, -1], [0.75, -1, 1]]:
  1x6x3 per-step scores of three classes, class 0 the CTC blank.
  inputs.npy: two samples.
The pixel and step values, and the expected measures, are in
tests/model_tasks.rs.

- huge/model.onnx: a MatMul of a 1 x 4194304 x 128 activation by a 128 x 8
  weight: a 512 MiB int8 A operand, more than the PYNQ-Z1's DDR holds with
  C beside it, for the size check of tests/size_limits.rs (which writes a
  sparse input file itself).
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (x0, x1) per pixel of the dense map, row-major over 2 x 4.
DENSE = [(127, -128), (-128, 127), (4, -4), (-4, 4), (10, 10), (-10, -10), (0, -2), (3, -1)]
# (x0, x1) per step of the two sequences.
SEQUENCES = [
    [(8, -1), (16, 1), (8, 8), (1, 9), (1, 9), (8, 8)],
    [(127, -128), (-128, 127), (8, 8), (8, -1), (8, -1), (16, 1)],
]


def save(model, path):
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def dense(out):
    w = numpy_helper.from_array(np.array([1.0, 0.75], np.float32).reshape(1, 2, 1, 1), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[1, 1]),
        helper.make_node("Sigmoid", ["y"], ["map"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 2, 4])],
        [helper.make_tensor_value_info("map", TensorProto.FLOAT, [1, 1, 2, 4])],
        [w],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
         os.path.join(out, "dense", "model.onnx"))
    x = np.array(DENSE, np.float32).T.reshape(1, 1, 2, 2, 4)
    np.save(os.path.join(out, "dense", "inputs.npy"), x)


def sequence(out):
    w = numpy_helper.from_array(np.array([[1, 1, -1], [0.75, -1, 1]], np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["scores"], name="matmul")]
    graph = helper.make_graph(
        nodes,
        "sequence",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 2])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 6, 3])],
        [w],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
         os.path.join(out, "sequence", "model.onnx"))
    x = np.array(SEQUENCES, np.float32).reshape(2, 1, 6, 2)
    np.save(os.path.join(out, "sequence", "inputs.npy"), x)


def huge(out):
    w = numpy_helper.from_array(np.ones((128, 8), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")]
    graph = helper.make_graph(
        nodes,
        "huge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4194304, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4194304, 8])],
        [w],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
         os.path.join(out, "huge", "model.onnx"))


def main():
    out = sys.argv[1]
    dense(out)
    sequence(out)
    huge(out)


if __name__ == "__main__":
    main()
