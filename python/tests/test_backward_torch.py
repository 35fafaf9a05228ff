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


def test_autograd_matches_the_oracle_within_a_few_ulps(oracle):
    x = [0.5, -1.25, 3.0, 0.0]
    dy = [1.0, -2.0, 0.25, 0.5]
    answers = run_adapter([{"id": f, "function": f, "format": "f64", "logits": x, "grad_output": dy}
                           for f in ("softmax_backward", "log_softmax_backward")])
    for a, f in zip(answers, (oracle.softmax_backward, oracle.log_softmax_backward)):
        got = [float.fromhex(v) for v in a["values"]]
        want = f(x, dy).tolist()
        assert all(abs(g - w) <= 8 * 2.0 ** -52 * max(abs(w), 1e-300) + 1e-300 for g, w in zip(got, want)), (a["id"], got, want)
