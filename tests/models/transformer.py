"""A transformer-class text-line recogniser (SVTR/ViT-shaped): a strided
convolution cuts the image into patch tokens, pre-norm encoder blocks of
multi-head self-attention and an MLP follow, and a per-token classifier
gives a sequence output. Built with the onnx package from seeded weights.

    transformer.py OUT_DIR            the test model
    transformer.py OUT_DIR --bench    the benchmark model

Every block holds the MatMuls that matter for speed: the QKV projection,
the two attention MatMuls (activation by activation: Q K^T and P V, per
head), the output projection and the two MLP layers. LayerNormalization is
spelled out (ReduceMean, Sub, Mul, Sqrt, Div) so it runs at opset 13, and the
MLP's GELU is the sigmoid form x * sigmoid(1.702 x).

Test model, OUT_DIR/transformer/: 1x3x8x32 input, 4x4 patches (16 tokens),
width 32, 2 heads, 1 block, 11 classes; inputs.npy with 2 samples.

Benchmark model, OUT_DIR/transformer-svtr/: 1x3x32x128 input, 4x4 patches
(256 tokens), width 192, 6 heads of 32, 4 blocks, MLP 768, 97 classes: about
0.56 G MACs per image (the SVTR-tiny class); inputs-4.npy with 4 samples.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class Net:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, what):
        self.count += 1
        return f"{what}{self.count}"

    def const(self, name, array, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x, d_in, d_out):
        w = self.rng.normal(0.0, np.sqrt(1.0 / d_in), (d_in, d_out))
        b = self.rng.normal(0.0, 0.02, d_out)
        y = self.node("MatMul", [x, self.const(self.name("w"), w)])
        return self.node("Add", [y, self.const(self.name("b"), b)])

    def layer_norm(self, x, d):
        mean = self.node("ReduceMean", [x], axes=[-1], keepdims=1)
        centred = self.node("Sub", [x, mean])
        var = self.node("ReduceMean", [self.node("Mul", [centred, centred])], axes=[-1], keepdims=1)
        eps = self.const(self.name("eps"), 1e-5)
        std = self.node("Sqrt", [self.node("Add", [var, eps])])
        normed = self.node("Div", [centred, std])
        gamma = self.const(self.name("gamma"), 1.0 + self.rng.normal(0.0, 0.05, d))
        beta = self.const(self.name("beta"), self.rng.normal(0.0, 0.02, d))
        return self.node("Add", [self.node("Mul", [normed, gamma]), beta])

    def attention(self, x, tokens, d, heads):
        hd = d // heads
        qkv = self.linear(x, d, 3 * d)
        qkv = self.node("Reshape", [qkv, self.const(self.name("shape"), [1, tokens, 3, heads, hd], np.int64)])
        qkv = self.node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # 3, 1, heads, tokens, hd
        # Slice i of the leading axis, squeezed: 1, heads, tokens, hd.
        q, k, v = [
            self.node("Squeeze", [
                self.node("Slice", [qkv, self.const(self.name("s"), [i], np.int64),
                                    self.const(self.name("e"), [i + 1], np.int64),
                                    self.const(self.name("a"), [0], np.int64)]),
                self.const(self.name("ax"), [0], np.int64),
            ])
            for i in range(3)
        ]
        kt = self.node("Transpose", [k], perm=[0, 1, 3, 2])
        scores = self.node("MatMul", [q, kt])
        scores = self.node("Mul", [scores, self.const(self.name("scale"), 1.0 / np.sqrt(hd))])
        probs = self.node("Softmax", [scores], axis=-1)
        ctx = self.node("MatMul", [probs, v])  # 1, heads, tokens, hd
        ctx = self.node("Transpose", [ctx], perm=[0, 2, 1, 3])
        ctx = self.node("Reshape", [ctx, self.const(self.name("shape"), [1, tokens, d], np.int64)])
        return self.linear(ctx, d, d)

    def block(self, x, tokens, d, heads, mlp):
        y = self.attention(self.layer_norm(x, d), tokens, d, heads)
        x = self.node("Add", [x, y])
        h = self.linear(self.layer_norm(x, d), d, mlp)
        h = self.node("Mul", [h, self.node("Sigmoid", [self.node("Mul", [h, self.const(self.name("k"), 1.702)])])])
        return self.node("Add", [x, self.linear(h, mlp, d)])


def build(path, height, width, patch, d, heads, depth, mlp, classes, seed):
    net = Net(seed)
    tokens = (height // patch) * (width // patch)
    w = net.rng.normal(0.0, np.sqrt(2.0 / (3 * patch * patch)), (d, 3, patch, patch))
    x = net.node("Conv", ["input", net.const("patch.w", w), net.const("patch.b", np.zeros(d))],
                 kernel_shape=[patch, patch], strides=[patch, patch])
    x = net.node("Reshape", [x, net.const("tok.shape", [1, d, tokens], np.int64)])
    x = net.node("Transpose", [x], perm=[0, 2, 1])  # 1, tokens, d
    for _ in range(depth):
        x = net.block(x, tokens, d, heads, mlp)
    logits = net.linear(net.layer_norm(x, d), d, classes)
    net.nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        net.nodes,
        "transformer",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, tokens, classes])],
        net.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def write_inputs(path, samples, height, width, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (samples, 1, 3, height, width)).clip(-2.5, 2.5).astype(np.float32)
    np.save(path, x)


def main():
    out = sys.argv[1]
    if sys.argv[2:] == ["--bench"]:
        d = os.path.join(out, "transformer-svtr")
        build(os.path.join(d, "model.onnx"), 32, 128, 4, 192, 6, 4, 768, 97, seed=512)
        write_inputs(os.path.join(d, "inputs-4.npy"), 4, 32, 128, seed=513)
        return
    d = os.path.join(out, "transformer")
    build(os.path.join(d, "model.onnx"), 8, 32, 4, 32, 2, 1, 64, 11, seed=16)
    write_inputs(os.path.join(d, "inputs.npy"), 2, 8, 32, seed=17)


if __name__ == "__main__":
    main()
