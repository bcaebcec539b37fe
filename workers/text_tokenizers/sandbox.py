"""Run user-supplied tokenizers in a child process with a wall-time and a memory limit.

A team-uploaded tokenizer.json can make the tokenizers library panic (a BaseException that ``except Exception`` does
not catch), spin in a backtracking regex, or allocate without bound. ``SandboxedTokenizer`` keeps the library in a
child process (``sandbox_child.py``) and only the tables it needs (token bytes, kinds) in the caller, so a crash, a
runaway or memory exhaustion ends that child and becomes a ``TokenizerError`` with a true message; the web or worker
process goes on serving everyone else. Built-in catalogue tokenizers do not come here: they run in-process.

One child per loaded tokenizer, kept warm for the next request (at most ``MAX_PROCESSES`` per process, the least
recently used is stopped first; idle ones are stopped after ``IDLE_S``). A child that died is started again on next use.
Limits (environment, read when used; docs/limits.md):
``TOKENIZER_SANDBOX_MEMORY_MB`` + ``TOKENIZER_SANDBOX_MEMORY_PER_MB`` (address space of a child during a call, per MiB
of text), ``TOKENIZER_SANDBOX_TIME_S`` + ``TOKENIZER_SANDBOX_TIME_PER_MB_S`` (wall time of one encode/decode call),
``TOKENIZER_SANDBOX_LOAD_TIME_S`` (starting a child and loading the file), ``TOKENIZER_SANDBOX_MAX_PROCESSES`` and
``TOKENIZER_SANDBOX_IDLE_S`` (warm children kept per process).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import resource
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from workers.text_tokenizers import sandbox_wire as wire
from workers.text_tokenizers.encoding import Encoding, Ids
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.spec import TokenizerSpec
from workers.text_tokenizers.textindex import TextIndex

ROOT = Path(__file__).resolve().parents[2]
_MIB = 1 << 20


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def memory_limit_bytes(payload_bytes: int = 0) -> int:
    """Address space allowed for a call on ``payload_bytes`` of text: a base (which also covers loading) plus an
    allowance per MiB (the tokenizers library needs about 110 bytes per byte of text for offsets and strings)."""
    base = _env_float("TOKENIZER_SANDBOX_MEMORY_MB", 2048)
    per_mb = _env_float("TOKENIZER_SANDBOX_MEMORY_PER_MB", 128)
    return int((base + per_mb * payload_bytes / _MIB) * _MIB)


def call_time_limit_s(payload_bytes: int) -> float:
    """Wall time allowed for one call on ``payload_bytes`` of text: a base plus an allowance per MiB."""
    base = _env_float("TOKENIZER_SANDBOX_TIME_S", 5.0)
    return round(base + _env_float("TOKENIZER_SANDBOX_TIME_PER_MB_S", 5.0) * payload_bytes / _MIB, 1)


def load_time_limit_s() -> float:
    return _env_float("TOKENIZER_SANDBOX_LOAD_TIME_S", 60.0)


MAX_PROCESSES = int(_env_float("TOKENIZER_SANDBOX_MAX_PROCESSES", 4))
IDLE_S = _env_float("TOKENIZER_SANDBOX_IDLE_S", 600.0)


class SandboxError(TokenizerError):
    """The sandboxed tokenizer crashed, ran out of time or of memory; the message says which."""


class SandboxTimeout(SandboxError):
    pass


class SandboxMemory(SandboxError):
    pass


class SandboxCrash(SandboxError):
    pass


@dataclass(frozen=True)
class Source:
    """What the child loads: ``custom.open_custom``'s arguments."""

    tokenizer_id: str
    path: str
    kind: str
    name: str
    pattern: str | None = None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "RUST_BACKTRACE": "0",
            "RAYON_NUM_THREADS": "1",  # the address-space cap counts every thread's reserved stack and arena
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "TOKENSCOPE_ENCODE_THREADS": "1",  # long texts' pieces encoded one after the other (adapters.py)
            "MALLOC_ARENA_MAX": "2",
        }
    )
    return env


class _Process:
    """One child and the framed conversation with it; every failure ends the child and says why."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.memory_bytes = memory_limit_bytes()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the child; closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers.text_tokenizers.sandbox_child", str(self.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
            cwd=ROOT,
            env=_child_env(),
        )
        self.last_used = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            if stream is not None:
                stream.close()

    def call(
        self,
        header: dict[str, Any],
        arrays: wire.Arrays | None,
        *,
        limit_s: float,
        doing: str,
        on_progress: Any = None,
    ) -> tuple[dict[str, Any], wire.Arrays]:
        deadline = time.monotonic() + limit_s
        self.last_used = time.monotonic()
        self._limit_memory(sum(a.nbytes for a in (arrays or {}).values()))
        try:
            assert self.proc.stdin is not None
            wire.send(self.proc.stdin.fileno(), header, arrays)
            while True:
                reply, out = wire.receive(lambda size: self._read_exact(size, deadline))
                if "progress" in reply:
                    if on_progress is not None:
                        on_progress(float(reply["progress"]))
                    continue
                break
        except _Deadline:
            self.close()
            raise SandboxTimeout(
                f"The tokenizer {self.label!r} exceeded its time limit of {limit_s:g} s while {doing} and was "
                "stopped. Its patterns are probably too slow on this text; fix the file and upload it again, "
                "or try a shorter text."
            ) from None
        except (EOFError, BrokenPipeError, wire.WireError):
            raise self._died(doing) from None
        except BaseException:  # a job's time limit or cancellation arrived mid-call: never leave a busy child behind
            self.close()
            raise
        finally:
            self.last_used = time.monotonic()
        if "error" in reply:
            if reply.get("fatal"):
                self.close()
                if reply["error"] == "memory":
                    raise self._memory(doing)
                raise SandboxCrash(
                    f"The tokenizer {self.label!r} crashed while {doing} ({reply['error']}). The file is faulty or "
                    "hostile: fix it and upload it again."
                )
            raise TokenizerError(str(reply["error"]))
        return reply, out

    def _limit_memory(self, payload_bytes: int) -> None:
        """Set the child's address-space cap for this call (its soft limit; the child starts at the base)."""
        self.memory_bytes = memory_limit_bytes(payload_bytes)
        # OSError: the child already exited (the call reports it); AttributeError: not Linux.
        with contextlib.suppress(OSError, AttributeError):
            resource.prlimit(self.proc.pid, resource.RLIMIT_AS, (self.memory_bytes, resource.RLIM_INFINITY))

    def _read_exact(self, size: int, deadline: float) -> bytearray:
        assert self.proc.stdout is not None
        buffer = bytearray(size)
        view = memoryview(buffer)
        done = 0
        while done < size:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self.proc.stdout], [], [], wait)[0]:
                raise _Deadline
            got = cast(io.RawIOBase, self.proc.stdout).readinto(view[done:])
            if not got:
                raise EOFError
            done += got
        return buffer

    def _memory(self, doing: str) -> SandboxMemory:
        return SandboxMemory(
            f"The tokenizer {self.label!r} exceeded its memory limit of {self.memory_bytes // _MIB:,} MiB while "
            f"{doing} and was stopped. Check its normalizer (Replace steps that lengthen the text) and its "
            "vocabulary size, or try a shorter text."
        )

    def _died(self, doing: str) -> SandboxError:
        if self.alive:
            self.proc.kill()
        code = self.proc.wait()
        log = self._stderr_tail()
        self.close()
        if "memory allocation of" in log or "MemoryError" in log or "std::bad_alloc" in log:
            return self._memory(doing)
        last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return SandboxCrash(
            f"The tokenizer {self.label!r} crashed while {doing} ({how}{': ' + last[:300] if last else ''}). "
            "The file is faulty or hostile: fix it and upload it again."
        )

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 4000))
            return self._stderr.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""


class _Deadline(Exception):
    pass


class SandboxedTokenizer:
    """A ``TextTokenizer`` whose library runs in a sandbox child; token tables are copied here once at load."""

    def __init__(self, source: Source, *, pooled: bool = True, probes: bool = False) -> None:
        """``pooled=False``: a one-off child (upload checks), stopped by ``close()``; ``probes``: ask the child for the
        upload check's probe texts (``validation.probe_texts``)."""
        self.source = source
        self._pooled = pooled
        self._lock = threading.RLock()
        self._process: _Process | None = None
        try:
            reply, arrays = self._call(
                {"op": "load", "probes": probes, **_source_header(source)},
                None,
                limit_s=load_time_limit_s(),
                doing="loading",
            )
        except BaseException:  # a refused file must not leave its child behind
            self.close()
            raise
        spec = dict(reply["spec"])
        spec["special_tokens"] = tuple(spec.get("special_tokens") or ())
        self.spec = TokenizerSpec(**spec)
        self.probes: list[tuple[str, str]] = [(str(d), str(t)) for d, t in reply.get("probes") or []]
        self._has_decode_bytes = bool(reply.get("decode_bytes"))
        self._parses_specials = bool(reply.get("parses_specials"))
        self.source_files: tuple[str, ...] = tuple(str(f) for f in reply.get("source_files") or ())
        self.adapter_class = str(reply.get("adapter_class") or "")  # the adapter running in the child (for manifests)
        flat = arrays["token_bytes"].tobytes()
        offsets = arrays["token_offsets"].tolist()
        self._token_bytes = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        self._kinds = arrays["kinds"].copy()

    # ------------------------------------------------------------------ TextTokenizer

    @property
    def parses_specials(self) -> bool:
        return self._parses_specials

    @property
    def kinds_table(self) -> npt.NDArray[np.int8]:
        return self._kinds

    def token_bytes(self, token_id: int) -> bytes:
        if not 0 <= token_id < len(self._token_bytes):
            raise TokenizerError(f"{self.spec.name}: no token with id {token_id}")
        return self._token_bytes[token_id]

    def token_hex(self, token_id: int) -> str:
        found = self._hex_cache.get(token_id)
        if found is None:
            found = self._hex_cache[token_id] = self.token_bytes(token_id).hex()
        return found

    @cached_property
    def _hex_cache(self) -> dict[int, str]:
        return {}

    def encode(
        self,
        text: str,
        index: TextIndex | None = None,
        progress: Any = None,
        *,
        special: bool = False,
        time_limit_s: float | None = None,
    ) -> Encoding:
        index = index if index is not None else TextIndex(text)
        data = _utf8(text)
        reply, out = self._call(
            {"op": "encode", "special": special, "progress": progress is not None},
            {"text": data},
            limit_s=time_limit_s or call_time_limit_s(data.size),
            doing="tokenizing",
            on_progress=progress,
        )
        spans = (out["starts"], out["ends"])
        encoding = Encoding(
            index,
            out["ids"],
            out["kinds"],
            out["lens"],
            byte_spans=spans if reply["byte_exact"] else None,
            char_spans=None if reply["byte_exact"] else spans,
            byte_exact=bool(reply["byte_exact"]),
            encode_seconds=float(reply["encode_seconds"]),
        )
        encoding.roundtrip = reply.get("roundtrip")
        return encoding

    def encode_ids(
        self, text: str, progress: Any = None, *, special: bool = False, time_limit_s: float | None = None
    ) -> Ids:
        data = _utf8(text)
        _, out = self._call(
            {"op": "encode_ids", "special": special},
            {"text": data},
            limit_s=time_limit_s or call_time_limit_s(data.size),
            doing="tokenizing",
        )
        if progress is not None:
            progress(1.0)
        return out["ids"]

    def decode(self, ids: Any) -> str:
        array = np.asarray(ids, dtype=np.int64)
        _, out = self._call(
            {"op": "decode"}, {"ids": array}, limit_s=call_time_limit_s(array.size * 8), doing="decoding"
        )
        return str(out["text"].tobytes().decode("utf-8", errors="surrogatepass"))

    def decode_bytes(self, ids: Any) -> bytes | None:
        if not self._has_decode_bytes:
            return None
        array = np.asarray(ids, dtype=np.int64)
        reply, out = self._call(
            {"op": "decode_bytes"}, {"ids": array}, limit_s=call_time_limit_s(array.size * 8), doing="decoding"
        )
        return None if reply.get("none") else out["bytes"].tobytes()

    # ------------------------------------------------------------------ process management

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.close()
                self._process = None
            _forget(self)

    def __enter__(self) -> SandboxedTokenizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self, header: dict[str, Any], arrays: wire.Arrays | None, *, limit_s: float, doing: str, on_progress: Any = None
    ) -> tuple[dict[str, Any], wire.Arrays]:
        with self._lock:
            process = self._ready_process()
            try:
                return process.call(header, arrays, limit_s=limit_s, doing=doing, on_progress=on_progress)
            finally:
                if not process.alive:
                    self._process = None
                    _forget(self)

    def _ready_process(self) -> _Process:
        if self._process is not None and self._process.alive:
            if self._pooled:
                _touch(self)
            return self._process
        if self._pooled:
            _make_room()
        process = _Process(self.source.name)
        self._process = process
        if self._pooled:
            _touch(self)
        if hasattr(self, "spec"):  # a restarted child: load the file again before serving the call
            try:
                process.call(
                    {"op": "load", **_source_header(self.source)}, None, limit_s=load_time_limit_s(), doing="loading"
                )
            except BaseException:
                self.close()
                raise
        return process


def _source_header(source: Source) -> dict[str, Any]:
    return {
        "tokenizer_id": source.tokenizer_id,
        "path": source.path,
        "kind": source.kind,
        "name": source.name,
        "pattern": source.pattern,
    }


def _utf8(text: str) -> npt.NDArray[np.uint8]:
    return np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)


# ---------------------------------------------------------------------------- the per-process pool of children

_LIVE: OrderedDict[int, SandboxedTokenizer] = OrderedDict()
_LIVE_GUARD = threading.Lock()


def _touch(tokenizer: SandboxedTokenizer) -> None:
    with _LIVE_GUARD:
        _LIVE[id(tokenizer)] = tokenizer
        _LIVE.move_to_end(id(tokenizer))


def _forget(tokenizer: SandboxedTokenizer) -> None:
    with _LIVE_GUARD:
        _LIVE.pop(id(tokenizer), None)


def _make_room() -> None:
    """Stop idle children and, past ``MAX_PROCESSES``, the least recently used ones that are not busy."""
    now = time.monotonic()
    with _LIVE_GUARD:
        candidates = list(_LIVE.values())
    live = len(candidates)
    for tokenizer in candidates:
        process = tokenizer._process
        idle = process is None or now - process.last_used > IDLE_S
        if (idle or live >= MAX_PROCESSES) and tokenizer._lock.acquire(blocking=False):
            try:
                tokenizer.close()
                live -= 1
            finally:
                tokenizer._lock.release()


def live_processes() -> int:
    """Children currently running for this process (for tests and diagnostics)."""
    with _LIVE_GUARD:
        return sum(1 for t in _LIVE.values() if t._process is not None and t._process.alive)


@atexit.register
def _stop_all() -> None:
    with _LIVE_GUARD:
        tokenizers = list(_LIVE.values())
    for tokenizer in tokenizers:
        tokenizer.close()
