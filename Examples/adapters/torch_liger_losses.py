#!/usr/bin/env python3
"""The LLM losses as Liger Kernel and Gemma 2 write them, in PyTorch on the CPU, speaking
softmax-oracle's check protocol: soft-capping, z-loss, temperature, and the batch loss's gradient
by autograd.

    softmax-oracle check --exec "python3 Examples/adapters/torch_liger_losses.py" \\
        --function cross_entropy --function cross_entropy_loss --function cross_entropy_loss_backward \\
        --family softcap_saturation --family z_loss_dominant --family all_ignored --format f64 --format f32

What each function computes (in the request's dtype, as Liger's reference code does):
    z = x / temperature                                   (when given)
    z = softcap * torch.tanh(z / softcap)                 (when given; Gemma 2, Liger `softcap`)
    ce_i = F.cross_entropy(z, y, weight=, ignore_index=, label_smoothing=, reduction="none")
    lse_i = torch.logsumexp(z, -1); zl_i = z_loss * lse_i**2 on kept rows  (Liger `lse_square_scale`)
    cross_entropy        ce + zl of the row
    cross_entropy_grad   autograd of the above
    cross_entropy_loss   none: ce_i + zl_i; sum: Σ; mean: Σ ce_i / Σ w[y_i] + Σ zl_i / N_kept (Liger's)
    cross_entropy_loss_backward  autograd: x.grad of cross_entropy_loss.backward(grad_output)
Formats: f64, f32, f16, bf16. When PyTorch cannot be imported, every request gets an error line.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling adapters, from any directory
from oracle_adapter import Unsupported, parse_float, request_dtype, serve  # noqa: E402
# torch, its dtypes and the exact tensor conversion, as the plain PyTorch adapter sets them up.
import torch_nn  # noqa: E402
from torch_nn import IMPORT_ERROR, tensor  # noqa: E402

if IMPORT_ERROR is None:
    import torch
    import torch.nn.functional as F


def transformed(x, req):
    """Temperature first, then the soft-cap, as docs/semantics.md orders them."""
    if "temperature" in req:
        x = x / parse_float(req["temperature"])
    if "softcap" in req:
        c = parse_float(req["softcap"])
        x = c * torch.tanh(x / c)
    return x


def batch_loss(x, target, req, dt, reduction):
    """Liger's convention: z-loss per kept row, unweighted; mean divides it by the kept rows."""
    weight = tensor(req["weight"], dt) if "weight" in req else None
    ignore = req.get("ignore_index", -100)
    z = transformed(x, req)
    ce = F.cross_entropy(z, target, weight=weight, ignore_index=ignore, reduction="none",
                         label_smoothing=parse_float(req.get("label_smoothing", 0)))
    coefficient = parse_float(req.get("z_loss", 0))
    if target.dtype == torch.long:
        kept = target != ignore
        denominator = (weight[target[kept]].sum() if weight is not None else kept.sum().to(dt))
    else:
        kept = torch.ones(x.shape[0], dtype=torch.bool)
        denominator = torch.tensor(float(x.shape[0]), dtype=dt)
    lse = torch.logsumexp(z, -1)
    zl = torch.where(kept, coefficient * lse * lse, torch.zeros_like(lse)) if coefficient else torch.zeros_like(lse)
    if reduction == "none":
        return ce + zl
    if reduction == "sum":
        return ce.sum() + zl.sum()
    return ce.sum() / denominator + zl.sum() / kept.sum().to(dt)


def targets_of(req, dt, key="targets"):
    t = req[key]
    if t and isinstance(t[0], list):
        return torch.stack([tensor(row, dt) for row in t])
    return torch.tensor(t, dtype=torch.long)


def evaluate(req):
    if IMPORT_ERROR:
        raise Unsupported(IMPORT_ERROR)
    fmt, dt = request_dtype(req, torch_nn.DTYPES)
    fn = req["function"]
    if fn in ("cross_entropy_loss", "cross_entropy_loss_backward"):
        x = torch.stack([tensor(row, dt) for row in req["batch"]])
        reduction = req.get("reduction", "mean")
        if fn == "cross_entropy_loss":
            r = batch_loss(x, targets_of(req, dt), req, dt, reduction)
        else:
            x.requires_grad_(True)
            go = req.get("grad_output", ["0x1p+0"])
            go = tensor(go if isinstance(go, list) else [go], dt)
            loss = batch_loss(x, targets_of(req, dt), req, dt, reduction)
            loss.backward(go if reduction == "none" else go[0])
            r = x.grad
    elif fn in ("cross_entropy", "cross_entropy_grad"):
        x = tensor(req["logits"], dt)[None]
        target = torch.tensor([req["target"]]) if "target" in req else tensor(req["targets"], dt)[None]
        if fn == "cross_entropy_grad":
            x.requires_grad_(True)
            batch_loss(x, target, req, dt, "none")[0].backward()
            r = x.grad[0]
        else:
            r = batch_loss(x, target, req, dt, "none")[0]
    else:
        raise Unsupported(f"function {fn} is not implemented (loss functions only)")
    if r.dtype != dt:
        raise Unsupported(f"unsupported format {fmt}: torch computed {fn} in {r.dtype}")
    return r.detach().to(torch.float64).reshape(-1).tolist()


if __name__ == "__main__":
    serve(evaluate)
