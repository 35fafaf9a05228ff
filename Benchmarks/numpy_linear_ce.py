"""NumPy float64 baseline for the fused linear cross-entropy (uncertified): the forward loss
(mean over rows) and the three gradients, from the inputs bench-linear dumps.

    python3 Benchmarks/numpy_linear_ce.py FILE N D V [REPEATS]

Prints the median wall time of (a) everything computed once, the logits shared (one matmul for
the logits, log-softmax, G, then G @ W, G.T @ H, G.sum(0)), and (b) the four outputs computed
separately (each recomputing the logits), as the oracle's four requests do.
"""
import sys
import time

import numpy as np


def main():
    path, n, d, v = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    raw = np.fromfile(path, dtype="<f8")
    h = raw[: n * d].reshape(n, d)
    w = raw[n * d : n * d + v * d].reshape(v, d)
    t = raw[n * d + v * d :].astype(np.int64)
    rows = np.arange(n)

    def grad_logits(z):
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        g = e / s
        g[rows, t] -= 1
        return g / n

    def loss(z):
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        return (lse - z[rows, t]).mean()

    def once():
        z = h @ w.T
        g = grad_logits(z)
        return loss(z), g @ w, g.T @ h, g.sum(axis=0)

    def separate():
        out = [loss(h @ w.T)]
        out.append(grad_logits(h @ w.T) @ w)
        out.append(grad_logits(h @ w.T).T @ h)
        out.append(grad_logits(h @ w.T).sum(axis=0))
        return out

    for name, f in (("numpy_once", once), ("numpy_separate", separate)):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        times.sort()
        print(f"{name} median_s {times[len(times) // 2]}")


if __name__ == "__main__":
    main()
