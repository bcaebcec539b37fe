"""The message format between the web/worker process and a tokenizer sandbox: a JSON header plus raw numpy arrays.

Deliberately not pickle: the sandbox runs untrusted tokenizer files through native code, so nothing it sends may be
able to run code in the parent. Headers are size-capped JSON; arrays are plain numbers of a few allowed types.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

Arrays = dict[str, npt.NDArray[Any]]
ReadExact = Callable[[int], bytes | bytearray | memoryview]

_LENGTH = struct.Struct("<I")
_DTYPES: dict[str, type[np.generic]] = {"u1": np.uint8, "i1": np.int8, "i4": np.int32, "i8": np.int64}
MAX_HEADER_BYTES = 1 << 20
MAX_ARRAY_BYTES = 1 << 32  # a 50 MB text yields about 12M tokens × 29 bytes of arrays


class WireError(Exception):
    """The other side sent something that is not a well-formed message."""


def send(fd: int, header: dict[str, Any], arrays: Arrays | None = None) -> None:
    """Write one message to ``fd`` with one gathering write where the pipe takes it all (one wake-up of the reader
    rather than one per part, which matters on a loaded machine)."""
    arrays = arrays or {}
    specs = []
    blobs = []
    for name, array in arrays.items():
        code = next((c for c, t in _DTYPES.items() if array.dtype == t), None)
        if code is None:
            raise WireError(f"array {name!r} has unsupported dtype {array.dtype}")
        specs.append([name, code, int(array.size)])
        blobs.append(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
    blob = json.dumps({**header, "arrays": specs}, ensure_ascii=False).encode("utf-8")
    parts = [memoryview(_LENGTH.pack(len(blob))), memoryview(blob), *blobs]
    while parts:
        written = os.writev(fd, parts)
        while parts and written >= parts[0].nbytes:
            written -= parts[0].nbytes
            parts.pop(0)
        if parts and written:
            parts[0] = parts[0][written:]


def receive(read_exact: ReadExact) -> tuple[dict[str, Any], Arrays]:
    (size,) = _LENGTH.unpack(bytes(read_exact(_LENGTH.size)))
    if size > MAX_HEADER_BYTES:
        raise WireError(f"a message header of {size} bytes is over the limit")
    try:
        header = json.loads(bytes(read_exact(size)))
    except ValueError as exc:
        raise WireError(f"a message header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise WireError("a message header is not an object with an array list")
    arrays: Arrays = {}
    for spec in header.pop("arrays"):
        name, code, count = spec
        dtype = _DTYPES.get(code)
        if dtype is None or not isinstance(count, int) or not 0 <= count * np.dtype(dtype).itemsize <= MAX_ARRAY_BYTES:
            raise WireError(f"array {name!r} has a bad type or size")
        arrays[str(name)] = np.frombuffer(read_exact(count * np.dtype(dtype).itemsize), dtype=dtype)
    return header, arrays
