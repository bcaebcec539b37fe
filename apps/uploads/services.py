"""Store inputs that are too large to live in a job's parameters."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.files.base import ContentFile, File

from apps.accounts.models import Team
from apps.uploads.models import Upload


@dataclass(frozen=True)
class StoredBytes:
    """An uploaded file whose bytes are exactly the UTF-8 of the text: stored as it is (a temporary upload file is
    moved into storage, not copied), with its bytes already read."""

    data: bytes
    file: File


def upload_create_text(
    *,
    team: Team,
    owner: User,
    text: str,
    filename: str = "",
    encoding: str = "utf-8",
    stored_as_is: StoredBytes | None = None,
) -> Upload:
    """Store text as UTF-8; identical content in the same team is stored once."""
    data = stored_as_is.data if stored_as_is is not None else text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    existing = Upload.objects.filter(team=team, sha256=digest, kind="text").first()
    if existing is not None and existing.file.name and existing.file.storage.exists(existing.file.name):
        return existing
    upload = Upload(
        team=team,
        owner=owner,
        kind="text",
        filename=filename[:255],
        sha256=digest,
        size_bytes=len(data),
        encoding=encoding,
    )
    upload.file.save(f"{digest}.txt", stored_as_is.file if stored_as_is is not None else ContentFile(data), save=True)
    return upload


def upload_read_text(*, upload: Upload) -> str:
    with upload.file.open("rb") as handle:
        return handle.read().decode("utf-8")
