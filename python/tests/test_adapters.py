"""The adapters in Examples/adapters run as processes, as `softmax-oracle check --exec` runs them.
Expected values come from the oracle (certified), from the definitions in docs/semantics.md, or
from torch itself where the test is about which formula an adapter runs. Every request of every
test is sent to its adapter in one run (importing torch takes seconds), the first time a test
asks; the PyTorch adapters' tests are skipped, with the reason shown, when torch is not importable."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import softmax_oracle as so

ADAPTERS = Path(__file__).resolve().parents[2] / "Examples" / "adapters"


def hexes(rows):
    """Exact hex-float strings of a float or (nested) list of floats."""
    return [hexes(r) for r in rows] if isinstance(rows, list) else float(rows).hex()


# The backward passes' inputs (torch_nn.py, f64).
X, DY = [0.5, -1.25, 3.0, 0.0], [1.0, -2.0, 0.25, 0.5]
BATCH = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0], [2.0, 2.0, 2.0]]
LIGER_BATCH = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0], [float("inf"), 0.0, 0.0]]
# bf16 logits whose soft-capped loss differs computed in bf16 throughout (0.5234375) and in fp32
# rounded once (0.51953125).
HALF_X = [float.fromhex(v) for v in ("0x1.28p+2", "-0x1.c2p-1", "-0x1.a2p+2", "0x1.b4p+0", "-0x1.ap+1", "-0x1.0cp+2")]
H, W = [[0.5, -1.0], [2.0, 0.25]], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
LINEAR = ["linear_cross_entropy", "linear_cross_entropy_grad_hidden", "linear_cross_entropy_grad_weight",
          "linear_cross_entropy_grad_bias"]
OPTIONS = [{"softcap": "0x1.4p+2"}, {"z_loss": "0x1p-4"}, {"temperature": "0x1p+1"}]

#: adapter → request name → request. Names are unique per adapter.
REQUESTS: dict[str, dict[str, dict]] = {
    "numpy_textbook.py": {
        **{f"option {next(iter(o))}": {"function": "cross_entropy", "format": "f64", "logits": ["0x0p+0", "0x1p+9"],
                                        "target": 0, **o} for o in OPTIONS},
        "neutral options": {"function": "cross_entropy", "format": "f64", "logits": ["0x0p+0", "0x1p+1"], "target": 0,
                            "z_loss": "0x0p+0", "temperature": "0x1p+0"},
    },
    "torch_nn.py": {
        "softcap": {"function": "cross_entropy", "format": "f64", "logits": ["0x0p+0", "0x1p+9"], "target": 0,
                    "softcap": "0x1.4p+2"},
        "batch backward": {"function": "cross_entropy_loss_backward", "format": "f64", "batch": hexes(BATCH),
                           "targets": [2, -100, 0], "reduction": "mean", "grad_output": [(0.5).hex()]},
        **{f: {"function": f, "format": "f64", "logits": hexes(X), "grad_output": hexes(DY)}
           for f in ("softmax_backward", "log_softmax_backward")},
    },
    "torch_liger_losses.py": {
        **{f"ignored {bad}": {"function": "cross_entropy_loss_backward", "format": "f32",
                              "batch": [[bad, "0x1p+0"], ["0x1p+0", "0x0p+0"]], "targets": [-100, 0],
                              "z_loss": "0x1p-4", "softcap": "0x1p+3", "reduction": "mean"} for bad in ("nan", "inf")},
        "conventions": {"function": "cross_entropy_loss", "format": "f64", "batch": hexes(LIGER_BATCH),
                        "targets": [2, 0, -100], "weight": hexes([0.5, 2.0, 1.0]), "softcap": (3.0).hex(),
                        "z_loss": (0.125).hex()},
        "half": {"function": "cross_entropy", "format": "bf16", "logits": hexes(HALF_X), "target": 0,
                 "softcap": (2.0).hex()},
        "all ignored": {"function": "cross_entropy_loss", "format": "f32", "batch": [["0x1p+0", "0x0p+0"]],
                        "targets": [-100], "z_loss": "0x1p-4"},
    },
    "torch_linear_ce.py": {
        **{f: {"function": f, "format": "f64", "hidden": hexes(H), "weight": hexes(W), "targets": [2, 0],
               "z_loss": (0.0625).hex(), "softcap": (4.0).hex()} for f in LINEAR},
        "all ignored": {"function": "linear_cross_entropy", "format": "f32", "hidden": [["0x1p+0"]],
                        "weight": [["0x1p+0"], ["0x0p+0"]], "targets": [-100], "z_loss": "0x1p-4"},
    },
}

_answers: dict[str, dict[str, dict]] = {}


def answer(adapter: str, name: str) -> dict:
    """The answer line of REQUESTS[adapter][name], from one run of the adapter for all its requests."""
    if adapter not in _answers:
        names = list(REQUESTS[adapter])
        lines = "".join(json.dumps({"id": i, **REQUESTS[adapter][n]}) + "\n" for i, n in enumerate(names))
        out = subprocess.run([sys.executable, str(ADAPTERS / adapter)], input=lines, capture_output=True,
                             text=True, timeout=600, check=True)
        got = [json.loads(line) for line in out.stdout.splitlines()]
        assert [a["id"] for a in got] == list(range(len(names))), out.stdout + out.stderr
        _answers[adapter] = dict(zip(names, got))
    return _answers[adapter][name]


def values(a: dict) -> list[float]:
    assert "values" in a, a
    return [so.read_float(v) for v in a["values"]]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: the PyTorch adapters are not run")


# Found by running torch_nn.py under `check`: it answered soft-capped, z-loss and temperature
# requests with the plain cross-entropy (5.7e17 ulp), ignoring the fields it does not implement.
@pytest.mark.parametrize("option", [next(iter(o)) for o in OPTIONS])
def test_an_adapter_refuses_a_loss_option_it_does_not_implement(option):
    a = answer("numpy_textbook.py", f"option {option}")
    assert "values" not in a and option in a["error"], a


def test_neutral_loss_options_are_not_refused():
    values(answer("numpy_textbook.py", "neutral options"))


def test_torch_nn_refuses_softcap(torch):
    a = answer("torch_nn.py", "softcap")
    assert "softcap" in a.get("error", ""), a


def test_torch_nn_has_the_batch_loss_backward_by_autograd(torch, oracle):
    want = oracle.cross_entropy_loss_backward(BATCH, [2, -100, 0], grad_output=0.5).reshape(-1).tolist()
    got = values(answer("torch_nn.py", "batch backward"))
    # float64 autograd, entries of size <= 1: within 16 units of 2^-53 of each (a few roundings).
    assert all(abs(g - w) <= 16 * 2.0 ** -53 for g, w in zip(got, want)), (got, want)
    assert got[3:6] == [0.0, 0.0, 0.0]


# The bound: autograd computes y ⊙ (dy − Σ dy·y) and dy − exp(log_softmax)·Σ dy in float64 (u =
# 2^-53), with y and log_softmax from torch's max-shifted softmax, whose relative (resp.
# absolute) error here is at most δ ≤ (max|x − m| + K + 2)·u ≈ 10.3u (the shift's rounding scaled
# by |x − m| ≤ 4.25 in exp, K terms summed, one division or log). Rounding each step once more:
#   softmax_backward      |error_i| ≤ (2δ + (K + 3)u) · y_i · (|dy_i| + Σ_j |dy_j|·y_j)
#   log_softmax_backward  |error_i| ≤ (δ + (K + 4)u) · (|dy_i| + y_i · Σ_j |dy_j|)
# both under 32u times the bracket. A bound relative to each output would be wrong: dy_i − Σ dy·y
# cancels (it did: 10 ulp of -0.0319, when torch first ran the test that claimed 8 ulp per output).
@pytest.mark.parametrize("function", ["softmax_backward", "log_softmax_backward"])
def test_autograd_backward_within_the_formulas_error_bound(torch, oracle, function):
    y = oracle.softmax(X).tolist()
    s = sum(abs(d) * yj for d, yj in zip(DY, y)) if function == "softmax_backward" else sum(abs(d) for d in DY)
    scale = [yi * (abs(di) + s) if function == "softmax_backward" else abs(di) + yi * s for yi, di in zip(y, DY)]
    got = values(answer("torch_nn.py", function))
    want = getattr(oracle, function)(X, DY).tolist()
    assert all(abs(g - w) <= 32 * 2.0 ** -53 * b for g, w, b in zip(got, want, scale)), (got, want)


# Found by running torch_liger_losses.py under `check`: an ignored row holding NaN got a NaN
# gradient (autograd through torch.where's unselected branch: 0 · NaN), where Liger's kernel
# skips the row and writes 0, and the exact gradient is +0 (docs/semantics.md).
@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_liger_adapter_gives_ignored_rows_a_zero_gradient(torch, bad):
    got = values(answer("torch_liger_losses.py", f"ignored {bad}"))
    assert got[:2] == [0.0, 0.0] and all(v == v for v in got[2:]), got


def test_liger_adapter_loss_follows_liger_conventions(torch, oracle):
    # mean: Σ CE / Σ w[y] + Σ z_loss·lse² / N_kept, z-loss unweighted, ignored rows left out.
    (got,) = values(answer("torch_liger_losses.py", "conventions"))
    want = float(oracle.cross_entropy_loss(LIGER_BATCH, [2, 0, -100], weight=[0.5, 2.0, 1.0], softcap=3.0, z_loss=0.125))
    assert abs(got - want) <= 32 * 2.0 ** -52 * abs(want), (got, want)


def test_liger_adapter_computes_half_precision_in_float32(torch):
    # Liger loads 16-bit logits and casts them to fp32 (`.cast(tl.float32)`) before the soft-cap
    # and the softmax, then stores the loss in the input's dtype: one rounding to bf16 at the end.
    (got,) = values(answer("torch_liger_losses.py", "half"))
    z = 2.0 * torch.tanh(torch.tensor(HALF_X, dtype=torch.bfloat16).to(torch.float32) / 2.0)
    assert got == (torch.logsumexp(z, 0) - z[0]).to(torch.bfloat16).item() == 0.51953125, got


def test_all_ignored_mean_liger_gives_zero_textbook_gives_nan(torch):
    # Liger divides each kept row's loss before summing (a sum of no rows: 0); PyTorch's mean and
    # the oracle divide sums, 0/0 = NaN (docs/semantics.md).
    assert values(answer("torch_liger_losses.py", "all ignored")) == [0.0]
    assert all(v != v for v in values(answer("torch_linear_ce.py", "all ignored")))


@pytest.mark.parametrize("function", LINEAR)
def test_linear_ce_adapter_answers_each_function(torch, oracle, function):
    want = getattr(so, function)(H, W, [2, 0], z_loss=0.0625, softcap=4.0, oracle=oracle).reshape(-1).tolist()
    got = values(answer("torch_linear_ce.py", function))
    assert len(got) == len(want), (got, want)
    assert all(abs(g - v) <= 64 * 2.0 ** -53 * max(1.0, abs(v)) for g, v in zip(got, want)), (got, want)
