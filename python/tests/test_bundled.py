"""The binary a platform wheel bundles (make wheel): found after $SOFTMAX_ORACLE_BIN and before
PATH, given back its executable bit, and run by ``python -m softmax_oracle``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import softmax_oracle as so
from softmax_oracle import _process


def _bundle(tmp_path: Path, monkeypatch, mode: int = 0o755) -> Path:
    fake = tmp_path / "pkg" / "bin" / "softmax-oracle"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho bundled \"$@\"\n")
    fake.chmod(mode)
    monkeypatch.setattr(_process, "bundled_binary", lambda: fake)
    return fake


def test_bundled_comes_after_the_variable_and_before_path(monkeypatch, tmp_path):
    fake = _bundle(tmp_path, monkeypatch)
    on_path = tmp_path / "path" / "softmax-oracle"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv(so.BINARY_ENV, raising=False)
    assert so.find_binary() == str(fake)
    monkeypatch.setenv(so.BINARY_ENV, str(on_path))
    assert so.find_binary() == str(on_path)


def test_a_bundled_binary_without_its_executable_bit_gets_it_back(monkeypatch, tmp_path):
    fake = _bundle(tmp_path, monkeypatch, mode=0o644)
    monkeypatch.delenv(so.BINARY_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert so.find_binary() == str(fake) and os.access(fake, os.X_OK)


def test_python_m_runs_the_binary(tmp_path):
    fake = tmp_path / "softmax-oracle"
    fake.write_text("#!/bin/sh\necho ran \"$@\"\n")
    fake.chmod(0o755)
    env = {**os.environ, so.BINARY_ENV: str(fake), "PYTHONPATH": str(Path(so.__file__).parents[1])}
    run = lambda *a: subprocess.run([sys.executable, "-m", "softmax_oracle", *a], env=env,  # noqa: E731
                                    capture_output=True, text=True, check=False)
    assert run("--which").stdout.strip() == str(fake)
    assert run("eval", "--format", "f32").stdout.strip() == "ran eval --format f32"
    env[so.BINARY_ENV] = str(tmp_path / "missing")
    missing = run("--version")
    assert missing.returncode == 127 and "SOFTMAX_ORACLE_BIN" in missing.stderr
