"""The loss options (softcap, z_loss, temperature) and cross_entropy_loss_backward against
mpmath at 300 digits (the textbook formulas, naive), and torch autograd when torch is installed
(skipped, with the reason shown, when it is not)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import softmax_oracle as so

mpmath = pytest.importorskip("mpmath")
mp = mpmath.mp
mp.dps = 300

REPO = Path(__file__).resolve().parents[2]


def z_of(row, softcap=None, temperature=None):
    z = [mpmath.mpf(float(v)) / mpmath.mpf(temperature if temperature is not None else 1) for v in row]
    if softcap is not None:
        c = mpmath.mpf(softcap)
        z = [c * mpmath.tanh(v / c) for v in z]
    return z


def slope(v, softcap=None, temperature=None):
    t = mpmath.mpf(temperature if temperature is not None else 1)
    if softcap is None:
        return 1 / t
    return (1 - mpmath.tanh(mpmath.mpf(float(v)) / t / softcap) ** 2) / t


def lse(z):
    return mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z))


def row_loss(row, t, z_loss=0.0, **opt):
    z = z_of(row, **opt)
    s = lse(z)
    return s - z[t] + mpmath.mpf(z_loss) * s * s


def backward(batch, targets, grad_output, reduction="mean", weight=None, z_loss=0.0, **opt):
    kept = [t for t in targets if t != -100]
    wsum = mpmath.fsum(mpmath.mpf(weight[t]) if weight else 1 for t in kept)
    out = []
    for i, (row, t) in enumerate(zip(batch, targets)):
        if t == -100:
            out.append([0.0] * len(row))
            continue
        go = mpmath.mpf(grad_output[i] if reduction == "none" else grad_output[0])
        ce_scale = go / wsum if reduction == "mean" else go
        z_scale = go / len(kept) if reduction == "mean" else go
        w = mpmath.mpf(weight[t]) if weight else 1
        z = z_of(row, **opt)
        s = lse(z)
        g = []
        for j, v in enumerate(row):
            sm = mpmath.exp(z[j] - s)
            d = (w * sm - (w if j == t else 0)) * ce_scale + 2 * mpmath.mpf(z_loss) * s * sm * z_scale
            g.append(float(d * slope(v, **opt)))
        out.append(g)
    return np.array(out)


def test_softcap_and_z_loss_match_mpmath(oracle):
    x = [1.5, -0.25, 3.0, 40.0]
    for opt in ({"softcap": 30.0}, {"softcap": 2.0, "z_loss": 1e-4}, {"temperature": 0.7, "z_loss": 0.5},
                {"softcap": 5.0, "temperature": 2.0}):
        got = float(oracle.cross_entropy(x, target=1, **opt))
        assert got == float(row_loss(x, 1, **opt)), opt


def test_z_loss_equal_logits(oracle):
    # K equal logits m: CE = log K, lse = m + log K.
    for k in (2, 3, 8):
        want = mpmath.log(k) + mpmath.mpf(0.25) * (mpmath.mpf(0.5) + mpmath.log(k)) ** 2
        assert float(oracle.cross_entropy([0.5] * k, target=0, z_loss=0.25)) == float(want)


def test_temperature_one_is_identity(oracle):
    x = np.array([[1.5, -0.25, 3.0], [0.0, 1e-3, -7.0]])
    assert np.array_equal(oracle.cross_entropy_grad(x, target=[0, 2], temperature=1.0),
                          oracle.cross_entropy_grad(x, target=[0, 2]))


def test_batch_loss_mean_divides_z_loss_by_kept_rows(oracle):
    batch = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0], [4.0, 4.0, 4.0]]
    targets = [2, -100, 0]
    w = [0.5, 2.0, 3.0]
    got = float(oracle.cross_entropy_loss(batch, targets, weight=w, softcap=3.0, z_loss=0.125))
    ce = [mpmath.mpf(w[t]) * row_loss(r, t, softcap=3.0) for r, t in zip(batch, targets) if t != -100]
    zl = [mpmath.mpf(0.125) * lse(z_of(r, softcap=3.0)) ** 2 for r, t in zip(batch, targets) if t != -100]
    want = mpmath.fsum(ce) / (w[2] + w[0]) + mpmath.fsum(zl) / 2
    assert got == float(want)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_backward_matches_mpmath(oracle, reduction):
    batch = [[1.5, -0.25, 3.0], [0.5, 0.5, -2.0], [40.0, -35.0, 2.0]]
    targets = [0, -100, 1]
    go = [1.0, -0.5, 0.125] if reduction == "none" else [0.75]
    opt = {"softcap": 4.0, "temperature": 1.25, "z_loss": 0.03125}
    got = oracle.cross_entropy_loss_backward(batch, targets, grad_output=go if reduction == "none" else go[0],
                                             reduction=reduction, weight=[0.5, 2.0, 3.0], **opt)
    assert got.shape == (3, 3)
    want = backward(batch, targets, go, reduction, weight=[0.5, 2.0, 3.0], **opt)
    assert np.array_equal(got, want)
    assert got[1].tolist() == [0.0, 0.0, 0.0] and not np.signbit(got[1]).any()


def test_all_rows_ignored(oracle):
    g = oracle.cross_entropy_loss_backward([[1.0, 2.0], [3.0, 4.0]], [-100, -100], z_loss=1.0)
    assert g.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert np.isnan(oracle.cross_entropy_loss([[1.0, 2.0], [3.0, 4.0]], [-100, -100]))


def test_bad_options_name_the_field(oracle):
    with pytest.raises(so.OracleRequestError, match="softcap"):
        oracle.cross_entropy([1.0, 2.0], target=0, softcap=0.0)
    with pytest.raises(so.OracleRequestError, match="z_loss"):
        oracle.cross_entropy_loss([[1.0, 2.0]], [0], z_loss=-1.0)
    with pytest.raises(so.OracleRequestError, match="temperature"):
        oracle.cross_entropy_grad([1.0, 2.0], target=0, temperature=-2.0)
    with pytest.raises(ValueError, match="grad_output"):
        oracle.cross_entropy_loss_backward([[1.0, 2.0], [3.0, 4.0]], [0, 1], grad_output=[1.0], reduction="none")
    with pytest.raises(TypeError):
        oracle.cross_entropy([1.0, 2.0], target=0, softcapp=3.0)


def test_torch_autograd_agrees(oracle):
    torch = pytest.importorskip("torch", reason="torch is not installed: the autograd comparison is skipped")
    F = torch.nn.functional
    x = torch.tensor([[1.5, -0.25, 3.0], [0.5, 0.5, -2.0], [40.0, -35.0, 2.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0, -100, 1])
    c, coef = 4.0, 0.03125
    z = c * torch.tanh(x / c)
    ce = F.cross_entropy(z, t, reduction="none")
    lse = torch.logsumexp(z, -1)
    kept = t != -100
    loss = ce.sum() / kept.sum() + (coef * lse * lse * kept).sum() / kept.sum()
    loss.backward()
    want = oracle.cross_entropy_loss_backward(x.detach().numpy(), t.numpy(), softcap=c, z_loss=coef)
    # float64 autograd: a few rounding errors per entry, far below 1e-12 relative to the row's scale.
    assert np.allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-15)


def test_fixture_cases_with_options_round_trip(oracle, binary, tmp_path):
    out = tmp_path / "fx"
    subprocess.run([binary, "fixtures", "generate", "--out", str(out), "--cases", "2", "--format", "f32",
                    "--function", "cross_entropy_loss_backward", "--function", "cross_entropy",
                    "--family", "softcap_saturation", "--family", "z_loss_dominant", "--family", "all_ignored"],
                   check=True, capture_output=True)
    seen = set()
    for name in ("cross_entropy_loss_backward.f32.jsonl", "cross_entropy.f32.jsonl"):
        for case in so.load_fixture(out / name):
            seen.update(k for k in ("softcap", "z_loss", "temperature", "grad_output") if k in case.inputs)
            fn = getattr(oracle, case.function)
            got = fn(**case.kwargs(), format=case.format)
            assert np.array_equal(np.asarray(got, dtype=np.float64).reshape(-1), case.expected_float64(), equal_nan=True), case.id
    assert {"softcap", "z_loss", "grad_output"} <= seen
