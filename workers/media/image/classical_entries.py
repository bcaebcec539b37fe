"""Catalogue entries of the image tokenizers that work here out of the box: the k-means patch grids and the
coarse-to-fine progressive 1D tokenizer, from the default codebooks ``make setup`` builds (scikit-image's sample
photographs). ``status`` only checks that the codebook file is there; ``load`` reads and checks it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers.media.catalog import MediaEntry, MediaStatus
from workers.media.image import kmeans, progressive
from workers.media.store import media_store_dir
from workers.media.types import NotInstalledError

PREPARE = "make setup (runs python -m workers.media.prepare, which builds the default codebooks)"


def _entry(info: Any, path: Callable[[], Path], loader: Callable[[Path], Any]) -> MediaEntry:
    def status() -> MediaStatus:
        if path().is_file():
            return MediaStatus(installed=True, detail=str(path()))
        return MediaStatus(installed=False, detail=f"{path()} has not been built", install=PREPARE)

    def load(_ref: str | None) -> Any:
        if not path().is_file():
            raise NotInstalledError(f"the default codebook {path()} has not been built", install=PREPARE)
        return loader(path())

    return MediaEntry(info=info, load=load, status=status)


def _kmeans_entry(size: int) -> MediaEntry:
    return _entry(
        kmeans.tokenizer_info(size),
        lambda: kmeans.default_codebook_path(media_store_dir(), size),
        kmeans.load_kmeans_tokenizer,
    )


def entries() -> list[MediaEntry]:
    return [
        *(_kmeans_entry(size) for size in kmeans.DEFAULT_SIZES),
        _entry(
            progressive.tokenizer_info(),
            lambda: progressive.default_codebook_path(media_store_dir()),
            progressive.load_progressive_tokenizer,
        ),
    ]
