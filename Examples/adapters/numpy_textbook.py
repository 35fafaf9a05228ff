#!/usr/bin/env python3
"""The softmax family as people write it in NumPy, speaking softmax-oracle's check protocol.

    softmax-oracle check --exec "python3 Examples/adapters/numpy_textbook.py"

Reads one JSON request per line on stdin, answers one line on stdout (flushed):
    {"id": 7, "values": ["0x1.8p+0", ...]}                (exact hex floats)
    {"id": 7, "error": "unsupported format bf16"}          (counted as unsupported)

Formulas (the max-shifted textbook versions, computed in the request's dtype):
    logsumexp      m + log(sum(exp(x - m))),  m = max(x)
    softmax        e / sum(e),  e = exp(x - m)
    log_softmax    x - m - log(sum(exp(x - m)))
    cross_entropy  -log_softmax(x)[t]  (probability targets: -sum(p * log_softmax(x)))
    cross_entropy_grad   softmax(x) - onehot(t)  (probabilities: softmax(x) * sum(p) - p)
    sigmoid        1 / (1 + exp(-x))
    log_sigmoid    -log1p(exp(-x))
    softplus       log1p(exp(x))
    bce_with_logits  -(pw * z * log(s) + (1 - z) * log(1 - s)),  s = sigmoid(x)
    cross_entropy_loss  PyTorch semantics over rows of the above
Formats: f64, f32, f16 (NumPy dtypes). bf16 and FP8: "unsupported format". Label smoothing is
not implemented (answered as unsupported).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # oracle_adapter, from any directory
from oracle_adapter import Unsupported, parse_float, request_dtype, serve  # noqa: E402

import numpy as np

np.seterr(all="ignore")  # overflow to inf and 0 * inf are part of what is measured

DTYPES = {"f64": np.float64, "f32": np.float32, "f16": np.float16}


def array(values, dt):
    return np.array([parse_float(v) for v in values], dtype=np.float64).astype(dt)


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def log_softmax(x):
    m = np.max(x)
    return x - m - np.log(np.sum(np.exp(x - m)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def row_loss(x, target, probs, weight):
    ls = log_softmax(x)
    if target is not None:
        loss = -ls[target]
        return loss * weight[target] if weight is not None else loss
    w = weight if weight is not None else 1
    return -np.sum(w * probs * ls)


def evaluate(req):
    fmt, dt = request_dtype(req, DTYPES)
    fn = req["function"]
    if req.get("label_smoothing") not in (None, 0, "0x0p+0"):
        raise Unsupported("label_smoothing is not implemented")
    weight = array(req["weight"], dt) if "weight" in req else None
    if fn == "cross_entropy_loss":
        rows = [array(r, dt) for r in req["batch"]]
        targets = req["targets"]
        ignore = req.get("ignore_index", -100)
        reduction = req.get("reduction", "mean")
        losses, denominator = [], dt(0)
        for row, t in zip(rows, targets):
            if isinstance(t, list):
                losses.append(row_loss(row, None, array(t, dt), weight))
                denominator += dt(1)
            elif t == ignore:
                losses.append(dt(0))
            else:
                losses.append(row_loss(row, t, None, weight))
                denominator += weight[t] if weight is not None else dt(1)
        losses = np.array(losses, dtype=dt)
        if reduction == "none":
            return losses
        total = np.sum(losses)
        return [total if reduction == "sum" else total / denominator]
    x = array(req["logits"], dt)
    if fn == "logsumexp":
        return [logsumexp(x)]
    if fn == "softmax":
        return softmax(x)
    if fn == "log_softmax":
        return log_softmax(x)
    if fn in ("cross_entropy", "cross_entropy_grad"):
        t = req.get("target")
        p = array(req["targets"], dt) if "targets" in req else None
        if fn == "cross_entropy":
            return [row_loss(x, t, p, weight)]
        w = weight if weight is not None else np.ones_like(x)
        if t is not None:
            onehot = np.zeros_like(x)
            onehot[t] = 1
            return w[t] * (softmax(x) - onehot)
        return softmax(x) * np.sum(w * p) - w * p
    if fn == "sigmoid":
        return sigmoid(x)
    if fn == "log_sigmoid":
        return -np.log1p(np.exp(-x))
    if fn == "softplus":
        return np.log1p(np.exp(x))
    if fn == "bce_with_logits":
        z = array(req["labels"], dt)
        pw = array(req["pos_weight"] if isinstance(req.get("pos_weight"), list) else [req.get("pos_weight", 1)], dt)
        s = sigmoid(x)
        loss = -(pw * z * np.log(s) + (1 - z) * np.log(1 - s))
        return loss * weight if weight is not None else loss
    raise Unsupported(f"function {fn} is not implemented")


if __name__ == "__main__":
    serve(lambda req: np.ravel(np.asarray(evaluate(req))))
