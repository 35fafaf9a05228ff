"""The committed golden fixture files (Fixtures/golden/*.jsonl, schema softmax-oracle.fixtures/1).

Each file is a header line, then one case per line: an ``eval`` request with its id
``function/format/family#index`` and ``expected`` (the certified outputs as hex floats) or
``expected_error`` (docs/protocol.md, "Golden fixture files"). `load_fixture` reads one file
into exact NumPy arrays; `softmax_oracle.pytest.golden_cases` parametrizes tests by its cases.
`load_npy_fixture` reads the same cases from the ``--npy`` export (flat arrays with offsets).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ._formats import from_float64, parse_hex, parse_hex_array
from ._request import Request

SCHEMA = "softmax-oracle.fixtures/1"

# The request fields that hold floats (arrays, or a single float), by name.
_FLOAT_FIELDS = ("logits", "weight", "labels", "label_smoothing", "pos_weight", "softcap", "z_loss", "temperature", "bias", "ce_weight",
                 "grad_output")


@dataclass
class FixtureCase:
    """One case of a fixture file, with exact values.

    ``inputs`` holds the request's fields as the package's functions take them: float arrays as
    float64 NumPy arrays (``batch`` as an N × K array, or a list of rows if ragged), ``target``,
    ``ignore_index`` as ints, batch class indices as an int64 array, ``label_smoothing`` and a
    single ``pos_weight`` as floats, ``reduction`` as a str. ``expected`` is the certified result
    as an array of the format's result dtype (`softmax_oracle.result_dtype`; 1-D, as ``eval``
    answers), or None when the case has ``expected_error`` instead.
    """

    id: str
    function: str
    format: str
    inputs: dict[str, Any]
    expected: np.ndarray | None
    expected_error: str | None
    line: str = field(repr=False, default="")
    line_number: int = 0

    @property
    def family(self) -> str:
        """The generator family, from the id ``function/format/family#index``."""
        return self.id.split("/")[-1].split("#")[0]

    @property
    def logits(self) -> Any:
        """The row (``batch`` for the batch loss)."""
        return self.inputs.get("logits", self.inputs.get("batch"))

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the package's function of this case:
        ``getattr(softmax_oracle, case.function)(**case.kwargs(), format=case.format)``."""
        return dict(self.inputs)

    def request(self) -> Request:
        """The case as a `Request` (exactly the fixture line's values)."""
        fields = {k: v for k, v in self.inputs.items()}
        return Request(self.function, self.format, fields)

    def request_line(self) -> str:
        """The request as one ``eval`` line (no ``expected``)."""
        return self.request().to_json_line(self.id)

    def expected_float64(self) -> np.ndarray:
        """``expected`` as float64 (exact)."""
        if self.expected is None:
            raise ValueError(f"{self.id}: the case has expected_error {self.expected_error!r}, no values")
        return self.expected.astype(np.float64)


@dataclass
class FixtureFile:
    """A fixture file: its ``header`` (schema, function, format, seed, families, …) and cases."""

    path: Path
    header: dict[str, Any]
    cases: list[FixtureCase]

    def __iter__(self) -> Iterator[FixtureCase]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)


def _decode_fields(obj: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in obj.items():
        if name in ("id", "function", "format", "expected", "expected_error"):
            continue
        what = f"{where}: field {name!r}"
        if name in ("hidden", "weight") and v and isinstance(v[0], list):  # the fused matrices
            out[name] = np.stack([parse_hex_array(r, f"{what}[{i}]") for i, r in enumerate(v)])
        elif name == "batch":
            rows = [parse_hex_array(r, what) for r in v]
            lengths = {len(r) for r in rows}
            out[name] = np.stack(rows) if len(lengths) == 1 else rows
        elif name == "targets":
            if v and isinstance(v[0], list):  # batch probability rows
                out[name] = np.stack([parse_hex_array(r, what) for r in v])
            elif obj.get("function") in ("cross_entropy_loss", "cross_entropy_loss_backward") or str(
                    obj.get("function", "")).startswith("linear_cross_entropy") or (v and isinstance(v[0], int)):
                out[name] = np.array(v, dtype=np.int64)
            else:
                out[name] = parse_hex_array(v, what)
        elif name in _FLOAT_FIELDS:
            out[name] = parse_hex_array(v, what) if isinstance(v, list) else parse_hex(v, what)
        else:  # target, ignore_index, reduction
            out[name] = v
    return out


def load_fixture(path: str | Path) -> FixtureFile:
    """Reads a fixture file into exact arrays. Raises ``ValueError`` naming the file and line
    for a wrong schema, a line that is not JSON, or a value that is not a hex float."""
    path = Path(path)
    header: dict[str, Any] | None = None
    cases: list[FixtureCase] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{where}: not JSON ({e})") from None
            if header is None:
                if obj.get("schema") != SCHEMA:
                    raise ValueError(f"{where}: schema {obj.get('schema')!r}, expected {SCHEMA!r}")
                header = obj
                continue
            fmt = obj.get("format", "f64")
            expected = None
            if "expected" in obj:
                expected = from_float64(parse_hex_array(obj["expected"], f"{where}: expected"), fmt)
            cases.append(FixtureCase(id=obj["id"], function=obj["function"], format=fmt,
                                     inputs=_decode_fields(obj, where), expected=expected,
                                     expected_error=obj.get("expected_error"), line=line.rstrip("\n"),
                                     line_number=n))
    if header is None:
        raise ValueError(f"{path}: empty, no header line")
    return FixtureFile(path, header, cases)


def fixture_paths(*paths: str | Path) -> list[Path]:
    """The fixture files named by `paths`: files as given, directories as their ``*.jsonl``
    files (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.jsonl")) if p.is_dir() else [p])
    return out


# --- The NumPy export (`fixtures generate --npy DIR`): flat arrays with offsets, no padding. ---

def npy_prefixes(directory: str | Path) -> list[Path]:
    """The fixture sets in a ``--npy`` directory, as the prefixes `load_npy_fixture` takes
    (``DIR/<function>.<format>``, with a shard's ``.shard-I-of-N``), sorted."""
    return sorted(p.with_name(p.name[: -len(".id.npy")]) for p in Path(directory).glob("*.id.npy"))


def load_npy_fixture(prefix: str | Path) -> FixtureFile:
    """Reads the ``.npy`` arrays of one fixture file: ``prefix`` is ``DIR/<function>.<format>``
    (the files are ``prefix.<array>.npy``). The cases are the same `FixtureCase` values that
    `load_fixture` reads from the JSON Lines file (Fixtures/README.md, "NumPy arrays"): a ragged
    array ``X`` is sliced by ``X_offsets`` (C + 1 int64), or, without one, by its reference's
    offsets; an absent array means the default for every case. The header holds only
    ``function``, ``format`` and ``cases`` (the JSON Lines file has the full header)."""
    prefix = Path(prefix)
    function, fmt = prefix.name.split(".")[:2]

    def load(name: str) -> np.ndarray | None:
        p = prefix.with_name(f"{prefix.name}.{name}.npy")
        return np.load(p, allow_pickle=False) if p.exists() else None

    ids = load("id")
    if ids is None:
        raise ValueError(f"{prefix}.id.npy: missing (is {prefix} a --npy fixture prefix?)")
    c = len(ids)

    def cumulative(lengths: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def ragged(name: str, reference: np.ndarray | None) -> list[np.ndarray] | None:
        values = load(name)
        if values is None:
            return None
        offsets = load(f"{name}_offsets")
        offsets = reference if offsets is None else offsets
        if offsets is None or len(offsets) != c + 1 or offsets[-1] != len(values):
            raise ValueError(f"{prefix}.{name}.npy: {len(values)} values do not match its offsets")
        return [values[offsets[i]:offsets[i + 1]] for i in range(c)]

    expected = ragged("expected", load("expected_offsets"))
    assert expected is not None
    errors = load("expected_error")
    smoothing = load("label_smoothing")
    inputs: list[dict[str, Any]] = [{} for _ in range(c)]
    batch_loss = function in ("cross_entropy_loss", "cross_entropy_loss_backward")
    fused = function.startswith("linear_cross_entropy")
    rows_k = None
    if fused:  # hidden N × d and weight V × d, flat; targets per row; bias, ce_weight per class
        rows, classes = load("rows"), load("classes")
        hidden, matrix = ragged("hidden", load("hidden_offsets")), ragged("weight", load("weight_offsets"))
        assert rows is not None and classes is not None and hidden is not None and matrix is not None
        targets, bias = ragged("targets", cumulative(rows)), ragged("bias", cumulative(classes))
        ce_weight = ragged("ce_weight", cumulative(classes))
        ignore, reduction, weight = load("ignore_index"), load("reduction"), None
        for i, d in enumerate(inputs):
            dim = len(hidden[i]) // rows[i] if rows[i] else 0
            d["hidden"] = hidden[i].reshape(rows[i], dim)
            d["weight"] = matrix[i].reshape(classes[i], dim)
            d["targets"] = targets[i].astype(np.int64)
            if bias is not None and len(bias[i]):
                d["bias"] = bias[i]
            if ce_weight is not None and len(ce_weight[i]):
                d["ce_weight"] = ce_weight[i]
    elif batch_loss:
        rows = load("rows")
        batch = ragged("batch", load("batch_offsets"))
        assert rows is not None and batch is not None
        k = np.array([len(b) // r if r else 0 for b, r in zip(batch, rows)], dtype=np.int64)
        hard = ragged("target", cumulative(rows))
        soft = ragged("targets", cumulative(rows * k))
        weight = ragged("weight", cumulative(k))
        ignore, reduction = load("ignore_index"), load("reduction")
        for i, d in enumerate(inputs):
            d["batch"] = batch[i].reshape(rows[i], k[i])
            if soft is not None and len(soft[i]):
                d["targets"] = soft[i].reshape(rows[i], k[i])
            elif hard is not None:
                d["targets"] = hard[i].astype(np.int64)
    else:
        logits = ragged("logits", load("row_offsets"))
        assert logits is not None
        rows_k = cumulative(np.array([len(x) for x in logits], dtype=np.int64))
        target, targets = load("target"), ragged("targets", rows_k)
        weight, labels, pos_weight = ragged("weight", rows_k), ragged("labels", rows_k), ragged("pos_weight", rows_k)
        for i, d in enumerate(inputs):
            d["logits"] = logits[i]
            if targets is not None and len(targets[i]):
                d["targets"] = targets[i]
            elif target is not None:
                d["target"] = int(target[i])
            if labels is not None:
                d["labels"] = labels[i]
            if pos_weight is not None and len(pos_weight[i]):
                d["pos_weight"] = pos_weight[i]
    # The loss options (absent, or the value that means off: 0, 0, 1) and the upstream gradient.
    options = {name: load(name) for name in ("softcap", "z_loss", "temperature")}
    # grad_output: its own offsets, or (one per logit, every case) the rows' offsets.
    grad_output_offsets = load("grad_output_offsets")
    if grad_output_offsets is None and not batch_loss:
        grad_output_offsets = rows_k
    grad_output = ragged("grad_output", grad_output_offsets)
    for i, d in enumerate(inputs):
        if smoothing is not None and (smoothing[i] != 0 or np.signbit(smoothing[i])):
            d["label_smoothing"] = float(smoothing[i])
        if weight is not None and len(weight[i]):
            d["weight"] = weight[i]
        for name, off in (("softcap", 0.0), ("z_loss", 0.0), ("temperature", 1.0)):
            if options[name] is not None and options[name][i] != off:
                d[name] = float(options[name][i])
        if grad_output is not None and len(grad_output[i]):
            d["grad_output"] = grad_output[i]
        if batch_loss or fused:
            if ignore is not None and ignore[i] != -100:
                d["ignore_index"] = int(ignore[i])
            if reduction is not None and reduction[i] != "mean":
                d["reduction"] = str(reduction[i])
    cases = []
    for i in range(c):
        error = str(errors[i]) if errors is not None and errors[i] else None
        cases.append(FixtureCase(id=str(ids[i]), function=function, format=fmt, inputs=inputs[i],
                                 expected=None if error is not None else from_float64(expected[i], fmt),
                                 expected_error=error))
    return FixtureFile(prefix, {"function": function, "format": fmt, "cases": c}, cases)
