"""The PyTorch adapter's backward passes (Examples/adapters/torch_nn.py, autograd) as a process,
scored by the oracle: skipped, with the reason shown, when torch is not installed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the PyTorch adapter's backward passes are not checked")

ADAPTER = Path(__file__).resolve().parents[2] / "Examples" / "adapters" / "torch_nn.py"


def run_adapter(requests):
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run([sys.executable, str(ADAPTER)], input=lines, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


# The bound: autograd computes y ⊙ (dy − Σ dy·y) and dy − exp(log_softmax)·Σ dy in float64 (u =
# 2^-53), with y and log_softmax from torch's max-shifted softmax, whose relative (resp.
# absolute) error here is at most δ ≤ (max|x − m| + K + 2)·u ≈ 10.3u (the shift's rounding scaled
# by |x − m| ≤ 4.25 in exp, K terms summed, one division or log). Rounding each step once more:
#   softmax_backward      |error_i| ≤ (2δ + (K + 3)u) · y_i · (|dy_i| + Σ_j |dy_j|·y_j)
#   log_softmax_backward  |error_i| ≤ (δ + (K + 4)u) · (|dy_i| + y_i · Σ_j |dy_j|)
# both under 32u times the bracket. A bound relative to each output would be wrong: dy_i − Σ dy·y
# cancels (it did here: 10 ulp of -0.0319, found when torch first ran in this test).
def test_autograd_matches_the_oracle_within_the_formulas_error_bound(oracle):
    x = [0.5, -1.25, 3.0, 0.0]
    dy = [1.0, -2.0, 0.25, 0.5]
    answers = run_adapter([{"id": f, "function": f, "format": "f64", "logits": x, "grad_output": dy}
                           for f in ("softmax_backward", "log_softmax_backward")])
    y = oracle.softmax(x).tolist()
    scale = {
        "softmax_backward": [yi * (abs(di) + sum(abs(d) * yj for d, yj in zip(dy, y))) for yi, di in zip(y, dy)],
        "log_softmax_backward": [abs(di) + yi * sum(abs(d) for d in dy) for yi, di in zip(y, dy)],
    }
    for a, f in zip(answers, (oracle.softmax_backward, oracle.log_softmax_backward)):
        got = [float.fromhex(v) for v in a["values"]]
        want = f(x, dy).tolist()
        bound = [32 * 2.0 ** -53 * s for s in scale[a["id"]]]
        assert all(abs(g - w) <= b for g, w, b in zip(got, want, bound)), (a["id"], got, want, bound)
