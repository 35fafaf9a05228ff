"""softmax_backward and log_softmax_backward against values derived independently: exact
rationals (fractions.Fraction) where the result is rational, mpmath at 300 digits otherwise."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import softmax_oracle as so

mpmath = pytest.importorskip("mpmath")


def reference(x, dy, log):
    """The textbook formula at 300 digits, rounded to the nearest float64 (no cancellation here
    deeper than 250 digits, so this is the correctly rounded value)."""
    with mpmath.workdps(300):
        e = [mpmath.exp(mpmath.mpf(v)) for v in x]
        s = mpmath.fsum(e)
        y = [v / s for v in e]
        if log:
            g = mpmath.fsum(mpmath.mpf(v) for v in dy)
            out = [mpmath.mpf(d) - yi * g for d, yi in zip(dy, y)]
        else:
            dot = mpmath.fsum(mpmath.mpf(d) * yi for d, yi in zip(dy, y))
            out = [yi * (mpmath.mpf(d) - dot) for d, yi in zip(dy, y)]
        return [float(v) for v in out]


def test_equal_logits_are_exact_rationals(oracle):
    # y = 1/4: dx = (dy - <dy, y>)/4 and dy - sum(dy)/4, exactly.
    dy = [1.0, 0.0, 0.0, 0.0]
    want = [float(Fraction(1, 4) * (Fraction(d) - Fraction(1, 4))) for d in dy]
    assert oracle.softmax_backward([3.0] * 4, dy).tolist() == want
    want = [float(Fraction(d) - Fraction(1, 4)) for d in dy]
    assert oracle.log_softmax_backward([3.0] * 4, dy).tolist() == want


def test_constant_grad_output_gives_exact_zeros(oracle):
    out = oracle.softmax_backward([0.1, 5.0, -300.0], [7.5, 7.5, 7.5], format="f32")
    assert out.dtype == np.float32 and out.tolist() == [0.0, 0.0, 0.0]
    assert not np.signbit(out).any()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_rows_match_mpmath(oracle, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 5, size=(4, 7))
    dy = rng.normal(0, 2, size=(4, 7))
    for log, f in [(False, oracle.softmax_backward), (True, oracle.log_softmax_backward)]:
        got = f(x, dy)
        assert got.shape == x.shape
        for r in range(4):
            assert got[r].tolist() == reference(x[r].tolist(), dy[r].tolist(), log), f"seed {seed} row {r}"


def test_axis(oracle):
    x = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    dy = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]])
    along0 = oracle.softmax_backward(x, dy, axis=0)
    assert along0.tolist() == oracle.softmax_backward(x.T, dy.T).T.tolist()


def test_errors(oracle):
    with pytest.raises(TypeError, match="grad_output"):
        so.plan("softmax_backward", [1.0, 2.0])
    with pytest.raises(ValueError, match="grad_output"):
        oracle.softmax_backward([1.0, 2.0], [1.0])
    with pytest.raises(so.OracleRequestError, match="grad_output"):
        oracle.log_softmax_backward([1.0, 2.0], [1.0, float("nan")])
