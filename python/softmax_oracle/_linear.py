"""The fused linear cross-entropy: ``linear_cross_entropy`` and its three gradients.

The logits are the exact products ``hidden @ weight.T (+ bias)`` (as ``F.linear``), never
rounded; the loss is ``cross_entropy_loss``'s with every option (``ignore_index``,
``label_smoothing``, ``reduction``, class weights ``ce_weight``, ``softcap``, ``z_loss``). Each
call sends one request and returns the certified, correctly rounded results in ``format``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._formats import to_float64
from ._functions import Oracle, Plan, _check_format, _class_indices, _method, _scalar_float
from ._request import Request

#: The fused functions, in docs/protocol.md's order.
LINEAR_FUNCTIONS = ("linear_cross_entropy", "linear_cross_entropy_grad_hidden",
                    "linear_cross_entropy_grad_weight", "linear_cross_entropy_grad_bias")


def _matrix(v: Any, name: str) -> np.ndarray:
    a = to_float64(v, name, allow_integer=False)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a matrix (2 dimensions), got shape {a.shape}")
    return a


def linear_plan(function: str, hidden: Any, weight: Any, targets: Any, bias: Any = None, *,
                ce_weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                label_smoothing: float = 0.0, softcap: float | None = None, z_loss: float = 0.0,
                grad_output: Any = None, format: str = "f64") -> Plan:
    """The one request of a fused call, and the shape of its result."""
    if function not in LINEAR_FUNCTIONS:
        raise ValueError(f"function: {function!r} is not one of {', '.join(LINEAR_FUNCTIONS)}")
    _check_format(format)
    h, w = _matrix(hidden, "hidden"), _matrix(weight, "weight")
    if h.shape[1] != w.shape[1]:
        raise ValueError(f"weight: shape {w.shape} does not match hidden {h.shape} (weight is V × d, as F.linear's)")
    t = _class_indices(targets, "targets").reshape(-1)
    fields: dict[str, Any] = {"hidden": h, "weight": w, "targets": t}
    if bias is not None:
        fields["bias"] = to_float64(bias, "bias").reshape(-1)
    if ce_weight is not None:
        fields["ce_weight"] = to_float64(ce_weight, "ce_weight").reshape(-1)
    if ignore_index != -100:
        fields["ignore_index"] = int(ignore_index)
    if reduction != "mean":
        fields["reduction"] = reduction
    if label_smoothing:
        fields["label_smoothing"] = _scalar_float(label_smoothing, "label_smoothing")
    if softcap is not None:
        fields["softcap"] = _scalar_float(softcap, "softcap")
    if z_loss:
        fields["z_loss"] = _scalar_float(z_loss, "z_loss")
    if grad_output is not None:
        if function == "linear_cross_entropy":
            raise TypeError("grad_output: only the gradients take an upstream gradient")
        g = to_float64(grad_output, "grad_output")
        fields["grad_output"] = g.reshape(-1) if g.ndim else float(g)
    n, d = h.shape
    v = w.shape[0]
    shape = {"linear_cross_entropy": (n,) if reduction == "none" else (),
             "linear_cross_entropy_grad_hidden": (n, d),
             "linear_cross_entropy_grad_weight": (v, d),
             "linear_cross_entropy_grad_bias": (v,)}[function]
    return Plan(function, format, [Request(function, format, fields)], shape)


def linear_cross_entropy(hidden: Any, weight: Any, targets: Any, bias: Any = None, *, format: str = "f64",
                         oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """``F.cross_entropy(F.linear(hidden, weight, bias), targets, ...)`` with the exact logits:
    a 0-d array, or shape (N,) for ``reduction="none"``. Options: ``ce_weight`` (class weights),
    ``ignore_index``, ``reduction``, ``label_smoothing``, ``softcap``, ``z_loss``."""
    return linear_plan("linear_cross_entropy", hidden, weight, targets, bias, format=format, **options).evaluate(oracle)


def linear_cross_entropy_grad_hidden(hidden: Any, weight: Any, targets: Any, bias: Any = None, *, format: str = "f64",
                                     oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """∂ linear_cross_entropy / ∂ hidden times ``grad_output`` (default 1): shape (N, d)."""
    return linear_plan("linear_cross_entropy_grad_hidden", hidden, weight, targets, bias, format=format,
                       **options).evaluate(oracle)


def linear_cross_entropy_grad_weight(hidden: Any, weight: Any, targets: Any, bias: Any = None, *, format: str = "f64",
                                     oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """∂ linear_cross_entropy / ∂ weight times ``grad_output`` (default 1): shape (V, d)."""
    return linear_plan("linear_cross_entropy_grad_weight", hidden, weight, targets, bias, format=format,
                       **options).evaluate(oracle)


def linear_cross_entropy_grad_bias(hidden: Any, weight: Any, targets: Any, bias: Any = None, *, format: str = "f64",
                                   oracle: Oracle | None = None, **options: Any) -> np.ndarray:
    """∂ linear_cross_entropy / ∂ bias times ``grad_output`` (default 1): shape (V,)."""
    return linear_plan("linear_cross_entropy_grad_bias", hidden, weight, targets, bias, format=format,
                       **options).evaluate(oracle)


for _name in LINEAR_FUNCTIONS:  # methods of Oracle too, as every module-level function
    setattr(Oracle, _name, _method(globals()[_name]))
