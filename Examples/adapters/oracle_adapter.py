"""What every adapter here shares: softmax-oracle's JSON Lines loop and how it reads floats.

An adapter defines `evaluate(request) -> iterable of floats` and calls `serve(evaluate)`:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found from any directory
    from oracle_adapter import Unsupported, parse_float, request_dtype, serve
    ...
    if __name__ == "__main__":
        serve(evaluate)

`serve` reads one JSON request per line on stdin (blank lines are skipped) and answers one line
on stdout, flushed, echoing the request's id:
    {"id": 7, "values": ["0x1.8p+0", ...]}                (exact hex floats)
    {"id": 7, "error": "unsupported format bf16"}          (Unsupported: counted as unsupported)
    {"id": 7, "error": "KeyError: 'logits'"}               (any other exception, named)
It never crashes on a request: a crash would end the run.

Floats are read and written by the `softmax_oracle` package (python/ in this repository:
`read_float`, `hex_value`) when it can be imported, installed or from the repository next to
this file; without it (no NumPy, say) by the same rules written out here, so that an adapter
still runs as a plain `python3 Examples/adapters/X.py`.
"""
import json
import os
import sys


def _import_package():
    try:
        import softmax_oracle
        return softmax_oracle
    except ImportError:
        pass
    repo_python = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python")
    if os.path.isdir(os.path.join(repo_python, "softmax_oracle")):
        sys.path.insert(0, os.path.normpath(repo_python))
        try:
            import softmax_oracle
            return softmax_oracle
        except ImportError:  # e.g. NumPy missing: the fallbacks below
            sys.path.pop(0)
    return None


_package = _import_package()


class Unsupported(Exception):
    """A request the implementation does not handle (a format, a function, an option)."""


def parse_float(v):
    """A request's float: a hex float ("0x1.8p+1") exactly; decimals and JSON numbers to the
    nearest binary64; "inf", "-inf" and "nan" (`softmax_oracle.read_float`)."""
    if _package is not None:
        return _package.read_float(v)
    if isinstance(v, str) and "x" in v.lower():
        return float.fromhex(v)
    return float(v)


def format_float(v):
    """An output value as an exact hex-float string (`softmax_oracle.hex_value`: "0x1.8p+1",
    "-0x0p+0", "inf", "nan"; float.hex without the package)."""
    return _package.hex_value(float(v)) if _package is not None else float(v).hex()


def request_dtype(req, dtypes):
    """The request's format ("f64" when it names none) and the dtype `dtypes` maps it to; a
    format not in `dtypes` raises Unsupported("unsupported format <name>")."""
    fmt = req.get("format", "f64")
    if fmt not in dtypes:
        raise Unsupported(f"unsupported format {fmt}")
    return fmt, dtypes[fmt]


#: The loss options (docs/semantics.md) with the value that leaves the loss unchanged (None: no
#: such value). An adapter that does not name one in `serve(..., handles=)` has requests that carry
#: it answered with an error line, so that it is never scored on a function it did not compute.
LOSS_OPTIONS = {"softcap": None, "z_loss": 0.0, "temperature": 1.0}


def refuse_unhandled_options(req, handles=()):
    """Raises Unsupported naming the first loss option of `req` that is not in `handles` and not
    at its neutral value (z_loss 0, temperature 1)."""
    for name, neutral in LOSS_OPTIONS.items():
        if name in req and name not in handles and (neutral is None or parse_float(req[name]) != neutral):
            raise Unsupported(f"{name} is not implemented by this adapter")


def serve(evaluate, lines=None, out=None, handles=()):
    """Answers each request line of `lines` (default stdin) on `out` (default stdout); a request
    with a loss option not in `handles` gets an error line (`refuse_unhandled_options`)."""
    lines = sys.stdin if lines is None else lines
    out = sys.stdout if out is None else out
    for line in lines:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            refuse_unhandled_options(req, handles)
            answer = {"id": rid, "values": [format_float(v) for v in evaluate(req)]}
        except Unsupported as e:
            answer = {"id": rid, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - any failure is an answer, never a crash
            answer = {"id": rid, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
