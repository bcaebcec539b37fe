"""Where uploaded files are stored: one folder per team under MEDIA_ROOT (``<team id>/<area>/...``).

Nothing outside a team's folder is ever written for it, so a team's files can be found, moved or deleted together,
and a path check can tell one team's files from another's. Rows saved before this layout keep their stored names
(``tokenizers/…``, ``uploads/YYYY/MM/…``) and still open; migrations move them into their team's folder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any


def team_media_name(team_id: int, area: str, filename: str) -> str:
    """A storage name inside the team's folder; only the base name of ``filename`` is kept."""
    return str(PurePosixPath(str(int(team_id)), area, PurePosixPath(filename).name))


def text_upload_to(instance: Any, filename: str) -> str:
    """``apps.uploads.models.Upload.file``: ``<team id>/uploads/YYYY/MM/<name>``."""
    return team_media_name(instance.team_id, datetime.now(UTC).strftime("uploads/%Y/%m"), filename)


def custom_tokenizer_upload_to(instance: Any, filename: str) -> str:
    """``apps.catalog.models.CustomTokenizer.file``: ``<team id>/tokenizers/<name>``."""
    return team_media_name(instance.team_id, "tokenizers", filename)


def move_rows_into_team_folders(rows: Any, storage: Any) -> int:
    """Data migration step: move each row's file from a shared folder to ``<team id>/<old name>``; returns how many
    moved. A row whose file is missing keeps its old name (it opens as before, or reports the missing file)."""
    import os

    moved = 0
    for row in rows:
        old = row.file.name
        prefix = f"{int(row.team_id)}/"
        if not old or old.startswith(prefix) or not storage.exists(old):
            continue
        new = prefix + old
        os.makedirs(os.path.dirname(storage.path(new)), exist_ok=True)
        os.replace(storage.path(old), storage.path(new))
        row.file.name = new
        row.save(update_fields=["file"])
        moved += 1
    return moved
