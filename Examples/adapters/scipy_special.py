#!/usr/bin/env python3
"""SciPy's softmax family (scipy.special), speaking softmax-oracle's check protocol.

    softmax-oracle check --exec "python3 Examples/adapters/scipy_special.py"

Reads one JSON request per line on stdin, answers one line on stdout (flushed):
    {"id": 7, "values": ["0x1.8p+0", ...]}                (exact hex floats)
    {"id": 7, "error": "unsupported format bf16"}          (counted as unsupported)

What each function calls (SciPy has no cross-entropy; the adapter uses the usual idiom):
    logsumexp      scipy.special.logsumexp(x)
    softmax        scipy.special.softmax(x)
    log_softmax    scipy.special.log_softmax(x)
    cross_entropy  -scipy.special.log_softmax(x)[t]
                   (probability targets: -sum(p * log_softmax(x)) over the p > 0)
    cross_entropy_grad   scipy.special.softmax(x) - onehot(t)  (probabilities: softmax * sum(p) - p)
    sigmoid        scipy.special.expit(x)
    log_sigmoid    scipy.special.log_expit(x)
    softplus       scipy.special.softplus(x) (SciPy >= 1.15; else numpy.logaddexp(0, x))
    bce_with_logits  -(pw * z * log_expit(x) + (1 - z) * log_expit(-x))
Formats: f64 and f32; f16 where SciPy computes in float16 (softmax, log_softmax, logsumexp);
a function that returns another dtype (expit on float16 gives float64) answers "unsupported
format", and so do bf16 and FP8. Label smoothing and the batch loss are not implemented.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # oracle_adapter, from any directory
from oracle_adapter import Unsupported, parse_float, request_dtype, serve  # noqa: E402

import numpy as np
import scipy.special as sp

np.seterr(all="ignore")

DTYPES = {"f64": np.float64, "f32": np.float32, "f16": np.float16}
softplus = getattr(sp, "softplus", None) or (lambda x: np.logaddexp(0, x))


def array(values, dt):
    return np.array([parse_float(v) for v in values], dtype=np.float64).astype(dt)


def compute(req, dt):
    fn = req["function"]
    if req.get("label_smoothing") not in (None, 0, "0x0p+0"):
        raise Unsupported("label_smoothing is not implemented")
    if fn == "cross_entropy_loss":
        raise Unsupported("the batch loss is not implemented")
    x = array(req["logits"], dt)
    weight = array(req["weight"], dt) if "weight" in req else None
    if fn == "logsumexp":
        return sp.logsumexp(x)
    if fn == "softmax":
        return sp.softmax(x)
    if fn == "log_softmax":
        return sp.log_softmax(x)
    if fn in ("cross_entropy", "cross_entropy_grad"):
        t = req.get("target")
        p = array(req["targets"], dt) if "targets" in req else None
        w = weight if weight is not None else np.ones_like(x)
        if fn == "cross_entropy":
            if t is not None:
                return -sp.log_softmax(x)[t] * w[t]
            keep = p > 0  # 0 * log(0) = 0
            return -np.sum((w * p * sp.log_softmax(x))[keep]).astype(dt)
        if t is not None:
            onehot = np.zeros_like(x)
            onehot[t] = 1
            return w[t] * (sp.softmax(x) - onehot)
        return sp.softmax(x) * np.sum(w * p) - w * p
    if fn == "sigmoid":
        return sp.expit(x)
    if fn == "log_sigmoid":
        return sp.log_expit(x)
    if fn == "softplus":
        return softplus(x)
    if fn == "bce_with_logits":
        z = array(req["labels"], dt)
        pw = array(req["pos_weight"] if isinstance(req.get("pos_weight"), list) else [req.get("pos_weight", 1)], dt)
        loss = -(pw * z * sp.log_expit(x) + (1 - z) * sp.log_expit(-x))
        return loss * weight if weight is not None else loss
    raise Unsupported(f"function {fn} is not implemented")


def evaluate(req):
    fmt, dt = request_dtype(req, DTYPES)
    result = np.asarray(compute(req, dt))
    if result.dtype != dt:
        raise Unsupported(f"unsupported format {fmt}: scipy computed {req['function']} in {result.dtype}")
    return np.ravel(result)


if __name__ == "__main__":
    serve(evaluate)
