"""Scoring with the project's own definitions (docs/formats.md, "The ULP measure"), and
`assert_close`.

The reference here is the oracle's **correctly rounded** value r (what `eval` returns), not the
exact value v that `softmax-oracle report` and `check` score against (``ULP.score`` in
Sources/SoftmaxOracle/ULP.swift). So:

* an output equal to r scores 0 (there: at most 0.5);
* any other finite output y scores |y − r| / ulp(r), which differs from |y − v| / ulp(v) by at
  most 0.5 ulp (|r − v| ≤ ulp(v)/2, and ulp(r) = ulp(v) except when v rounds up to a power of
  two, where ulp(r) is one binade larger);
* special values as ``ULP.score``: NaN against NaN and equal infinities score 0; NaN or ±inf on
  either side otherwise is a **special-value mismatch**, scored ``inf`` (a finite error is
  never inf: like Swift's score, it is clamped to the largest finite double). One difference
  follows from not having v: a finite output where r overflowed (±inf, or NaN in e4m3fn) is a
  special mismatch here, while ``report`` scores it against the finite exact value;
* a zero of the other sign than r counts as equal (score 0), as the Swift score's
  signed-zero note does.
"""
from __future__ import annotations

import sys
from fractions import Fraction
from typing import Any

import numpy as np

from ._formats import format_spec, hex_value, on_grid, to_float64

#: torch.testing.assert_close's default (rtol, atol) per dtype (the CLI's ``--tolerance torch``).
#: PyTorch has no defaults for the FP8 formats; `assert_close` refuses those with this preset.
TORCH_TOLERANCES: dict[str, tuple[float, float]] = {
    "f64": (1e-7, 1e-7),
    "f32": (1.3e-6, 1e-5),
    "f16": (1e-3, 1e-5),
    "bf16": (1.6e-2, 1e-5),
    # torch.testing has no defaults for the FP8 dtypes (it compares them exactly); these follow
    # float16's pattern, as `softmax-oracle check --tolerance torch` does: rtol one epsilon
    # 2^(1-p), atol the format's least positive value.
    "e4m3fn": (2.0**-3, 2.0**-9),
    "e5m2": (2.0**-2, 2.0**-16),
}

_MAX = sys.float_info.max


def ulp(values: Any, format: str) -> np.ndarray:
    """ulp(v) = 2^(max(⌊log₂|v|⌋, e_min) − p + 1) in `format`, elementwise, as float64 (exact:
    a power of two). v = 0 gives the subnormal ulp 2^(e_min − p + 1); so does every subnormal
    v. Values beyond the largest finite one continue the grid (the ulp keeps growing with the
    binade); ±inf and NaN give NaN.
    """
    spec = format_spec(format)
    v = to_float64(values, "values")
    _, e = np.frexp(np.where(np.isfinite(v), v, 1.0))  # |v| = m·2^e, 0.5 ≤ m < 1: ⌊log₂|v|⌋ = e − 1
    q = np.maximum(e - 1, spec.min_normal_exponent) - spec.precision + 1
    q = np.where(v == 0, spec.min_normal_exponent - spec.precision + 1, q)
    out = np.ldexp(1.0, q)
    return np.where(np.isfinite(v), out, np.nan)


def special_mismatch(actual: Any, expected: Any) -> np.ndarray:
    """True where `actual` and `expected` disagree on a special value: NaN or ±inf on either side,
    unless both are NaN or both the same infinity (docs/formats.md, outcome 2)."""
    y = to_float64(actual, "actual")
    r = to_float64(expected, "expected")
    same = (y == r) | (np.isnan(y) & np.isnan(r))
    return ~same & ~(np.isfinite(y) & np.isfinite(r))


def ulp_error(actual: Any, expected: Any, format: str) -> np.ndarray:
    """|y − r| / ulp(r) elementwise, for outputs `actual` (y) and the correctly rounded values
    `expected` (r) in `format` (broadcast together; any float dtypes, converted exactly).

    * equal values (a zero of either sign included), NaN against NaN, equal infinities: 0;
    * a special-value mismatch (NaN or ±inf on one side only, or different specials): ``inf``;
      so ``np.isinf(ulp_error(...))`` marks exactly the special mismatches;
    * otherwise the ratio, from the exact difference (TwoSum, or exact rationals where y − r
      overflows binary64) scaled by a power of two, hence within one rounding of the exact
      ratio; clamped to the largest finite double (as the Swift score).

    See the module documentation for how this relates to ``report``'s score against the exact
    value.
    """
    format_spec(format)
    y, r = np.broadcast_arrays(to_float64(actual, "actual"), to_float64(expected, "expected"))
    out = np.zeros(y.shape, dtype=np.float64)
    same = (y == r) | (np.isnan(y) & np.isnan(r))
    finite = np.isfinite(y) & np.isfinite(r)
    out[~same & ~finite] = np.inf
    todo = ~same & finite
    if not np.any(todo):
        return out
    yy, rr = y[todo], r[todo]
    u = np.log2(ulp(rr, format)).astype(np.int64)  # exact: ulp is a power of two
    with np.errstate(over="ignore", invalid="ignore"):
        d = yy - rr
        # TwoSum (Knuth): d + e == yy − rr exactly when d is finite.
        bv = d - yy
        av = d - bv
        e = (yy - av) + (-rr - bv)
        sign = np.where(d < 0, -1.0, 1.0)
        scaled = np.ldexp(np.abs(d), -u) + np.ldexp(sign * e, -u)
    res = np.where(np.isfinite(scaled), scaled, _MAX)
    for i in np.flatnonzero(~np.isfinite(d)):  # y − r overflowed: exact rationals
        q = abs(Fraction(float(yy[i])) - Fraction(float(rr[i]))) / Fraction(2) ** int(u[i])
        res[i] = float(q) if q <= Fraction(_MAX) else _MAX
    out[todo] = res
    return out


def _index_text(index: tuple[int, ...]) -> str:
    return "()" if not index else "(" + ", ".join(str(int(i)) for i in index) + (",)" if len(index) == 1 else ")")


def assert_close(actual: Any, function: str, logits: Any = None, format: str = "f64", *,
                 max_ulp: float | None = None, atol: float | None = None, rtol: float | None = None,
                 tolerance: str | None = None, oracle: Any = None, **fields: Any) -> None:
    """Asserts that `actual` is close to the oracle's ``function(logits, format=format, **fields)``.

    Give exactly one criterion:

    * ``max_ulp=N``: every element's `ulp_error` is at most N (``max_ulp=0``: correctly
      rounded; ``0.5`` also means that, as a correctly rounded output scores 0 here);
    * ``atol=``/``rtol=`` (either or both, the other 0): |y − r| ≤ atol + rtol·|r|, evaluated
      in binary64 as torch.testing.assert_close does;
    * ``tolerance="torch"``: torch.testing.assert_close's defaults for the format's dtype
      (`TORCH_TOLERANCES`; f64 1e-7/1e-7, f32 1.3e-6/1e-5, f16 1e-3/1e-5, bf16 1.6e-2/1e-5,
      as rtol/atol; e4m3fn 2^-3/2^-9 and e5m2 2^-2/2^-16, torch having none for FP8: the
      values `softmax-oracle check --tolerance torch` uses).

    Outputs that are not values of `format` (an f64 value for an f32 request: a kernel that forgot
    its final cast) fail under every criterion, named "not an f32 value", as in
    ``softmax-oracle check``. Special-value mismatches always fail (under every criterion); matching specials (NaN and
    NaN, equal infinities) always pass — unlike torch's ``equal_nan=False``. `actual` must have
    the result's shape (a 0-d array or a Python float for a scalar result). `function` and the
    fields are those of the module's functions (``cross_entropy_loss`` takes ``batch=`` and
    ``targets=``).

    Raises ``AssertionError`` naming how many elements fail, the worst one (its index, its ULP,
    absolute and relative error, got and expected as exact hex floats), and a one-line JSON
    request that ``softmax-oracle eval`` accepts and that reproduces the expected value (the
    row of that element, or the element alone for the elementwise functions).
    """
    from ._functions import plan as make_plan

    given = [max_ulp is not None, atol is not None or rtol is not None, tolerance is not None]
    if sum(given) != 1:
        raise TypeError("assert_close: give exactly one of max_ulp=, atol=/rtol=, tolerance=")
    for name, value in (("max_ulp", max_ulp), ("atol", atol), ("rtol", rtol)):
        if value is not None and not (float(value) >= 0 and np.isfinite(float(value))):
            raise ValueError(f"assert_close: {name}={value!r} must be a finite number >= 0")
    if tolerance is not None:
        if tolerance != "torch":
            raise ValueError(f"tolerance: {tolerance!r} is not a preset (the one preset is 'torch')")
        if format not in TORCH_TOLERANCES:
            raise ValueError(f"tolerance: torch.testing has no default tolerances for {format}")
        rtol, atol = TORCH_TOLERANCES[format]
    p = make_plan(function, logits, format, **fields)
    expected = p.evaluate(oracle)
    r = expected.astype(np.float64)
    y = to_float64(actual, "actual")
    if y.shape != r.shape:
        raise AssertionError(f"{function} ({format}): actual has shape {y.shape}, the result has shape {r.shape}")
    errs = ulp_error(y, r, format)
    special = np.isinf(errs)
    # An output that is not a value of the format (an f64 value for an f32 request: a kernel
    # that forgot its final cast) fails under every criterion, as in `softmax-oracle check`.
    off_grid = ~on_grid(y, format_spec(format)) & ~special
    with np.errstate(all="ignore"):
        diff = np.abs(y - r)
        rel = diff / np.abs(r)
    if max_ulp is not None:
        badness = errs
        fail = special | off_grid | (errs > max_ulp)
        criterion = f"{max_ulp:g} ulp"
    else:
        a = float(atol or 0.0)
        t = float(rtol or 0.0)
        with np.errstate(all="ignore"):
            bound = a + t * np.abs(r)
            same = (y == r) | (np.isnan(y) & np.isnan(r))
            badness = np.where(same, 0.0, np.where(bound > 0, diff / bound, np.inf))
        badness = np.where(special, np.inf, np.nan_to_num(badness, nan=np.inf))
        fail = special | off_grid | (badness > 1)
        criterion = f"atol={a:g}, rtol={t:g}"
    if not np.any(fail):
        return
    badness = np.where(off_grid, np.inf, badness)
    flat = int(np.argmax(np.where(fail, badness, -1.0)))
    index: tuple[int, ...] = tuple(int(i) for i in np.unravel_index(flat, r.shape)) if r.ndim else ()
    got, exp = float(y[index]), float(r[index])
    if special[index]:
        what = "special-value mismatch (NaN or inf against a finite value, or a different special)"
    elif off_grid[index]:
        what = f"not an {format} value ({errs[index]:.4g} ulp from the expected one)"
    else:
        what = f"{errs[index]:.4g} ulp (abs {diff[index]:.3g}, rel {rel[index]:.3g})"
    req = p.reproducer(index).to_json_line()
    n_fail, n = int(np.count_nonzero(fail)), int(r.size)
    raise AssertionError(
        f"{function} ({format}): {n_fail} of {n} element(s) not within {criterion}"
        f"{f'; {int(np.count_nonzero(special))} special-value mismatch(es)' if np.any(special) else ''}"
        f"{f'; {int(np.count_nonzero(off_grid))} not {format} value(s)' if np.any(off_grid) else ''}\n"
        f"  worst at index {_index_text(index)}: {what}\n"
        f"  got      {hex_value(got)}\n"
        f"  expected {hex_value(exp)}\n"
        f"  request: {req}\n"
        f"  reproduce: echo {_shell_quote(req)} | softmax-oracle eval")


def _shell_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"
