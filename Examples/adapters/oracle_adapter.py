"""What every adapter here shares: softmax-oracle's JSON Lines loop and how it reads floats.

An adapter defines `evaluate(request) -> iterable of floats` and calls `serve(evaluate)`:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # found from any directory
    from oracle_adapter import Unsupported, parse_float, request_dtype, serve
    ...
    if __name__ == "__main__":
        serve(evaluate)

`serve` reads one JSON request per line on stdin (blank lines are skipped) and answers one line
on stdout, flushed, echoing the request's id:
    {"id": 7, "values": ["0x1.0000000000000p+0", ...]}   (exact, float.hex)
    {"id": 7, "error": "unsupported format bf16"}          (Unsupported: counted as unsupported)
    {"id": 7, "error": "KeyError: 'logits'"}               (any other exception, named)
It never crashes on a request: a crash would end the run.
"""
import json
import sys


class Unsupported(Exception):
    """A request the implementation does not handle (a format, a function, an option)."""


def parse_float(v):
    """A request's float: a hex float ("0x1.8p+1") exactly; decimals, JSON numbers, "inf",
    "-inf" and "nan" as float() reads them."""
    if isinstance(v, str) and "x" in v.lower():
        return float.fromhex(v)
    return float(v)


def request_dtype(req, dtypes):
    """The request's format ("f64" when it names none) and the dtype `dtypes` maps it to; a
    format not in `dtypes` raises Unsupported("unsupported format <name>")."""
    fmt = req.get("format", "f64")
    if fmt not in dtypes:
        raise Unsupported(f"unsupported format {fmt}")
    return fmt, dtypes[fmt]


def serve(evaluate, lines=None, out=None):
    """Answers each request line of `lines` (default stdin) on `out` (default stdout)."""
    lines = sys.stdin if lines is None else lines
    out = sys.stdout if out is None else out
    for line in lines:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            answer = {"id": rid, "values": [float(v).hex() for v in evaluate(req)]}
        except Unsupported as e:
            answer = {"id": rid, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - any failure is an answer, never a crash
            answer = {"id": rid, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
