#!/usr/bin/env python3
"""Times SciPy's softmax and log_softmax on one row of K normal(0, 10) logits, and on a batch.

Prints first one JSON object describing the libraries ({"numpy", "scipy", "simd_baseline",
"simd_found"}: the SIMD extensions NumPy was compiled for and those it found and dispatches to
on this CPU), then one per measurement: {"function", "format", "k", "rows", "ns_per_element"},
the median over repeats of (time around `inner` calls) / inner / (rows·K). A batch is one call
on a (rows, K) array with axis=-1, as a batch of logits is given to SciPy. The input is
generated with NumPy (seeded): SciPy's speed does not depend on the values.

usage: python3 scipy_softmax.py [K] [repeats]                    (one row; wall-clock time)
       python3 scipy_softmax.py --k K --batch ROWS --repeats N    (a row and a batch; CPU time)

The second form times with time.process_time (this process's CPU time, as kernel-bench does
for the Swift side), so that other work on a shared machine does not inflate the numbers.
"""
import argparse
import json
import time

import numpy as np
import scipy
from scipy.special import log_softmax, softmax


def simd_levels() -> dict:
    """NumPy's compiled-in SIMD baseline and the dispatched extensions this CPU supports."""
    try:
        from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
    found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    return {"numpy": np.__version__, "scipy": scipy.__version__,
            "simd_baseline": " ".join(__cpu_baseline__), "simd_found": " ".join(found)}


def measure(fn, x, repeats: int, clock) -> float:
    """Median seconds per call of fn(x) over `repeats` samples of at least 20 ms each."""
    fn(x)  # warm up
    start = clock()
    inner = 0
    while clock() - start < 0.02:
        fn(x)
        inner += 1
    samples = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(inner):
            fn(x)
        samples.append((clock() - t0) / inner)
    samples.sort()
    return samples[len(samples) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("legacy", nargs="*", type=int, help="K and repeats (one row, wall-clock)")
    parser.add_argument("--k", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=0, help="also a batch of this many rows")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    k, repeats, clock = args.k, args.repeats, time.process_time
    if args.legacy:
        k = args.legacy[0]
        repeats = args.legacy[1] if len(args.legacy) > 1 else 15
        clock = time.perf_counter
    if args.batch:
        print(json.dumps(simd_levels()))
    rows_list = [1] + ([args.batch] if args.batch else [])
    x64 = np.random.default_rng(0x5EED).normal(0.0, 10.0, max(rows_list) * k)
    for fmt, dtype in (("f64", np.float64), ("f32", np.float32)):
        for rows in rows_list:
            x = x64[: rows * k].astype(dtype)
            x = x if rows == 1 else x.reshape(rows, k)
            for name, fn in (("softmax", softmax), ("log_softmax", log_softmax)):
                t = measure(lambda v: fn(v, axis=-1), x, repeats, clock)
                print(json.dumps({"function": name, "format": fmt, "k": k, "rows": rows,
                                  "ns_per_element": t / (rows * k) * 1e9}))


if __name__ == "__main__":
    main()
