#!/usr/bin/env python3
"""Issue 11's Python target, measured in one run: log_softmax into f32 of 8 x 128 000 logits
normal(0, 5) through the Python package (arrays in, arrays out, one warm oracle process), against
the plain 128-bit MPFR softmax loop in C (Benchmarks/Sources/CMPFRLoop/mpfr_loop.c, loaded with
ctypes) on the same 1 024 000 logits.

Prints one line per transport with the medians (wall clock, interleaved samples) and the ratio
C loop / Python (higher is better; the target is at least 15).

usage: python3 python_end_to_end.py LIBMPFRLOOP.so [samples]   (scripts/bench-python.sh builds it)
"""
import ctypes
import statistics
import sys
import time

import numpy as np

import softmax_oracle as so


def main() -> None:
    lib = ctypes.CDLL(sys.argv[1])
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    lib.mpfr_loop_softmax.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
    lib.mpfr_loop_version.restype = ctypes.c_char_p
    n, k = 8, 128_000
    x = np.random.default_rng(0x5EED).normal(0.0, 5.0, (n, k))
    out = np.empty(k)

    def c_loop() -> None:
        for row in x:
            lib.mpfr_loop_softmax(row.ctypes.data, out.ctypes.data, k, 128)

    oracles = {"binary": so.Oracle(), "jsonl": so.Oracle(transport=so.JsonLinesTransport())}
    expected = None
    for o in oracles.values():  # warm up: start the process, check both transports agree
        r = o.log_softmax(x, format="f32")
        assert r.shape == x.shape and r.dtype == np.float32
        assert expected is None or np.array_equal(r.view(np.uint32), expected.view(np.uint32))
        expected = r
    times: dict[str, list[float]] = {"C loop": [], **{name: [] for name in oracles}}
    for _ in range(samples):
        for name, fn in [("C loop", c_loop)] + [(t, (lambda o=o: o.log_softmax(x, format="f32")))
                                                 for t, o in oracles.items()]:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    c = statistics.median(times["C loop"])
    print(f"MPFR {lib.mpfr_loop_version().decode()}, {n} x {k} logits normal(0, 5), {samples} samples, medians:")
    print(f"  C loop (128-bit MPFR softmax): {c * 1e3:9.1f} ms")
    for name in oracles:
        t = statistics.median(times[name])
        print(f"  Python log_softmax f32, {name:6}: {t * 1e3:9.1f} ms   C loop / Python = {c / t:5.1f}x")
    for o in oracles.values():
        o.close()


if __name__ == "__main__":
    main()
