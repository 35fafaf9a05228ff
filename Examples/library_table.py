#!/usr/bin/env python3
"""The library table: each adapter in Examples/adapters run through `softmax-oracle check --exec`,
and the largest ULP error per function and format printed side by side, one column per library.

    python3 Examples/library_table.py [--binary B] [--cases 12] [--format f64 --format f32 ...]
                                      [--library PyTorch ...] [--output markdown|json]

A library whose module the Python running the adapters (--python, default this one) cannot
import is skipped, and said so: a line on stderr and a "skipped" note under the table (for
PyTorch: its three adapters). Each cell: the largest ULP error over the scored cases without a
special-value mismatch, with the family of the worst case, then "N special" (cases with NaN or
inf against a finite exact value, or the reverse) when there are any; "unsupported" when the
adapter declined every case (an error line per request), "-" when the library has no such
function here. Exit status 0, or 2 when the binary cannot be found or a run breaks the protocol.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

FORWARD = ["logsumexp", "softmax", "log_softmax", "cross_entropy", "cross_entropy_grad", "sigmoid",
           "log_sigmoid", "softplus", "bce_with_logits", "cross_entropy_loss"]
BACKWARD = ["softmax_backward", "log_softmax_backward", "cross_entropy_loss_backward"]
LOSSES = ["cross_entropy", "cross_entropy_grad", "cross_entropy_loss", "cross_entropy_loss_backward"]
LINEAR = ["linear_cross_entropy", "linear_cross_entropy_grad_hidden", "linear_cross_entropy_grad_weight",
          "linear_cross_entropy_grad_bias"]

#: (column name, adapter file, module it needs, functions it claims, extra check options).
#: The Liger column's cases come from the loss families (soft-capping, z-loss, ignored rows) as
#: well as the ordinary ones: every family is run.
LIBRARIES = [
    ("NumPy textbook", "numpy_textbook.py", "numpy", FORWARD, []),
    ("SciPy", "scipy_special.py", "scipy", FORWARD, []),
    ("JAX", "jax_nn.py", "jax", FORWARD, []),
    ("PyTorch", "torch_nn.py", "torch", FORWARD + BACKWARD, []),
    ("PyTorch, Liger's soft-cap and z-loss", "torch_liger_losses.py", "torch", LOSSES, []),
    ("PyTorch F.linear + F.cross_entropy", "torch_linear_ce.py", "torch", LINEAR, []),
]


def find_binary(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("SOFTMAX_ORACLE_BIN"), str(REPO / ".build/release/softmax-oracle"),
                      shutil.which("softmax-oracle")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def importable(python: str, module: str) -> tuple[bool, str]:
    """Whether `python` imports `module`, and the last line of its error when it does not."""
    r = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    last = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])[-1]
    return r.returncode == 0, last


def run_check(binary: str, python: str, adapter: str, functions: list[str], formats: list[str], cases: int,
              extra: list[str]) -> dict:
    cmd = [binary, "check", "--exec", f"{python} {HERE / 'adapters' / adapter}", "--cases", str(cases),
           "--output", "json", "--shrink-attempts", "0", "--allow-unsupported", "--startup-timeout", "120",
           "--timeout", "60", *extra]
    for f in functions:
        cmd += ["--function", f]
    for f in formats:
        cmd += ["--format", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 2 or not r.stdout.strip():
        raise RuntimeError(f"{adapter}: check exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout)


def cell_text(summary: dict, worst_family: str | None) -> str:
    if summary["scored"] == 0:
        return "unsupported"
    ulp = summary["max_ulp"]
    text = f"{ulp:.3g}" if ulp >= 1e4 else f"{ulp:.2f}"
    if worst_family and ulp > 0:
        text += f" ({worst_family})"
    if summary["special_mismatch_cases"]:
        text += f"; {summary['special_mismatch_cases']} special"
    return text


def table(report: dict) -> dict[tuple[str, str], str]:
    """(function, format) → cell text, from one check report."""
    worst: dict[tuple[str, str], tuple[float, str]] = {}
    for c in report["cells"]:
        key = (c["function"], c["format"])
        if c["scored"] and c["max_ulp"] is not None and (key not in worst or c["max_ulp"] > worst[key][0]):
            worst[key] = (c["max_ulp"], c["family"])
    return {(s["function"], s["format"]): cell_text(s, worst.get((s["function"], s["format"]), (0, None))[1])
            for s in report["summary"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", help="softmax-oracle (default: $SOFTMAX_ORACLE_BIN, .build/release, PATH)")
    p.add_argument("--python", default=sys.executable, help="the Python that runs the adapters")
    p.add_argument("--cases", type=int, default=12, help="cases per function, format and family")
    p.add_argument("--format", action="append", dest="formats", help="repeatable (default f64 f32 f16 bf16)")
    p.add_argument("--library", action="append", help="only these columns (repeatable; a name prefix)")
    p.add_argument("--output", choices=["markdown", "json"], default="markdown")
    a = p.parse_args(argv)
    binary = find_binary(a.binary)
    if binary is None:
        print("library_table: no softmax-oracle binary (build it: swift build -c release)", file=sys.stderr)
        return 2
    formats = a.formats or ["f64", "f32", "f16", "bf16"]
    columns, skipped, cells = [], [], {}
    for name, adapter, module, functions, extra in LIBRARIES:
        if a.library and not any(name.startswith(x) for x in a.library):
            continue
        ok, why = importable(a.python, module)
        if not ok:
            skipped.append(f"{name} ({adapter}): skipped, {module} is not importable by {a.python}: {why}")
            print(f"library_table: {skipped[-1]}", file=sys.stderr)
            continue
        print(f"library_table: running {adapter} ...", file=sys.stderr)
        try:
            cells[name] = table(run_check(binary, a.python, adapter, functions, formats, a.cases, extra))
        except RuntimeError as e:
            print(f"library_table: {e}", file=sys.stderr)
            return 2
        columns.append(name)
    rows = [(f, fmt) for f in FORWARD + BACKWARD + LINEAR for fmt in formats
            if any((f, fmt) in cells[c] for c in columns)]
    if a.output == "json":
        json.dump({"seed": "default", "cases": a.cases, "columns": columns, "skipped": skipped,
                   "rows": [{"function": f, "format": fmt, **{c: cells[c].get((f, fmt), "-") for c in columns}}
                            for f, fmt in rows]}, sys.stdout, indent=1)
        print()
        return 0
    print("| function | format | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for f, fmt in rows:
        print(f"| `{f}` | {fmt} | " + " | ".join(cells[c].get((f, fmt), "-") for c in columns) + " |")
    for s in skipped:
        print(f"\n{s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
