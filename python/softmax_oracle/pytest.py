"""pytest support: parametrize a test by the cases of golden fixture files.

    from softmax_oracle.pytest import golden_cases

    @golden_cases("Fixtures/golden/softmax.f32.jsonl")
    def test_my_softmax(case):
        got = my_softmax(case.inputs["logits"].astype(np.float32))
        softmax_oracle.assert_close(got, function=case.function, format=case.format,
                                    max_ulp=2, **case.kwargs())

Each case becomes one test whose id is the case id (``softmax/f32/near_ties#4``), so
``pytest -k near_ties`` selects a family. A case with ``expected_error`` is included (its
``expected`` is None); pass ``errors=False`` to leave those out.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from .fixtures import FixtureCase, fixture_paths, load_fixture


def golden_cases(*paths: str | Path, argname: str = "case",
                 where: Callable[[FixtureCase], bool] | None = None, errors: bool = True) -> Any:
    """A ``pytest.mark.parametrize`` over the cases of the fixture files (or directories of
    them) in `paths`, passed as `argname` (a `FixtureCase`), with the case ids as test ids.
    ``where`` keeps only the cases it returns True for."""
    cases = [c for p in fixture_paths(*paths) for c in load_fixture(p).cases
             if (where is None or where(c)) and (errors or c.expected is not None)]
    if not cases:
        raise ValueError(f"golden_cases: no cases in {', '.join(map(str, paths))}")
    return pytest.mark.parametrize(argname, [pytest.param(c, id=c.id) for c in cases])
