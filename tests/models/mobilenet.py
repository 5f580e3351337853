"""MobileNetV2-shaped models (inverted residuals with depthwise convolutions,
ReLU6, global average pooling, a fully connected classifier), built with the
onnx package from seeded weights.

    mobilenet.py OUT_DIR            the test models (tests/model_cycles.rs)
    mobilenet.py OUT_DIR --bench    the benchmark model (make bench-memory)

Test models, under OUT_DIR:
- mobilenet/model.onnx, inputs.npy: 1x3x32x32 input, 17 MAC layers of which
  10 depthwise, 4 samples;
- mobilenet-dynamic/model.onnx: the same network with a symbolic batch axis
  (for `--input-shape`), inputs.npy of 1x3x32x32 samples.

The benchmark model, under OUT_DIR/mobilenet-224/: MobileNetV2 at width 1.0
on a 1x3x224x224 input (300 M MACs, 52 convolutions, 1000 classes), with
inputs-2.npy and inputs-64.npy holding 2 and 64 samples (the first two the
same in both). OUT_DIR/mobilenet-128/ is the same network at 128x128 (about
100 M MACs) with one sample in inputs-1.npy, for the whole model on the
RTL (`kiln run --backend sim`).

Weights are He-initialised and the biases small, so activations stay in a
sane range through the depth without trained weights; every number comes
from numpy's seeded generator, so the files are the same on every machine.
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
        self.inits = [
            numpy_helper.from_array(np.array(0.0, np.float32), "relu6_lo"),
            numpy_helper.from_array(np.array(6.0, np.float32), "relu6_hi"),
        ]
        self.count = 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv(self, x, cin, cout, kernel, stride=1, group=1, relu6=True):
        i = self.count
        self.count += 1
        fan_in = cin // group * kernel * kernel
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (cout, cin // group, kernel, kernel))
        b = self.rng.normal(0.0, 0.05, cout)
        out = f"conv{i}"
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.const(f"conv{i}.w", w), self.const(f"conv{i}.b", b)],
                [out],
                name=f"conv{i}",
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=[kernel // 2] * 4,
                group=group,
            )
        )
        if relu6:
            self.nodes.append(
                helper.make_node(
                    "Clip", [out, "relu6_lo", "relu6_hi"], [out + ".relu6"], name=f"relu6_{i}"
                )
            )
            out += ".relu6"
        return out

    def inverted_residual(self, x, cin, cout, stride, expand):
        hidden = cin * expand
        y = x
        if expand != 1:
            y = self.conv(y, cin, hidden, 1)
        y = self.conv(y, hidden, hidden, 3, stride=stride, group=hidden)
        y = self.conv(y, hidden, cout, 1, relu6=False)
        if stride == 1 and cin == cout:
            out = f"add{self.count}"
            self.nodes.append(helper.make_node("Add", [x, y], [out], name=out))
            y = out
        return y


def build(path, size, blocks, stem, head, classes, batch, seed):
    net = Net(seed)
    x = net.conv("input", 3, stem, 3, stride=2)
    cin = stem
    for expand, cout, repeat, stride in blocks:
        for r in range(repeat):
            x = net.inverted_residual(x, cin, cout, stride if r == 0 else 1, expand)
            cin = cout
    x = net.conv(x, cin, head, 1)
    net.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
    net.nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten", axis=1))
    w = net.rng.normal(0.0, np.sqrt(1.0 / head), (classes, head))
    b = net.rng.normal(0.0, 0.05, classes)
    net.nodes.append(
        helper.make_node(
            "Gemm",
            ["flat", net.const("fc.w", w), net.const("fc.b", b)],
            ["logits"],
            name="fc",
            transB=1,
        )
    )
    graph = helper.make_graph(
        net.nodes,
        "mobilenet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])],
        net.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def write_inputs(path, samples, size, seed):
    rng = np.random.default_rng(seed)
    # Image-like: normalised pixels in about [-2, 2].
    x = rng.normal(0.0, 1.0, (samples, 1, 3, size, size)).clip(-2.5, 2.5).astype(np.float32)
    np.save(path, x)


# (expansion, output channels, repeats, first stride), MobileNetV2's table
# and a short version of it for the tests.
MOBILENET_V2 = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
SMALL = [(1, 8, 1, 1), (4, 16, 2, 2), (4, 24, 2, 2)]


def main():
    out = sys.argv[1]
    if sys.argv[2:] == ["--bench"]:
        d = os.path.join(out, "mobilenet-224")
        build(os.path.join(d, "model.onnx"), 224, MOBILENET_V2, 32, 1280, 1000, 1, seed=224)
        for samples in (2, 64):
            write_inputs(os.path.join(d, f"inputs-{samples}.npy"), samples, 224, seed=225)
        # The whole-model RTL run's model: the same network at 128x128.
        d = os.path.join(out, "mobilenet-128")
        build(os.path.join(d, "model.onnx"), 128, MOBILENET_V2, 32, 1280, 1000, 1, seed=128)
        write_inputs(os.path.join(d, "inputs-1.npy"), 1, 128, seed=129)
        return
    for name, batch in [("mobilenet", 1), ("mobilenet-dynamic", "N")]:
        d = os.path.join(out, name)
        build(os.path.join(d, "model.onnx"), 32, SMALL, 16, 64, 10, batch, seed=32)
        write_inputs(os.path.join(d, "inputs.npy"), 4, 32, seed=33)


if __name__ == "__main__":
    main()
