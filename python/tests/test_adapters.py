"""The adapters in Examples/adapters run as processes, as `softmax-oracle check --exec` runs them.
Expected values come from the oracle (certified) or from the definitions in docs/semantics.md;
the PyTorch adapters' tests are skipped, with the reason shown, when torch is not importable."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import softmax_oracle as so

ADAPTERS = Path(__file__).resolve().parents[2] / "Examples" / "adapters"


def run_adapter(name: str, requests: list[dict]) -> list[dict]:
    """Each request's answer line, from one run of Examples/adapters/`name`."""
    lines = "".join(json.dumps({"id": i, **r}) + "\n" for i, r in enumerate(requests))
    out = subprocess.run([sys.executable, str(ADAPTERS / name)], input=lines, capture_output=True,
                         text=True, timeout=300, check=True)
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["id"] for a in answers] == list(range(len(requests))), out.stdout + out.stderr
    return answers


def values(answer: dict) -> list[float]:
    assert "values" in answer, answer
    return [float.fromhex(v) if v.startswith(("0x", "-0x")) else float(v) for v in answer["values"]]


SOFTCAPPED = {"function": "cross_entropy", "format": "f64", "logits": ["0x0p+0", "0x1p+9"], "target": 0,
              "softcap": "0x1.4p+2"}


# Found by running torch_nn.py under `check`: it answered soft-capped, z-loss and temperature
# requests with the plain cross-entropy (5.7e17 ulp), ignoring the fields it does not implement.
@pytest.mark.parametrize("option", [{"softcap": "0x1.4p+2"}, {"z_loss": "0x1p-4"}, {"temperature": "0x1p+1"}])
def test_an_adapter_refuses_a_loss_option_it_does_not_implement(option):
    req = {"function": "cross_entropy", "format": "f64", "logits": ["0x0p+0", "0x1p+9"], "target": 0, **option}
    (a,) = run_adapter("numpy_textbook.py", [req])
    assert "values" not in a and next(iter(option)) in a["error"], a


def test_neutral_loss_options_are_not_refused():
    req = {"function": "cross_entropy", "format": "f64", "logits": ["0x0p+0", "0x1p+1"], "target": 0,
           "z_loss": "0x0p+0", "temperature": "0x1p+0"}
    (a,) = run_adapter("numpy_textbook.py", [req])
    assert "values" in a, a


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: the PyTorch adapters are not run")


def test_torch_nn_refuses_softcap(torch):
    (a,) = run_adapter("torch_nn.py", [SOFTCAPPED])
    assert "softcap" in a.get("error", ""), a


def test_torch_nn_has_the_batch_loss_backward_by_autograd(torch, oracle):
    # Plain PyTorch: ignored rows get gradient 0 when their logits are finite.
    batch = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0], [2.0, 2.0, 2.0]]
    req = {"function": "cross_entropy_loss_backward", "format": "f64", "batch": [[x.hex() for x in r] for r in batch],
           "targets": [2, -100, 0], "reduction": "mean", "grad_output": [(0.5).hex()]}
    (a,) = run_adapter("torch_nn.py", [req])
    want = oracle.cross_entropy_loss_backward(batch, [2, -100, 0], grad_output=0.5).reshape(-1).tolist()
    got = values(a)
    # float64 autograd, entries of size <= 1: within 16 units of 2^-53 of each (a few roundings).
    assert all(abs(g - w) <= 16 * 2.0 ** -53 for g, w in zip(got, want)), (got, want)
    assert got[3:6] == [0.0, 0.0, 0.0]


# Found by running torch_liger_losses.py under `check`: an ignored row holding NaN or +inf got a
# NaN gradient (autograd through torch.where's unselected branch: 0 · NaN), where Liger's kernel
# skips the row and writes 0, and the exact gradient is +0 (docs/semantics.md).
@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_liger_adapter_gives_ignored_rows_a_zero_gradient(torch, bad):
    req = {"function": "cross_entropy_loss_backward", "format": "f32", "batch": [[bad, "0x1p+0"], ["0x1p+0", "0x0p+0"]],
           "targets": [-100, 0], "z_loss": "0x1p-4", "softcap": "0x1p+3", "reduction": "mean"}
    (a,) = run_adapter("torch_liger_losses.py", [req])
    got = values(a)
    assert got[:2] == [0.0, 0.0], got
    assert all(v == v for v in got[2:]), got


def test_liger_adapter_loss_follows_liger_conventions(torch, oracle):
    # mean: Σ CE / Σ w[y] + Σ z_loss·lse² / N_kept, z-loss unweighted, ignored rows left out.
    batch = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0], [float("inf"), 0.0, 0.0]]
    req = {"function": "cross_entropy_loss", "format": "f64", "batch": [[x.hex() for x in r] for r in batch],
           "targets": [2, 0, -100], "weight": [(0.5).hex(), (2.0).hex(), (1.0).hex()], "softcap": (3.0).hex(),
           "z_loss": (0.125).hex()}
    (a,) = run_adapter("torch_liger_losses.py", [req])
    (got,) = values(a)
    want = float(oracle.cross_entropy_loss(batch, [2, 0, -100], weight=[0.5, 2.0, 1.0], softcap=3.0, z_loss=0.125))
    assert abs(got - want) <= 32 * 2.0 ** -52 * abs(want), (got, want)


def test_liger_adapter_computes_half_precision_in_float32(torch):
    # Liger loads 16-bit logits and casts them to fp32 (`.cast(tl.float32)`) before the soft-cap
    # and the softmax, then stores the loss in the input's dtype: one rounding to bf16 at the end.
    x = [(1.0 + k / 8).hex() for k in range(6)]
    req = {"function": "cross_entropy", "format": "bf16", "logits": x, "target": 0, "softcap": (2.0).hex()}
    (a,) = run_adapter("torch_liger_losses.py", [req])
    (got,) = values(a)
    t = torch.tensor([float.fromhex(v) for v in x], dtype=torch.bfloat16).to(torch.float32)
    z = 2.0 * torch.tanh(t / 2.0)
    want = (torch.logsumexp(z, 0) - z[0]).to(torch.bfloat16).item()
    assert got == want, (got, want)


def test_linear_ce_adapter_answers_each_function(torch, oracle):
    h = [[0.5, -1.0], [2.0, 0.25]]
    w = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    common = {"format": "f64", "hidden": [[x.hex() for x in r] for r in h], "weight": [[x.hex() for x in r] for r in w],
              "targets": [2, 0], "z_loss": (0.0625).hex(), "softcap": (4.0).hex()}
    functions = ["linear_cross_entropy", "linear_cross_entropy_grad_hidden", "linear_cross_entropy_grad_weight",
                 "linear_cross_entropy_grad_bias"]
    answers = run_adapter("torch_linear_ce.py", [{"function": f, **common} for f in functions])
    for f, a in zip(functions, answers):
        want = getattr(so, f)(h, w, [2, 0], z_loss=0.0625, softcap=4.0, oracle=oracle).reshape(-1).tolist()
        got = values(a)
        assert len(got) == len(want) and all(abs(g - v) <= 64 * 2.0 ** -53 * max(1.0, abs(v)) for g, v in zip(got, want)), (f, got, want)


def test_all_ignored_mean_liger_gives_zero_textbook_gives_nan(torch):
    # Liger divides each kept row's loss before summing (a sum of no rows: 0); PyTorch's mean and
    # the oracle divide sums, 0/0 = NaN (docs/semantics.md).
    (liger,) = run_adapter("torch_liger_losses.py", [
        {"function": "cross_entropy_loss", "format": "f32", "batch": [["0x1p+0", "0x0p+0"]], "targets": [-100],
         "z_loss": "0x1p-4"}])
    assert values(liger) == [0.0]
    (textbook,) = run_adapter("torch_linear_ce.py", [
        {"function": "linear_cross_entropy", "format": "f32", "hidden": [["0x1p+0"]], "weight": [["0x1p+0"], ["0x0p+0"]],
         "targets": [-100], "z_loss": "0x1p-4"}])
    assert all(v != v for v in values(textbook)), textbook
