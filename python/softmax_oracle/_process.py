"""Finding the `softmax-oracle` binary, and the transports that talk to it.

A transport evaluates a batch of `Request`s and returns, per request, the float64 values or the
oracle's error message. `JsonLinesTransport` drives one long-running ``softmax-oracle eval``
over JSON Lines (docs/protocol.md); a binary transport (issue 11, part 1) can be added as
another `Transport` without changing the API above it.
"""
from __future__ import annotations

import abc
import atexit
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Sequence, Union

import numpy as np

from ._formats import parse_hex_array
from ._request import Request

#: The environment variable naming the binary; it wins over the bundled one and PATH.
BINARY_ENV = "SOFTMAX_ORACLE_BIN"
#: Seconds without any progress (no byte written or read) before a call gives up.
DEFAULT_TIMEOUT = 120.0

#: What a transport returns per request: the values (float64), or the oracle's error message.
Answer = Union[np.ndarray, str]


class OracleError(Exception):
    """Base of the package's errors about the oracle."""


class OracleNotFoundError(OracleError, FileNotFoundError):
    """No `softmax-oracle` binary: neither $SOFTMAX_ORACLE_BIN, nor the bundled one, nor PATH."""


class OracleProcessError(OracleError, RuntimeError):
    """The process died, closed its output, timed out, or answered something that is not a
    result line; the process is killed and the next call starts a new one."""


class OracleTimeoutError(OracleProcessError, TimeoutError):
    """No progress within the timeout."""


class OracleRequestError(OracleError, ValueError):
    """The oracle refused a request; the message is its error line (naming field and value),
    and ``request_line`` is the request that reproduces it."""

    def __init__(self, message: str, request_line: str = ""):
        super().__init__(message + (f"\n  request: {request_line}" if request_line else ""))
        self.oracle_message = message
        self.request_line = request_line


def bundled_binary() -> Path:
    """Where the platform wheel (`make wheel`) puts the static binary:
    ``softmax_oracle/bin/softmax-oracle``."""
    return Path(__file__).resolve().parent / "bin" / "softmax-oracle"


def find_binary() -> str:
    """The binary to run: ``$SOFTMAX_ORACLE_BIN``, else the bundled one, else ``softmax-oracle``
    on PATH. Raises `OracleNotFoundError` naming all three when none is there (or when
    ``$SOFTMAX_ORACLE_BIN`` is set but not an executable file: a set variable is never skipped).
    A bundled binary that lost its executable bit in installation gets it back when it can."""
    env = os.environ.get(BINARY_ENV)
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise OracleNotFoundError(f"${BINARY_ENV} is set to {env!r}, which is not an executable file")
    bundled = bundled_binary()
    if bundled.is_file() and not os.access(bundled, os.X_OK):
        try:  # an installer that dropped the wheel's mode bits: the file is ours to fix
            bundled.chmod(bundled.stat().st_mode | 0o111)
        except OSError:
            pass
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled)
    on_path = shutil.which("softmax-oracle")
    if on_path:
        return on_path
    raise OracleNotFoundError(
        "softmax-oracle binary not found: set $SOFTMAX_ORACLE_BIN to its path, or install a wheel "
        f"that bundles it ({bundled}), or put `softmax-oracle` on PATH "
        "(build it with `swift build -c release --product softmax-oracle`)")


class Transport(abc.ABC):
    """Evaluates requests; one instance owns at most one oracle process at a time."""

    @abc.abstractmethod
    def run(self, requests: Sequence[Request]) -> list[Answer]:
        """The answers to `requests`, in order: float64 values, or the oracle's error message."""

    @abc.abstractmethod
    def close(self) -> None:
        """Ends the process (if any) and reaps it. The transport may be used again afterwards."""

    @property
    def pid(self) -> int | None:
        """The running process's id, or None."""
        return None


_LIVE: "weakref.WeakSet[Transport]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for t in list(_LIVE):
        try:
            t.close()
        except Exception:  # noqa: BLE001 - at exit, close what can be closed
            pass


class JsonLinesTransport(Transport):
    """One long-running ``softmax-oracle eval`` speaking JSON Lines.

    * started lazily on the first call, reused by later ones, restarted when it has died (or
      after a fork, in the child);
    * each call writes all its request lines and reads the answers as they come (both at once,
      so neither pipe can fill up and deadlock), checking that each answer has the request's id;
    * ``timeout``: seconds without any progress (no byte written or read) before the call gives
      up with `OracleTimeoutError`; a process that exits, closes its output or answers garbage
      gives `OracleProcessError` with its exit status and the end of its standard error. Either
      way the process is killed and reaped first;
    * thread-safe: calls from several threads are serialized by a lock;
    * closed by `close()`, by the owning `Oracle`'s context manager, and at interpreter exit.
      If Python itself is killed, the process sees the end of its input and exits.
    """

    def __init__(self, binary: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 extra_args: Sequence[str] = ()):
        self.binary = binary
        self.timeout = float(timeout)
        self.extra_args = tuple(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._owner = os.getpid()
        self._next_id = 1
        self._lock = threading.Lock()
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        p = self._proc
        return p.pid if p is not None and p.poll() is None and self._owner == os.getpid() else None

    def _start(self) -> subprocess.Popen[bytes]:
        binary = self.binary or find_binary()
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen([binary, "eval", *self.extra_args], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._stderr, bufsize=0)
        except OSError as e:
            raise OracleNotFoundError(f"cannot start {binary!r}: {e}") from None
        self._owner = os.getpid()
        return self._proc

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():  # forked: the parent's process is not ours to use
            self._proc = None
            self._owner = os.getpid()
        if self._proc is not None and self._proc.poll() is not None:
            self._reap()
        return self._proc if self._proc is not None else self._start()

    def _stderr_tail(self, limit: int = 2000) -> str:
        f = self._stderr
        if f is None:
            return ""
        try:
            f.seek(0, os.SEEK_END)
            n = f.tell()
            f.seek(max(0, n - limit))
            return f.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _reap(self, kill: bool = False) -> None:
        p = self._proc
        self._proc = None
        if p is not None:
            for pipe in (p.stdin, p.stdout):
                try:
                    if pipe is not None:
                        pipe.close()
                except OSError:
                    pass
            if kill and p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def close(self) -> None:
        with self._lock:
            if self._owner != os.getpid():
                self._proc = None
                return
            p = self._proc
            if p is None:
                return
            try:
                if p.stdin is not None:
                    p.stdin.close()  # end of input: eval finishes and exits
                p.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._reap(kill=True)

    def _fail(self, proc: subprocess.Popen[bytes], what: str, timeout: bool = False,
              kill: bool = True) -> OracleProcessError:
        """Ends `proc` (killed, or given 2 s to exit when it closed its output), reaps it, and
        returns the error to raise."""
        if (timeout or kill) and proc.poll() is None:
            proc.kill()
        try:
            status = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = proc.wait()
        tail = self._stderr_tail()
        self._reap(kill=True)
        how = f"exit status {status}" if status >= 0 else f"killed by signal {-status}"
        msg = f"softmax-oracle eval (pid {proc.pid}): {what} ({how})"
        if tail:
            msg += f"; its standard error ends with: {tail}"
        return (OracleTimeoutError if timeout else OracleProcessError)(msg)

    def run(self, requests: Sequence[Request]) -> list[Answer]:
        if not requests:
            return []
        with self._lock:
            proc = self._ensure()
            ids = list(range(self._next_id, self._next_id + len(requests)))
            self._next_id += len(requests)
            data = b"".join((r.to_json_line(i, canonical=False) + "\n").encode() for r, i in zip(requests, ids))
            try:
                return self._exchange(proc, requests, ids, data)
            except OracleError:
                raise
            except BaseException:  # KeyboardInterrupt mid-exchange: the stream is out of step
                if self._proc is proc:
                    self._reap(kill=True)
                raise

    def _exchange(self, proc: subprocess.Popen[bytes], requests: Sequence[Request], ids: list[int],
                  data: bytes) -> list[Answer]:
        assert proc.stdin is not None and proc.stdout is not None
        out_fd, in_fd = proc.stdout.fileno(), proc.stdin.fileno()
        os.set_blocking(in_fd, False)
        sel = selectors.DefaultSelector()
        sel.register(out_fd, selectors.EVENT_READ)
        sel.register(in_fd, selectors.EVENT_WRITE)
        view, written, writing = memoryview(data), 0, True
        buf = bytearray()
        answers: list[Answer] = []
        deadline = time.monotonic() + self.timeout

        def describe(k: int) -> str:
            r = requests[k]
            n = r.fields.get("logits", r.fields.get("batch"))
            size = f", {np.asarray(n).size} values" if n is not None else ""
            return f"request {k + 1} of {len(requests)} ({r.function}, {r.format}{size})"

        try:
            while len(answers) < len(requests):
                left = deadline - time.monotonic()
                events = sel.select(timeout=max(left, 0)) if left > 0 else []
                if not events:
                    raise self._fail(proc, f"no answer within {self.timeout:g} s to {describe(len(answers))}",
                                     timeout=True)
                for key, _ in events:
                    if key.fd == in_fd:
                        try:
                            written += os.write(in_fd, view[written:written + (1 << 20)])
                        except BrokenPipeError:
                            written, writing = len(data), False
                            sel.unregister(in_fd)
                            continue
                        except BlockingIOError:
                            continue
                        if written >= len(data):
                            writing = False
                            sel.unregister(in_fd)
                    else:
                        chunk = os.read(out_fd, 1 << 20)
                        if not chunk:
                            raise self._fail(proc, f"closed its output before answering {describe(len(answers))}",
                                             kill=False)
                        buf += chunk
                        start = 0
                        while True:
                            nl = buf.find(b"\n", start)
                            if nl < 0:
                                break
                            line = bytes(buf[start:nl])
                            start = nl + 1
                            if len(answers) >= len(requests):
                                raise self._fail(proc, f"answered more lines than requests: {line[:200]!r}")
                            answers.append(self._answer(proc, line, ids[len(answers)], describe(len(answers))))
                        del buf[:start]
                    deadline = time.monotonic() + self.timeout
            if writing:  # every answer arrived before the last bytes were written: impossible
                raise self._fail(proc, "answered before reading all requests")
            if buf.strip():
                raise self._fail(proc, f"wrote text after the last answer: {bytes(buf[:200])!r}")
            return answers
        finally:
            sel.close()
            if self._proc is proc:
                try:
                    os.set_blocking(in_fd, True)
                except OSError:
                    pass

    def _answer(self, proc: subprocess.Popen[bytes], line: bytes, rid: int, what: str) -> Answer:
        try:
            obj = json.loads(line)
        except ValueError:
            raise self._fail(proc, f"answered {what} with a line that is not JSON: {line[:200]!r}") from None
        if not isinstance(obj, dict) or "id" not in obj:
            raise self._fail(proc, f"answered {what} with a line that is not a result: {line[:200]!r}")
        if obj["id"] != rid:
            raise self._fail(proc, f"answered {what} with id {obj['id']!r}, expected {rid}")
        if isinstance(obj.get("error"), str):
            return obj["error"]
        try:
            return parse_hex_array(obj.get("values"), "values")
        except ValueError as e:
            raise self._fail(proc, f"answered {what} with garbage: {e}") from None
