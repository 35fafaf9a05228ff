#!/usr/bin/env python3
"""Times SciPy's softmax and log_softmax on one row of K normal(0, 10) logits.

Prints one JSON object per measurement: {"function", "format", "k", "ns_per_element"}, the
median over repeats of (time.perf_counter() around `inner` calls) / inner / K. The input is
generated with NumPy (seeded): SciPy's speed does not depend on the values.

usage: python3 scipy_softmax.py [K] [repeats]
"""
import json
import sys
import time

import numpy as np
from scipy.special import log_softmax, softmax


def main() -> None:
    k = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    x64 = np.random.default_rng(0x5EED).normal(0.0, 10.0, k)
    for fmt, x in (("f64", x64), ("f32", x64.astype(np.float32))):
        for name, fn in (("softmax", softmax), ("log_softmax", log_softmax)):
            fn(x)  # warm up
            start = time.perf_counter()
            inner = 0
            while time.perf_counter() - start < 0.02:
                fn(x)
                inner += 1
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn(x)
                samples.append((time.perf_counter() - t0) / inner / k * 1e9)
            samples.sort()
            print(json.dumps({"function": name, "format": fmt, "k": k,
                              "ns_per_element": samples[len(samples) // 2]}))


if __name__ == "__main__":
    main()
