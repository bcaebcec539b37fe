"""The sandbox process: loads one user-supplied tokenizer and serves encode/decode requests from its parent.

Started by ``sandbox.py`` as ``python -m workers.text_tokenizers.sandbox_child <memory bytes>``. It caps its own address
space (RLIMIT_AS) before loading anything, dies with its parent (PR_SET_PDEATHSIG), and keeps the protocol on private
copies of stdin/stdout so that a library printing to stdout cannot corrupt it. After a crash-like error (a Rust panic
is a BaseException, not an Exception) it reports and exits, since the library may be left in a bad state.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from workers.text_tokenizers import sandbox_wire as wire
from workers.text_tokenizers.adapters import TextTokenizer
from workers.text_tokenizers.errors import TokenizerError

_PR_SET_PDEATHSIG = 1
_PROGRESS_EVERY_S = 0.1


def _die_with_parent() -> None:
    """SIGKILL this child when the thread that started it ends (Linux counts the starting thread as the parent): the
    web server's sync-view thread and a Celery worker's main thread live as long as their process. A child killed
    while idle is simply started again on next use; a busy one stuck in a regex would otherwise outlive its caller."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's EOF still ends the serve loop
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)


class _Channel:
    def __init__(self) -> None:
        self.input = os.fdopen(os.dup(0), "rb", buffering=0)
        self.output = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(2, 1)  # stray prints from libraries go to the log, not into the protocol
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)

    def read_exact(self, size: int) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        done = 0
        while done < size:
            got = self.input.readinto(view[done:])
            if not got:
                raise EOFError
            done += got
        return buffer

    def send(self, header: dict[str, Any], arrays: wire.Arrays | None = None) -> None:
        wire.send(self.output.fileno(), header, arrays)


def _load(request: dict[str, Any]) -> tuple[TextTokenizer, dict[str, Any], wire.Arrays]:
    from workers.text_tokenizers.custom import open_custom, probe_texts_for

    tokenizer = open_custom(
        request["tokenizer_id"], request["path"], request["kind"], request["name"], request.get("pattern")
    )
    size = len(tokenizer.kinds_table)
    pieces = [tokenizer.token_bytes(i) for i in range(size)]
    offsets = np.zeros(size + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=offsets[1:])
    spec = asdict(tokenizer.spec)
    spec.pop("extra", None)
    has_decode_bytes = getattr(tokenizer, "decode_bytes", lambda ids: None)(np.zeros(0, dtype=np.int64)) is not None
    header: dict[str, Any] = {
        "spec": spec,
        "decode_bytes": has_decode_bytes,
        "parses_specials": bool(getattr(tokenizer, "parses_specials", False)),
        "source_files": list(getattr(tokenizer, "source_files", ())),
        "adapter_class": type(tokenizer).__name__,
        "probes": probe_texts_for(request["kind"], request["path"]) if request.get("probes") else [],
    }
    arrays: wire.Arrays = {
        "token_bytes": np.frombuffer(b"".join(pieces), dtype=np.uint8),
        "token_offsets": offsets,
        "kinds": np.asarray(tokenizer.kinds_table, dtype=np.int8),
    }
    return tokenizer, header, arrays


def _text(arrays: wire.Arrays) -> str:
    return arrays["text"].tobytes().decode("utf-8", errors="surrogatepass")


def _special(header: dict[str, Any]) -> dict[str, Any]:
    """``special=True`` only when asked, so adapters without the keyword keep working."""
    return {"special": True} if header.get("special") else {}


def _encode(
    tokenizer: TextTokenizer, channel: _Channel, header: dict[str, Any], arrays: wire.Arrays
) -> tuple[dict[str, Any], wire.Arrays]:
    last = [time.monotonic()]  # a short call sends no progress at all: one reply, one wake-up of the caller

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_EVERY_S:
            last[0] = now
            channel.send({"progress": float(fraction)})

    report = progress if header.get("progress") else None
    encoding = tokenizer.encode(_text(arrays), None, report, **_special(header))
    starts, ends = encoding.byte_spans if encoding.byte_exact else encoding.char_spans
    reply = {
        "byte_exact": encoding.byte_exact,
        "encode_seconds": encoding.encode_seconds,
        "roundtrip": encoding.roundtrip,
    }
    return reply, {
        "ids": np.asarray(encoding.ids, dtype=np.int64),
        "kinds": np.asarray(encoding.kinds, dtype=np.int8),
        "lens": np.asarray(encoding.byte_lengths, dtype=np.int32),
        "starts": np.asarray(starts, dtype=np.int64),
        "ends": np.asarray(ends, dtype=np.int64),
    }


def _handle(
    tokenizer: TextTokenizer | None, channel: _Channel, header: dict[str, Any], arrays: wire.Arrays
) -> tuple[TextTokenizer | None, dict[str, Any], wire.Arrays]:
    op = header.get("op")
    if op == "load":
        return _load(header)
    if tokenizer is None:
        raise TokenizerError("internal: the sandbox has no tokenizer loaded")
    if op == "encode":
        return (tokenizer, *_encode(tokenizer, channel, header, arrays))
    if op == "encode_ids":
        ids = tokenizer.encode_ids(_text(arrays), None, **_special(header))
        return tokenizer, {}, {"ids": np.asarray(ids, dtype=np.int64)}
    if op == "decode":
        text = tokenizer.decode(arrays["ids"])
        return tokenizer, {}, {"text": np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)}
    if op == "decode_bytes":
        raw = getattr(tokenizer, "decode_bytes", lambda ids: None)(arrays["ids"])
        if raw is None:
            return tokenizer, {"none": True}, {}
        return tokenizer, {}, {"bytes": np.frombuffer(bytes(raw), dtype=np.uint8)}
    raise TokenizerError(f"internal: unknown sandbox request {op!r}")


def serve(memory_bytes: int) -> None:
    _die_with_parent()
    if memory_bytes > 0:  # the parent adjusts the soft limit to each call's text size (resource.prlimit)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, resource.RLIM_INFINITY))
    channel = _Channel()
    tokenizer: TextTokenizer | None = None
    while True:
        try:
            header, arrays = wire.receive(channel.read_exact)
        except EOFError:
            return
        try:
            tokenizer, reply, out = _handle(tokenizer, channel, header, arrays)
        except TokenizerError as exc:
            channel.send({"error": exc.message, "fatal": False})
            continue
        except MemoryError:
            channel.send({"error": "memory", "fatal": True})
            return
        except BaseException as exc:  # a Rust panic (pyo3 PanicException) or anything else: report, then exit
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            channel.send({"error": f"{type(exc).__name__}: {detail}"[:500], "fatal": True})
            return
        channel.send(reply, out)


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
