"""assert_close: passes what is close, fails naming the worst element, and its reproducer line
reproduces the expected value through `softmax-oracle eval`."""
from __future__ import annotations

import json
import math
import re
import subprocess

import numpy as np
import pytest

import softmax_oracle as so
from softmax_oracle._formats import hex_value


def naive_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def test_correctly_rounded_passes_at_zero_ulp(oracle):
    x = np.array([1.0, 2.0, 3.0])
    so.assert_close(oracle.softmax(x), "softmax", x, max_ulp=0, oracle=oracle)
    so.assert_close(oracle.softmax(x, format="f16"), "softmax", x, format="f16", tolerance="torch", oracle=oracle)


def _reproduce(binary: str, line: str) -> list[str]:
    out = subprocess.run([binary, "eval"], input=line + "\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["values"]


def test_failure_names_worst_element_and_reproduces(oracle, binary):
    x = np.array([[0.0, 1.0, 2.0], [-745.0, 0.0, 30.0]])
    got = naive_softmax(x).astype(np.float64)
    want = oracle.softmax(x)
    k = int(np.argmax(so.ulp_error(got, want, "f64").reshape(-1)))
    got.reshape(-1)[k] = np.nextafter(np.nextafter(want.reshape(-1)[k], 2), 2) * (1 + 2.0 ** -40)
    with pytest.raises(AssertionError) as e:
        so.assert_close(got, "softmax", x, max_ulp=1, oracle=oracle)
    msg = str(e.value)
    index = np.unravel_index(k, x.shape)
    assert f"worst at index ({index[0]}, {index[1]})" in msg
    assert re.search(r"element\(s\) not within 1 ulp", msg)
    assert f"got      {hex_value(float(got[index]))}\n" in msg
    line = re.search(r"request: (\{.*\})", msg).group(1)
    req = json.loads(line)
    assert req["function"] == "softmax" and len(req["logits"]) == 3
    assert [float.fromhex(v) for v in req["logits"]] == x[index[0]].tolist()
    values = _reproduce(binary, line)
    expected_hex = re.search(r"expected (\S+)", msg).group(1)
    assert float.fromhex(values[index[1]]) == float.fromhex(expected_hex) == float(want[index])


def test_elementwise_reproducer_is_one_element(oracle, binary):
    x = np.linspace(-30, 30, 7)
    got = oracle.sigmoid(x).copy()
    got[5] = got[5] * (1 + 2.0 ** -30)
    with pytest.raises(AssertionError, match=r"worst at index \(5,\)") as e:
        so.assert_close(got, "sigmoid", x, max_ulp=0.5, oracle=oracle)
    line = re.search(r"request: (\{.*\})", str(e.value)).group(1)
    assert json.loads(line)["logits"] == [hex_value(float(x[5]))]
    assert float.fromhex(_reproduce(binary, line)[0]) == float(oracle.sigmoid(x)[5])


def test_special_mismatch_always_fails(oracle):
    x = [1000.0, 0.0, -1000.0]
    with pytest.raises(AssertionError, match="special-value mismatch"):
        so.assert_close(math.inf, "cross_entropy", x, target=1, max_ulp=1e300, oracle=oracle)
    with pytest.raises(AssertionError, match="special-value mismatch"):
        so.assert_close(math.inf, "cross_entropy", x, target=1, atol=1e300, oracle=oracle)
    # matching specials pass: softmax of a row with +inf is NaN everywhere
    so.assert_close([math.nan, math.nan], "softmax", [math.inf, 0.0], max_ulp=0, oracle=oracle)


def test_tolerances(oracle):
    x = [0.0, 1.0, 2.0, 3.0]
    want = oracle.softmax(x, format="f32").astype(np.float64)
    # Perturbed values cast back to f32 (values off the f32 grid fail on their own, see below).
    so.assert_close((want * (1 + 1e-6)).astype(np.float32), "softmax", x, format="f32", tolerance="torch", oracle=oracle)
    with pytest.raises(AssertionError, match="atol=1e-05, rtol=1.3e-06"):
        so.assert_close((want * (1 + 1e-4)).astype(np.float32), "softmax", x, format="f32", tolerance="torch", oracle=oracle)
    want64 = oracle.softmax(x, format="f64")
    so.assert_close(want64 + 1e-9, "softmax", x, format="f64", atol=1e-8, oracle=oracle)
    with pytest.raises(AssertionError, match="rtol=1e-09"):
        so.assert_close(want64 * (1 + 1e-8), "softmax", x, format="f64", rtol=1e-9, oracle=oracle)
    # FP8: the CLI's preset (rtol 2^-3, atol 2^-9 for e4m3fn). softmax([0]) = 1; one e4m3fn ulp
    # above it (1.125) is within 2^-9 + 2^-3·1, two ulps (1.25) are not.
    assert so.TORCH_TOLERANCES["e4m3fn"] == (2.0**-3, 2.0**-9)
    so.assert_close([1.125], "softmax", [0.0], format="e4m3fn", tolerance="torch", oracle=oracle)
    with pytest.raises(AssertionError):
        so.assert_close([1.25], "softmax", [0.0], format="e4m3fn", tolerance="torch", oracle=oracle)
    with pytest.raises(TypeError, match="exactly one of"):
        so.assert_close([1.0], "softmax", [0.0], oracle=oracle)


def test_scalar_and_batch_loss(oracle):
    so.assert_close(1000.0, "cross_entropy", [1000, 0, -1000], target=1, max_ulp=0, oracle=oracle)
    with pytest.raises(AssertionError, match="shape"):
        so.assert_close([1000.0, 1.0], "cross_entropy", [1000, 0, -1000], target=1, max_ulp=0, oracle=oracle)
    batch = np.array([[1000.0, 0.0, -1000.0], [1.2, -0.8, -0.5]])
    with pytest.raises(AssertionError, match='"function":"cross_entropy_loss"'):
        so.assert_close(1.0, "cross_entropy_loss", batch=batch, targets=[1, 0], max_ulp=4, oracle=oracle)


def test_values_off_the_format_grid_fail(oracle):
    # A kernel that forgot its final cast: softmax computed and returned in float64 for an f32
    # request. Each value is within a tiny fraction of an f32 ulp of the expected one, and is
    # still not an f32 value (found by review: it used to pass at max_ulp=0.5 and under "torch").
    x = np.float32([1, 2, 3]).astype(np.float64)
    y = np.exp(x - 3) / np.exp(x - 3).sum()
    assert np.any(y.astype(np.float32).astype(np.float64) != y)  # really off the f32 grid
    for criterion in ({"max_ulp": 0.5}, {"tolerance": "torch"}, {"atol": 1e-3}):
        with pytest.raises(AssertionError, match="not an f32 value"):
            so.assert_close(y, "softmax", x, format="f32", oracle=oracle, **criterion)
    # The same values cast to f32 pass.
    so.assert_close(y.astype(np.float32), "softmax", x, format="f32", max_ulp=1, oracle=oracle)


def test_criteria_are_validated(oracle):
    for bad in ({"max_ulp": float("nan")}, {"max_ulp": -1}, {"atol": -1e-3}, {"rtol": float("inf")}):
        with pytest.raises(ValueError, match="must be a finite number >= 0"):
            so.assert_close([1.0], "softmax", [0.0], oracle=oracle, **bad)
