"""The six output formats, and exact conversions between NumPy/torch values and binary64.

Every value of every format is a binary64 value (docs/formats.md), so the package carries all
numbers as ``float64`` arrays internally and converts only at the edges:

* **in**: any float array (NumPy float16/32/64, ml_dtypes bfloat16/float8, torch tensors of any
  float dtype) or a list of Python numbers becomes a ``float64`` array *exactly*; anything that
  cannot be converted exactly is refused (``TypeError`` for the wrong kind of value,
  ``ValueError`` for a value that is not a binary64 number);
* **text**: ``float.hex`` writes and ``float.fromhex`` reads each value, both exact;
* **out**: a ``float64`` array of values on a format's grid becomes an array of that format's
  dtype (exact, checked).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

_ml_dtypes: Any
try:  # optional: bfloat16 and the FP8 dtypes as NumPy dtypes
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - depends on the environment
    _ml_dtypes = None


@dataclass(frozen=True)
class FormatSpec:
    """One output format (docs/formats.md, "The six formats").

    ``precision`` is p (significand bits, the leading one included), ``min_normal_exponent``
    is e_min; the grid at v is spaced 2^(max(⌊log₂|v|⌋, e_min) − p + 1). ``max_finite`` is the
    largest finite value, ``min_subnormal`` the least positive one. ``has_infinity`` is False
    for e4m3fn, whose overflow (and every infinite result) is NaN.

    Overflow (docs/formats.md, "Overflow"): rounding continues the grid past ``max_finite``;
    ``overflow_midpoint`` is the midpoint between ``max_finite`` and the next point of that
    grid. Magnitudes above it overflow (to ±inf, or NaN in e4m3fn); the midpoint itself is a tie
    that goes to the even neighbour, which is the overflow for every format whose ``max_finite``
    has an odd last bit (all but e4m3fn: 464 gives 448 there, 465 gives NaN): see
    ``midpoint_overflows``. For f64 the midpoint, 2^1024 − 2^970, is not itself a binary64
    number and is stored as ``inf`` (no finite binary64 value overflows f64).
    """

    name: str
    precision: int
    min_normal_exponent: int
    max_finite: float
    min_subnormal: float
    has_infinity: bool
    overflow_midpoint: float

    @property
    def midpoint_overflows(self) -> bool:
        """True when the tie at ``overflow_midpoint`` rounds to the overflow value (its even
        neighbour), i.e. ``max_finite``'s last significand bit is odd."""
        m, e = math.frexp(self.max_finite)  # max_finite = m·2^e, 0.5 ≤ m < 1
        return int(math.ldexp(m, self.precision)) % 2 == 1

    def overflows(self, v: float) -> bool:
        """True when the exact value `v` rounds past ``max_finite`` (to ±inf, or NaN in e4m3fn)."""
        a = abs(v)
        return a > self.overflow_midpoint or (a == self.overflow_midpoint and self.midpoint_overflows)

    @property
    def subnormal_ulp(self) -> float:
        """2^(e_min − p + 1): the grid spacing below 2^e_min, and the ulp used for v = 0."""
        return math.ldexp(1.0, self.min_normal_exponent - self.precision + 1)


def _spec(name: str, p: int, emin: int, max_finite: float, has_inf: bool = True) -> FormatSpec:
    # The midpoint between max_finite and the next point of the continued grid: max_finite + ulp/2.
    emax = math.frexp(max_finite)[1] - 1
    half_ulp = math.ldexp(1.0, emax - p)
    return FormatSpec(name, p, emin, max_finite, math.ldexp(1.0, emin - p + 1), has_inf, max_finite + half_ulp)


#: The formats, by protocol name. Checked against docs/formats.md's table by the tests.
FORMATS: dict[str, FormatSpec] = {
    s.name: s
    for s in (
        _spec("f64", 53, -1022, float.fromhex("0x1.fffffffffffffp+1023")),
        _spec("f32", 24, -126, float.fromhex("0x1.fffffep+127")),
        _spec("f16", 11, -14, 65504.0),
        _spec("bf16", 8, -126, float.fromhex("0x1.fep+127")),
        _spec("e5m2", 3, -14, 57344.0),
        _spec("e4m3fn", 4, -6, 448.0, has_inf=False),
    )
}


def format_spec(format: str) -> FormatSpec:
    """The `FormatSpec` of a protocol format name; ``ValueError`` naming the value otherwise."""
    try:
        return FORMATS[format]
    except (KeyError, TypeError):
        raise ValueError(f"format: {format!r} is not one of {', '.join(FORMATS)}") from None


def has_ml_dtypes() -> bool:
    """True when ml_dtypes is importable (bf16/e5m2/e4m3fn results then use its dtypes)."""
    return _ml_dtypes is not None


def result_dtype(format: str) -> np.dtype:
    """The NumPy dtype results in `format` are returned in.

    f64 → float64, f32 → float32, f16 → float16; bf16 → ``ml_dtypes.bfloat16``, e5m2 →
    ``ml_dtypes.float8_e5m2``, e4m3fn → ``ml_dtypes.float8_e4m3fn`` when ml_dtypes is
    installed, else float32, which holds every value of these three formats exactly (their
    precisions are ≤ 8 bits and their exponent ranges inside float32's, subnormals included).
    """
    format_spec(format)
    if format == "f64":
        return np.dtype(np.float64)
    if format == "f32":
        return np.dtype(np.float32)
    if format == "f16":
        return np.dtype(np.float16)
    if _ml_dtypes is None:
        return np.dtype(np.float32)
    return np.dtype({"bf16": _ml_dtypes.bfloat16, "e5m2": _ml_dtypes.float8_e5m2,
                     "e4m3fn": _ml_dtypes.float8_e4m3fn}[format])


def from_float64(values: np.ndarray, format: str) -> np.ndarray:
    """`values` (float64, on `format`'s grid, or ±inf/NaN) as an array of `result_dtype(format)`.

    Raises ``ValueError`` if a value is not a value of the format (off its grid, beyond its
    largest finite value, or inf in e4m3fn), also when the result dtype is the float32
    stand-in: the conversion never rounds and never holds a value the format lacks.
    """
    spec = format_spec(format)
    values = np.asarray(values, dtype=np.float64)
    if format in ("f64", "f32", "f16"):  # fast path: NumPy's own cast, checked to be exact
        if format == "f64":
            return values
        with np.errstate(over="ignore"):
            out = values.astype(result_dtype(format))
        back = out.astype(np.float64)
        if back.shape == values.shape and np.array_equal(back.view(np.uint64), values.view(np.uint64)):
            return out  # bit for bit (NaN as the oracle writes it); otherwise the checks below decide
    ok = on_grid(values, spec)
    if not np.all(ok):
        i = np.unravel_index(int(np.argmin(ok)), values.shape) if values.ndim else ()
        v = float(values[i])
        raise ValueError(f"value {hex_value(v)} at index {tuple(int(j) for j in i)} is not a {format} value")
    return values.astype(result_dtype(format))


def on_grid(values: np.ndarray, spec: FormatSpec) -> np.ndarray:
    """True where a float64 value is a value of the format: NaN, ±inf when the format has
    infinities, or finite with |v| ≤ max_finite and v an integer multiple of its ulp
    2^(max(⌊log₂|v|⌋, e_min) − p + 1)."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    safe = np.where(finite, v, 0.0)
    _, e = np.frexp(safe)
    q = np.maximum(e - 1, spec.min_normal_exponent) - spec.precision + 1
    scaled = np.ldexp(safe, -q)  # exact: a power-of-two scaling into [2^(p−1), 2^p) or below
    fits = (np.floor(scaled) == scaled) & (np.abs(safe) <= spec.max_finite)
    special = np.isnan(v) | (np.isinf(v) & spec.has_infinity)
    return np.where(finite, fits, special)


# Float dtypes of ml_dtypes (all convert to float64 exactly; all are NumPy kind 'V').
def _ml_float_dtypes() -> tuple[np.dtype, ...]:
    if _ml_dtypes is None:
        return ()
    names = ("bfloat16", "float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2fnuz",
             "float8_e4m3b11fnuz", "float8_e4m3", "float8_e3m4", "float8_e8m0fnu", "float6_e2m3fn",
             "float6_e3m2fn", "float4_e2m1fn")
    return tuple(np.dtype(getattr(_ml_dtypes, n)) for n in names if hasattr(_ml_dtypes, n))


_ML_FLOATS = _ml_float_dtypes()


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach") and hasattr(x, "dtype")


def _torch_to_numpy(x: Any, name: str, allow_integer: bool) -> np.ndarray:
    import torch  # present: x is a torch tensor

    if x.is_complex():
        raise TypeError(f"{name}: complex tensors are not accepted (dtype {x.dtype})")
    if x.dtype == torch.bool:
        raise TypeError(f"{name}: a bool tensor is not a float array")
    t = x.detach().cpu()
    if not t.is_floating_point():
        if not allow_integer:
            raise TypeError(f"{name}: integer tensor (dtype {x.dtype}) given where floats are expected; "
                            f"convert it explicitly (for class indices use target=)")
        return _integers_to_float64(t.to(torch.int64).numpy(), name)
    # Every torch float dtype (float64/32/16, bfloat16, float8_*) converts to float64 exactly.
    return t.to(torch.float64).numpy()


_TWO_53 = 2 ** 53


def _integers_to_float64(a: np.ndarray, name: str) -> np.ndarray:
    out = a.astype(np.float64)
    if a.size and (np.any(a > _TWO_53) or np.any(a < -_TWO_53)):
        exact = out.astype(object) == a.astype(object)
        if not np.all(exact):
            bad = a.flat[int(np.argmin(exact))]
            raise ValueError(f"{name}: integer {bad} is not a binary64 value (|n| > 2^53, not representable)")
    return out


def _python_number(v: Any, name: str) -> float:
    if isinstance(v, bool) or isinstance(v, np.bool_):
        raise TypeError(f"{name}: {v!r} is a bool, not a number")
    if isinstance(v, float):
        return v
    if isinstance(v, (int, np.integer)):
        f = float(int(v))  # may round: checked next
        if f != int(v):
            raise ValueError(f"{name}: integer {int(v)} is not a binary64 value (not representable)")
        return f
    if isinstance(v, np.floating) or (_ML_FLOATS and isinstance(v, np.generic) and v.dtype in _ML_FLOATS):
        a = np.asarray(v)
        if a.dtype.itemsize > 8 and a.dtype.kind == "f":
            return float(_longdouble_to_float64(a.reshape(1), name)[0])
        return float(a.astype(np.float64))
    if isinstance(v, (complex, np.complexfloating)):
        raise TypeError(f"{name}: complex value {v!r} is not accepted")
    raise TypeError(f"{name}: {v!r} ({type(v).__name__}) is not a number")


def _longdouble_to_float64(a: np.ndarray, name: str) -> np.ndarray:
    out = a.astype(np.float64)
    same = (out.astype(a.dtype) == a) | np.isnan(a)
    if not np.all(same):
        bad = a.flat[int(np.argmin(same))]
        raise ValueError(f"{name}: {a.dtype} value {bad!r} is not a binary64 value (it would be rounded)")
    return out


def to_float64(x: Any, name: str = "logits", *, allow_integer: bool = True) -> np.ndarray:
    """`x` as a float64 NumPy array holding exactly the same values (a new array or a view).

    Accepts NumPy arrays of any real float dtype (longdouble only when every value is a binary64
    value), ml_dtypes float arrays (bfloat16, float8_*), torch tensors of any float dtype (via
    ``.to(torch.float64)``, on the CPU), Python floats and ints and nested lists of them.

    * complex values: ``TypeError``;
    * integer arrays/tensors: ``TypeError`` when ``allow_integer`` is False (logits: an integer
      array is almost always class indices by mistake), else converted when exact; Python ints
      in lists are always accepted when exactly representable (``[1000, 0, -1000]``);
    * bools, strings, objects: ``TypeError``; an integer beyond 2^53 that binary64 cannot hold:
      ``ValueError``. NaN and ±inf pass through (the oracle decides where they are allowed).
    """
    if _is_torch_tensor(x):
        return _torch_to_numpy(x, name, allow_integer)
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        a = np.asarray(x)
        k = a.dtype.kind
        if k == "f":
            if a.dtype.itemsize > 8:
                return _longdouble_to_float64(a, name)
            return a.astype(np.float64, copy=False)
        if a.dtype in _ML_FLOATS:
            return a.astype(np.float64)
        if k == "c":
            raise TypeError(f"{name}: complex arrays are not accepted (dtype {a.dtype})")
        if k in "iu":
            if not allow_integer:
                raise TypeError(f"{name}: integer array (dtype {a.dtype}) given where floats are expected; "
                                f"convert it explicitly (for class indices use target=)")
            return _integers_to_float64(a, name)
        if k == "b":
            raise TypeError(f"{name}: a bool array is not a float array")
        if k != "O":
            raise TypeError(f"{name}: dtype {a.dtype} is not a float dtype")
        obj = a
    else:
        try:
            obj = np.asarray(x, dtype=object)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"{name}: not a rectangular array ({e})") from None
    out = np.empty(obj.shape, dtype=np.float64)
    flat = out.reshape(-1)
    for i, v in enumerate(obj.reshape(-1)):
        if _is_torch_tensor(v) or isinstance(v, (list, tuple, np.ndarray)):
            raise ValueError(f"{name}: not a rectangular array of numbers")
        flat[i] = _python_number(v, name)
    return out


# float.hex's trailing zero digits (and a bare point) before the exponent: "0x1.8000000000000p+1".
_TRAILING_ZEROS = re.compile(r"\.?0+p")


# float.hex's subnormal spelling "0x0.<digits>p-1022" (zero is "0x0.0p+0", never matched).
_SUBNORMAL = re.compile(r"0x0\.([0-9a-f]+)p-1022")


def _normalize_subnormals(text: str) -> str:
    """Subnormals written normalized, as the CLI writes them: "0x0.0000000000001p-1022" becomes
    "0x1p-1074" (docs/protocol.md). Exact: the same value, another spelling."""
    if "p-1022" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        mantissa, exponent = math.frexp(float.fromhex("0x0." + m.group(1) + "p-1022"))
        return _TRAILING_ZEROS.sub("p", float.hex(mantissa * 2)).replace("p+0", f"p{exponent - 1:+d}")

    return _SUBNORMAL.sub(one, text)


def hex_value(v: float) -> str:
    """One float as an exact hex-float string, as the CLI writes it: ``float.hex`` with the
    trailing zero digits dropped and subnormals normalized ("0x1.8p+1", "-0x0p+0", "0x1p-1074"),
    "inf", "-inf", "nan" (a NaN of either sign; payloads are not carried). ``float.fromhex``
    reads it back exactly."""
    return _normalize_subnormals(_TRAILING_ZEROS.sub("p", float.hex(float(v))))


def hex_list_text(values: np.ndarray, canonical: bool = True) -> str:
    """A float64 array as the text of a JSON array of hex-float strings (flattened): `hex_value`
    spellings, or with ``canonical=False`` plain ``float.hex`` ones (the same values, with
    trailing zero digits, and faster to write)."""
    a = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    if not a:
        return "[]"
    text = '["' + '","'.join(map(float.hex, a)) + '"]'
    return _normalize_subnormals(_TRAILING_ZEROS.sub("p", text)) if canonical else text


def to_hex(values: np.ndarray) -> list[str]:
    """Each value of a float64 array as `hex_value` writes it (exact)."""
    a = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    if not a:
        return []
    return _normalize_subnormals(_TRAILING_ZEROS.sub("p", "\n".join(map(float.hex, a)))).split("\n")


def read_float(v: Any, what: str = "value") -> float:
    """A float as a request may spell it (docs/protocol.md, "Floats are exact"): a hex-float
    string (exact), a decimal string or a JSON number (the nearest binary64, ties to even, which
    is what Python's ``float`` gives), or "inf", "infinity", "nan" in any letter case with an
    optional sign. ``ValueError`` naming `what` otherwise (bools, whitespace, empty text)."""
    if isinstance(v, bool) or v is None:
        raise ValueError(f"{what}: {v!r} is not a number")
    if isinstance(v, (int, float)):
        return float(v)
    if not isinstance(v, str) or not v or v.strip() != v or "_" in v:
        raise ValueError(f"{what}: {v!r} is not a number")
    if "x" in v.lower():
        try:
            return float.fromhex(v)
        except (ValueError, OverflowError):
            raise ValueError(f"{what}: {v!r} is not a number") from None
    try:
        return float(v)  # decimal text, inf, infinity, nan: correctly rounded
    except ValueError:
        raise ValueError(f"{what}: {v!r} is not a number") from None


def parse_hex(text: Any, what: str = "value") -> float:
    """One protocol float written by the oracle: a hex-float string, "inf", "-inf" or "nan".

    Raises ``ValueError`` naming `what` for anything else (decimal strings, numbers, garbage):
    the oracle only writes exact hex floats.
    """
    if not isinstance(text, str):
        raise ValueError(f"{what}: {text!r} is not a hex-float string")
    t = text.strip()
    if t != text or not t:
        raise ValueError(f"{what}: {text!r} is not a hex-float string")
    if not _HEX.fullmatch(t):
        raise ValueError(f"{what}: {text!r} is not a hex-float string")
    try:
        return float.fromhex(t)
    except (ValueError, OverflowError):
        raise ValueError(f"{what}: {text!r} is not a hex-float string") from None


def parse_hex_array(values: Any, what: str = "values") -> np.ndarray:
    """A list of protocol floats as a float64 array (exact); ``ValueError`` naming the element."""
    if not isinstance(values, list):
        raise ValueError(f"{what}: {values!r} is not a list")
    try:  # fast path: every value a "0x…"/"-0x…" string or a special, then read by float.fromhex
        ok = all(v.startswith(_HEX_PREFIXES) or v in _SPECIALS for v in values)
        if ok:
            return np.array(list(map(float.fromhex, values)), dtype=np.float64)
    except (AttributeError, TypeError, ValueError, OverflowError):
        pass
    return np.array([parse_hex(v, f"{what}[{i}]") for i, v in enumerate(values)], dtype=np.float64)


_HEX_PREFIXES = ("0x", "-0x")
_SPECIALS = frozenset(("inf", "-inf", "nan"))


# What the oracle writes (docs/protocol.md, "Floats are exact"): lowercase hex floats, inf, nan.
_HEX_TEXT = r"(?:-?0x[0-9a-f](?:\.[0-9a-f]+)?p[+-][0-9]+|-?inf|nan)"
_HEX = re.compile(_HEX_TEXT)
