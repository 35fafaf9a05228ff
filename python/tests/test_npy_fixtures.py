"""The .npy export (`fixtures generate --npy`) read by `load_npy_fixture` gives exactly the cases
that `load_fixture` reads from the JSON Lines files written by the same run."""
from __future__ import annotations

import subprocess

import numpy as np

from softmax_oracle.fixtures import fixture_paths, load_fixture, load_npy_fixture, npy_prefixes


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":  # floats, ml_dtypes' included
            a, b = a.astype(np.float64), b.astype(np.float64)
            return a.shape == b.shape and bool(np.all((a == b) & (np.signbit(a) == np.signbit(b))
                                                      | (np.isnan(a) & np.isnan(b))))
        return a.shape == b.shape and bool(np.all(a == b))
    if isinstance(a, float) or isinstance(b, float):
        return a == b and np.signbit(a) == np.signbit(b)
    return a == b


def test_npy_export_matches_the_json_lines_files(binary, tmp_path):
    jsonl, npy = tmp_path / "jsonl", tmp_path / "npy"
    subprocess.run([binary, "fixtures", "generate", "--out", str(jsonl), "--npy", str(npy), "--seed", "11",
                    "--cases", "1", "--max-k", "12", "--format", "f32", "--format", "e4m3fn",
                    "--label-smoothing"], check=True, capture_output=True)
    paths = fixture_paths(jsonl)
    assert len(paths) == 34 and len(npy_prefixes(npy)) == 34  # 17 functions × 2 formats
    for path in paths:
        want = load_fixture(path)
        got = load_npy_fixture(npy / path.name[: -len(".jsonl")])
        assert len(got) == len(want) == want.header["cases"]
        for g, w in zip(got, want):
            assert (g.id, g.function, g.format, g.expected_error) == (w.id, w.function, w.format, w.expected_error)
            assert sorted(g.inputs) == sorted(w.inputs), w.id
            for name in w.inputs:
                assert same(g.inputs[name], w.inputs[name]), (w.id, name, g.inputs[name], w.inputs[name])
            assert (g.expected is None) == (w.expected is None) and (
                g.expected is None or (g.expected.dtype == w.expected.dtype and same(g.expected, w.expected))), w.id
    # no padding, no arrays of defaults: softmax has only ids, outputs and rows
    names = sorted(p.name for p in npy.glob("softmax.f32.*.npy"))
    assert names == [f"softmax.f32.{a}.npy" for a in ("expected", "expected_offsets", "id", "logits", "row_offsets")]
    assert not list(npy.glob("*.k.npy")) and not list(npy.glob("*.n_expected.npy"))
