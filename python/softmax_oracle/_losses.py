"""The loss options (``softcap``, ``z_loss``, ``temperature``) and `cross_entropy_loss_backward`.

The options are accepted by `cross_entropy`, `cross_entropy_grad` and `cross_entropy_loss` (passed
through as protocol fields) and by `cross_entropy_loss_backward` here. Their meaning, in this
order (docs/semantics.md, "Loss options"): logits x / T (exact quotient), then c·tanh(·/c), then
the loss, plus ``z_loss``·logsumexp(z)² per kept row (mean: divided by the number of kept rows).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _functions as _f  # circular on purpose: _functions imports option_fields from here
from ._formats import to_float64
from ._request import Request


def option_fields(softcap: Any = None, z_loss: Any = 0.0, temperature: Any = None) -> dict[str, Any]:
    """The protocol fields of the loss options given (``z_loss`` 0 and None options are left
    out). Values are checked by the oracle, which names the field: c > 0, z_loss >= 0, T > 0."""
    fields: dict[str, Any] = {}
    if softcap is not None:
        fields["softcap"] = _f._scalar_float(softcap, "softcap")
    z = _f._scalar_float(z_loss, "z_loss")
    if z != 0 or np.signbit(z):
        fields["z_loss"] = z
    if temperature is not None:
        fields["temperature"] = _f._scalar_float(temperature, "temperature")
    return fields


def backward_plan(batch: Any, targets: Any, grad_output: Any = 1.0, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: Any = 0.0, softcap: Any = None, z_loss: Any = 0.0,
                  temperature: Any = None, format: str = "f64") -> "_f.Plan":
    """The `Plan` of `cross_entropy_loss_backward` (one request; the answer is N·K values,
    row-major, shaped (N, K))."""
    loss = _f._loss_plan(batch, targets, weight, ignore_index, reduction, label_smoothing, format)
    fields = dict(loss.requests[0].fields)
    n, k = fields["batch"].shape
    g = to_float64(grad_output, "grad_output").reshape(-1)
    want = n if reduction == "none" else 1
    if g.size != want:
        raise ValueError(f"grad_output: {g.size} values; reduction {reduction!r} takes "
                         + ("one per row" if want != 1 or reduction == "none" else "one (a scalar)") + f" ({want})")
    ordered = {"batch": fields.pop("batch"), "targets": fields.pop("targets"), "grad_output": g}
    ordered.update(fields)
    ordered.update(option_fields(softcap, z_loss, temperature))
    function = "cross_entropy_loss_backward"
    return _f.Plan(function, format, [Request(function, format, ordered)], (n, k))


def cross_entropy_loss_backward(batch: Any, targets: Any, grad_output: Any = 1.0, ignore_index: int = -100,
                                reduction: str = "mean", weight: Any = None, label_smoothing: float = 0.0, *,
                                softcap: Any = None, z_loss: Any = 0.0, temperature: Any = None,
                                format: str = "f64", oracle: "_f.Oracle | None" = None) -> np.ndarray:
    """∂ cross_entropy_loss / ∂ batch times ``grad_output`` (a scalar for "sum" and "mean", one
    per row for "none"), shape (N, K), with every option of `cross_entropy_loss` and the loss
    options. Ignored rows are exactly +0. What ``torch.autograd`` gives for
    ``F.cross_entropy(...).backward(grad_output)``, correctly rounded.
    """
    return backward_plan(batch, targets, grad_output, weight, ignore_index, reduction, label_smoothing,
                         softcap, z_loss, temperature, format).evaluate(oracle)
