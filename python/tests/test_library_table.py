"""Examples/library_table.py: the library table from `check --exec` runs, and a library whose
module does not import is skipped, said on stderr and under the table."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "Examples" / "library_table.py"


@pytest.fixture(scope="module")
def library_table():
    spec = importlib.util.spec_from_file_location("library_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_table_row_per_function_and_a_visible_skip(library_table, binary, monkeypatch, capsys):
    monkeypatch.setattr(library_table, "LIBRARIES", [
        ("NumPy textbook", "numpy_textbook.py", "numpy", ["logsumexp"], ["--family", "normal_small"]),
        ("Nothing", "numpy_textbook.py", "no_such_module_here", ["logsumexp"], []),
    ])
    assert library_table.main(["--binary", binary, "--cases", "2", "--format", "f64"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "| function | format | NumPy textbook |"
    row = lines[2]
    # Two ordinary rows of normal(0, 1) logits: logsumexp within a few ulp, with its family.
    assert row.startswith("| `logsumexp` | f64 | ") and "(normal_small)" in row, row
    assert float(row.split("|")[3].split()[0]) < 8, row
    assert "Nothing (numpy_textbook.py): skipped, no_such_module_here is not importable" in out
    assert "skipped" in err


def test_no_binary_is_a_usage_error(library_table, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("SOFTMAX_ORACLE_BIN", raising=False)
    monkeypatch.setattr(library_table, "REPO", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert library_table.main(["--cases", "1"]) == 2
    assert "no softmax-oracle binary" in capsys.readouterr().err
