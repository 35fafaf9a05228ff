"""One oracle request: the protocol's fields with the numbers held as exact float64 arrays.

A `Request` is what every transport sends: the JSON Lines transport (`_process.py`) writes it as
one line of hex floats (`to_json`); a binary transport can send the same arrays as raw bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._formats import hex_list_text, hex_value, to_hex

#: The fields that a batched request (``logits`` N × K) gives per row, as the CLI's
#: ``RowBatch.perRowFields``: float fields N × K (``pos_weight`` may also be one row for all),
#: integer fields one per row. Other fields (``weight``, ``label_smoothing``) are shared.
PER_ROW_FIELDS = frozenset(("logits", "target", "targets", "labels", "pos_weight", "grad_output"))

#: Row functions with one output per row (the others have one per logit).
SCALAR_ROW_FUNCTIONS = frozenset(("logsumexp", "cross_entropy"))


@dataclass
class Request:
    """A request of docs/protocol.md.

    ``fields`` holds the function's other members in protocol order, each as:
    a float64 ``ndarray`` (``logits``, ``targets`` probabilities, ``weight``, ``labels``,
    ``pos_weight``; 2-D for ``batch`` and batch probability targets), a Python ``float``
    (``label_smoothing``, a single ``pos_weight``), an ``int`` (``target``, ``ignore_index``),
    an integer ``ndarray`` (batch class indices) or a ``str`` (``reduction``).

    A row function's request is a *batch* when ``logits`` is 2-D (N rows of K): its
    `PER_ROW_FIELDS` then hold one row (or index) per row, and its answer is the rows' outputs
    one after another.
    """

    function: str
    format: str
    fields: dict[str, Any] = field(default_factory=dict)

    def output_count(self) -> int | None:
        """How many values the answer must hold (docs/protocol.md, "Results"), or None when
        unknown."""
        f = self.function
        if self.rows is not None:
            return self.rows * (1 if f in SCALAR_ROW_FUNCTIONS else int(self.fields["logits"].shape[1]))
        if f in SCALAR_ROW_FUNCTIONS:
            return 1
        if f == "cross_entropy_loss":
            return len(self.fields["batch"]) if self.fields.get("reduction") == "none" else 1
        if "logits" in self.fields:
            return int(np.asarray(self.fields["logits"]).size)
        return None

    @property
    def rows(self) -> int | None:
        """N for a batch (2-D ``logits``), else None."""
        x = self.fields.get("logits")
        return int(x.shape[0]) if isinstance(x, np.ndarray) and x.ndim == 2 else None

    def row(self, r: int) -> "Request":
        """Row `r` of a batch as a single-row request (a single-row request is its own row 0)."""
        if self.rows is None:
            return self
        fields: dict[str, Any] = {}
        for name, v in self.fields.items():
            if name in PER_ROW_FIELDS and isinstance(v, np.ndarray):
                if v.dtype.kind in "iu" and v.ndim == 1:
                    v = int(v[r])
                elif v.ndim == 2:
                    v = v[r]
            fields[name] = v
        return Request(self.function, self.format, fields)

    def to_json(self, id: Any = None) -> dict[str, Any]:
        """The request as a JSON object with exact hex-float strings (``id`` first when given)."""
        out: dict[str, Any] = {} if id is None else {"id": id}
        out["function"] = self.function
        out["format"] = self.format
        for name, v in self.fields.items():
            out[name] = _encode(v)
        return out

    def to_json_line(self, id: Any = None, canonical: bool = True) -> str:
        """One compact line that ``softmax-oracle eval`` reads (no trailing newline); the same
        text as ``json.dumps(self.to_json(id))`` without spaces, written faster. With
        ``canonical=False`` the floats are plain ``float.hex`` strings (same values, faster)."""
        parts = [] if id is None else ['"id":' + json.dumps(id, separators=(",", ":"))]
        parts.append(f'"function":{json.dumps(self.function)}')
        parts.append(f'"format":{json.dumps(self.format)}')
        for name, v in self.fields.items():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                if v.ndim == 2:
                    text = "[" + ",".join(hex_list_text(row, canonical) for row in v) + "]"
                else:
                    text = hex_list_text(v, canonical)
            else:
                text = json.dumps(_encode(v), separators=(",", ":"))
            parts.append(f"{json.dumps(name)}:{text}")
        return "{" + ",".join(parts) + "}"


def _encode(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "f":
            if v.ndim == 2:
                return [to_hex(row) for row in v]
            return to_hex(v)
        return v.tolist()  # integer class indices
    if isinstance(v, float):
        return hex_value(v)
    return v  # int, str
