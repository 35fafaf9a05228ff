"""The fused linear cross-entropy from Python, against an independent mpmath evaluation (50
digits; the values are transcendental, so one rounding to float64 of the 50-digit value is the
correctly rounded result)."""
from __future__ import annotations

import numpy as np
import pytest

import softmax_oracle as so

mpmath = pytest.importorskip("mpmath")
mpmath.mp.dps = 50


def reference(h, w, b, t, reduction="mean", z_loss=0.0):
    """Loss and the three gradients (mean over rows, no ignored rows), in mpmath."""
    n, d = h.shape
    v = w.shape[0]
    mp = mpmath.mpf
    z = [[sum(mp(h[i, k]) * mp(w[j, k]) for k in range(d)) + mp(b[j]) for j in range(v)] for i in range(n)]
    lse = [mpmath.log(sum(mpmath.exp(x) for x in row)) for row in z]
    rows = [lse[i] - z[i][t[i]] + mp(z_loss) * lse[i] ** 2 for i in range(n)]
    scale = 1 if reduction == "sum" else mp(1) / n
    g = [[scale * (mpmath.exp(z[i][j] - lse[i]) * (1 + 2 * mp(z_loss) * lse[i]) - (1 if j == t[i] else 0))
          for j in range(v)] for i in range(n)]
    loss = sum(rows) * scale
    gh = [[sum(g[i][j] * mp(w[j, k]) for j in range(v)) for k in range(d)] for i in range(n)]
    gw = [[sum(g[i][j] * mp(h[i, k]) for i in range(n)) for k in range(d)] for j in range(v)]
    gb = [sum(g[i][j] for i in range(n)) for j in range(v)]
    f = np.vectorize(float)
    return float(loss), f(np.array(gh, dtype=object)), f(np.array(gw, dtype=object)), f(np.array(gb, dtype=object))


@pytest.mark.parametrize("reduction,z_loss", [("mean", 0.0), ("sum", 1e-3)])
def test_against_mpmath(oracle, reduction, z_loss):
    rng = np.random.default_rng(12)
    h = rng.standard_normal((3, 5))
    w = rng.standard_normal((7, 5)) / 2
    b = rng.standard_normal(7)
    t = np.array([0, 6, 3])
    loss, gh, gw, gb = reference(h, w, b, t, reduction, z_loss)
    opts = dict(reduction=reduction, z_loss=z_loss, oracle=oracle)
    assert so.linear_cross_entropy(h, w, t, b, **opts) == loss
    np.testing.assert_array_equal(so.linear_cross_entropy_grad_hidden(h, w, t, b, **opts), gh)
    np.testing.assert_array_equal(so.linear_cross_entropy_grad_weight(h, w, t, b, **opts), gw)
    np.testing.assert_array_equal(so.linear_cross_entropy_grad_bias(h, w, t, b, **opts), gb)


def test_shapes_and_formats(oracle):
    h = np.ones((2, 3))
    w = np.arange(12.0).reshape(4, 3) / 10
    out = so.linear_cross_entropy(h, w, [1, -100], reduction="none", format="bf16", oracle=oracle)
    assert out.shape == (2,) and out[1] == 0
    assert so.linear_cross_entropy_grad_weight(h, w, [1, 2], grad_output=2.0, format="f32", oracle=oracle).shape == (4, 3)


def test_errors_name_the_field(oracle):
    with pytest.raises(ValueError, match="weight"):
        so.linear_cross_entropy(np.ones((2, 3)), np.ones((4, 2)), [0, 1], oracle=oracle)
    with pytest.raises(so.OracleRequestError, match="targets"):
        so.linear_cross_entropy(np.ones((2, 3)), np.ones((4, 3)), [0, 4], oracle=oracle)


def test_the_fused_functions_are_oracle_methods_too(oracle):
    # The Oracle docstring says every module-level function is also a method; the four fused
    # ones were not (AttributeError on oracle.linear_cross_entropy).
    h, w = [[0.5, -1.0]], [[1.0, 0.0], [0.0, 1.0]]
    for f in so.LINEAR_FUNCTIONS:
        assert np.array_equal(getattr(oracle, f)(h, w, [1]), getattr(so, f)(h, w, [1], oracle=oracle)), f
