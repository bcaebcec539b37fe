"""Codebook files for any modality: one ``.npz`` of plain numeric arrays plus a JSON header, never pickle.

A codebook file may come from a stranger (a team's trained codebook, a copied file), so reading one is defensive:
the file size, the member names, each array's declared dtype and shape are checked from the zip directory and the
``.npy`` headers *before* any array is read, so a hostile file fails with ``CodebookFileError`` (a 4xx) instead of a
crash or a huge allocation; ``np.load(..., allow_pickle=False)`` refuses object arrays. The caller then checks the
meaning (shapes against the header's params, finite values) with :func:`require_array`.

Layout: ``header`` is the UTF-8 JSON of ``{"format": FORMAT, "version": 1, "kind": ..., "params": {...},
"training": {...}}`` stored as a uint8 array; every other member is a float or integer array named by the kind.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from workers.media.types import MediaInputError

FORMAT = "tokenscope-media-codebook"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024  # a codebook file on disk
MAX_ARRAY_BYTES = 64 * 1024 * 1024  # one array, decoded
MAX_HEADER_BYTES = 1024 * 1024  # the JSON header
MAX_MEMBERS = 64
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest zip date: no wall-clock time in the file
_ALLOWED_DTYPE_KINDS = "fiu"  # float, signed and unsigned integers: nothing else (no objects, strings, structs)


class CodebookFileError(MediaInputError):
    """A codebook file that is not one of ours or is damaged; the message says what is wrong."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_codebook(
    path: Path,
    *,
    kind: str,
    params: Mapping[str, Any],
    training: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    label: str = "",
) -> Path:
    """Writes the file atomically (a temporary name, then a rename) so a reader never sees half a file, and
    byte-for-byte reproducibly (sorted members, fixed zip timestamps), so equal codebooks have equal sha256s."""
    if "header" in arrays:
        raise ValueError("'header' is reserved for the JSON header")
    header = {"format": FORMAT, "version": VERSION, "kind": kind, "params": dict(params), "training": dict(training)}
    if label:
        header["label"] = label
    members = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
    members["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME), "w") as member:
                np.lib.format.write_array(member, members[name], allow_pickle=False)
    partial.replace(path)
    return path


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    if info.file_size > MAX_ARRAY_BYTES + 4096:
        raise CodebookFileError(
            f"The codebook file's array {info.filename!r} is larger than allowed ({MAX_ARRAY_BYTES // 2**20} MiB)."
        )
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, EOFError, SyntaxError) as exc:
            raise CodebookFileError(f"The codebook file's array {info.filename!r} is not a NumPy array: {exc}") from exc
    if dtype.kind not in _ALLOWED_DTYPE_KINDS or dtype.hasobject or dtype.fields is not None:
        raise CodebookFileError(
            f"The codebook file's array {info.filename!r} has dtype {dtype}; only numbers are allowed."
        )
    n_bytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if n_bytes > MAX_ARRAY_BYTES or n_bytes > info.file_size:
        raise CodebookFileError(
            f"The codebook file's array {info.filename!r} declares shape {tuple(shape)}, "
            "larger than its data or than allowed."
        )


def read_codebook(path: Path, *, kind_prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header (checked: format, version, kind starting with ``kind_prefix``) and every array, each checked for
    dtype and declared size before it is read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CodebookFileError(f"The codebook file {path.name} cannot be read: {exc.strerror}.") from exc
    if size > MAX_FILE_BYTES:
        raise CodebookFileError(f"The codebook file is {size} bytes; at most {MAX_FILE_BYTES // 2**20} MiB is allowed.")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise CodebookFileError("The codebook file holds too many arrays.")
            for info in infos:
                if not info.filename.endswith(".npy") or "/" in info.filename:
                    raise CodebookFileError(f"The codebook file holds {info.filename!r}, which is not an array.")
                _check_member(archive, info)
        with np.load(path, allow_pickle=False) as loaded:
            arrays = {name: loaded[name] for name in loaded.files}
    except CodebookFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise CodebookFileError(f"The codebook file is not a valid .npz archive ({exc}); train it again.") from exc
    header = _parse_header(arrays.pop("header", None), kind_prefix=kind_prefix)
    return header, arrays


def _parse_header(raw: np.ndarray | None, *, kind_prefix: str) -> dict[str, Any]:
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise CodebookFileError("The codebook file has no valid JSON header; it was not written by Tokenscope.")
    try:
        header = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodebookFileError(f"The codebook file's header is not JSON: {exc}.") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CodebookFileError("The codebook file's header does not name the Tokenscope codebook format.")
    if header.get("version") != VERSION:
        raise CodebookFileError(
            f"The codebook file has format version {header.get('version')!r}; this version reads {VERSION}."
        )
    kind = header.get("kind")
    if not isinstance(kind, str) or not kind.startswith(kind_prefix):
        raise CodebookFileError(f"The codebook file is of kind {kind!r}, not a {kind_prefix} codebook.")
    if not isinstance(header.get("params"), dict) or not isinstance(header.get("training"), dict):
        raise CodebookFileError("The codebook file's header lacks its params or training record.")
    return header


def require_int(params: Mapping[str, Any], name: str, *, low: int, high: int) -> int:
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CodebookFileError(
            f"The codebook parameter {name!r} is {value!r}; it must be an integer in [{low}, {high}]."
        )
    return value


def require_array(arrays: Mapping[str, np.ndarray], name: str, shape: tuple[int, ...], *, max_abs: float) -> np.ndarray:
    """The named float array with exactly ``shape``, finite and within ``[-max_abs, max_abs]``, as float32."""
    array = arrays.get(name)
    if array is None:
        raise CodebookFileError(f"The codebook file lacks the array {name!r}.")
    if array.shape != shape:
        raise CodebookFileError(f"The codebook array {name!r} has shape {array.shape}; its header implies {shape}.")
    if array.dtype.kind != "f":
        raise CodebookFileError(f"The codebook array {name!r} must hold floats, not {array.dtype}.")
    if not np.all(np.isfinite(array)) or (array.size and float(np.abs(array).max()) > max_abs):
        raise CodebookFileError(f"The codebook array {name!r} holds NaN, infinite or out-of-range values.")
    return array.astype(np.float32)
