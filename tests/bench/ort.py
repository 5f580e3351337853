"""onnxruntime's f32 inferences per second on one thread, best of ROUNDS
passes over the samples of INPUTS (.npy, one sample per entry along axis 0):
the optional peer column of docs/benchmarks.md.

    ort.py MODEL INPUTS ROUNDS   prints {"per_second": ...} as JSON
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    model, inputs, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    samples = np.load(inputs)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for x in samples:
            session.run(None, {name: x})
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"per_second": len(samples) / best, "version": ort.__version__}))


if __name__ == "__main__":
    main()
