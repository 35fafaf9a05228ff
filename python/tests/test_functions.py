"""The functions against certified values (README, docs/reference-values.md), shapes along
axis -1 (and other axes), input kinds, and errors."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

import softmax_oracle as so

h = float.fromhex


def f64(a) -> list[float]:
    return np.asarray(a).astype(np.float64).tolist()


def test_seed_story(oracle):
    # README: the true cross-entropy of [1000, 0, -1000], target 1, rounds to exactly 1000.0.
    ce = oracle.cross_entropy([1000, 0, -1000], target=1)
    assert ce.shape == () and ce.dtype == np.float64 and float(ce) == 1000.0
    assert float(oracle.cross_entropy([1000, 0, -1000], target=0)) == 0.0
    sm = oracle.softmax([1000.0, 0.0, -1000.0], format="f32")
    assert sm.dtype == np.float32 and f64(sm) == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("function,logits,fields,expected", [
    ("logsumexp", [0, -40], {}, [4.248354255291589e-18]),
    ("logsumexp", [1000, 1000], {}, [1000.6931471805599]),
    ("logsumexp", [10000] * 1000, {}, [10006.907755278982]),
    ("softmax", [0, 1, 2, 3], {}, [0.03205860328008499, 0.08714431874203257, 0.23688281808991013, 0.6439142598879724]),
    ("softmax", [-25, 0, 25, 50], {}, [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771146e-11,
                                       0.9999999999861121]),
    ("softmax", [1, 325, 749, 750], {}, [0.0, 1.9444526359919375e-185, 0.2689414213699951, 0.7310585786300049]),
    ("log_softmax", [0, 1, 2, 3], {}, [-3.4401896985611953, -2.4401896985611953, -1.4401896985611953,
                                       -0.44018969856119533]),
    ("log_softmax", [0, -700, -745.5, -800], {}, [-9.85967654375977e-305, -700.0, -745.5, -800.0]),
    ("cross_entropy", [1.2, -0.8, -0.5], {"target": 0}, [0.27612970554553756]),
    ("cross_entropy", [0.9, -1.2, 1.1], {"target": 1}, [2.951798795854425]),
    ("cross_entropy", [30, 0], {"target": 0}, [9.357622968839737e-14]),
    ("cross_entropy", [1, 2, 3], {"targets": [0.25, 0.25, 0.5]}, [1.1576059644443804]),
    ("cross_entropy_grad", [30, 0], {"target": 0}, [-9.357622968839299e-14, 9.357622968839299e-14]),
    ("bce_with_logits", [2, -3], {"labels": [1, 0.3], "pos_weight": 2}, [0.253856022085945, 1.8631635570458647]),
])
def test_certified_reference_values(oracle, function, logits, fields, expected):
    got = getattr(oracle, function)(logits, **fields)
    assert np.asarray(f64(got)).reshape(-1).tolist() == expected


def test_signed_zero_and_fp8_overflow(oracle):
    ls = oracle.log_softmax([1000.0, 1.0])
    assert f64(ls) == [-0.0, -999.0] and math.copysign(1, ls[0]) == -1
    assert f64(oracle.softmax([0.0] * 1024, format="e4m3fn")) == [0.0] * 1024
    assert f64(oracle.softmax([0.0] * 1023, format="e4m3fn")) == [2.0 ** -9] * 1023
    assert float(oracle.logsumexp([460.0, -1.0], format="e4m3fn")) == 448.0
    assert math.isnan(float(oracle.logsumexp([500.0], format="e4m3fn")))
    assert float(oracle.logsumexp([61439.0, 0.0], format="e5m2")) == 57344.0
    assert float(oracle.logsumexp([61440.0], format="e5m2")) == math.inf


def test_special_values(oracle):
    inf, nan = math.inf, math.nan
    assert float(oracle.logsumexp([])) == -inf
    assert float(oracle.logsumexp([-inf, -inf])) == -inf
    assert np.isnan(oracle.softmax([inf, 0.0])).all()
    assert np.isnan(oracle.softmax([nan, 0.0])).all()
    assert f64(oracle.softmax([-inf, 0.0])) == [0.0, 1.0]
    assert f64(oracle.log_sigmoid([inf])) == [-0.0] and math.copysign(1, f64(oracle.log_sigmoid([inf]))[0]) == -1


def test_dtypes_per_format(oracle):
    for fmt, dt in (("f64", np.float64), ("f32", np.float32), ("f16", np.float16)):
        assert oracle.softmax([1.0, 2.0], format=fmt).dtype == dt
    for fmt in ("bf16", "e5m2", "e4m3fn"):
        assert oracle.softmax([1.0, 2.0], format=fmt).dtype == so.result_dtype(fmt)


def test_ml_dtypes_results(oracle, ml_dtypes):
    r = oracle.softmax([1.0, 2.0], format="bf16")
    assert r.dtype == ml_dtypes.bfloat16
    assert f64(r) == [h("0x1.14p-2"), h("0x1.76p-1")]
    assert oracle.logsumexp([460.0, -1.0], format="e4m3fn").dtype == ml_dtypes.float8_e4m3fn
    x = np.array([1.0, 2.0, 3.0], dtype=ml_dtypes.bfloat16)  # ml_dtypes input, exactly
    assert f64(oracle.softmax(x)) == f64(oracle.softmax([1.0, 2.0, 3.0]))


def test_nd_along_last_axis_matches_rows(oracle):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 10, size=(2, 3, 5)).astype(np.float32)
    for fn in ("softmax", "log_softmax", "logsumexp"):
        nd = getattr(oracle, fn)(x, format="f32")
        rows = np.stack([getattr(oracle, fn)(r, format="f32") for r in x.reshape(-1, 5)])
        assert nd.shape == (x.shape if fn != "logsumexp" else (2, 3))
        assert np.array_equal(nd.reshape(rows.shape), rows)
    t = np.array([[0, 1, 2], [3, 4, 0]])
    ce = oracle.cross_entropy(x, target=t)
    assert ce.shape == (2, 3)
    assert float(ce[1, 1]) == float(oracle.cross_entropy(x[1, 1], target=4))
    g = oracle.cross_entropy_grad(x, target=t)
    assert g.shape == x.shape and f64(g[0, 2]) == f64(oracle.cross_entropy_grad(x[0, 2], target=2))


def test_other_axis(oracle):
    x = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(oracle.softmax(x, axis=0), oracle.softmax(x.T).T)
    assert np.array_equal(oracle.logsumexp(x, axis=0), oracle.logsumexp(x.T))
    p = np.full((3, 4), 0.25)
    assert np.array_equal(oracle.cross_entropy(x, targets=p, axis=0), oracle.cross_entropy(x.T, targets=p.T))


def test_elementwise_any_shape(oracle):
    x = np.linspace(-40, 40, 24).reshape(2, 3, 4)
    s = oracle.sigmoid(x)
    assert s.shape == x.shape and np.array_equal(s.reshape(-1), oracle.sigmoid(x.reshape(-1)))
    assert oracle.softplus(3.0).shape == ()
    b = oracle.bce_with_logits(x, np.full(x.shape, 0.5), pos_weight=np.arange(4.0), weight=2.0)
    assert b.shape == x.shape
    assert float(b[1, 2, 3]) == float(oracle.bce_with_logits([x[1, 2, 3]], [0.5], pos_weight=3.0, weight=[2.0])[0])


def test_batch_loss(oracle):
    batch = [[1000.0, 0.0, -1000.0], [1.2, -0.8, -0.5]]
    none = oracle.cross_entropy_loss(batch, [1, 0], reduction="none")
    assert f64(none) == [1000.0, 0.27612970554553756]
    assert float(oracle.cross_entropy_loss(batch, [1, -100])) == 1000.0  # mean over the kept row
    assert float(oracle.cross_entropy_loss(batch, [-100, -100])) != float(oracle.cross_entropy_loss(batch, [-100, -100]))
    probs = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert f64(oracle.cross_entropy_loss(batch, probs, reduction="none")) == f64(none)
    w = oracle.cross_entropy_loss(batch, [1, 0], weight=[2.0, 0.0, 1.0], reduction="sum")
    assert float(w) == 2 * 0.27612970554553756
    assert oracle.cross_entropy_loss(batch, [1, 0], ignore_index=1, reduction="none")[0] == 0.0


def test_torch_inputs(oracle, torch):
    x = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.bfloat16)
    assert f64(oracle.softmax(x, format="bf16")) == [[1.0, 0.0, 0.0]]
    assert float(oracle.cross_entropy(x[0], target=torch.tensor(1))) == 1000.0
    b = torch.randn(4, 5, dtype=torch.float16)
    assert oracle.cross_entropy_loss(b, torch.tensor([0, 1, 2, 3]), reduction="none").shape == (4,)


def test_refused_requests_name_field_and_value(oracle):
    with pytest.raises(so.OracleRequestError, match=r'field "target": 5 is outside \[0, 3\)') as e:
        oracle.cross_entropy([1.0, 2.0, 3.0], target=5)
    assert '"target":5' in e.value.request_line
    with pytest.raises(ValueError, match="label_smoothing"):
        oracle.cross_entropy([1.0, 2.0], target=0, label_smoothing=2.0)
    # Rows go as one batched request: the error names the row.
    with pytest.raises(so.OracleRequestError, match=r'field "target\[1\]": 7 is outside \[0, 2\)') as e:
        oracle.cross_entropy([[1.0, 2.0], [1.0, 2.0]], target=[0, 7])
    assert '"target":[0,7]' in e.value.request_line


def test_argument_errors(oracle):
    with pytest.raises(TypeError, match="integer array"):
        oracle.softmax(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="complex"):
        oracle.softmax(np.array([1j]))
    with pytest.raises(TypeError, match="class indices must be integers"):
        oracle.cross_entropy([1.0, 2.0], target=1.0)
    with pytest.raises(TypeError, match="exactly one of target"):
        oracle.cross_entropy([1.0, 2.0])
    with pytest.raises(ValueError, match="format: 'f8'"):
        oracle.softmax([1.0], format="f8")
    with pytest.raises(ValueError, match="axis"):
        oracle.softmax([1.0], axis=1)
    with pytest.raises(ValueError, match="reduction"):
        oracle.cross_entropy_loss([[1.0]], [0], reduction="avg")


def test_without_ml_dtypes_bf16_and_fp8_come_back_as_exact_float32(binary):
    # Runs in a child interpreter where `import ml_dtypes` fails, whether or not it is installed.
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['ml_dtypes'] = None\n"
        "import numpy as np, softmax_oracle as so\n"
        "assert not so.has_ml_dtypes()\n"
        "r = so.softmax([1.0, 2.0], format='bf16'); assert r.dtype == np.float32, r.dtype\n"
        "assert [float(v).hex() for v in r] == ['0x1.1400000000000p-2', '0x1.7600000000000p-1'], r\n"
        "e = so.logsumexp([460.0, -1.0], format='e4m3fn'); assert e.dtype == np.float32 and float(e) == 448.0\n"
        "t = so.softmax([0.0] * 1023, format='e4m3fn'); assert (t == 2.0 ** -9).all()\n"
        "print('ok')\n")
    env = dict(os.environ, SOFTMAX_ORACLE_BIN=binary)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
