#!/usr/bin/env python3
"""Train and export kiln's bundled default model: a small CNN for 8x8 digits.

The outputs sit next to this script and are committed, so this need not (and
does not) run in CI. To regenerate them from the repository root:

    python3 -m pip install numpy scikit-learn onnx
    python3 runtime/models/digits/train.py

It takes well under a minute on two CPU cores. Running it twice gives
byte-identical files: every random draw comes from one seeded generator and
BLAS is pinned to a single thread (see below).

Data: scikit-learn's bundled copy of the UCI ML hand-written digits
(Alpaydin & Kaynak, CC BY 4.0); 1,797 grey-scale 8x8 images, pixels 0..16.

Training is plain numpy (im2col convolutions, hand-written backprop, AdamW)
so that it needs neither torch nor tensorflow.
"""

import os

# Multi-threaded BLAS may split a reduction differently from run to run or
# from machine to machine, which changes the last bits of the weights. The
# network is tiny, so one thread costs little and keeps the outputs stable.
# This must happen before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240607
N_TEST = 360
N_CALIB = 100
EPOCHS = 60
BATCH = 32
LR = 3e-3
WEIGHT_DECAY = 1e-3  # decoupled (AdamW); keeps weights small for 4-bit quantisation
F32 = np.float32


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def load_split():
    digits = load_digits()
    x = (digits.images.astype(F32) / F32(16.0))[:, None, :, :]  # NCHW
    y = digits.target.astype(np.int64)
    # Stratify so each digit is equally represented in every part; the seeds
    # make the split fixed. Calibration comes out of the training portion and
    # is then held back from training, so the three sets are disjoint.
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=N_TEST, stratify=y, random_state=SEED
    )
    x_train, x_calib, y_train, _ = train_test_split(
        x_rest, y_rest, test_size=N_CALIB, stratify=y_rest, random_state=SEED + 1
    )
    return x_train, y_train, x_calib, x_test, y_test


def shift_batch(x, rng):
    """Shift each image by up to one pixel in each direction, filling with 0.

    The digits are roughly centred but not exactly; small shifts make the
    network less sensitive to that and act as cheap regularisation.
    """
    n = x.shape[0]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    dy = rng.integers(0, 3, size=n)
    dx = rng.integers(0, 3, size=n)
    out = np.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8]
    return out


# --------------------------------------------------------------------------
# Layers (forward returns a cache for the backward pass)
# --------------------------------------------------------------------------


def im2col3(x):
    """3x3, pad 1, stride 1 patches: (N,C,H,W) -> (N*H*W, C*9).

    Columns are ordered (c, kh, kw) so they line up with an ONNX Conv weight
    of shape (O, C, 3, 3) reshaped to (O, C*9).
    """
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=2)
    return cols.transpose(0, 3, 4, 1, 2).reshape(n * h * w, c * 9)


def col2im3(dcols, shape):
    """Adjoint of im2col3: scatter-add patch gradients back onto the input."""
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 9).transpose(0, 3, 4, 1, 2)
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=F32)
    for k in range(9):
        i, j = divmod(k, 3)
        dxp[:, :, i : i + h, j : j + w] += d[:, :, k]
    return dxp[:, :, 1:-1, 1:-1]


def conv3_fwd(x, w, b):
    n, _, h, wd = x.shape
    o = w.shape[0]
    cols = im2col3(x)
    y = cols @ w.reshape(o, -1).T + b
    return y.reshape(n, h, wd, o).transpose(0, 3, 1, 2), (x.shape, cols)


def conv3_bwd(dy, w, cache, need_dx=True):
    shape, cols = cache
    o = w.shape[0]
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (dy2.T @ cols).reshape(w.shape)
    db = dy2.sum(axis=0)
    dx = col2im3(dy2 @ w.reshape(o, -1), shape) if need_dx else None
    return dx, dw, db


def conv1x1_fwd(x, w, b):
    n, c, h, wd = x.shape
    o = w.shape[0]
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, c)
    y = x2 @ w.reshape(o, c).T + b
    return y.reshape(n, h, wd, o).transpose(0, 3, 1, 2), (x.shape, x2)


def conv1x1_bwd(dy, w, cache):
    (n, c, h, wd), x2 = cache
    o = w.shape[0]
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (dy2.T @ x2).reshape(w.shape)
    db = dy2.sum(axis=0)
    dx = (dy2 @ w.reshape(o, c)).reshape(n, h, wd, c).transpose(0, 3, 1, 2)
    return dx, dw, db


def maxpool_fwd(x):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    # Route the gradient to exactly one element per window (first maximum).
    idx = win.argmax(axis=-1)
    return np.take_along_axis(win, idx[..., None], axis=-1)[..., 0], (x.shape, idx)


def maxpool_bwd(dy, cache):
    (n, c, h, w), idx = cache
    dwin = np.zeros((n, c, h // 2, w // 2, 4), dtype=F32)
    np.put_along_axis(dwin, idx[..., None], dy[..., None], axis=-1)
    return dwin.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def init_params(rng):
    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(F32)

    return {
        "conv1.weight": he((8, 1, 3, 3), 9),
        "conv1.bias": np.zeros(8, F32),
        "conv2.weight": he((16, 8, 3, 3), 72),
        "conv2.bias": np.zeros(16, F32),
        "conv3.weight": he((16, 16, 1, 1), 16),
        "conv3.bias": np.zeros(16, F32),
        # Gemm with transB=1: B is stored as (out, in).
        "fc.weight": (rng.standard_normal((10, 256)) * np.sqrt(1.0 / 256)).astype(F32),
        "fc.bias": np.zeros(10, F32),
    }


def forward(p, x, train=False):
    h1, c1 = conv3_fwd(x, p["conv1.weight"], p["conv1.bias"])
    a1 = np.maximum(h1, 0)
    h2, c2 = conv3_fwd(a1, p["conv2.weight"], p["conv2.bias"])
    a2 = np.maximum(h2, 0)
    pooled, cp = maxpool_fwd(a2)
    h3, c3 = conv1x1_fwd(pooled, p["conv3.weight"], p["conv3.bias"])
    a3 = np.maximum(h3, 0)
    flat = a3.reshape(a3.shape[0], -1)  # same (c, h, w) order as ONNX Flatten
    logits = flat @ p["fc.weight"].T + p["fc.bias"]
    if not train:
        return logits
    return logits, (c1, h1, c2, h2, cp, c3, h3, a3.shape, flat)


def backward(p, dlogits, cache):
    c1, h1, c2, h2, cp, c3, h3, a3_shape, flat = cache
    g = {}
    g["fc.weight"] = dlogits.T @ flat
    g["fc.bias"] = dlogits.sum(axis=0)
    d = (dlogits @ p["fc.weight"]).reshape(a3_shape) * (h3 > 0)
    d, g["conv3.weight"], g["conv3.bias"] = conv1x1_bwd(d, p["conv3.weight"], c3)
    d = maxpool_bwd(d, cp) * (h2 > 0)
    d, g["conv2.weight"], g["conv2.bias"] = conv3_bwd(d, p["conv2.weight"], c2)
    d = d * (h1 > 0)
    _, g["conv1.weight"], g["conv1.bias"] = conv3_bwd(d, p["conv1.weight"], c1, need_dx=False)
    return g


def softmax_xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    prob = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(prob[np.arange(len(y)), y] + F32(1e-12)).mean()
    dlogits = prob
    dlogits[np.arange(len(y)), y] -= 1
    return float(loss), (dlogits / F32(len(y))).astype(F32)


def accuracy(p, x, y):
    return float((forward(p, x).argmax(axis=1) == y).mean())


def train(x, y, rng):
    p = init_params(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    steps_per_epoch = int(np.ceil(len(x) / BATCH))
    total = EPOCHS * steps_per_epoch
    t = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x))
        xs = shift_batch(x[order], rng)
        ys = y[order]
        losses = []
        for s in range(0, len(x), BATCH):
            xb, yb = xs[s : s + BATCH], ys[s : s + BATCH]
            logits, cache = forward(p, xb, train=True)
            loss, dlogits = softmax_xent(logits, yb)
            losses.append(loss)
            g = backward(p, dlogits, cache)
            t += 1
            # Cosine decay to zero: the last epochs settle into a minimum
            # instead of bouncing around it, which keeps the result stable.
            lr = LR * 0.5 * (1 + np.cos(np.pi * (t - 1) / total))
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
                mhat = m[k] / (1 - b1**t)
                vhat = v[k] / (1 - b2**t)
                step = mhat / (np.sqrt(vhat) + eps)
                # Decay weights only; shrinking biases buys nothing.
                if k.endswith(".weight"):
                    step = step + WEIGHT_DECAY / LR * p[k]
                p[k] = (p[k] - F32(lr) * step).astype(F32)
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            print(f"epoch {epoch + 1:3d}  loss {np.mean(losses):.4f}  train acc {accuracy(p, x, y):.4f}")
    return p


# --------------------------------------------------------------------------
# ONNX export
# --------------------------------------------------------------------------


def export_onnx(p, path):
    inits = [numpy_helper.from_array(np.ascontiguousarray(v, dtype=F32), name=k) for k, v in p.items()]
    conv3x3 = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1_out"], name="conv1", **conv3x3),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("Conv", ["relu1_out", "conv2.weight", "conv2.bias"], ["conv2_out"], name="conv2", **conv3x3),
        helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"),
        helper.make_node("MaxPool", ["relu2_out"], ["pool_out"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "Conv", ["pool_out", "conv3.weight", "conv3.bias"], ["conv3_out"], name="conv3",
            kernel_shape=[1, 1], strides=[1, 1],
        ),
        helper.make_node("Relu", ["conv3_out"], ["relu3_out"], name="relu3"),
        helper.make_node("Flatten", ["relu3_out"], ["flatten_out"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flatten_out", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    # Intermediate shapes are recorded so consumers need not infer them.
    value_info = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
        for n, s in [
            ("conv1_out", [1, 8, 8, 8]),
            ("relu1_out", [1, 8, 8, 8]),
            ("conv2_out", [1, 16, 8, 8]),
            ("relu2_out", [1, 16, 8, 8]),
            ("pool_out", [1, 16, 4, 4]),
            ("conv3_out", [1, 16, 4, 4]),
            ("relu3_out", [1, 16, 4, 4]),
            ("flatten_out", [1, 256]),
        ]
    ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=inits,
        value_info=value_info,
        doc_string="8x8 hand-written digit classifier (UCI digits via scikit-learn); input pixels in [0,1].",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="kiln runtime/models/digits/train.py",
        ir_version=8,
    )
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, path)
    return model


def check_onnx(path, p, x, y):
    """Run the exported file through onnx's reference evaluator, one image at a
    time (the graph has a fixed batch of 1), and compare with numpy."""
    sess = ReferenceEvaluator(onnx.load(path))
    ref = np.concatenate([sess.run(None, {"image": x[i : i + 1]})[0] for i in range(len(x))])
    ours = forward(p, x)
    diff = float(np.abs(ref - ours).max())
    acc = float((ref.argmax(axis=1) == y).mean())
    return diff, acc


def main():
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    x_train, y_train, x_calib, x_test, y_test = load_split()
    print(f"split: train {len(x_train)}, calibration {len(x_calib)}, test {len(x_test)}")

    p = train(x_train, y_train, rng)
    train_acc = accuracy(p, x_train, y_train)
    test_acc = accuracy(p, x_test, y_test)
    n_params = sum(v.size for v in p.values())
    print(f"parameters: {n_params}")
    print(f"train accuracy (f32 numpy): {train_acc:.4f}")
    print(f"test accuracy  (f32 numpy): {test_acc:.4f}  ({int(round(test_acc * len(y_test)))}/{len(y_test)})")

    onnx_path = os.path.join(HERE, "digits-cnn.onnx")
    export_onnx(p, onnx_path)
    diff, onnx_acc = check_onnx(onnx_path, p, x_test, y_test)
    print(f"onnx reference evaluator: test accuracy {onnx_acc:.4f}, max |logit diff| vs numpy {diff:.2e}")
    if diff >= 1e-4:
        raise SystemExit(f"exported model disagrees with numpy (max diff {diff})")
    if test_acc < 0.95:
        raise SystemExit(f"test accuracy {test_acc:.4f} is below the 95% floor")

    # Explicit little-endian dtypes so the files read the same on any host.
    np.save(os.path.join(HERE, "test-images.npy"), np.ascontiguousarray(x_test, dtype="<f4"))
    np.save(os.path.join(HERE, "test-labels.npy"), np.ascontiguousarray(y_test, dtype="<i8"))
    np.save(os.path.join(HERE, "calib-images.npy"), np.ascontiguousarray(x_calib, dtype="<f4"))
    print(f"wrote outputs to {HERE} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
