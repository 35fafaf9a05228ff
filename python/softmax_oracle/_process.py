"""Finding the `softmax-oracle` binary, and the transports that talk to it.

A transport evaluates a batch of `Request`s and returns, per request, the float64 values or the
oracle's error message. Both transports drive one long-running ``softmax-oracle eval``
(docs/protocol.md): `BinaryTransport` (the default) with binary frames, whose arrays travel as
raw little-endian binary64 (no number is printed or parsed as text), `JsonLinesTransport` with
JSON Lines of hex floats.
"""
from __future__ import annotations

import abc
import atexit
import fcntl
import functools
import json
import os
import platform
import selectors
import struct
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any, Callable, Sequence, Union

import numpy as np

from ._formats import parse_hex_array, result_dtype
from ._request import Request

#: The environment variable naming the binary; it wins over the bundled one and PATH.
BINARY_ENV = "SOFTMAX_ORACLE_BIN"
#: The environment variable choosing among the bundled binaries: ``auto`` (the default: the FMA
#: build when this CPU runs it) or ``portable`` (always the portable one).
CPU_ENV = "SOFTMAX_ORACLE_CPU"
#: Seconds without any progress (no byte written or read) before a call gives up.
DEFAULT_TIMEOUT = 120.0

#: What a transport returns per request: the values (float64, or an array of the format's own
#: dtype when they came as its bits), or the oracle's error message.
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


#: The bundled builds for newer x86-64 CPUs (`make dist`), best first, each with the CPU flags it
#: needs as Linux's /proc/cpuinfo spells them: the x86-64 micro-architecture levels v2 + v3 (FMA,
#: AVX2, BMI1/2, F16C, LZCNT = abm, MOVBE; the kernel lists avx only when the OS saves its
#: registers), and v4 adds AVX-512 F/BW/CD/DQ/VL. Same error bounds and certified outputs as the
#: portable build (docs/kernels.md, "Two builds, one bound").
_X86_64_V3 = frozenset("cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3 "
                       "avx avx2 bmi1 bmi2 f16c fma abm movbe xsave".split())
X86_64_BUILDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("x86-64-v4", _X86_64_V3 | frozenset("avx512f avx512bw avx512cd avx512dq avx512vl".split())),
    ("x86-64-v3", _X86_64_V3),
)


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The CPU flags of the first ``flags`` line of a /proc/cpuinfo text (empty without one)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def _read_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:  # not Linux: no flags, so the portable build
        return ""


@functools.lru_cache(maxsize=None)
def _this_cpu_flags() -> frozenset[str]:
    return cpu_flags(_read_cpuinfo()) if platform.machine().lower() in ("x86_64", "amd64") else frozenset()


def _executable(path: Path) -> bool:
    """Whether `path` is a file we can run; a bundled file that lost its executable bit in
    installation gets it back when it can (the file is ours to fix)."""
    if path.is_file() and not os.access(path, os.X_OK):
        try:
            path.chmod(path.stat().st_mode | 0o111)
        except OSError:
            pass
    return path.is_file() and os.access(path, os.X_OK)


def cpu_choice() -> str:
    """``$SOFTMAX_ORACLE_CPU``: ``auto`` (unset or empty: the best bundled build for this CPU) or
    ``portable``. Any other value raises `ValueError` naming it, whether or not a bundled binary
    is used, so that a mistyped setting is never silently ignored."""
    choice = os.environ.get(CPU_ENV, "") or "auto"
    if choice not in ("auto", "portable"):
        raise ValueError(f"${CPU_ENV} is {choice!r}: use 'auto' (the default) or 'portable'")
    return choice


def bundled_for_cpu(portable: Path, flags: frozenset[str]) -> Path:
    """Among the bundled binaries, the one for a CPU with `flags`: the first of `X86_64_BUILDS`
    (``softmax-oracle-x86-64-v4``, ``-v3``, next to the portable one) that is bundled and whose
    flags the CPU has, else `portable`. ``$SOFTMAX_ORACLE_CPU=portable`` always gives `portable`."""
    if cpu_choice() == "auto":
        for name, needed in X86_64_BUILDS:
            candidate = portable.with_name(f"{portable.name}-{name}")
            if needed <= flags and _executable(candidate):
                return candidate
    return portable


def find_binary() -> str:
    """The binary to run: ``$SOFTMAX_ORACLE_BIN``, else the bundled one, else ``softmax-oracle``
    on PATH. Raises `OracleNotFoundError` naming all three when none is there (or when
    ``$SOFTMAX_ORACLE_BIN`` is set but not an executable file: a set variable is never skipped).
    A wheel bundles a portable binary and, on x86-64, one built for CPUs with FMA and AVX2 (or
    AVX-512): the latter runs when this CPU has what it needs (`bundled_for_cpu`; the flags are
    read from /proc/cpuinfo once per process), unless ``$SOFTMAX_ORACLE_CPU=portable``. Both
    give the same certified outputs; the FMA build is faster."""
    cpu_choice()  # a bad $SOFTMAX_ORACLE_CPU is an error even when it would not be used
    env = os.environ.get(BINARY_ENV)
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise OracleNotFoundError(f"${BINARY_ENV} is set to {env!r}, which is not an executable file")
    bundled = bundled_binary()
    if _executable(bundled):
        return str(bundled_for_cpu(bundled, _this_cpu_flags()))
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
        """The answers to `requests`, in order: the values (float64, or the format's own dtype),
        or the oracle's error message."""

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


def _grow_pipe(pipe: IO[bytes] | None, size: int = 1 << 20) -> None:
    """Asks Linux for a pipe buffer of `size` bytes (the unprivileged maximum by default): an
    8 MB request then crosses in 8 writes instead of 128, each a wake-up of the other process.
    Elsewhere, or when refused, the pipe stays as it is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", 1031 if sys.platform.startswith("linux") else None)
    if pipe is None or set_size is None:
        return
    try:
        fcntl.fcntl(pipe.fileno(), set_size, size)
    except OSError:
        pass


class _PipeTransport(Transport):
    """One long-running ``softmax-oracle eval`` on pipes; subclasses choose the wire format
    (`_args`, `_encode`, `_take`).

    * started lazily on the first call, reused by later ones, restarted when it has died (or
      after a fork, in the child);
    * each call writes all its requests and reads the answers as they come (both at once, so
      neither pipe can fill up and deadlock), checking that each answer has the request's id;
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
            self._proc = subprocess.Popen([binary, "eval", *self._args(), *self.extra_args], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._stderr, bufsize=0)
        except OSError as e:
            raise OracleNotFoundError(f"cannot start {binary!r}: {e}") from None
        for pipe in (self._proc.stdin, self._proc.stdout):  # fewer hand-offs for large arrays
            _grow_pipe(pipe)
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

    def _args(self) -> Sequence[str]:
        """The arguments after ``eval`` that select the wire format."""
        return ()

    @abc.abstractmethod
    def _encode(self, requests: Sequence[Request], ids: list[int]) -> bytes:
        """The bytes of `requests` with `ids`."""

    @abc.abstractmethod
    def _take(self, proc: subprocess.Popen[bytes], buf: bytearray, ids: list[int], answers: list[Answer],
              describe: Callable[[int], str]) -> int:
        """Appends to `answers` every complete answer at the start of `buf` (checking ids against
        `ids`; `describe(k)` names request k); returns the bytes consumed."""

    def run(self, requests: Sequence[Request]) -> list[Answer]:
        if not requests:
            return []
        with self._lock:
            proc = self._ensure()
            ids = list(range(self._next_id, self._next_id + len(requests)))
            self._next_id += len(requests)
            data = self._encode(requests, ids)
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
                        del buf[:self._take(proc, buf, ids, answers, describe)]
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



class JsonLinesTransport(_PipeTransport):
    """``softmax-oracle eval`` speaking JSON Lines: requests as lines of hex floats
    (`Request.to_json_line`), answers parsed with ``float.fromhex``."""

    def _encode(self, requests: Sequence[Request], ids: list[int]) -> bytes:
        return b"".join((r.to_json_line(i, canonical=False) + "\n").encode() for r, i in zip(requests, ids))

    def _take(self, proc: subprocess.Popen[bytes], buf: bytearray, ids: list[int], answers: list[Answer],
              describe: Callable[[int], str]) -> int:
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                return start
            line = bytes(buf[start:nl])
            start = nl + 1
            if len(answers) >= len(ids):
                raise self._fail(proc, f"answered more lines than requests: {line[:200]!r}")
            answers.append(self._answer(proc, line, ids[len(answers)], describe(len(answers))))

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
        values = obj.get("values")
        try:
            if isinstance(values, list) and values and isinstance(values[0], list):  # a batch: one list per row
                return np.concatenate([parse_hex_array(row, f"values[{r}]") for r, row in enumerate(values)])
            return parse_hex_array(values, "values")
        except ValueError as e:
            raise self._fail(proc, f"answered {what} with garbage: {e}") from None


#: The binary frame's magic (docs/protocol.md, "Binary frames").
MAGIC = b"SOF1"
_PREFIX = struct.Struct("<4sIQ")  # magic, header length, payload length


def encode_frame(header: dict, payload: Sequence[bytes | memoryview] = ()) -> bytes:
    """One binary frame: the 16-byte prefix, `header` as compact JSON, the payload's parts."""
    head = json.dumps(header, separators=(",", ":")).encode()
    size = sum(memoryview(p).nbytes for p in payload)
    return b"".join([_PREFIX.pack(MAGIC, len(head), size), head, *payload])


def request_frame(request: Request, id: Any, result: str = "values") -> bytes:
    """`request` as a binary frame: strings and integers in the header, every float (arrays and
    scalars alike) and every integer array as raw little-endian 8-byte values in the payload.
    ``result="bits"`` asks for the format's own encoding instead of binary64 values."""
    header: dict[str, Any] = {"id": id, "function": request.function, "format": request.format}
    if result != "values":
        header["result"] = result
    arrays, payload = [], []
    for name, v in request.fields.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "iu":
            a, dtype = np.ascontiguousarray(v, dtype="<i8"), "i64"
        elif isinstance(v, (np.ndarray, float, np.floating)):
            a, dtype = np.ascontiguousarray(v, dtype="<f8"), "f64"
        else:
            header[name] = int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
            continue
        arrays.append({"name": name, "dtype": dtype, "shape": list(a.shape)})
        payload.append(memoryview(a).cast("B"))
    if arrays:
        header["arrays"] = arrays
    return encode_frame(header, payload)


def read_frame(buf: bytes | bytearray, start: int = 0) -> tuple[dict, bytes | bytearray, int] | None:
    """The frame at `start` of `buf`: its header (parsed), its payload (a copy), and where it ends; None
    when `buf` does not hold all of it yet. ``ValueError`` for a bad magic or header."""
    if len(buf) - start < _PREFIX.size:
        return None
    magic, h, p = _PREFIX.unpack_from(buf, start)
    if magic != MAGIC:
        raise ValueError(f"bad magic {bytes(buf[start:start + 4])!r} (expected {MAGIC!r})")
    end = start + _PREFIX.size + h + p
    if len(buf) < end:
        return None
    try:
        header = json.loads(bytes(buf[start + _PREFIX.size:start + _PREFIX.size + h]))
    except ValueError as e:
        raise ValueError(f"a header that is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"a header that is not an object: {header!r:.200}")
    return header, buf[start + _PREFIX.size + h:end], end


#: Bytes of each format's own encoding (f64 results travel as binary64 values anyway).
_BITS_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "e5m2": 1, "e4m3fn": 1}


def _bits_dtype(format: str) -> np.dtype | None:
    """The dtype the format's bits are read as (its `result_dtype`, when that is the format's own
    and not the float32 stand-in, on a little-endian machine), or None to receive binary64."""
    d = result_dtype(format)
    return d if sys.byteorder == "little" and d.itemsize == _BITS_BYTES.get(format) else None


class BinaryTransport(_PipeTransport):
    """``softmax-oracle eval --transport binary``: requests and answers as binary frames
    (`request_frame`, `read_frame`). Results arrive as the format's own bits when NumPy (or
    ml_dtypes, for bf16 and FP8) has its dtype, as an array of that dtype; else (f64, or bf16
    and FP8 without ml_dtypes) as little-endian binary64 holding each value exactly. The
    default transport."""

    def _args(self) -> Sequence[str]:
        return ("--transport", "binary")

    def _encode(self, requests: Sequence[Request], ids: list[int]) -> bytes:
        self._dtypes = [_bits_dtype(r.format) for r in requests]
        return b"".join(request_frame(r, i, "values" if d is None else "bits")
                        for r, i, d in zip(requests, ids, self._dtypes))

    def _take(self, proc: subprocess.Popen[bytes], buf: bytearray, ids: list[int], answers: list[Answer],
              describe: Callable[[int], str]) -> int:
        start = 0
        while True:
            what = describe(min(len(answers), len(ids) - 1))
            try:
                frame = read_frame(buf, start)
            except ValueError as e:
                raise self._fail(proc, f"answered {what} with {e}") from None
            if frame is None:
                return start
            header, payload, start = frame
            if len(answers) >= len(ids):
                raise self._fail(proc, f"answered more frames than requests: {header!r:.200}")
            rid = ids[len(answers)]
            if header.get("id") != rid:
                raise self._fail(proc, f"answered {what} with id {header.get('id')!r}, expected {rid}")
            if isinstance(header.get("error"), str):
                answers.append(header["error"])
                continue
            dtype = self._dtypes[len(answers)]
            name, wire = ("values", "f64") if dtype is None else ("bits", f"u{8 * dtype.itemsize}")
            arrays = header.get("arrays")
            if not (isinstance(arrays, list) and len(arrays) == 1 and isinstance(arrays[0], dict)
                    and arrays[0].get("name") == name and arrays[0].get("dtype") == wire
                    and isinstance(arrays[0].get("shape"), list)):
                raise self._fail(proc, f"answered {what} with a frame that is not a result: {header!r:.200}")
            n = int(np.prod(arrays[0]["shape"], dtype=np.int64))
            size = 8 if dtype is None else dtype.itemsize
            if len(payload) != size * n:
                raise self._fail(proc, f"answered {what} with {len(payload)} payload bytes for {n} values")
            # Bits are the format's own encoding: every pattern is a value of the format.
            answers.append(np.frombuffer(payload, dtype=np.dtype("<f8") if dtype is None else dtype))
