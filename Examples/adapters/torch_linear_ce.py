#!/usr/bin/env python3
"""The textbook fused linear cross-entropy in PyTorch, F.linear + F.cross_entropy in the request's
dtype (float32 or bfloat16; also f64, f16), speaking softmax-oracle's check protocol on the CPU.

    softmax-oracle check --exec "python3 Examples/adapters/torch_linear_ce.py" --format f32 --format bf16

What each function computes (autograd for the gradients; grad_output as the backward seed):
    linear_cross_entropy              F.linear(H, W, b), then torch_liger_losses.batch_loss: F.cross_entropy
                                      with weight=ce_weight, ignore_index=, reduction=, label_smoothing=,
                                      and softcap / z_loss / temperature as Liger writes them
                                      (ignored rows left out), but in the request's dtype and
                                      with mean = Σ CE / Σ w[y] + Σ z-loss / N_kept (NaN when
                                      every row is ignored, as PyTorch's mean)
    linear_cross_entropy_grad_hidden  ∂/∂H of the above
    linear_cross_entropy_grad_weight  ∂/∂W
    linear_cross_entropy_grad_bias    ∂/∂b (of a zero bias when the request has none)
Every intermediate (the logits, the softmax) is in the request's dtype: that is the reference
the oracle's exact logits are compared against. When PyTorch cannot be imported, every request
is answered with an error line saying so.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling adapters, from any directory
from oracle_adapter import LOSS_OPTIONS, Unsupported, request_dtype, serve  # noqa: E402

import torch_nn  # noqa: E402
from torch_liger_losses import batch_loss  # noqa: E402
from torch_nn import IMPORT_ERROR, grad_output_of, tensor  # noqa: E402

if IMPORT_ERROR is None:
    import torch
    import torch.nn.functional as F

GRADIENTS = {"linear_cross_entropy_grad_hidden": 0, "linear_cross_entropy_grad_weight": 1,
             "linear_cross_entropy_grad_bias": 2}


def evaluate(req):
    if IMPORT_ERROR:
        raise Unsupported(IMPORT_ERROR)
    fmt, dt = request_dtype(req, torch_nn.DTYPES)
    fn = req["function"]
    if fn != "linear_cross_entropy" and fn not in GRADIENTS:
        raise Unsupported(f"function {fn} is not implemented (fused linear cross-entropy only)")
    h = torch.stack([tensor(row, dt) for row in req["hidden"]]).requires_grad_(True)
    w = torch.stack([tensor(row, dt) for row in req["weight"]]).requires_grad_(True)
    b = (tensor(req["bias"], dt) if "bias" in req else torch.zeros(w.shape[0], dtype=dt)).requires_grad_(True)
    options = {k: v for k, v in req.items() if k not in ("weight", "ce_weight")}
    if "ce_weight" in req:
        options["weight"] = req["ce_weight"]  # batch_loss's name for the class weights
    reduction = req.get("reduction", "mean")
    # The textbook reference: every step in the request's dtype (no fp32 upcast, unlike Liger).
    loss = batch_loss(F.linear(h, w, b), torch.tensor(req["targets"], dtype=torch.long), options, dt, reduction,
                      compute_dtype=dt, textbook=True)
    if fn == "linear_cross_entropy":
        r = loss
    else:
        loss.backward(grad_output_of(req, dt, reduction))
        r = (h, w, b)[GRADIENTS[fn]].grad
    if r.dtype != dt:
        raise Unsupported(f"unsupported format {fmt}: torch computed {fn} in {r.dtype}")
    return r.detach().to(torch.float64).reshape(-1).tolist()


if __name__ == "__main__":
    serve(evaluate, handles=LOSS_OPTIONS)
