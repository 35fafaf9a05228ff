"""The process: found, reused, restarted after a death, closed without leftovers; clear errors
for a missing binary, a hang, a crash and garbage (the last three with fake binaries)."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import softmax_oracle as so
from conftest import fake_binary


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_one_process_reused_then_closed(binary):
    o = so.Oracle(binary)
    assert o.pid is None  # started lazily
    o.softmax([1.0, 2.0])
    pid = o.pid
    assert pid is not None
    o.logsumexp(np.zeros((3, 4)))
    o.cross_entropy([1.0, 2.0], target=0)
    assert o.pid == pid
    o.close()
    assert o.pid is None and not _alive(pid)


def test_context_manager_leaves_no_process(binary):
    with so.Oracle(binary) as o:
        o.sigmoid([0.0])
        pid = o.pid
    assert not _alive(pid)


def test_restarted_after_it_was_killed(binary):
    with so.Oracle(binary) as o:
        o.softmax([0.0])
        pid = o.pid
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        assert float(o.cross_entropy([1000, 0, -1000], target=1)) == 1000.0
        assert o.pid not in (None, pid)


def test_missing_binary_names_all_three(monkeypatch, tmp_path):
    monkeypatch.delenv(so.BINARY_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(so.OracleNotFoundError) as e:
        so.find_binary()
    msg = str(e.value)
    assert "$SOFTMAX_ORACLE_BIN" in msg and "bin/softmax-oracle" in msg and "PATH" in msg
    with pytest.raises(FileNotFoundError):
        so.Oracle().softmax([1.0])
    monkeypatch.setenv(so.BINARY_ENV, str(tmp_path / "nope"))
    with pytest.raises(so.OracleNotFoundError, match="is set to .*nope.*not an executable"):
        so.find_binary()


def test_env_wins(monkeypatch, tmp_path):
    fake = fake_binary(tmp_path, "exit 0")
    monkeypatch.setenv(so.BINARY_ENV, fake)
    assert so.find_binary() == fake


def test_hang_times_out_and_is_killed(tmp_path):
    fake = fake_binary(tmp_path, "exec sleep 30")
    o = so.Oracle(fake, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(so.OracleTimeoutError, match="no answer within 0.5 s to request 1 of 1 \\(softmax, f64, 2 values\\)"):
        o.softmax([1.0, 2.0])
    assert time.monotonic() - t0 < 5
    assert o.pid is None
    o.close()


def test_crash_is_named_with_its_status(tmp_path):
    fake = fake_binary(tmp_path, "echo 'something broke' >&2; exit 3")
    with so.Oracle(fake) as o:
        with pytest.raises(so.OracleProcessError, match="closed its output.*exit status 3.*something broke"):
            o.softmax([1.0])


def test_garbage_is_refused(tmp_path):
    for body, pattern in (("read l; echo hello; sleep 5", "not JSON"),
                          ("read l; echo '{\"id\":99,\"values\":[]}'; sleep 5", "with id 99, expected 1"),
                          ("read l; echo '{\"id\":1,\"values\":[\"1.5\"]}'; sleep 5", "garbage"),
                          ("read l; echo '{\"id\":1,\"values\":[\"0x1p+0\",\"0x1p+0\"]}'", "answered 2 values")):
        with so.Oracle(transport=so.JsonLinesTransport(fake_binary(tmp_path, body), timeout=10)) as o:
            t0 = time.monotonic()
            with pytest.raises(so.OracleProcessError, match=pattern):
                o.softmax([1.0])
            assert time.monotonic() - t0 < 4


def test_threads_share_one_process(binary):
    with so.Oracle(binary) as o:
        results, errors = {}, []

        def work(i):
            try:
                results[i] = float(o.cross_entropy([1000.0, 0.0, -1000.0 + i], target=1))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and all(v == 1000.0 for v in results.values())


def test_many_rows_are_pipelined(binary):
    # 2000 rows in one call: written and read concurrently (no deadlock on full pipes).
    with so.Oracle(binary, timeout=60) as o:
        x = np.random.default_rng(0).normal(size=(2000, 50))
        r = o.softmax(x, format="f32")
        assert r.shape == x.shape and o.pid is not None


def test_module_functions_use_the_shared_oracle(binary, monkeypatch):
    monkeypatch.setenv(so.BINARY_ENV, binary)
    assert float(so.cross_entropy([1000, 0, -1000], target=1)) == 1000.0
    pid = so.default_oracle().pid
    so.softmax([0.0])
    assert so.default_oracle().pid == pid


def test_an_interrupt_mid_call_ends_the_process(binary, monkeypatch):
    with so.Oracle(binary) as o:
        o.softmax([0.0])
        pid = o.pid

        def interrupted(self, proc, requests, ids, data):
            os.write(proc.stdin.fileno(), data[: len(data) // 2])  # half a request line, then Ctrl-C
            raise KeyboardInterrupt

        monkeypatch.setattr(type(o.transport), "_exchange", interrupted)
        with pytest.raises(KeyboardInterrupt):
            o.softmax([1.0, 2.0])
        assert o.pid is None and not _alive(pid)
        monkeypatch.undo()
        assert float(o.cross_entropy([1000, 0, -1000], target=1)) == 1000.0  # a fresh process
