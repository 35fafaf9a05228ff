"""The vector–Jacobian products of softmax and log_softmax (PyTorch's ``_softmax_backward_data``
and ``_log_softmax_backward_data``), certified and correctly rounded like every other function:

    softmax_backward(x, dy)     = y * (dy - sum(dy * y)),  y = softmax(x)
    log_softmax_backward(x, dy) = dy - softmax(x) * sum(dy)

``grad_output`` (dy) has the shape of ``logits`` and must be finite; both are read exactly as
float64. One request per row along ``axis``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._formats import to_float64
from ._functions import _PLANS, Oracle, Plan, _axis, _method, _row_plan


def _p_backward(function: str):
    def p(logits: Any, format: str = "f64", *, grad_output: Any = None, axis: int = -1) -> Plan:
        if grad_output is None:
            raise TypeError(f"{function}: grad_output= is required (one upstream gradient per logit)")
        x = to_float64(logits, "logits", allow_integer=False)
        dy = to_float64(grad_output, "grad_output")
        if dy.shape != x.shape:
            raise ValueError(f"{function}: grad_output has shape {dy.shape}, logits {x.shape}")
        # Rows along the last axis, in the batch shape's order, as _row_plan's per-row fields.
        return _row_plan(function, x, format, axis, True, {"grad_output": np.moveaxis(dy, _axis(x, axis), -1)})
    return p


_PLANS["softmax_backward"] = _p_backward("softmax_backward")
_PLANS["log_softmax_backward"] = _p_backward("log_softmax_backward")


def softmax_backward(logits: Any, grad_output: Any, format: str = "f64", *, axis: int = -1,
                     oracle: Oracle | None = None) -> np.ndarray:
    """y * (grad_output - sum(grad_output * y)) along ``axis``, y = softmax(logits) (same shape as
    ``logits``). Exact zeros are +0 (a constant ``grad_output`` gives 0 everywhere); a −inf logit
    gives +0; a row with NaN or +inf, or only −inf, gives NaN everywhere. Raises
    `OracleRequestError` for a non-finite ``grad_output``.
    """
    return _PLANS["softmax_backward"](logits, format, grad_output=grad_output, axis=axis).evaluate(oracle)


def log_softmax_backward(logits: Any, grad_output: Any, format: str = "f64", *, axis: int = -1,
                         oracle: Oracle | None = None) -> np.ndarray:
    """grad_output - softmax(logits) * sum(grad_output) along ``axis``. A −inf logit gives its
    grad_output exactly; exact zeros are +0; special rows as `softmax_backward`.
    """
    return _PLANS["log_softmax_backward"](logits, format, grad_output=grad_output, axis=axis).evaluate(oracle)


Oracle.softmax_backward = _method(softmax_backward)  # type: ignore[attr-defined]
Oracle.log_softmax_backward = _method(log_softmax_backward)  # type: ignore[attr-defined]
