"""The format table against docs/formats.md, and exact conversions (every f16 and bf16 bit
pattern, all 256 codes of each FP8 format, decoded by hand here)."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import softmax_oracle as so
from softmax_oracle._formats import hex_value, parse_hex, parse_hex_array, to_hex

from conftest import REPO


def _doc_number(text: str) -> float:
    t = text.replace("−", "-").strip()
    m = re.fullmatch(r"2\^(-?\d+)", t)
    if m:
        return math.ldexp(1.0, int(m.group(1)))
    return float.fromhex(t) if t.startswith("0x") else float(t)


def test_format_table_matches_docs():
    text = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)`[^|]*\| (\d+) \| (\S+) \| (\S+) \| (\S+) \| ([^|]+)\|$", text, re.M)
    assert [r[0] for r in rows] == list(so.FORMATS)
    for name, p, emin, max_finite, least_sub, overflow in rows:
        spec = so.FORMATS[name]
        assert spec.precision == int(p)
        assert spec.min_normal_exponent == int(emin.replace("−", "-"))
        assert spec.max_finite == _doc_number(max_finite)
        assert spec.min_subnormal == _doc_number(least_sub)
        assert spec.has_infinity == overflow.strip().startswith("±inf")


def test_overflow_rules_from_docs():
    # docs/formats.md, "Overflow": e5m2 61440 → inf, 61439 → 57344; e4m3fn 464 → 448, 465 → NaN.
    e5, e4 = so.FORMATS["e5m2"], so.FORMATS["e4m3fn"]
    assert e5.overflows(61440.0) and not e5.overflows(61439.0)
    assert not e4.overflows(464.0) and e4.overflows(465.0)
    assert so.FORMATS["f16"].overflows(65520.0) and not so.FORMATS["f16"].overflows(65519.0)


def _roundtrip(values64: np.ndarray, fmt: str) -> None:
    """float64 → hex text → float64 → result dtype → float64, all bit-exact."""
    text = to_hex(values64)
    back = parse_hex_array(text)
    nan = np.isnan(values64)
    assert np.array_equal(np.isnan(back), nan)
    assert np.array_equal(back[~nan].view(np.uint64), values64[~nan].view(np.uint64))  # signed zeros too
    out = so.from_float64(back, fmt).astype(np.float64)
    assert np.array_equal(out[~nan].view(np.uint64), values64[~nan].view(np.uint64))


def test_every_f16_value_round_trips():
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    h = bits.view(np.float16)
    x = so.to_float64(h, "x")
    assert x.dtype == np.float64
    _roundtrip(x, "f16")
    back = so.from_float64(x, "f16")
    finite = ~np.isnan(h)
    assert np.array_equal(back.view(np.uint16)[finite], bits[finite])


def test_every_bf16_value_round_trips_via_bit_patterns():
    # A bf16 value is the float32 whose top 16 bits are its bits and whose low 16 bits are 0.
    bits = np.arange(1 << 16, dtype=np.uint32)
    with np.errstate(invalid="ignore"):  # signaling NaN patterns
        x = (bits << 16).view(np.float32).astype(np.float64)
    _roundtrip(x, "bf16")


def _fp8_by_hand(code: int, exp_bits: int, man_bits: int, bias: int, fn: bool) -> float:
    sign = -1.0 if code >> 7 else 1.0
    e = (code >> man_bits) & ((1 << exp_bits) - 1)
    m = code & ((1 << man_bits) - 1)
    if fn and e == (1 << exp_bits) - 1 and m == (1 << man_bits) - 1:
        return math.nan
    if not fn and e == (1 << exp_bits) - 1:
        return sign * math.inf if m == 0 else math.nan
    if e == 0:
        return sign * math.ldexp(m, 1 - bias - man_bits)
    return sign * math.ldexp((1 << man_bits) + m, e - bias - man_bits)


@pytest.mark.parametrize("fmt,exp_bits,man_bits,bias,fn", [("e5m2", 5, 2, 15, False), ("e4m3fn", 4, 3, 7, True)])
def test_all_256_fp8_codes(fmt, exp_bits, man_bits, bias, fn):
    vals = np.array([_fp8_by_hand(c, exp_bits, man_bits, bias, fn) for c in range(256)])
    spec = so.FORMATS[fmt]
    finite = vals[np.isfinite(vals)]
    assert finite.max() == spec.max_finite and np.min(finite[finite > 0]) == spec.min_subnormal
    _roundtrip(vals, fmt)
    try:
        import ml_dtypes
    except ImportError:
        return
    dt = {"e5m2": ml_dtypes.float8_e5m2, "e4m3fn": ml_dtypes.float8_e4m3fn}[fmt]
    codes = np.arange(256, dtype=np.uint8).view(dt)
    x = so.to_float64(codes, "x")
    nan = np.isnan(vals)
    assert np.array_equal(np.isnan(x), nan)
    assert np.array_equal(x[~nan].view(np.uint64), vals[~nan].view(np.uint64))


def test_result_dtypes_without_or_with_ml_dtypes():
    assert so.result_dtype("f64") == np.float64 and so.result_dtype("f32") == np.float32
    assert so.result_dtype("f16") == np.float16
    if so.has_ml_dtypes():
        import ml_dtypes
        assert so.result_dtype("bf16") == np.dtype(ml_dtypes.bfloat16)
        assert so.result_dtype("e4m3fn") == np.dtype(ml_dtypes.float8_e4m3fn)
        assert so.result_dtype("e5m2") == np.dtype(ml_dtypes.float8_e5m2)
    else:
        assert so.result_dtype("bf16") == np.float32 and so.result_dtype("e4m3fn") == np.float32


def test_from_float64_refuses_off_grid_values():
    with pytest.raises(ValueError, match="not a f16 value"):
        so.from_float64(np.array([1.0 + 2.0 ** -20]), "f16")
    with pytest.raises(ValueError, match="not a e4m3fn value"):
        so.from_float64(np.array([math.inf]), "e4m3fn")
    # also where the result dtype is the float32 stand-in, which could hold these values
    with pytest.raises(ValueError, match="0x1.00001p[+]0 at index [(]1,[)] is not a bf16 value"):
        so.from_float64(np.array([1.0, 1.0 + 2.0 ** -20]), "bf16")
    with pytest.raises(ValueError, match="not a e5m2 value"):
        so.from_float64(np.array([65536.0]), "e5m2")
    with pytest.raises(ValueError, match="not a f32 value"):
        so.from_float64(np.array([2.0 ** -150]), "f32")
    assert so.from_float64(np.array([2.0 ** -133, -448.0, math.nan]), "bf16").shape == (3,)


def test_hex_text_is_exact_and_strict():
    assert hex_value(1.5) == "0x1.8p+0" and hex_value(-0.0) == "-0x0p+0"
    assert hex_value(math.inf) == "inf" and hex_value(-math.inf) == "-inf" and hex_value(math.nan) == "nan"
    assert parse_hex("0x1p-1074") == 5e-324
    for bad in ("1.5", "10", " 0x1p+0", "0x1p+0 ", "0X1P+0x", 1.5, "0x1.g"):
        with pytest.raises(ValueError):
            parse_hex(bad)


def test_to_float64_exact_and_refusals():
    assert so.to_float64([1000, 0, -1000]).tolist() == [1000.0, 0.0, -1000.0]
    assert so.to_float64(2 ** 53).item() == 2.0 ** 53
    with pytest.raises(ValueError, match="not a binary64 value"):
        so.to_float64([2 ** 53 + 1])
    with pytest.raises(TypeError, match="integer array"):
        so.to_float64(np.array([1, 2]), "logits", allow_integer=False)
    with pytest.raises(TypeError, match="complex"):
        so.to_float64(np.array([1 + 2j]), "logits")
    with pytest.raises(TypeError, match="complex"):
        so.to_float64([1 + 2j], "logits")
    with pytest.raises(TypeError, match="bool"):
        so.to_float64([True], "logits")
    with pytest.raises(TypeError, match="not a number"):
        so.to_float64(["0x1p+0"], "logits")
    f32 = np.array([0.1, 1e-45, 3.4e38], dtype=np.float32)
    assert np.array_equal(so.to_float64(f32), f32.astype(np.float64))
    nan = so.to_float64([math.nan, -math.inf])
    assert math.isnan(nan[0]) and nan[1] == -math.inf


def test_longdouble_only_when_exact():
    ld = np.longdouble
    if np.finfo(ld).nmant <= 52:
        pytest.skip("longdouble is binary64 here")
    assert so.to_float64(np.array([0.5], dtype=ld)).tolist() == [0.5]
    with pytest.raises(ValueError, match="would be rounded"):
        so.to_float64(np.array([ld(1) + ld(2) ** -60], dtype=ld))


def test_torch_tensors_convert_exactly(torch):
    for dt in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        t = torch.tensor([0.1, -3.5, 1e-3], dtype=torch.float64).to(dt)
        x = so.to_float64(t)
        assert x.dtype == np.float64 and x.tolist() == t.to(torch.float64).tolist()
    with pytest.raises(TypeError, match="integer tensor"):
        so.to_float64(torch.tensor([1, 2]), "logits", allow_integer=False)
    with pytest.raises(TypeError, match="complex"):
        so.to_float64(torch.tensor([1 + 1j]), "logits")


def test_subnormals_are_written_normalized_as_the_cli_writes_them():
    # docs/protocol.md: written floats have subnormals normalized ("0x1p-1074", not float.hex's
    # "0x0.0000000000001p-1022"); the spelling changes, never the value (found by review).
    cases = {5e-324: "0x1p-1074", -5e-324: "-0x1p-1074", float.fromhex("0x0.8p-1022"): "0x1p-1023",
             float.fromhex("0x0.fffffffffffffp-1022"): "0x1.ffffffffffffep-1023", 0.0: "0x0p+0", 1.5: "0x1.8p+0"}
    for v, text in cases.items():
        assert so.hex_value(v) == text
        assert float.fromhex(text) == v
    assert so.to_hex(np.array(list(cases))) == list(cases.values())
