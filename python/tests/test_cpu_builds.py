"""Which bundled binary runs (make wheel bundles a portable one and an FMA one for x86-64): the FMA
build when the CPU's flags (/proc/cpuinfo, mocked here) have all it needs, else the portable one;
$SOFTMAX_ORACLE_CPU=portable forces the portable one and $SOFTMAX_ORACLE_BIN wins over both."""
from __future__ import annotations

from pathlib import Path

import pytest

import softmax_oracle as so
from softmax_oracle import _process

# A /proc/cpuinfo of a CPU with AVX2 and FMA (x86-64-v3) but no AVX-512: two processors, the
# first `flags` line is the one read.
V3_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm abm movbe xsave avx f16c fma bmi1 avx2 bmi2
bugs\t\t: sysret_ss_attrs

processor\t: 1
flags\t\t: fpu
"""
# The same CPU without FMA (e.g. a virtual machine that hides it).
NO_FMA_CPUINFO = V3_CPUINFO.replace(" fma ", " ")


def _wheel_bin(tmp_path: Path, monkeypatch, *builds: str) -> Path:
    """A fake bin/ folder: the portable binary and the given FMA builds next to it."""
    portable = tmp_path / "bin" / "softmax-oracle"
    portable.parent.mkdir()
    for path in [portable, *(portable.with_name(f"softmax-oracle-{b}") for b in builds)]:
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    monkeypatch.setattr(_process, "bundled_binary", lambda: portable)
    monkeypatch.delenv(so.BINARY_ENV, raising=False)
    monkeypatch.delenv(so.CPU_ENV, raising=False)
    return portable


def _cpu(monkeypatch, cpuinfo: str, machine: str = "x86_64") -> None:
    monkeypatch.setattr(_process, "_read_cpuinfo", lambda: cpuinfo)
    monkeypatch.setattr(_process.platform, "machine", lambda: machine)
    _process._this_cpu_flags.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_flags():
    _process._this_cpu_flags.cache_clear()
    yield
    _process._this_cpu_flags.cache_clear()


def test_cpu_flags_reads_the_first_flags_line():
    flags = _process.cpu_flags(V3_CPUINFO)
    assert {"fma", "avx2", "pni"} <= flags and "fpu" in flags and "avx512f" not in flags
    assert _process.cpu_flags("processor\t: 0\n") == frozenset()


def test_a_cpu_with_fma_and_avx2_runs_the_v3_build(monkeypatch, tmp_path):
    portable = _wheel_bin(tmp_path, monkeypatch, "x86-64-v3")
    _cpu(monkeypatch, V3_CPUINFO)
    assert so.find_binary() == str(portable.with_name("softmax-oracle-x86-64-v3"))


def test_a_cpu_without_fma_runs_the_portable_build(monkeypatch, tmp_path):
    portable = _wheel_bin(tmp_path, monkeypatch, "x86-64-v3")
    _cpu(monkeypatch, NO_FMA_CPUINFO)
    assert so.find_binary() == str(portable)


def test_the_v4_build_needs_every_avx512_flag(monkeypatch, tmp_path):
    portable = _wheel_bin(tmp_path, monkeypatch, "x86-64-v3", "x86-64-v4")
    _cpu(monkeypatch, V3_CPUINFO.replace(" avx2 ", " avx2 avx512f avx512bw avx512cd avx512dq "))
    assert so.find_binary() == str(portable.with_name("softmax-oracle-x86-64-v3"))  # no avx512vl
    _cpu(monkeypatch, V3_CPUINFO.replace(" avx2 ", " avx2 avx512f avx512bw avx512cd avx512dq avx512vl "))
    assert so.find_binary() == str(portable.with_name("softmax-oracle-x86-64-v4"))


def test_other_machines_and_missing_builds_run_the_portable_build(monkeypatch, tmp_path):
    portable = _wheel_bin(tmp_path, monkeypatch, "x86-64-v3")
    _cpu(monkeypatch, V3_CPUINFO, machine="aarch64")  # its flags are never read as x86's
    assert so.find_binary() == str(portable)
    other = tmp_path / "other"
    other.mkdir()
    alone = _wheel_bin(other, monkeypatch)  # a wheel that bundles only the portable build
    _cpu(monkeypatch, V3_CPUINFO)
    assert so.find_binary() == str(alone)


def test_a_bundled_fma_build_without_its_executable_bit_gets_it_back(monkeypatch, tmp_path):
    portable = _wheel_bin(tmp_path, monkeypatch, "x86-64-v3")
    fma = portable.with_name("softmax-oracle-x86-64-v3")
    fma.chmod(0o644)
    _cpu(monkeypatch, V3_CPUINFO)
    assert so.find_binary() == str(fma)


def test_the_variables_force_the_portable_build_or_a_binary(monkeypatch, tmp_path):
    portable = _wheel_bin(tmp_path, monkeypatch, "x86-64-v3")
    _cpu(monkeypatch, V3_CPUINFO)
    monkeypatch.setenv(so.CPU_ENV, "portable")
    assert so.find_binary() == str(portable)
    monkeypatch.setenv(so.CPU_ENV, "auto")
    assert so.find_binary() == str(portable.with_name("softmax-oracle-x86-64-v3"))
    monkeypatch.setenv(so.BINARY_ENV, str(portable))
    assert so.find_binary() == str(portable)
    monkeypatch.delenv(so.BINARY_ENV)
    monkeypatch.setenv(so.CPU_ENV, "avx2")
    with pytest.raises(ValueError, match=r"\$SOFTMAX_ORACLE_CPU is 'avx2'"):
        so.find_binary()
    # A mistyped value is an error even where it would not be used: with $SOFTMAX_ORACLE_BIN set.
    monkeypatch.setenv(so.BINARY_ENV, str(portable))
    monkeypatch.setenv(so.CPU_ENV, "Portable")
    with pytest.raises(ValueError, match=r"\$SOFTMAX_ORACLE_CPU is 'Portable'"):
        so.find_binary()


def test_the_flags_are_read_once(monkeypatch, tmp_path):
    _wheel_bin(tmp_path, monkeypatch, "x86-64-v3")
    reads = []
    monkeypatch.setattr(_process, "_read_cpuinfo", lambda: reads.append(1) or V3_CPUINFO)
    monkeypatch.setattr(_process.platform, "machine", lambda: "x86_64")
    for _ in range(3):
        so.find_binary()
    assert len(reads) == 1
