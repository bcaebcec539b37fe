"""Every image and audio tokenizer the product offers, collected from the family modules.

Each family module exposes ``entries() -> list[MediaEntry]``; this module only gathers them. ``status`` is cheap
(no weights loaded), so the web process can list what is installed; ``load`` runs in a worker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.media.types import MediaTokenizerInfo

FAMILY_MODULES = (
    "workers.media.audio.classical_entries",  # mu-law, Codec2, LPCNet, PocketSphinx phones, k-means mel units
    "workers.media.image.classical_entries",  # k-means patch grid, ordered coarse-to-fine 1D
    "workers.media.audio.wavtokenizer.entries",  # WavTokenizer (our implementation, official checkpoints)
    "workers.media.image.flextok.entries",  # FlexTok (our implementation, official checkpoints)
    "workers.media.hf_entries",  # transformers' audio codecs and image VQ-VAEs, by hub id or folder
)


@dataclass(frozen=True)
class MediaStatus:
    installed: bool
    detail: str = ""  # what is installed (path, version) or why not
    install: str = ""  # the command or step that installs it, when not installed


@dataclass(frozen=True)
class MediaEntry:
    info: MediaTokenizerInfo
    # Loads the tokenizer (weights, codebooks, libraries); ``ref`` is a resolved hub id or allowed folder for
    # entries with ``needs_ref``. Raises workers.media.types.NotInstalledError when it cannot.
    load: Callable[[str | None], Any]
    status: Callable[[], MediaStatus]
    needs_ref: bool = False  # the user names the checkpoint (hub id or allowed folder)
    example_refs: tuple[str, ...] = ()  # official hub ids that work on a machine with a hub


def media_entries() -> dict[str, MediaEntry]:
    found: dict[str, MediaEntry] = {}
    for module in FAMILY_MODULES:
        for entry in importlib.import_module(module).entries():
            if entry.info.id in found:
                raise RuntimeError(f"media tokenizer id {entry.info.id!r} is defined twice")
            found[entry.info.id] = entry
    return found
