"""Builds the ConvTranspose test models for tests/model_deconv.rs.

    convtranspose.py OUT_DIR

writes, under OUT_DIR/convtranspose/:

- model.onnx, inputs.npy: a small segmentation network (two strided
  convolutions down, two ConvTranspose layers up, one of them grouped with an
  output_padding, a 1x1 head and a sigmoid probability map), float weights,
  8 float32 NCHW samples;
- geometry/<case>.onnx, <case>.npy, <case>.expected.npy: single-ConvTranspose
  models covering groups, strides, dilations, asymmetric pads,
  output_padding, output_shape, SAME_UPPER, a batch of 2, 1-D, 3-D and
  depthwise; their inputs; and ONNX's outputs, computed here from the
  operator's definition (so independent of tract). Weights, inputs and
  biases are small integers, so every product and sum is exact in f32, and
  the int8 path can be exact too: the inputs span exactly [0, 255]
  (activation scale 1), and every weight row the GEMM sees (one output
  channel and tap, over its group's input channels) holds 127 and a nonzero
  value of smaller magnitude, which leaves 1 as the only scale that
  quantises the row without error;
- host/lstm.onnx, host/lstm_bidirectional.onnx, host/gru.onnx: recurrent
  layers, whose MACs stay on tract (Scan loops, and tract's fused GruSeq).

Every model passes onnx.checker. All randomness comes from seeded numpy
generators, so the files are the same on every run.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def save(model, path):
    onnx.checker.check_model(model, full_check=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def graph_model(nodes, inputs, outputs, initializers, name):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="kiln-tests",
    )
    model.ir_version = 8
    return model


def he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def segmentation(out):
    """3x32x32 -> 1x32x32: down twice with Conv, up twice with ConvTranspose."""
    rng = np.random.default_rng(20240611)
    inits = []

    def weight(name, shape, fan_in):
        inits.append(numpy_helper.from_array(he(rng, shape, fan_in), name))
        return name

    def bias(name, n):
        b = (rng.standard_normal(n) * 0.05).astype(np.float32)
        inits.append(numpy_helper.from_array(b, name))
        return name

    nodes = [
        helper.make_node(
            "Conv", ["x", weight("enc1.w", (8, 3, 3, 3), 27), bias("enc1.b", 8)],
            ["e1"], name="enc1", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["e1"], ["r1"], name="relu1"),
        helper.make_node(
            "Conv", ["r1", weight("enc2.w", (16, 8, 3, 3), 72), bias("enc2.b", 16)],
            ["e2"], name="enc2", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["e2"], ["r2"], name="relu2"),
        # 8x8 -> 16x16: the usual learned 2x upsampling (kernel 4, stride 2, pad 1).
        # ONNX ConvTranspose weights are (in, out / group, kH, kW).
        helper.make_node(
            "ConvTranspose", ["r2", weight("up1.w", (16, 8, 4, 4), 16 * 4), bias("up1.b", 8)],
            ["u1"], name="up1", kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["u1"], ["r3"], name="relu3"),
        # 16x16 -> 32x32 with two groups: (16 - 1) * 2 + 3 - 2 + 1 = 32.
        helper.make_node(
            "ConvTranspose", ["r3", weight("up2.w", (8, 2, 3, 3), 4 * 9 // 2), bias("up2.b", 4)],
            ["u2"], name="up2", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
            output_padding=[1, 1], group=2,
        ),
        helper.make_node("Relu", ["u2"], ["r4"], name="relu4"),
        helper.make_node(
            "Conv", ["r4", weight("head.w", (1, 4, 1, 1), 4), bias("head.b", 1)],
            ["logits"], name="head", kernel_shape=[1, 1],
        ),
        helper.make_node("Sigmoid", ["logits"], ["mask"], name="mask"),
    ]
    model = graph_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 32, 32])],
        inits,
        "segmentation",
    )
    save(model, os.path.join(out, "model.onnx"))
    # Image-like samples in [0, 1), one leading axis of samples.
    samples = rng.random((8, 3, 32, 32), dtype=np.float32)
    np.save(os.path.join(out, "inputs.npy"), samples)


def exact_weights(rng, cin, cout_g, kernel, group):
    """Integer ONNX ConvTranspose weights (in, out / group, *kernel) whose every
    GEMM row (a group's input channels for one output channel and tap) holds
    127 and a nonzero value that is not a multiple of 127."""
    w = rng.integers(-20, 21, size=(cin, cout_g, *kernel))
    cig = cin // group
    if cig == 1:
        # One value per row: no row can pin the scale, so leave them random.
        return w.astype(np.float32)
    for g in range(group):
        rows = w[g * cig:(g + 1) * cig]  # a view: (cig, out / group, *kernel)
        for index in np.ndindex(*rows.shape[1:]):
            c0, c1 = rng.choice(cig, size=2, replace=False)
            rows[(c0, *index)] = 127
            if rows[(c1, *index)] == 0:
                rows[(c1, *index)] = rng.choice([-3, 5])
    return w.astype(np.float32)


def geometry_of(x_shape, kernel, attrs):
    """ONNX's ConvTranspose geometry, from the operator's definition: the
    output's spatial shape and the padding cropped before each axis."""
    rank = len(kernel)
    strides = attrs.get("strides", [1] * rank)
    dilations = attrs.get("dilations", [1] * rank)
    adjust = attrs.get("output_padding", [0] * rank)
    pads = attrs.get("pads", [0] * 2 * rank)
    spatial, before = [], []
    for d in range(rank):
        field = (kernel[d] - 1) * dilations[d] + 1
        full = strides[d] * (x_shape[2 + d] - 1) + adjust[d] + field
        if "output_shape" in attrs:
            out = attrs["output_shape"][d]
            total = full - out
            before.append(total - total // 2)
        elif attrs.get("auto_pad") == "SAME_UPPER":
            out = x_shape[2 + d] * strides[d]
            before.append((full - out) // 2)
        else:
            out = full - pads[d] - pads[rank + d]
            before.append(pads[d])
        spatial.append(out)
    return spatial, before


def reference_deconv(x, w, b, kernel, attrs):
    """ConvTranspose by its definition, in float64: input position i of
    channel c adds x * w[c, o, tap] into output position i * stride - pad +
    tap * dilation of output channel o of c's group."""
    rank = len(kernel)
    strides = attrs.get("strides", [1] * rank)
    dilations = attrs.get("dilations", [1] * rank)
    group = attrs.get("group", 1)
    spatial, before = geometry_of(x.shape, kernel, attrs)
    cig, og = x.shape[1] // group, w.shape[1]
    y = np.zeros((x.shape[0], og * group, *spatial))
    for g in range(group):
        xs = x[:, g * cig:(g + 1) * cig].astype(np.float64)
        ws = w[g * cig:(g + 1) * cig].astype(np.float64)
        for pos in np.ndindex(*x.shape[2:]):
            for tap in np.ndindex(*kernel):
                out = [p * s - pb + t * dl
                       for p, s, pb, t, dl in zip(pos, strides, before, tap, dilations)]
                if all(0 <= o < n for o, n in zip(out, spatial)):
                    contrib = xs[(slice(None), slice(None), *pos)] @ ws[(slice(None), slice(None), *tap)]
                    y[(slice(None), slice(g * og, (g + 1) * og), *out)] += contrib
    if b is not None:
        y += b.reshape(1, -1, *([1] * rank))
    return y


def geometry_case(out, name, rng, x_shape, cout, kernel, attrs, bias=True, dtype=np.float32):
    cin = x_shape[1]
    group = attrs.get("group", 1)
    w = exact_weights(rng, cin, cout // group, kernel, group)
    inits = [numpy_helper.from_array(w.astype(dtype), "w")]
    inputs = ["x", "w"]
    b = None
    if bias:
        b = rng.integers(-50, 51, size=cout).astype(dtype)
        inits.append(numpy_helper.from_array(b, "b"))
        inputs.append("b")
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node(
        "ConvTranspose", inputs, ["y"], name=name, kernel_shape=list(kernel), **attrs
    )
    model = graph_model(
        [node],
        [helper.make_tensor_value_info("x", elem, list(x_shape))],
        [helper.make_tensor_value_info(
            "y", elem, [x_shape[0], cout, *geometry_of(x_shape, kernel, attrs)[0]]
        )],
        inits,
        name,
    )
    save(model, os.path.join(out, "geometry", f"{name}.onnx"))
    # Whole model inputs (the batch2 case has two images per sample).
    samples = rng.integers(0, 256, size=(3, *x_shape)).astype(np.float32)
    # The calibrated range must be exactly [0, 255], so that the activation
    # scale is 1 and the int8 activations are the integers themselves.
    samples.flat[0] = 0.0
    samples.flat[1] = 255.0
    np.save(os.path.join(out, "geometry", f"{name}.npy"), samples)
    # ONNX's answer, independent of tract: integers, exact in float32.
    expected = np.stack([reference_deconv(x, w, b, kernel, attrs) for x in samples])
    assert np.abs(expected).max() < 2**24
    np.save(os.path.join(out, "geometry", f"{name}.expected.npy"), expected.astype(np.float32))


def geometry(out):
    rng = np.random.default_rng(7)
    cases = [
        # Three groups, unequal strides, asymmetric pads, non-square kernel.
        ("groups3", (1, 6, 5, 4), 9, (3, 2),
         dict(group=3, strides=[2, 3], pads=[1, 0, 0, 1])),
        # Dilation, output_padding and asymmetric pads together.
        ("dilation_outpad", (1, 3, 4, 5), 2, (3, 3),
         dict(strides=[2, 2], dilations=[2, 1], output_padding=[1, 1], pads=[2, 1, 1, 0])),
        # output_shape: tract turns its excess over the 5x5 the pads give into
        # adjustments (1, 0). ONNX derives the pads from output_shape instead,
        # (1, 0) and (1, 1), which crops the same outputs.
        ("output_shape", (1, 2, 3, 3), 3, (3, 3),
         dict(strides=[2, 2], pads=[1, 1, 1, 1], output_shape=[6, 5])),
        # SAME_UPPER, no bias (tract then adds a zero scalar one).
        ("same_upper", (1, 2, 4, 3), 3, (4, 4),
         dict(strides=[2, 2], auto_pad="SAME_UPPER")),
        # Two images in one batch.
        ("batch2", (2, 4, 3, 3), 2, (2, 2),
         dict(strides=[1, 1], pads=[0, 1, 1, 0])),
        ("conv1d", (1, 2, 7), 2, (5,),
         dict(strides=[3], pads=[2, 1])),
        ("conv3d", (1, 2, 2, 3, 2), 2, (2, 2, 3),
         dict(strides=[2, 1, 2], pads=[0, 1, 1, 0, 0, 1])),
        # Depthwise: one input channel per group, so the GEMM rows have one
        # value and the int8 path is not exact; the geometry check still is.
        ("depthwise", (1, 4, 5, 5), 4, (3, 3),
         dict(group=4, strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])),
    ]
    for name, x_shape, cout, kernel, attrs in cases:
        geometry_case(out, name, rng, x_shape, cout, kernel, attrs, bias=name != "same_upper")


def recurrent(out):
    """LSTMs (Scan loops in tract) and a GRU (tract's fused GruSeq), 6 steps."""
    rng = np.random.default_rng(11)
    seq, batch, inp, hidden = 6, 2, 5, 4

    def rnn(name, op, gates, dirs, extra):
        w = (rng.standard_normal((dirs, gates * hidden, inp)) * 0.3).astype(np.float32)
        r = (rng.standard_normal((dirs, gates * hidden, hidden)) * 0.3).astype(np.float32)
        b = (rng.standard_normal((dirs, 2 * gates * hidden)) * 0.1).astype(np.float32)
        node = helper.make_node(
            op, ["x", "W", "R", "B"], ["y", "y_h"], name=name, hidden_size=hidden, **extra
        )
        model = graph_model(
            [node],
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, batch, inp])],
            [
                helper.make_tensor_value_info("y", TensorProto.FLOAT, [seq, dirs, batch, hidden]),
                helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [dirs, batch, hidden]),
            ],
            [numpy_helper.from_array(t, n) for t, n in [(w, "W"), (r, "R"), (b, "B")]],
            name,
        )
        save(model, os.path.join(out, "host", f"{name}.onnx"))

    rnn("lstm", "LSTM", 4, 1, {})
    rnn("lstm_bidirectional", "LSTM", 4, 2, {"direction": "bidirectional"})
    # linear_before_reset is what tract's fused GruSeq requires.
    rnn("gru", "GRU", 3, 1, {"linear_before_reset": 1})


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    out = os.path.join(sys.argv[1], "convtranspose")
    os.makedirs(out, exist_ok=True)
    segmentation(out)
    geometry(out)
    recurrent(out)


if __name__ == "__main__":
    main()
