#!/usr/bin/env python3
"""PyTorch's softmax family (torch, torch.nn.functional), speaking softmax-oracle's check
protocol, on the CPU.

    softmax-oracle check --exec "python3 Examples/adapters/torch_nn.py" --format f64 --format f32 --format bf16

Reads one JSON request per line on stdin, answers one line on stdout (flushed):
    {"id": 7, "values": ["0x1.8p+0", ...]}                (exact hex floats)
    {"id": 7, "error": "unsupported format e5m2"}          (counted as unsupported)
When PyTorch cannot be imported, every request is answered with an error line saying so.

What each function calls:
    logsumexp      torch.logsumexp(x, 0)
    softmax        torch.softmax(x, 0)
    log_softmax    torch.log_softmax(x, 0)
    cross_entropy  F.cross_entropy(x[None], target, weight=, label_smoothing=, reduction="none")
                   (class index, or class probabilities)
    cross_entropy_grad   autograd of the above
    sigmoid        torch.sigmoid(x)
    log_sigmoid    F.logsigmoid(x)
    softplus       F.softplus(x)
    bce_with_logits  F.binary_cross_entropy_with_logits(x, z, weight=, pos_weight=, reduction="none")
    cross_entropy_loss  F.cross_entropy(batch, targets, weight=, ignore_index=, reduction=,
                        label_smoothing=)
    cross_entropy_loss_backward  autograd: batch.grad of the above .backward(grad_output)
    softmax_backward      autograd: torch.softmax(x, 0).backward(grad_output), x.grad
    log_softmax_backward  autograd: torch.log_softmax(x, 0).backward(grad_output), x.grad
Formats: f64, f32, f16, bf16 (a kernel PyTorch lacks for a dtype on the CPU answers an error).
PyTorch has no soft-cap, z-loss or temperature: requests with them get an error line
(torch_liger_losses.py computes them as Liger Kernel does).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # oracle_adapter, from any directory
from oracle_adapter import Unsupported, parse_float, request_dtype, serve  # noqa: E402

try:
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    DTYPES = {"f64": torch.float64, "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    IMPORT_ERROR = None
except Exception as e:  # noqa: BLE001
    IMPORT_ERROR = f"torch is not importable here ({type(e).__name__}: {e})"


def tensor(values, dt):
    return torch.tensor([parse_float(v) for v in values], dtype=torch.float64).to(dt)


def row_cross_entropy(x, req, dt):
    weight = tensor(req["weight"], dt) if "weight" in req else None
    smoothing = parse_float(req.get("label_smoothing", 0))
    if "target" in req:
        target = torch.tensor([req["target"]])
    else:
        target = tensor(req["targets"], dt)[None]
    return F.cross_entropy(x[None], target, weight=weight, label_smoothing=smoothing, reduction="none")[0]


def grad_output_of(req, dt, reduction):
    """The backward seed of a batch loss: `grad_output` (default 1), one value, or one per row
    for reduction "none"."""
    go = req.get("grad_output", "0x1p+0")
    go = tensor(go if isinstance(go, list) else [go], dt)
    return go if reduction == "none" else go[0]


def evaluate(req):
    if IMPORT_ERROR:
        raise Unsupported(IMPORT_ERROR)
    fmt, dt = request_dtype(req, DTYPES)
    fn = req["function"]
    if fn in ("cross_entropy_loss", "cross_entropy_loss_backward"):
        batch = torch.stack([tensor(row, dt) for row in req["batch"]])
        targets = req["targets"]
        if targets and isinstance(targets[0], list):
            target = torch.stack([tensor(row, dt) for row in targets])
        else:
            target = torch.tensor(targets, dtype=torch.long)
        reduction = req.get("reduction", "mean")
        batch.requires_grad_(fn == "cross_entropy_loss_backward")
        r = F.cross_entropy(batch, target,
                            weight=tensor(req["weight"], dt) if "weight" in req else None,
                            ignore_index=req.get("ignore_index", -100),
                            reduction=reduction,
                            label_smoothing=parse_float(req.get("label_smoothing", 0)))
        if fn == "cross_entropy_loss_backward":
            r.backward(grad_output_of(req, dt, reduction))
            r = batch.grad
    else:
        x = tensor(req["logits"], dt)
        if fn == "logsumexp":
            r = torch.logsumexp(x, 0)
        elif fn == "softmax":
            r = torch.softmax(x, 0)
        elif fn == "log_softmax":
            r = torch.log_softmax(x, 0)
        elif fn == "cross_entropy":
            r = row_cross_entropy(x, req, dt)
        elif fn == "cross_entropy_grad":
            x.requires_grad_(True)
            row_cross_entropy(x, req, dt).backward()
            r = x.grad
        elif fn in ("softmax_backward", "log_softmax_backward"):
            x.requires_grad_(True)
            forward = torch.softmax if fn == "softmax_backward" else torch.log_softmax
            forward(x, 0).backward(tensor(req["grad_output"], dt))
            r = x.grad
        elif fn == "sigmoid":
            r = torch.sigmoid(x)
        elif fn == "log_sigmoid":
            r = F.logsigmoid(x)
        elif fn == "softplus":
            r = F.softplus(x)
        elif fn == "bce_with_logits":
            pw = req.get("pos_weight")
            r = F.binary_cross_entropy_with_logits(
                x, tensor(req["labels"], dt),
                weight=tensor(req["weight"], dt) if "weight" in req else None,
                pos_weight=tensor(pw if isinstance(pw, list) else [pw], dt) if pw is not None else None,
                reduction="none")
        else:
            raise Unsupported(f"function {fn} is not implemented")
    if r.dtype != dt:
        raise Unsupported(f"unsupported format {fmt}: torch computed {fn} in {r.dtype}")
    return r.detach().to(torch.float64).reshape(-1).tolist()


if __name__ == "__main__":
    serve(evaluate)
