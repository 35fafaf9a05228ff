"""The binary transport: frames round trip exactly, N-D inputs go as one batched request, bad
frames get error frames and the stream goes on, a truncated stream ends with an error (never a
hang), a killed or lying process is named."""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import time

import numpy as np
import pytest

import softmax_oracle as so
from conftest import fake_binary
from softmax_oracle._process import encode_frame, read_frame, request_frame


def _frames(data: bytes) -> list[dict]:
    """Every frame of `data`: its header, with the payload's values under "values"."""
    out, start = [], 0
    while start < len(data):
        frame = read_frame(data, start)
        assert frame is not None, f"a partial frame at byte {start}"
        header, payload, start = frame
        if "arrays" in header:
            header["values"] = np.frombuffer(payload, dtype="<f8")
        out.append(header)
    return out


def _eval(binary: str, data: bytes) -> tuple[list[dict], int]:
    p = subprocess.run([binary, "eval", "--transport", "binary"], input=data, capture_output=True, timeout=60)
    return _frames(p.stdout), p.returncode


def test_the_frame_of_the_protocol_example():
    # docs/protocol.md, "Binary frames": softmax of [0, ln 2] (the example's bytes).
    r = so.Request("softmax", "f64", {"logits": np.array([0.0, 1.0])})
    data = request_frame(r, 1)
    head = b'{"id":1,"function":"softmax","format":"f64","arrays":[{"name":"logits","dtype":"f64","shape":[2]}]}'
    assert data[:16] == b"SOF1" + struct.pack("<IQ", len(head), 16)
    assert data[16:16 + len(head)] == head
    assert data[16 + len(head):] == bytes.fromhex("0000000000000000" "000000000000f03f")


@pytest.mark.parametrize("fmt", ["f64", "f32", "bf16", "e4m3fn"])
def test_binary_and_json_lines_agree_bit_for_bit(binary, fmt):
    rng = np.random.default_rng(11)
    x = rng.normal(0, 30, (3, 4, 17))
    x[0, 0, :3] = [np.inf, -np.inf, 0.0]
    x[1, 2, 5] = -0.0
    t = rng.integers(0, 17, (3, 4))
    with so.Oracle(binary) as b, so.Oracle(transport=so.JsonLinesTransport(binary)) as j:
        assert isinstance(b.transport, so.BinaryTransport)
        for f, kw in (("softmax", {}), ("log_softmax", {"axis": 1}), ("logsumexp", {}),
                      ("cross_entropy", {"target": t}), ("cross_entropy_grad", {"target": t, "weight": np.arange(17.0)}),
                      ("sigmoid", {})):
            rb = getattr(b, f)(x, format=fmt, **kw)
            rj = getattr(j, f)(x, format=fmt, **kw)
            assert rb.shape == rj.shape and rb.dtype == rj.dtype
            np.testing.assert_array_equal(rb.astype(np.float64), rj.astype(np.float64), err_msg=f)


def test_n_d_rows_go_as_one_batched_request(binary):
    x = np.zeros((2, 3, 4))
    p = so.plan("softmax", x, "f32")
    assert len(p.requests) == 1 and p.requests[0].fields["logits"].shape == (6, 4)
    p = so.plan("cross_entropy", x, "f64", target=np.ones((2, 3), dtype=np.int64))
    assert len(p.requests) == 1 and p.requests[0].fields["target"].tolist() == [1] * 6
    with so.Oracle(binary) as o:
        assert o.softmax(x, format="f32").tolist() == np.full((2, 3, 4), 0.25).tolist()  # 1/K, from math
        assert o.softmax(x, axis=0).shape == (2, 3, 4) and np.all(o.softmax(x, axis=0) == 0.5)
        assert o.logsumexp(np.zeros((5, 8))).tolist() == [3 * float.fromhex("0x1.62e42fefa39efp-1")] * 5  # log 8
        assert o.logsumexp(np.zeros((3, 0))).tolist() == [-np.inf] * 3  # K = 0 rows: one request each
        assert o.softmax(np.zeros((0, 5))).shape == (0, 5)
        # A refused row is named, and its reproducer is that row alone.
        with pytest.raises(so.OracleRequestError, match=r'field "target\[2\]": 9 is outside \[0, 4\)'):
            o.cross_entropy(np.zeros((3, 4)), target=[0, 1, 9])


def test_bad_frames_get_error_frames_and_the_stream_goes_on(binary):
    good = request_frame(so.Request("softmax", "f64", {"logits": np.array([0.0, 0.0])}), 7)
    bad_header = b"SOF1" + struct.pack("<IQ", 5, 0) + b"{oops"
    unknown = encode_frame({"id": 8, "function": "softmax", "logit": [1]})
    short = encode_frame({"id": 9, "function": "softmax", "arrays": [{"name": "logits", "dtype": "f64", "shape": [3]}]},
                         [np.zeros(2).tobytes()])
    nan_label = request_frame(so.Request("bce_with_logits", "f64", {"logits": np.zeros(2), "labels": np.array([0, np.nan])}), 10)
    ragged = encode_frame({"id": 11, "function": "softmax", "logits": [[1], [1, 2]]})
    answers, status = _eval(binary, good + b"junk" + good + bad_header + unknown + short + nan_label + ragged + good)
    assert status == 1
    assert [a.get("id") for a in answers] == [7, None, 7, None, 8, 9, 10, 11, 7]
    assert answers[0]["values"].tolist() == [0.5, 0.5]
    assert "bad magic 6A 75 6E 6B" in answers[1]["error"] and "skipped 4 bytes" in answers[1]["error"]
    assert answers[3]["error"].startswith("header: invalid JSON")
    assert 'field "logit": unknown field (did you mean "logits"?)' in answers[4]["error"]
    assert "the arrays take 24 bytes (3 values of 8 bytes), but the payload has 16" in answers[5]["error"]
    assert answers[6]["error"].startswith('field "labels[1]":') and "nan" in answers[6]["error"].lower()
    assert answers[7]["error"] == 'field "logits[1]": 2 values, but logits[0] has 1 (rows must have equal lengths)'
    assert answers[8]["values"].tolist() == [0.5, 0.5]


def test_truncated_stream_is_an_error_never_a_hang(binary):
    good = request_frame(so.Request("softmax", "f64", {"logits": np.array([1.0])}), 1)
    for cut in (5, 20, len(good) - 1):
        answers, status = _eval(binary, good + good[:cut])
        assert status == 1 and answers[0]["values"].tolist() == [1.0]
        assert "truncated" in answers[1]["error"]
    huge = b"SOF1" + struct.pack("<IQ", 10, 1 << 62) + b"x" * 30
    answers, status = _eval(binary, huge)
    assert status == 1 and "over the limit" in answers[0]["error"] and "truncated" in answers[0]["error"]


def test_a_killed_process_is_restarted(binary):
    with so.Oracle(binary) as o:
        o.softmax(np.zeros((2, 3)))
        pid = o.pid
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        assert o.softmax(np.zeros((2, 3)), format="f32").tolist() == np.full((2, 3), 1 / 3, dtype=np.float32).tolist()
        assert o.pid not in (None, pid)


def test_a_process_that_answers_garbage_frames_is_named(tmp_path):
    for body, pattern in (("head -c 16 >/dev/null; echo hello-world-hello-world; sleep 5", "bad magic"),
                          ("head -c 16 >/dev/null; printf 'SOF1\\002\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0{}'; sleep 5",
                           "with id None, expected 1"),
                          ("head -c 16 >/dev/null; exit 4", "closed its output.*exit status 4")):
        with so.Oracle(fake_binary(tmp_path, body), timeout=10) as o:
            t0 = time.monotonic()
            with pytest.raises(so.OracleProcessError, match=pattern):
                o.softmax([1.0])
            assert time.monotonic() - t0 < 4 and o.pid is None


def test_a_result_frame_holds_the_values_exactly(binary):
    # f32 results travel as binary64 holding each f32 value exactly (no text in between).
    x = np.array([[1e-30, 0.0, -1e30], [3.0, 2.0, 1.0]])
    answers, status = _eval(binary, request_frame(so.Request("log_softmax", "f32", {"logits": x}), 3))
    assert status == 0 and answers[0]["arrays"] == [{"name": "values", "dtype": "f64", "shape": [2, 3]}]
    v = answers[0]["values"]
    assert np.array_equal(v.astype(np.float32).astype(np.float64), v)
    assert json.loads(json.dumps(answers[0]["id"])) == 3


def test_result_bits_are_the_formats_own_encoding(binary, ml_dtypes):
    x = np.array([[3.0, 2.0, 1.0, -np.inf], [0.0, 0.0, 0.0, 0.0]])
    for fmt, dtype in (("f32", np.float32), ("f16", np.float16), ("bf16", ml_dtypes.bfloat16),
                       ("e4m3fn", ml_dtypes.float8_e4m3fn)):
        r = so.Request("softmax", fmt, {"logits": x})
        frame = request_frame(r, 1)
        head = json.loads(frame[16:16 + struct.unpack_from("<I", frame, 4)[0]])
        head["result"] = "both"
        p = subprocess.run([binary, "eval", "--transport", "binary"], capture_output=True, timeout=60,
                           input=encode_frame(head, [frame[16 + struct.unpack_from("<I", frame, 4)[0]:]]))
        header, payload, _ = read_frame(p.stdout)
        assert [a["name"] for a in header["arrays"]] == ["values", "bits"]
        values = np.frombuffer(payload[:64], "<f8").reshape(2, 4)
        bits = np.frombuffer(payload[64:], dtype).reshape(2, 4)
        np.testing.assert_array_equal(bits.astype(np.float64), values)
        assert values[1].tolist() == [0.25] * 4
