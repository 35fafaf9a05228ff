#!/usr/bin/env python3
"""JAX's softmax family (jax.nn), speaking softmax-oracle's check protocol, on the CPU.

    softmax-oracle check --exec "python3 Examples/adapters/jax_nn.py" --format f64 --format f32 --format bf16

Reads one JSON request per line on stdin, answers one line on stdout (flushed):
    {"id": 7, "values": ["0x1.8p+0", ...]}                (exact hex floats)
    {"id": 7, "error": "unsupported format e5m2"}          (counted as unsupported)
When JAX cannot be imported, every request is answered with an error line saying so.

What each function calls (JAX has no cross-entropy in its core; these are optax's formulas):
    logsumexp      jax.nn.logsumexp(x)
    softmax        jax.nn.softmax(x)
    log_softmax    jax.nn.log_softmax(x)
    cross_entropy  jax.nn.logsumexp(x) - x[t]
                   (= optax.softmax_cross_entropy_with_integer_labels);
                   probability targets: -sum(p * jax.nn.log_softmax(x))  (= optax.softmax_cross_entropy)
    cross_entropy_grad   jax.grad of the above
Every function is wrapped in jax.jit, as JAX code runs in practice.
    sigmoid        jax.nn.sigmoid(x)
    log_sigmoid    jax.nn.log_sigmoid(x)
    softplus       jax.nn.softplus(x)
    bce_with_logits  -(pw * z * log_sigmoid(x) + (1 - z) * log_sigmoid(-x))
                     (= optax.sigmoid_binary_cross_entropy without pos_weight)
Formats: f64 (jax_enable_x64 is turned on), f32, f16, bf16. Label smoothing, class weights and
the batch loss are not implemented (answered as unsupported).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # oracle_adapter, from any directory
from oracle_adapter import Unsupported, parse_float, request_dtype, serve  # noqa: E402

try:
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp
    import numpy as np

    DTYPES = {"f64": jnp.float64, "f32": jnp.float32, "f16": jnp.float16, "bf16": jnp.bfloat16}
    IMPORT_ERROR = None
except Exception as e:  # noqa: BLE001
    IMPORT_ERROR = f"jax is not importable here ({type(e).__name__}: {e})"


def array(values, dt):
    return jnp.asarray(np.array([parse_float(v) for v in values], dtype=np.float64)).astype(dt)


def hard_loss(x, t):
    return jax.nn.logsumexp(x) - x[t]


def soft_loss(x, p):
    return -jnp.sum(p * jax.nn.log_softmax(x))


def bce(x, z, pw):
    return -(pw * z * jax.nn.log_sigmoid(x) + (1 - z) * jax.nn.log_sigmoid(-x))


if IMPORT_ERROR is None:
    # Jitted, as JAX code runs in practice (and one compilation per function, dtype and shape
    # instead of one per primitive).
    JIT = {name: jax.jit(f) for name, f in {
        "logsumexp": jax.nn.logsumexp, "softmax": jax.nn.softmax, "log_softmax": jax.nn.log_softmax,
        "hard_loss": hard_loss, "soft_loss": soft_loss,
        "hard_grad": jax.grad(hard_loss), "soft_grad": jax.grad(soft_loss),
        "sigmoid": jax.nn.sigmoid, "log_sigmoid": jax.nn.log_sigmoid, "softplus": jax.nn.softplus,
        "bce": bce,
    }.items()}


def evaluate(req):
    if IMPORT_ERROR:
        raise Unsupported(IMPORT_ERROR)
    fmt, dt = request_dtype(req, DTYPES)
    fn = req["function"]
    for field in ("label_smoothing", "weight"):
        if field in req:
            raise Unsupported(f"{field} is not implemented")
    if fn == "cross_entropy_loss":
        raise Unsupported("the batch loss is not implemented")
    x = array(req["logits"], dt)
    if fn in ("logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus"):
        r = JIT[fn](x)
    elif fn in ("cross_entropy", "cross_entropy_grad"):
        kind = "loss" if fn == "cross_entropy" else "grad"
        if "target" in req:
            r = JIT["hard_" + kind](x, jnp.int32(req["target"]))
        else:
            r = JIT["soft_" + kind](x, array(req["targets"], dt))
    elif fn == "bce_with_logits":
        z = array(req["labels"], dt)
        pw_raw = req.get("pos_weight", 1)
        pw = array(pw_raw if isinstance(pw_raw, list) else [pw_raw], dt)
        r = JIT["bce"](x, z, pw)
    else:
        raise Unsupported(f"function {fn} is not implemented")
    if r.dtype != dt:
        raise Unsupported(f"unsupported format {fmt}: jax computed {fn} in {r.dtype}")
    return np.ravel(np.asarray(r.astype(jnp.float64)))


if __name__ == "__main__":
    serve(evaluate)
