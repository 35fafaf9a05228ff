"""The fixture loader on the committed Fixtures/golden files, and the pytest parametrization."""
from __future__ import annotations

import json

import numpy as np
import pytest

import softmax_oracle as so
from softmax_oracle.fixtures import fixture_paths

from conftest import GOLDEN

FILES = fixture_paths(GOLDEN)


def test_every_golden_file_loads_exactly():
    assert len(FILES) == 102  # 17 functions × 6 formats (the fused loss and its three gradients included)
    for path in FILES:
        f = so.load_fixture(path)
        assert len(f) == f.header["cases"]
        fn, fmt = f.header["function"], f.header["format"]
        assert path.name == f"{fn}.{fmt}.jsonl"
        lines = path.read_text().splitlines()[1:]
        for case, line in zip(f, lines):
            obj = json.loads(line)
            assert case.id == obj["id"] and case.function == fn and case.format == fmt
            if case.expected is None:  # the oracle's refusal, recorded (e.g. "not certified")
                assert case.expected_error == obj["expected_error"]
                continue
            assert case.expected.dtype == so.result_dtype(fmt)
            # exact: every expected value reads back to the same hex float
            assert [v for v in so._formats.to_hex(case.expected_float64())] == \
                [so._formats.hex_value(float.fromhex(v)) for v in obj["expected"]]
            # the request regenerates the line's fields
            again = json.loads(case.request_line())
            for k, v in obj.items():
                if k not in ("expected", "format"):
                    assert k in again
            assert case.family in {fam["family"] for fam in f.header["families"]}


def test_case_inputs_are_exact_arrays():
    f = so.load_fixture(GOLDEN / "cross_entropy_loss.f32.jsonl")
    c = f.cases[0]
    assert c.id == "cross_entropy_loss/f32/uniform_wide#0"
    assert c.inputs["batch"].shape == (1, 8) and c.inputs["batch"][0, 0] == float.fromhex("0x1.0ae346p+5")
    assert c.inputs["targets"].tolist() == [-100] and c.inputs["reduction"] == "sum"
    assert c.expected.tolist() == [0.0]


@pytest.mark.parametrize("name", ["softmax.f32", "cross_entropy.bf16", "bce_with_logits.e4m3fn",
                                  "cross_entropy_loss.f64", "log_sigmoid.e5m2"])
def test_cases_reproduce_through_the_package(oracle, name):
    for case in so.load_fixture(GOLDEN / f"{name}.jsonl"):
        if case.logits is not None and np.asarray(case.logits).size > 5000:
            continue  # large_k: slow in a debug build
        kw = case.kwargs()
        fn = getattr(oracle, case.function)
        if case.function == "cross_entropy_loss":
            got = fn(kw.pop("batch"), kw.pop("targets"), format=case.format, **kw)
        else:
            got = fn(kw.pop("logits"), format=case.format, **kw)
        g, e = np.asarray(got).astype(np.float64).reshape(-1), case.expected_float64()
        assert np.array_equal(g, e, equal_nan=True), case.id
        assert np.array_equal(np.signbit(g), np.signbit(e)), case.id


def test_golden_cases_parametrizes_with_case_ids(pytester):
    pytester.makepyfile(f"""
        import softmax_oracle as so
        from softmax_oracle.pytest import golden_cases

        @golden_cases({str(GOLDEN / "softmax.f16.jsonl")!r}, where=lambda c: c.family == "near_ties")
        def test_case(case):
            assert case.expected.dtype == so.result_dtype("f16")
            assert case.function == "softmax"
    """)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_case?softmax/f16/near_ties#* PASSED*"])


def test_golden_cases_refuses_an_empty_selection():
    from softmax_oracle.pytest import golden_cases
    with pytest.raises(ValueError, match="no cases"):
        golden_cases(GOLDEN / "softmax.f16.jsonl", where=lambda c: False)
