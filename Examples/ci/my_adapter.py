#!/usr/bin/env python3
"""A template adapter: your softmax family behind softmax-oracle's JSON Lines protocol.

    softmax-oracle regress --exec "python3 my_adapter.py" --baseline accuracy-baseline.json

softmax-oracle starts this once and writes one request per line on stdin, e.g.
    {"id":7,"function":"log_softmax","format":"f32","logits":["0x1.8p+1","-inf"]}
and reads exactly one line back per request, flushed:
    {"id":7,"values":["-0x1.2p-3","-inf"]}                exact hex floats, "inf", "nan"
    {"id":7,"error":"unsupported format bf16"}             counted as unsupported, not failed

Replace the three functions below with calls into your library (keep the dtype: the inputs are
values of the request's format and the outputs are scored in it). Anything you do not implement
answers "error": the gate then records it as unsupported, and fails if it ever becomes less
supported than the baseline says.

Floats are read and written exactly by the softmax_oracle package (`pip install` its wheel: the
workflow accuracy.yml does), which also runs the oracle itself (`python -m softmax_oracle`).
"""
import json
import sys

import numpy as np
import softmax_oracle as so

np.seterr(all="ignore")

DTYPES = {"f64": np.float64, "f32": np.float32}


class Unsupported(Exception):
    pass


def my_logsumexp(x):
    m = np.max(x)
    if not np.isfinite(m):
        return np.log(np.sum(np.exp(x)))  # all -inf: -inf; +inf or NaN: propagate
    return m + np.log(np.sum(np.exp(x - m)))


def my_softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def my_log_softmax(x):
    return x - my_logsumexp(x)


FUNCTIONS = {
    "logsumexp": lambda x: [my_logsumexp(x)],
    "softmax": my_softmax,
    "log_softmax": my_log_softmax,
}


def evaluate(request):
    fmt = request.get("format", "f64")
    if fmt not in DTYPES:
        raise Unsupported(f"unsupported format {fmt}")
    body = FUNCTIONS.get(request["function"])
    if body is None:
        raise Unsupported(f"unsupported function {request['function']}")
    # read_float reads "0x1.8p+1", "inf", "-inf" and "nan" exactly; to_hex writes exact hex floats.
    x = np.array([so.read_float(v) for v in request["logits"]], dtype=np.float64).astype(DTYPES[fmt])
    return so.to_hex(np.asarray(body(x), dtype=np.float64))


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        rid = None
        try:
            request = json.loads(line)
            rid = request.get("id")
            answer = {"id": rid, "values": evaluate(request)}
        except Unsupported as e:
            answer = {"id": rid, "error": str(e)}
        except Exception as e:  # never crash: a crash ends the run
            answer = {"id": rid, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
