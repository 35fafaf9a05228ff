"""Shared fixtures: the repository root, and the oracle binary ($SOFTMAX_ORACLE_BIN or PATH);
tests that need the binary are skipped, with the reason shown, when there is none."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import softmax_oracle as so

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "Fixtures" / "golden"


def oracle_binary() -> str | None:
    env = os.environ.get(so.BINARY_ENV)
    if env:
        return env
    return shutil.which("softmax-oracle")


@pytest.fixture(scope="session")
def binary() -> str:
    b = oracle_binary()
    if not b:
        pytest.skip(f"no softmax-oracle binary: set ${so.BINARY_ENV} or put it on PATH "
                    "(make test-python does: it builds the CLI first)")
    return b


@pytest.fixture(scope="session")
def oracle(binary: str):
    with so.Oracle(binary) as o:
        yield o


@pytest.fixture(scope="session")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: torch input not tested")


@pytest.fixture(scope="session")
def ml_dtypes():
    return pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed: bf16/fp8 dtypes not tested")


def fake_binary(tmp_path: Path, body: str) -> str:
    """An executable shell script `body` standing in for the binary (hangs, crashes, garbage)."""
    p = tmp_path / "fake-oracle"
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(p)
