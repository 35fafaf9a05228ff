"""The oracle's functions, one Python function each, with the protocol's names and fields.

Every function takes NumPy arrays, torch tensors or (nested) lists of any real float dtype,
converts them to binary64 exactly (`_formats.to_float64`), sends one request per row (all rows
written at once, then all answers read: no round trip per row), and returns a NumPy array of the
correctly rounded results in the requested format (`_formats.result_dtype`).
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ._formats import format_spec, from_float64, to_float64
from ._process import (DEFAULT_TIMEOUT, Answer, JsonLinesTransport, OracleProcessError,
                       OracleRequestError, Transport)
from ._request import Request

#: Every function of the protocol, in docs/protocol.md's order.
FUNCTIONS = ("logsumexp", "softmax", "log_softmax", "cross_entropy", "cross_entropy_grad", "sigmoid",
             "log_sigmoid", "softplus", "bce_with_logits", "cross_entropy_loss")

#: The elementwise functions (any shape; one output per logit).
ELEMENTWISE = ("sigmoid", "log_sigmoid", "softplus", "bce_with_logits")

#: Elementwise requests are split into chunks of at most this many values.
CHUNK = 1 << 20


@dataclass
class Plan:
    """The requests for one call and how their outputs form the result array.

    Outputs are concatenated in request order into the *row layout* (``row_shape``), then the
    last axis is moved to ``axis`` when ``axis`` is not None.
    """

    function: str
    format: str
    requests: list[Request]
    row_shape: tuple[int, ...]
    axis: int | None = None

    def assemble(self, answers: Sequence[Answer]) -> np.ndarray:
        parts = []
        for k, (req, ans) in enumerate(zip(self.requests, answers)):
            if isinstance(ans, str):
                where = f" (request {k + 1} of {len(self.requests)})" if len(self.requests) > 1 else ""
                raise OracleRequestError(f"softmax-oracle refused {self.function}{where}: {ans}", req.to_json_line())
            n = req.output_count()
            if n is not None and ans.size != n:
                raise OracleProcessError(f"softmax-oracle answered {ans.size} values to {self.function}, "
                                         f"expected {n}: {req.to_json_line()[:200]}")
            parts.append(ans)
        flat = np.concatenate(parts) if parts else np.empty(0)
        out = flat.reshape(self.row_shape)
        if self.axis is not None:
            out = np.moveaxis(out, -1, self.axis)
        try:
            return from_float64(out, self.format)
        except ValueError as e:
            raise OracleProcessError(f"softmax-oracle answered {self.function} with garbage: {e}") from None

    def locate(self, index: tuple[int, ...]) -> tuple[int, int]:
        """Which request produced the result element at `index` (of the assembled array), and
        its position among that request's outputs."""
        total = int(np.prod(self.row_shape, dtype=np.int64))
        layout = np.arange(total).reshape(self.row_shape)
        if self.axis is not None:
            layout = np.moveaxis(layout, -1, self.axis)
        flat = int(layout[tuple(index)])
        counts = np.cumsum([r.output_count() or 0 for r in self.requests])
        k = int(np.searchsorted(counts, flat, side="right"))
        return k, flat - (int(counts[k - 1]) if k else 0)

    def reproducer(self, index: tuple[int, ...]) -> Request:
        """The smallest request of this plan that computes the result element at `index`: its
        row (row functions, batch loss), or that one element (elementwise functions)."""
        k, offset = self.locate(index)
        req = self.requests[k]
        if self.function not in ELEMENTWISE:
            return req
        fields = {name: (v[offset:offset + 1] if isinstance(v, np.ndarray) else v) for name, v in req.fields.items()}
        return Request(req.function, req.format, fields)

    def evaluate(self, oracle: Oracle | None) -> np.ndarray:
        o = oracle if oracle is not None else default_oracle()
        return self.assemble(o.run(self.requests))


# ---- argument handling -----------------------------------------------------------------------

def _check_format(format: str) -> str:
    format_spec(format)
    return format


def _axis(x: np.ndarray, axis: int, name: str = "logits") -> int:
    if x.ndim == 0:
        raise ValueError(f"{name}: a row function needs at least one dimension (got a scalar)")
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis: {axis!r} is out of range for {name} with {x.ndim} dimension(s)")
    return int(axis) % x.ndim


def _class_indices(t: Any, name: str) -> np.ndarray:
    """Class indices as an int64 array (exact); floats and bools are refused."""
    if type(t).__module__.split(".")[0] == "torch" and hasattr(t, "detach"):
        if t.is_floating_point() or t.is_complex() or str(t.dtype) == "torch.bool":
            raise TypeError(f"{name}: class indices must be integers (got a {t.dtype} tensor); "
                            f"for probabilities use targets=")
        return t.detach().cpu().numpy().astype(np.int64)
    a = np.asarray(t)
    if a.dtype.kind not in "iu" or a.dtype == np.bool_:
        if a.dtype.kind == "O" and all(isinstance(v, int) and not isinstance(v, bool) for v in a.reshape(-1)):
            raise ValueError(f"{name}: class index out of the int64 range")
        raise TypeError(f"{name}: class indices must be integers (got {a.dtype}: {t!r:.80}); "
                        f"for probabilities use targets=")
    return a.astype(np.int64)


def _float_field(v: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    a = to_float64(v, name)
    if shape is not None:
        try:
            a = np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"{name}: shape {a.shape} does not broadcast to {shape}") from None
    return a


def _scalar_float(v: Any, name: str) -> float:
    a = to_float64(v, name)
    if a.ndim != 0 and a.size != 1:
        raise ValueError(f"{name}: expected one number, got shape {a.shape}")
    return float(a.reshape(-1)[0])


def _weight(weight: Any, k: int) -> np.ndarray | None:
    if weight is None:
        return None
    w = to_float64(weight, "weight")
    if w.ndim != 1:
        raise ValueError(f"weight: class weights must be one-dimensional (K = {k} values), got shape {w.shape}")
    return w


# ---- plans -----------------------------------------------------------------------------------

def _row_plan(function: str, logits: Any, format: str, axis: int, vector: bool,
              extra: Callable[[int, tuple[int, ...]], dict[str, Any]] | None = None,
              common: dict[str, Any] | None = None) -> Plan:
    _check_format(format)
    x = to_float64(logits, "logits", allow_integer=False)
    ax = _axis(x, axis)
    x = np.moveaxis(x, ax, -1)
    batch_shape = x.shape[:-1]
    k = x.shape[-1]
    rows = x.reshape(int(np.prod(batch_shape, dtype=np.int64)), k)
    index = list(np.ndindex(*batch_shape)) if batch_shape else [()]
    requests = []
    for r, row in enumerate(rows):
        fields: dict[str, Any] = {"logits": row}
        if extra is not None:
            fields.update(extra(r, index[r]))
        if common:
            fields.update(common)
        requests.append(Request(function, format, fields))
    row_shape = batch_shape + ((k,) if vector else ())
    return Plan(function, format, requests, row_shape, ax if vector and ax != x.ndim - 1 else None)


def _elementwise_plan(function: str, logits: Any, format: str, per_element: dict[str, Any] | None = None,
                      common: dict[str, Any] | None = None) -> Plan:
    _check_format(format)
    x = to_float64(logits, "logits", allow_integer=False)
    flat = x.reshape(-1)
    others = {name: _float_field(v, name, x.shape).reshape(-1) for name, v in (per_element or {}).items()}
    requests = []
    for start in range(0, flat.size, CHUNK) if flat.size else []:
        fields: dict[str, Any] = {"logits": flat[start:start + CHUNK]}
        for name, v in others.items():
            fields[name] = v[start:start + CHUNK]
        fields.update(common or {})
        requests.append(Request(function, format, fields))
    return Plan(function, format, requests, x.shape)


def _cross_entropy_plan(function: str, logits: Any, target: Any, targets: Any, weight: Any,
                        label_smoothing: Any, format: str, axis: int) -> Plan:
    x = to_float64(logits, "logits", allow_integer=False)
    ax = _axis(x, axis)
    dims = list(x.shape)
    k = dims.pop(ax)
    batch_shape = tuple(dims)
    if (target is None) == (targets is None):
        raise TypeError(f"{function}: give exactly one of target= (class index) and targets= (probabilities)")
    common: dict[str, Any] = {}
    extra: Callable[[int, tuple[int, ...]], dict[str, Any]]
    if target is not None:
        t = _class_indices(target, "target")
        try:
            t = np.broadcast_to(t, batch_shape)
        except ValueError:
            raise ValueError(f"target: shape {t.shape} does not match the rows' shape {batch_shape}") from None
        extra = lambda r, i: {"target": int(t[i])}  # noqa: E731
    else:
        p = np.moveaxis(_float_field(targets, "targets", x.shape), ax, -1)
        extra = lambda r, i: {"targets": p[i]}  # noqa: E731
    smoothing = _scalar_float(label_smoothing, "label_smoothing")
    if smoothing != 0 or np.signbit(smoothing):
        common["label_smoothing"] = smoothing
    w = _weight(weight, k)
    if w is not None:
        common["weight"] = w
    return _row_plan(function, x, format, ax, function == "cross_entropy_grad", extra, common)


def _loss_plan(batch: Any, targets: Any, weight: Any, ignore_index: int, reduction: str,
               label_smoothing: Any, format: str) -> Plan:
    _check_format(format)
    b = to_float64(batch, "batch", allow_integer=False)
    if b.ndim != 2:
        raise ValueError(f"batch: expected N rows of K logits (2 dimensions), got shape {b.shape}; "
                         f"for one row use cross_entropy, or batch[None]")
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"reduction: {reduction!r} is not one of none, sum, mean")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"ignore_index: {ignore_index!r} is not an integer")
    fields: dict[str, Any] = {"batch": b}
    is_float = (type(targets).__module__.split(".")[0] == "torch" and targets.is_floating_point()) or \
        (not (type(targets).__module__.split(".")[0] == "torch") and np.asarray(targets).dtype.kind in "fV")
    if is_float:
        p = to_float64(targets, "targets")
        if p.shape != b.shape:
            raise ValueError(f"targets: probability targets must have the batch's shape {b.shape}, got {p.shape}")
        fields["targets"] = p
    else:
        t = _class_indices(targets, "targets")
        if t.shape != (b.shape[0],):
            raise ValueError(f"targets: expected {b.shape[0]} class indices (one per row), got shape {t.shape}")
        fields["targets"] = t
    w = _weight(weight, b.shape[1])
    if w is not None:
        fields["weight"] = w
    if int(ignore_index) != -100:
        fields["ignore_index"] = int(ignore_index)
    if reduction != "mean":
        fields["reduction"] = reduction
    smoothing = _scalar_float(label_smoothing, "label_smoothing")
    if smoothing != 0 or np.signbit(smoothing):
        fields["label_smoothing"] = smoothing
    shape = (b.shape[0],) if reduction == "none" else ()
    return Plan("cross_entropy_loss", format, [Request("cross_entropy_loss", format, fields)], shape)


def plan(function: str, logits: Any = None, format: str = "f64", **fields: Any) -> Plan:
    """The `Plan` (requests and result layout) of ``function(logits, format=format, **fields)``.

    `cross_entropy_loss` takes ``batch=`` and ``targets=`` instead of ``logits``. Unknown
    fields raise ``TypeError``, as the functions do.
    """
    if function not in FUNCTIONS:
        raise ValueError(f"function: {function!r} is not one of {', '.join(FUNCTIONS)}")
    return _PLANS[function](logits, format, **fields)


def _p_row(function: str, vector: bool):
    def p(logits: Any, format: str = "f64", *, axis: int = -1) -> Plan:
        return _row_plan(function, logits, format, axis, vector)
    return p


def _p_ce(function: str):
    def p(logits: Any, format: str = "f64", *, target: Any = None, targets: Any = None, weight: Any = None,
          label_smoothing: Any = 0.0, axis: int = -1, **options: Any) -> Plan:
        _check_format(format)
        pl = _cross_entropy_plan(function, logits, target, targets, weight, label_smoothing, format, axis)
        return _with_options(pl, options)
    return p


def _with_options(pl: Plan, options: dict[str, Any]) -> Plan:
    """`pl` with the loss options (softcap, z_loss, temperature; see _losses.py) in each request."""
    extra = option_fields(**options)
    for r in pl.requests:
        r.fields.update(extra)
    return pl


def _p_elementwise(function: str):
    def p(logits: Any, format: str = "f64") -> Plan:
        return _elementwise_plan(function, logits, format)
    return p


def _p_bce(logits: Any, format: str = "f64", *, labels: Any = None, pos_weight: Any = None,
           weight: Any = None) -> Plan:
    if labels is None:
        raise TypeError("bce_with_logits: labels= is required (one label per logit)")
    per: dict[str, Any] = {"labels": labels}
    common: dict[str, Any] = {}
    if pos_weight is not None:
        pw = to_float64(pos_weight, "pos_weight")
        if pw.size == 1 and pw.ndim <= 1:
            common["pos_weight"] = float(pw.reshape(-1)[0])
        else:
            per["pos_weight"] = pw
    if weight is not None:
        per["weight"] = weight
    return _elementwise_plan("bce_with_logits", logits, format, per, common)


def _p_loss(logits: Any = None, format: str = "f64", *, batch: Any = None, targets: Any = None,
            weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
            label_smoothing: Any = 0.0, **options: Any) -> Plan:
    if batch is None:
        batch = logits
    if batch is None or targets is None:
        raise TypeError("cross_entropy_loss: batch= and targets= are required")
    return _with_options(_loss_plan(batch, targets, weight, ignore_index, reduction, label_smoothing, format), options)


_PLANS: dict[str, Callable[..., Plan]] = {
    "logsumexp": _p_row("logsumexp", False),
    "softmax": _p_row("softmax", True),
    "log_softmax": _p_row("log_softmax", True),
    "cross_entropy": _p_ce("cross_entropy"),
    "cross_entropy_grad": _p_ce("cross_entropy_grad"),
    "sigmoid": _p_elementwise("sigmoid"),
    "log_sigmoid": _p_elementwise("log_sigmoid"),
    "softplus": _p_elementwise("softplus"),
    "bce_with_logits": _p_bce,
    "cross_entropy_loss": _p_loss,
}

# ---- the public functions --------------------------------------------------------------------

_RETURNS = """
    Returns a NumPy array of the correctly rounded results in ``format``: float64 (f64), float32
    (f32), float16 (f16); bf16, e5m2, e4m3fn as ``ml_dtypes.bfloat16`` / ``float8_e5m2`` /
    ``float8_e4m3fn`` when ml_dtypes is installed, else float32 holding those values exactly.
    Raises `OracleRequestError` (a ``ValueError``) with the oracle's message naming the field and
    value when it refuses the request (e.g. a target outside [0, K)), ``TypeError`` for integer or
    complex logits, and `OracleProcessError` when the process fails.
"""


def logsumexp(logits: Any, format: str = "f64", *, axis: int = -1, oracle: Oracle | None = None) -> np.ndarray:
    """log Σ exp(x) of each row along ``axis``: a 0-d array for a 1-D row, else the shape of the
    other dimensions. K = 0 gives −inf; NaN in a row gives NaN; +inf gives +inf; all −inf gives −inf.
    """
    return _PLANS["logsumexp"](logits, format, axis=axis).evaluate(oracle)


def softmax(logits: Any, format: str = "f64", *, axis: int = -1, oracle: Oracle | None = None) -> np.ndarray:
    """exp(x_i) / Σ exp(x_j) along ``axis`` (same shape as ``logits``). −inf logits give +0; a
    row with NaN or +inf, or only −inf, gives NaN everywhere.
    """
    return _PLANS["softmax"](logits, format, axis=axis).evaluate(oracle)


def log_softmax(logits: Any, format: str = "f64", *, axis: int = -1, oracle: Oracle | None = None) -> np.ndarray:
    """x_i − logsumexp(x) along ``axis``. A nonzero exact value that rounds to 0 keeps its sign
    (log_softmax([1000, 1])[0] is −0.0). Special values as `softmax` (−inf logits give −inf).
    """
    return _PLANS["log_softmax"](logits, format, axis=axis).evaluate(oracle)


def cross_entropy(logits: Any, target: Any = None, *, targets: Any = None, weight: Any = None,
                  label_smoothing: float = 0.0, format: str = "f64", axis: int = -1,
                  oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """The cross-entropy of each row: ``target`` a class index (an int, or an integer array with
    one index per row), or ``targets`` probabilities (same shape as ``logits``; need not sum to
    1); ``weight`` K class weights; ``label_smoothing`` ε in [0, 1] (PyTorch's definition).
    A 0-d array for a 1-D row, else the shape of the other dimensions.
    cross_entropy([1000, 0, -1000], target=1) is exactly 1000.0. Loss options: ``softcap``,
    ``z_loss``, ``temperature`` (docs/semantics.md).
    """
    return _PLANS["cross_entropy"](logits, format, target=target, targets=targets, weight=weight,
                                   label_smoothing=label_smoothing, axis=axis, **options).evaluate(oracle)


def cross_entropy_grad(logits: Any, target: Any = None, *, targets: Any = None, weight: Any = None,
                       label_smoothing: float = 0.0, format: str = "f64", axis: int = -1,
                       oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """∂ cross_entropy / ∂ logits for each row (same shape as ``logits``; arguments as
    `cross_entropy`, loss options included): softmax(x)·Σ r − r for the effective target weights r.
    """
    return _PLANS["cross_entropy_grad"](logits, format, target=target, targets=targets, weight=weight,
                                        label_smoothing=label_smoothing, axis=axis, **options).evaluate(oracle)


def sigmoid(logits: Any, format: str = "f64", *, oracle: Oracle | None = None) -> np.ndarray:
    """1 / (1 + e^−x), elementwise, any shape (a 0-d input gives a 0-d result)."""
    return _PLANS["sigmoid"](logits, format).evaluate(oracle)


def log_sigmoid(logits: Any, format: str = "f64", *, oracle: Oracle | None = None) -> np.ndarray:
    """−softplus(−x), elementwise, any shape; log_sigmoid(+inf) = −0.0."""
    return _PLANS["log_sigmoid"](logits, format).evaluate(oracle)


def softplus(logits: Any, format: str = "f64", *, oracle: Oracle | None = None) -> np.ndarray:
    """log(1 + e^x), elementwise, any shape."""
    return _PLANS["softplus"](logits, format).evaluate(oracle)


def bce_with_logits(logits: Any, labels: Any, pos_weight: Any = None, weight: Any = None, *,
                    format: str = "f64", oracle: Oracle | None = None) -> np.ndarray:
    """PyTorch's ``binary_cross_entropy_with_logits(reduction="none")``, elementwise:
    weight · −[pos_weight·z·log σ(x) + (1 − z)·log(1 − σ(x))]. ``labels`` and ``weight``
    broadcast to the shape of ``logits``; ``pos_weight`` is one number or broadcasts likewise.
    Labels, weights and pos_weight must be finite (any sign).
    """
    return _PLANS["bce_with_logits"](logits, format, labels=labels, pos_weight=pos_weight,
                                     weight=weight).evaluate(oracle)


def cross_entropy_loss(batch: Any, targets: Any, ignore_index: int = -100, reduction: str = "mean",
                       weight: Any = None, label_smoothing: float = 0.0, *, format: str = "f64",
                       oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """PyTorch ``CrossEntropyLoss`` over ``batch`` (N × K): ``targets`` N class indices (integers;
    rows equal to ``ignore_index`` are skipped) or N × K probabilities (float); ``reduction``
    "mean" (divides by Σ weight[target] over kept rows, NaN when that is 0), "sum" or "none"
    (shape (N,), +0 for a skipped row). A 0-d array unless ``reduction="none"``. Loss options:
    ``softcap``, ``z_loss`` (mean: divided by the number of kept rows), ``temperature``.
    """
    return _PLANS["cross_entropy_loss"](None, format, batch=batch, targets=targets, weight=weight,
                                        ignore_index=ignore_index, reduction=reduction,
                                        label_smoothing=label_smoothing, **options).evaluate(oracle)


_PUBLIC = {f.__name__: f for f in (logsumexp, softmax, log_softmax, cross_entropy, cross_entropy_grad, sigmoid,
                                   log_sigmoid, softplus, bce_with_logits, cross_entropy_loss)}
for _f in _PUBLIC.values():
    _f.__doc__ = (_f.__doc__ or "") + _RETURNS


def _method(f: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    @functools.wraps(f)
    def m(self: "Oracle", *args: Any, **kwargs: Any) -> np.ndarray:
        return f(*args, oracle=self, **kwargs)
    return m


class Oracle:
    """A handle on one `softmax-oracle` process (started lazily, reused, restarted if it died).

    ``Oracle()`` finds the binary with `find_binary` ($SOFTMAX_ORACLE_BIN, the bundled binary,
    PATH); ``binary=`` names one; ``timeout`` is seconds without progress before a call fails;
    ``transport=`` plugs in another `Transport`. Use it as a context manager, or call `close()`;
    any process still open is closed at interpreter exit. Thread-safe (calls are serialized).

    Every module-level function (``softmax_oracle.softmax(...)``) is also a method here, and the
    module-level ones accept ``oracle=`` to use a given handle instead of the shared default.
    """

    def __init__(self, binary: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: Transport | None = None):
        self.transport = transport if transport is not None else JsonLinesTransport(binary, timeout)

    def __enter__(self) -> "Oracle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Ends the process and reaps it; a later call starts a new one."""
        self.transport.close()

    @property
    def pid(self) -> int | None:
        """The running process's id (None before the first call and after `close`)."""
        return self.transport.pid

    def run(self, requests: Sequence[Request]) -> list[Answer]:
        """The raw answers to `requests` (float64 values, or the oracle's error message)."""
        return self.transport.run(list(requests))

    # The module's functions as methods (``oracle=`` bound to this handle).
    logsumexp = _method(logsumexp)
    softmax = _method(softmax)
    log_softmax = _method(log_softmax)
    cross_entropy = _method(cross_entropy)
    cross_entropy_grad = _method(cross_entropy_grad)
    sigmoid = _method(sigmoid)
    log_sigmoid = _method(log_sigmoid)
    softplus = _method(softplus)
    bce_with_logits = _method(bce_with_logits)
    cross_entropy_loss = _method(cross_entropy_loss)


_default: Oracle | None = None
_default_lock = threading.Lock()


def default_oracle() -> Oracle:
    """The shared `Oracle` the module-level functions use (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Oracle()
        return _default


# The loss options and cross_entropy_loss_backward live in _losses.py, which uses this module.
from ._losses import cross_entropy_loss_backward, option_fields  # noqa: E402

cross_entropy_loss_backward.__doc__ = (cross_entropy_loss_backward.__doc__ or "") + _RETURNS
Oracle.cross_entropy_loss_backward = _method(cross_entropy_loss_backward)  # type: ignore[attr-defined]
