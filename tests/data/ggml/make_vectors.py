#!/usr/bin/env python3
"""Reference vectors for kiln's llama.cpp block decoders (runtime/src/bfp/ggml.rs).

The blocks are made and decoded by the `gguf` Python package (llama.cpp's own
numpy port of its reference quantisers, bit-exact with ggml-quants.c), so the
Rust decoder is checked against an implementation it shares no code with.

Regenerate (from the repository root):

    python3 -m venv /tmp/ggvenv && /tmp/ggvenv/bin/pip install gguf numpy
    /tmp/ggvenv/bin/python tests/data/ggml/make_vectors.py

The committed files were made with gguf 0.19.0 and numpy 2.4.6. The output
depends only on the seed and numpy's PCG64 generator; the test
(tests/bfp_golden.rs) needs no Python.

Each output file, q8_0.bin and q4_0.bin, is little-endian:

    8 bytes   magic b"KLNGGML1"
    u32       ggml type id (8 = Q8_0, 2 = Q4_0)
    u32       n, the number of 32-element blocks
    n*32 f32  source values, given to gguf.quants.quantize
    n*S  u8   the blocks quantize returned (S = 34 for Q8_0, 18 for Q4_0)
    n*32 f32  gguf.quants.dequantize of those blocks
"""

import pathlib
import struct

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize

QK = 32
SEED = 20240611
OUT = pathlib.Path(__file__).resolve().parent


def source_blocks(rng: np.random.Generator) -> np.ndarray:
    """256 blocks of 32 values that reach every branch of the decoders."""
    blocks = []
    # Gaussian, scales over four decades (fp16 scales with every exponent).
    for _ in range(128):
        blocks.append(rng.standard_normal(QK) * 10.0 ** rng.uniform(-3, 1))
    # One outlier per block, 20-200x the rest.
    for _ in range(32):
        b = rng.standard_normal(QK) * 0.02
        b[rng.integers(QK)] *= rng.uniform(20, 200)
        blocks.append(b)
    # Tiny blocks: d = amax / 127 (or max / 8) is an fp16 subnormal.
    for _ in range(24):
        blocks.append(rng.standard_normal(QK) * 10.0 ** rng.uniform(-7, -3.5))
    # All-zero blocks (d = 0).
    for _ in range(8):
        blocks.append(np.zeros(QK))
    # Halfway cases: amax 127 gives d = 1, so x.5 codes test roundf.
    for _ in range(8):
        b = rng.integers(-126, 126, QK) + 0.5
        b[0] = 127.0
        blocks.append(b)
    # Equal magnitudes of both signs: Q4_0 takes the first as its max.
    for _ in range(8):
        b = rng.uniform(-1, 1, QK)
        i, j = rng.choice(QK, 2, replace=False)
        b[i], b[j] = -1.5, 1.5
        blocks.append(b)
    # Uniform and large values.
    for _ in range(48):
        blocks.append(rng.uniform(-1, 1, QK) * 10.0 ** rng.uniform(0, 4))
    data = np.array(blocks, dtype=np.float32)
    assert data.shape == (256, QK)
    return data


def write(name: str, qtype: GGMLQuantizationType, data: np.ndarray) -> None:
    q = quantize(data, qtype)
    back = dequantize(q, qtype).astype("<f4")
    assert q.dtype == np.uint8 and back.shape == data.shape
    header = b"KLNGGML1" + struct.pack("<II", int(qtype), data.shape[0])
    body = data.astype("<f4").tobytes() + q.tobytes() + back.tobytes()
    (OUT / name).write_bytes(header + body)
    print(f"{name}: {data.shape[0]} blocks, {len(header) + len(body)} bytes")


def main() -> None:
    data = source_blocks(np.random.default_rng(SEED))
    write("q8_0.bin", GGMLQuantizationType.Q8_0, data)
    write("q4_0.bin", GGMLQuantizationType.Q4_0, data)


if __name__ == "__main__":
    main()
