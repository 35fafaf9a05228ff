"""ulp and ulp_error against values derived by hand from docs/formats.md's definitions
(ulp(v) = 2^(max(⌊log₂|v|⌋, e_min) − p + 1)), and against exact rationals on random pairs."""
from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest

import softmax_oracle as so

inf, nan = math.inf, math.nan
MAX = 1.7976931348623157e308


@pytest.mark.parametrize("v,fmt,expected", [
    (1.0, "f64", 2.0 ** -52),          # p = 53: ulp(1) = 2^(0 − 52)
    (1.0, "f32", 2.0 ** -23),
    (1.0, "f16", 2.0 ** -10),
    (1.0, "bf16", 2.0 ** -7),
    (1.0, "e5m2", 2.0 ** -2),
    (1.0, "e4m3fn", 2.0 ** -3),
    (0.0, "f64", 2.0 ** -1074),        # v = 0: subnormal ulp 2^(e_min − p + 1)
    (-0.0, "f16", 2.0 ** -24),
    (0.0, "e4m3fn", 2.0 ** -9),
    (2.0 ** -140, "f32", 2.0 ** -149),  # subnormal v: the fixed subnormal ulp
    (65504.0, "f16", 32.0),            # 65504 = 1.999·2^15: 2^(15 − 10)
    (448.0, "e4m3fn", 32.0),           # 448 = 1.75·2^8: 2^(8 − 3)
    (57344.0, "e5m2", 8192.0),         # 57344 = 1.75·2^15: 2^(15 − 2)
    (-3.0, "f64", 2.0 ** -51),         # ⌊log₂ 3⌋ = 1
    (1e6, "f32", 2.0 ** -4),           # 2^19 ≤ 1e6 < 2^20: 2^(19 − 23)
    (70000.0, "f16", 64.0),            # beyond the largest finite: the grid continues (2^16: 2^6)
])
def test_ulp_by_hand(v, fmt, expected):
    assert so.ulp(v, fmt) == expected


@pytest.mark.parametrize("y,r,fmt,expected", [
    (1.0 + 3 * 2.0 ** -52, 1.0, "f64", 3.0),
    (1.0 - 2.0 ** -53, 1.0, "f64", 0.5),             # below 1 the spacing halves, the ulp of r is 2^-52
    (1.0 + 2.0 ** -10, 1.0, "f16", 1.0),             # the next f16
    (1.0 + 2.0 ** -11, 1.0, "f16", 0.5),             # a binary64 output halfway
    (0.0, 5 * 2.0 ** -1074, "f64", 5.0),             # flushed subnormal: |v| / 2^-1074
    (0.0, 2.0 ** -1022, "f64", 2.0 ** 52),           # flushed least normal
    (2.0 ** -14, 0.0, "f16", 2.0 ** 10),             # r = 0: subnormal ulp 2^-24
    (480.0, 448.0, "e4m3fn", 1.0),
    (MAX, -MAX, "f64", 2.0 ** 54 - 2),               # y − r overflows: (2^1025 − 2^972) / 2^971
    (MAX, 0.0, "f64", MAX),                          # 2^1024·2^1074: clamped
    (-0.0, 0.0, "f64", 0.0), (0.0, -0.0, "f32", 0.0),  # signed zeros count as equal
    (nan, nan, "f64", 0.0), (inf, inf, "f16", 0.0), (-inf, -inf, "e5m2", 0.0),
    (nan, 1.0, "f64", inf), (1.0, nan, "f64", inf), (inf, -inf, "f64", inf),
    (MAX, inf, "f64", inf), (inf, 65504.0, "f16", inf), (448.0, nan, "e4m3fn", inf),
])
def test_ulp_error_by_hand(y, r, fmt, expected):
    got = so.ulp_error(y, r, fmt)
    assert got.shape == ()
    assert got == expected


def test_special_mismatch_matches_inf_scores():
    y = np.array([nan, 1.0, inf, -inf, 0.0, nan])
    r = np.array([nan, nan, inf, inf, -0.0, 2.0])
    assert so.special_mismatch(y, r).tolist() == [False, True, False, True, False, True]
    assert np.isinf(so.ulp_error(y, r, "f64")).tolist() == so.special_mismatch(y, r).tolist()


def _exact(y: float, r: float, fmt: str) -> Fraction:
    spec = so.FORMATS[fmt]
    if r == 0:
        q = spec.min_normal_exponent - spec.precision + 1
    else:
        e = math.frexp(r)[1] - 1
        q = max(e, spec.min_normal_exponent) - spec.precision + 1
    return abs(Fraction(y) - Fraction(r)) / Fraction(2) ** q


def _round_to(x: float, fmt: str) -> float:
    """x rounded to the nearest value of `fmt` (ties to even), by exact rationals."""
    spec = so.FORMATS[fmt]
    e = math.frexp(x)[1] - 1 if x else spec.min_normal_exponent
    q = max(e, spec.min_normal_exponent) - spec.precision + 1
    n = round(Fraction(x) / Fraction(2) ** q)  # round half to even
    return float(n * Fraction(2) ** q)


@pytest.mark.parametrize("fmt", list(so.FORMATS))
def test_ulp_error_equals_exact_rational_ratio_rounded(fmt):
    rng = random.Random(11)
    spec = so.FORMATS[fmt]
    ys, rs = [], []
    for _ in range(3000):
        r = _round_to(rng.uniform(-1, 1) * spec.max_finite * rng.random() ** 40, fmt)
        kind = rng.random()
        if kind < 0.4:  # near r
            y = r + rng.uniform(-1, 1) * float(so.ulp(r, fmt)) * rng.choice([1, 3, 1e3, 1e9])
        elif kind < 0.7:
            y = r * rng.uniform(0.5, 2)
        else:
            y = rng.uniform(-1, 1) * 2.0 ** rng.randint(-1074, 1023)
        if math.isfinite(y):
            ys.append(y)
            rs.append(r)
    got = so.ulp_error(ys, rs, fmt)
    for g, y, r in zip(got.tolist(), ys, rs):
        q = _exact(y, r, fmt)
        want = float(q) if q <= Fraction(MAX) else MAX
        assert g == want, (y.hex(), r.hex(), g, want)
