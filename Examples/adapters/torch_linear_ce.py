#!/usr/bin/env python3
"""The textbook fused linear cross-entropy in PyTorch, F.linear + F.cross_entropy in the request's
dtype (float32 or bfloat16; also f64, f16), speaking softmax-oracle's check protocol on the CPU.

    softmax-oracle check --exec "python3 Examples/adapters/torch_linear_ce.py" --format f32 --format bf16

What each function computes (autograd for the gradients; grad_output as the backward seed):
    linear_cross_entropy              F.cross_entropy(F.linear(H, W, b), targets, weight=ce_weight,
                                      ignore_index=, reduction=, label_smoothing=)
                                      (+ z_loss·logsumexp² per kept row, softcap c·tanh(z/c) first,
                                      as Liger writes them, when the request has them)
    linear_cross_entropy_grad_hidden  ∂/∂H of the above
    linear_cross_entropy_grad_weight  ∂/∂W
    linear_cross_entropy_grad_bias    ∂/∂b (zeros' gradient when the request has no bias)
Every intermediate (the logits, the softmax) is in the request's dtype: that is the reference
the oracle's exact logits are compared against. When PyTorch cannot be imported, every request
is answered with an error line saying so.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # oracle_adapter, from any directory
from oracle_adapter import Unsupported, parse_float, request_dtype, serve  # noqa: E402

try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    DTYPES = {"f64": torch.float64, "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    IMPORT_ERROR = None
except Exception as e:  # noqa: BLE001
    IMPORT_ERROR = f"torch is not importable here ({type(e).__name__}: {e})"


def tensor(values, dt):
    if values and isinstance(values[0], list):
        return torch.tensor([[parse_float(v) for v in row] for row in values], dtype=torch.float64).to(dt)
    return torch.tensor([parse_float(v) for v in values], dtype=torch.float64).to(dt)


def evaluate(req):
    if IMPORT_ERROR:
        raise Unsupported(IMPORT_ERROR)
    fmt, dt = request_dtype(req, DTYPES)
    fn = req["function"]
    if not fn.startswith("linear_cross_entropy"):
        raise Unsupported(f"function {fn} is not implemented")
    h = tensor(req["hidden"], dt).requires_grad_(True)
    w = tensor(req["weight"], dt).requires_grad_(True)
    b = (tensor(req["bias"], dt) if "bias" in req else torch.zeros(w.shape[0], dtype=dt)).requires_grad_(True)
    targets = torch.tensor(req["targets"], dtype=torch.long)
    reduction = req.get("reduction", "mean")
    ignore = req.get("ignore_index", -100)
    z = F.linear(h, w, b)
    if "softcap" in req:
        c = parse_float(req["softcap"])
        z = c * torch.tanh(z / c)
    loss = F.cross_entropy(z, targets, weight=tensor(req["ce_weight"], dt) if "ce_weight" in req else None,
                           ignore_index=ignore, reduction=reduction,
                           label_smoothing=parse_float(req.get("label_smoothing", 0)))
    zl = parse_float(req.get("z_loss", 0))
    if zl:
        kept = (targets != ignore).to(dt)
        per_row = zl * torch.logsumexp(z, dim=-1) ** 2 * kept
        if reduction == "none":
            loss = loss + per_row
        elif reduction == "sum":
            loss = loss + per_row.sum()
        else:
            loss = loss + per_row.sum() / kept.sum()
    if fn == "linear_cross_entropy":
        r = loss
    else:
        g = req.get("grad_output", 1.0)
        seed = tensor(g if isinstance(g, list) else [g], dt)
        loss.backward(seed.expand_as(loss) if loss.dim() else seed[0])
        r = {"linear_cross_entropy_grad_hidden": h, "linear_cross_entropy_grad_weight": w,
             "linear_cross_entropy_grad_bias": b}[fn].grad
        if r is None:
            raise Unsupported(f"{fn}: autograd gave no gradient")
    if r.dtype != dt:
        raise Unsupported(f"unsupported format {fmt}: torch computed {fn} in {r.dtype}")
    return r.detach().to(torch.float64).reshape(-1).tolist()


if __name__ == "__main__":
    serve(evaluate)
