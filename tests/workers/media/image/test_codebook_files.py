"""Codebook files from strangers: every malformed or hostile file is a CodebookFileError (a 4xx), never a crash,
an unpickling or a huge allocation."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.media.codebook_file import FORMAT, CodebookFileError, save_codebook
from workers.media.image import kmeans, progressive
from workers.media.types import MediaInputError

PARAMS = {"patch": 8, "codebook_size": 4, "max_side": 512}


def _kmeans_file(path: Path, *, params: dict | None = None, centroids: np.ndarray | None = None) -> Path:
    values = np.full((4, 192), 0.5, np.float32) if centroids is None else centroids
    return save_codebook(
        path, kind="image/kmeans-patch", params=params or PARAMS, training={}, arrays={"centroids": values}
    )


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _header(kind: str = "image/kmeans-patch", params: dict | None = None) -> bytes:
    text = json.dumps({"format": FORMAT, "version": 1, "kind": kind, "params": params or PARAMS, "training": {}})
    return _npy_bytes(np.frombuffer(text.encode(), np.uint8))


def test_round_trip(tmp_path: Path) -> None:
    """Catches a writer and reader that disagree (the header or the arrays lost on the way)."""
    tokenizer = kmeans.load_kmeans_tokenizer(_kmeans_file(tmp_path / "ok.npz"))
    assert tokenizer.centroids.shape == (4, 192) and tokenizer.info.codebook_sizes == (4,)


def test_pickle_inside_is_refused_without_unpickling(tmp_path: Path) -> None:
    """Catches np.load with allow_pickle=True: an object array would run code on load."""
    evil = np.array([{"boom": 1}], dtype=object)
    path = _zip(tmp_path / "pickle.npz", {"header.npy": _header(), "centroids.npy": _npy_bytes(evil)})
    with pytest.raises(CodebookFileError, match="only numbers"):
        kmeans.load_kmeans_tokenizer(path)


def test_huge_declared_shape_is_refused_before_allocation(tmp_path: Path) -> None:
    """Catches a reader that trusts the .npy header: a tiny file declaring a 10^9 x 192 float32 array."""
    fake = io.BytesIO()
    np.lib.format.write_array_header_1_0(fake, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 192)})
    path = _zip(tmp_path / "huge.npz", {"header.npy": _header(), "centroids.npy": fake.getvalue() + b"\0" * 64})
    tracemalloc.start()
    with pytest.raises(CodebookFileError, match="declares shape"):
        kmeans.load_kmeans_tokenizer(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 2**20


@pytest.mark.parametrize(
    ("centroids", "message"),
    [
        (np.full((3, 192), 0.5, np.float32), "shape"),
        (np.full((4, 48), 0.5, np.float32), "shape"),
        (np.full((4, 192), np.nan, np.float32), "NaN"),
        (np.full((4, 192), 1e30, np.float32), "out-of-range"),
        (np.full((4, 192), 1, np.int32), "floats"),
    ],
)
def test_wrong_shapes_and_values(tmp_path: Path, centroids: np.ndarray, message: str) -> None:
    """Catches centroids that do not match the header, or hold NaN/huge values that would poison every image."""
    with pytest.raises(CodebookFileError, match=message):
        kmeans.load_kmeans_tokenizer(_kmeans_file(tmp_path / "bad.npz", centroids=centroids))


@pytest.mark.parametrize(
    "params",
    [
        {**PARAMS, "patch": 10**6},
        {**PARAMS, "codebook_size": 2**40},
        {**PARAMS, "patch": "8"},
        {"patch": 8},
        {**PARAMS, "max_side": 4096},  # 262,144 tokens per image: a stuck worker
    ],
)
def test_hostile_params(tmp_path: Path, params: dict) -> None:
    """Catches header params used unchecked (a patch of a million pixels, a 2^40-code book, strings, a grid size
    that multiplies the work per image)."""
    with pytest.raises(CodebookFileError, match="parameter"):
        kmeans.load_kmeans_tokenizer(_kmeans_file(tmp_path / "p.npz", params=params))


def test_not_ours(tmp_path: Path) -> None:
    """Catches a crash on files that are not codebooks: plain text, a zip of text, no header, another kind,
    a member path outside the archive root."""
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    cases = [
        (text, "not a valid"),
        (_zip(tmp_path / "txt.npz", {"readme.txt": b"hi"}), "not an array"),
        (_zip(tmp_path / "nohdr.npz", {"centroids.npy": _npy_bytes(np.zeros((4, 192), np.float32))}), "header"),
        (_zip(tmp_path / "slip.npz", {"../x.npy": _npy_bytes(np.zeros(3))}), "not an array"),
        (_zip(tmp_path / "kind.npz", {"header.npy": _header(kind="audio/mel-units")}), "kind"),
        (tmp_path / "missing.npz", "cannot be read"),
    ]
    for path, message in cases:
        with pytest.raises(CodebookFileError, match=message):
            kmeans.load_kmeans_tokenizer(path)
    assert issubclass(CodebookFileError, MediaInputError)


def test_a_kmeans_file_is_not_a_progressive_one_and_zero_codes_are_checked(tmp_path: Path) -> None:
    """Catches one loader accepting the other's file, and a progressive book whose code 0 is not 'no change'."""
    with pytest.raises(CodebookFileError):
        progressive.load_progressive_tokenizer(_kmeans_file(tmp_path / "k.npz"))
    params: dict[str, Any] = {
        "size": 256,
        "cell": 8,
        "stages": [[s.span, s.rows, s.cols] for s in progressive.STAGES],
        "codebook_size": 4,
    }
    tables = {f"stage_{i}": np.full((4, s.dim), 0.1, np.float32) for i, s in enumerate(progressive.STAGES)}
    path = save_codebook(tmp_path / "p.npz", kind="image/progressive-1d", params=params, training={}, arrays=tables)
    with pytest.raises(CodebookFileError, match="zero vector"):
        progressive.load_progressive_tokenizer(path)
    for table in tables.values():
        table[0] = 0
    path = save_codebook(tmp_path / "p.npz", kind="image/progressive-1d", params=params, training={}, arrays=tables)
    assert progressive.load_progressive_tokenizer(path).codebook_size == 4
    params["stages"] = params["stages"][:3]
    path = save_codebook(tmp_path / "p.npz", kind="image/progressive-1d", params=params, training={}, arrays=tables)
    with pytest.raises(CodebookFileError, match="stage layout"):
        progressive.load_progressive_tokenizer(path)
