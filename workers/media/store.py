"""Where the media assets live: ``<model store>/media`` (default codebooks, installed checkpoints)."""

from __future__ import annotations

from pathlib import Path

from workers.model_store.store import store_dir


def media_store_dir() -> Path:
    return store_dir() / "media"
