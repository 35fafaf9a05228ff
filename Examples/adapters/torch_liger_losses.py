#!/usr/bin/env python3
"""The LLM losses as Liger Kernel and Gemma 2 write them, in PyTorch on the CPU, speaking
softmax-oracle's check protocol: soft-capping, z-loss, temperature, and the gradients by autograd.

    softmax-oracle check --exec "python3 Examples/adapters/torch_liger_losses.py" \\
        --function cross_entropy --function cross_entropy_loss --function cross_entropy_loss_backward \\
        --family softcap_saturation --family z_loss_dominant --family all_ignored --format f64 --format f32

Where it follows Liger (LigerCrossEntropyLoss: the Triton kernel `liger_cross_entropy_kernel` in
src/liger_kernel/ops/cross_entropy.py of linkedin/Liger-Kernel):
    dtype        16-bit logits are cast to float32 first (the kernel's `.cast(tl.float32)`), and
                 the loss and the gradient are stored in the input's dtype; f32 and f64 requests
                 are computed in their own dtype (the kernel would compute f64 in fp32 too)
    ignored rows left out: their loss and gradient are 0 (the kernel returns early for
                 y == ignore_index), also when they hold NaN or ±inf (PyTorch's own
                 F.cross_entropy gives such rows a NaN gradient)
    soft-cap     z = softcap * torch.tanh(z / softcap)         (`softcap * tanh(X / softcap)`)
    z-loss       z_loss * lse * lse, lse = torch.logsumexp(z)   (`lse_square_scale * lse * lse`),
                 not multiplied by the class weight (the kernel's "TODO: weighted z_loss")
    mean         each kept row's CE / Σ w[y] (or / N_kept) plus its z-loss / N_kept, then summed
                 (the kernel divides each row's loss before `torch.sum(loss_1d)`); with every
                 row ignored the kernel's sum of zeros is 0, where the oracle (and PyTorch) give
                 NaN: the all_ignored family shows that difference as a special-value mismatch
Not Liger: temperature (z = x / temperature first, in the compute dtype; Liger's cross-entropy has
none), probability targets (Liger takes class indices only; every row is kept). The rest of the
cross-entropy (class weights, label smoothing) is F.cross_entropy, whose formula Liger's kernel
follows.

Functions: cross_entropy (one row), cross_entropy_grad (its autograd), cross_entropy_loss
(reduction none / sum / mean), cross_entropy_loss_backward (autograd, times grad_output).
Formats: f64, f32, f16, bf16. When PyTorch cannot be imported, every request gets an error line.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling adapters, from any directory
from oracle_adapter import LOSS_OPTIONS, Unsupported, parse_float, request_dtype, serve  # noqa: E402
# torch, its dtypes and the exact tensor conversion, as the plain PyTorch adapter sets them up.
import torch_nn  # noqa: E402
from torch_nn import IMPORT_ERROR, grad_output_of, tensor  # noqa: E402

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


def liger_compute_dtype(dt):
    """float32 for 16-bit inputs, as Liger's kernel casts each loaded block; else `dt`."""
    return torch.float32 if dt in (torch.float16, torch.bfloat16) else dt


def batch_loss(x, target, req, dt, reduction, compute_dtype=None, textbook=False):
    """The batch loss of logits `x` (N × V, dtype `dt`) as Liger's kernel computes it (module
    docstring), in `compute_dtype` (default `liger_compute_dtype(dt)`), returned in `dt`.
    `textbook`: the mean as written with PyTorch, sums divided once (NaN when every row is
    ignored), instead of Liger's per-row division (0 then)."""
    cdt = compute_dtype or liger_compute_dtype(dt)
    n = x.shape[0]
    weight = tensor(req["weight"], dt).to(cdt) if "weight" in req else None
    ignore = req.get("ignore_index", -100)
    kept = target != ignore if target.dtype == torch.long else torch.ones(n, dtype=torch.bool)
    z = transformed(x[kept].to(cdt), req)  # ignored rows never enter the graph: gradient 0
    t = target[kept] if target.dtype == torch.long else target[kept].to(cdt)
    ce = F.cross_entropy(z, t, weight=weight, reduction="none",
                         label_smoothing=parse_float(req.get("label_smoothing", 0)))
    coefficient = parse_float(req.get("z_loss", 0))
    if coefficient:
        lse = torch.logsumexp(z, -1)
        zl = coefficient * lse * lse
    else:
        zl = torch.zeros_like(ce)
    if reduction == "none":
        return torch.zeros(n, dtype=cdt).masked_scatter(kept, ce + zl).to(dt)
    if reduction == "mean":
        n_kept = kept.sum().to(cdt)
        ce_divisor = weight[t].sum() if weight is not None and target.dtype == torch.long else n_kept
        if textbook:
            return (ce.sum() / ce_divisor + zl.sum() / n_kept).to(dt)
        return (ce / ce_divisor + zl / n_kept).sum().to(dt)
    return (ce + zl).sum().to(dt)


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
            batch_loss(x, targets_of(req, dt), req, dt, reduction).backward(grad_output_of(req, dt, reduction))
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
    serve(evaluate, handles=LOSS_OPTIONS)
