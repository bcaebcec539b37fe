"""Catalogue entries of this family (filled in by the family's module; see workers/media/catalog.py)."""

from __future__ import annotations

from workers.media.catalog import MediaEntry


def entries() -> list[MediaEntry]:
    return []
