"""Writes for media: accept an upload (already size- and type-checked while it streamed), probe its header, then
queue a ``media_tokenize`` or ``media_codebook`` job. Everything checkable is checked before anything is saved:
a refusal leaves no file and no row.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction

from apps.accounts.models import Membership, Team
from apps.catalog.references import model_ref_for_team
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.jobs.services import job_create
from apps.media import selectors
from apps.media.limits import (
    DEFAULT_MAX_SECONDS,
    MAX_AUDIO_SECONDS,
    MAX_CODEBOOK_UPLOADS,
    MAX_PREFIXES,
    MAX_TOKENIZERS,
)
from apps.media.uploads import Sniffed, refused_format
from apps.uploads.models import Upload
from workers.media.catalog import media_entries
from workers.media.types import MediaInputError

CODEBOOK_METHODS = {"image": ("kmeans-patch", "progressive"), "audio": ("mel-units",)}
CODEBOOK_SIZES = (2, 4096)  # inclusive range of k


def media_probe(*, path: str, modality: str, filename: str) -> dict[str, Any]:
    """The header facts of a stored or temporary file (no decoding), with the product's limits applied."""
    try:
        if modality == "image":
            from workers.media.image.io import probe_image

            probed = dict(probe_image(Path(path)))
        else:
            from workers.media.audio.io import probe_audio

            probed = dict(probe_audio(path))
    except MediaInputError as exc:
        raise ApplicationError(f"'{filename}': {exc}", extra={"filename": filename}) from exc
    return probed


def _sha256(file: Any) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    while block := file.read(1 << 20):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()


def media_upload_store(*, team: Team, owner: User, uploaded: Any, modality: str, extension: str) -> Upload:
    """Move a checked temporary upload into the team's folder; the same bytes are stored once per team."""
    filename = (getattr(uploaded, "name", "") or "upload")[:255]
    digest = _sha256(uploaded)
    existing = Upload.objects.filter(team=team, sha256=digest, kind=modality).first()
    if existing is not None and existing.file.name and existing.file.storage.exists(existing.file.name):
        return existing
    upload = Upload(team=team, owner=owner, kind=modality, filename=filename, sha256=digest, size_bytes=uploaded.size)
    upload.file.save(f"{digest}.{extension}", File(uploaded), save=True)
    return upload


def sniffed_of(uploaded: Any) -> Sniffed:
    """What ``MediaUploadHandler`` found in the first bytes (a file that did not stream through it is refused)."""
    sniffed: Sniffed | None = getattr(uploaded, "media", None)
    if sniffed is None or not hasattr(uploaded, "temporary_file_path"):
        raise refused_format((getattr(uploaded, "name", "") or "upload")[:255])
    return sniffed


def media_upload_probe(*, upload: Upload) -> dict[str, Any]:
    return media_probe(path=upload.file.path, modality=upload.kind, filename=upload.filename or str(upload.id))


def _check_ref(*, team: Team, tokenizer_id: str, ref: str) -> str:
    return model_ref_for_team(team=team, ref=ref, role=f"{tokenizer_id} checkpoint")


def check_selections(*, team: Team, modality: str, chosen: Sequence[Any], filename: str) -> list[dict[str, Any]]:
    """The tokenizers a job may run: known ids of the input's modality, refs through the allow-list, installed."""
    if not chosen:
        raise ApplicationError("Choose at least one tokenizer (ids from GET /api/v1/media/tokenizers/).")
    if len(chosen) > MAX_TOKENIZERS:
        raise ApplicationError(f"At most {MAX_TOKENIZERS} tokenizers per run; {len(chosen)} were chosen.")
    entries = media_entries()
    out: list[dict[str, Any]] = []
    for item in chosen:
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ApplicationError('Each tokenizer is {"id": "...", "ref": "..." (optional)}.')
        tokenizer_id, ref = item["id"], item.get("ref") or None
        if ref is not None and not isinstance(ref, str):
            raise ApplicationError(f"{tokenizer_id}: ref must be a string (a hub id or an allowed folder).")
        entry = entries.get(tokenizer_id)
        if entry is not None:
            tokenizer_modality: str = entry.info.modality
            if entry.needs_ref:
                if not ref:
                    examples = ", ".join(entry.example_refs[:2]) or "owner/name"
                    raise ApplicationError(
                        f"{tokenizer_id} needs a checkpoint: set ref to a hub id (such as {examples}) or an allowed "
                        "folder."
                    )
                ref = _check_ref(team=team, tokenizer_id=tokenizer_id, ref=ref)
            else:
                if ref:
                    raise ApplicationError(f"{tokenizer_id} takes no ref (its weights or codebook are fixed).")
                status = entry.status()
                if not status.installed:
                    raise ApplicationError(
                        f"{tokenizer_id} is not installed on this server ({status.detail or 'missing'}). "
                        + (f"Install it with: {status.install}" if status.install else ""),
                        status=409,
                        extra={"tokenizer": tokenizer_id, "install": status.install},
                    )
        elif selectors.is_codebook_id(tokenizer_id):
            job = selectors.codebook_get_for_team(team=team, tokenizer_id=tokenizer_id)
            tokenizer_modality = str(job.params["modality"])
            if ref:
                raise ApplicationError(f"{tokenizer_id} takes no ref (it is your team's trained codebook).")
        else:
            raise ApplicationError(
                f"Unknown media tokenizer {tokenizer_id[:100]!r}: choose ids from GET /api/v1/media/tokenizers/."
            )
        if tokenizer_modality != modality:
            raise ApplicationError(
                f"{tokenizer_id} tokenizes {tokenizer_modality}, and '{filename}' is {modality}: choose "
                f"{modality} tokenizers."
            )
        if any(done["id"] == tokenizer_id and done["ref"] == ref for done in out):
            raise ApplicationError(f"{tokenizer_id} is chosen twice.")
        out.append({"id": tokenizer_id, "ref": ref})
    return out


def _check_ks(ks: Sequence[int] | None) -> list[int] | None:
    if not ks:
        return None
    if len(ks) > MAX_PREFIXES:
        raise ApplicationError(f"At most {MAX_PREFIXES} prefix lengths in ks.")
    if any(int(k) < 1 or int(k) > 4096 for k in ks):
        raise ApplicationError("Each prefix length in ks is between 1 and 4096.")
    return sorted({int(k) for k in ks})


def _check_max_seconds(value: float | None) -> float:
    seconds = DEFAULT_MAX_SECONDS if value is None else float(value)
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_AUDIO_SECONDS:
        raise ApplicationError(
            f"max_seconds is between 0 and {MAX_AUDIO_SECONDS:.0f} (default {DEFAULT_MAX_SECONDS:.0f})."
        )
    return seconds


def tokenize_params(
    *,
    team: Team,
    modality: str,
    filename: str,
    tokenizers: Sequence[Any],
    ks: Sequence[int] | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """A media job's checked parameters (no upload yet): everything refusable is refused here."""
    chosen = check_selections(team=team, modality=modality, chosen=tokenizers, filename=filename)
    params: dict[str, Any] = {"modality": modality, "tokenizers": chosen, "seed": int(seed), "filename": filename}
    # A parameter of the other modality is refused rather than ignored (a client that sends it expects an effect).
    if modality == "image":
        if max_seconds is not None:
            raise ApplicationError(f"'{filename}' is an image: max_seconds applies to audio only; leave it out.")
        params["ks"] = _check_ks(ks)
    else:
        if ks:
            raise ApplicationError(f"'{filename}' is audio: ks (image prefix lengths) applies to images only.")
        params["max_seconds"] = _check_max_seconds(max_seconds)
    return params


def _tokenize_job(*, membership: Membership, user: User, upload: Upload, params: dict[str, Any]) -> Job:
    params = {**params, "upload": {"id": str(upload.id), "sha256": upload.sha256, "size_bytes": upload.size_bytes}}
    title = f"media · {params['filename']} · {', '.join(item['id'] for item in params['tokenizers'])}"
    return job_create(
        team=membership.team,
        owner=user,
        kind=selectors.MEDIA_TOKENIZE_KIND,
        params=params,
        title=title,
        input_upload=upload,
    )


def media_tokenize_from_file(
    *, membership: Membership, user: User, uploaded: Any, **options: Any
) -> tuple[Job, Upload]:
    """Probe the streamed file and check the request, then store the file and queue the job together: a refusal
    leaves no stored file and no row."""
    sniffed = sniffed_of(uploaded)
    filename = (getattr(uploaded, "name", "") or "upload")[:255]
    probed = media_probe(path=uploaded.temporary_file_path(), modality=sniffed.modality, filename=filename)
    params = tokenize_params(team=membership.team, modality=sniffed.modality, filename=filename, **options)
    params["probe"] = probed
    stored: Upload | None = None
    try:
        with transaction.atomic():
            stored = media_upload_store(
                team=membership.team,
                owner=user,
                uploaded=uploaded,
                modality=sniffed.modality,
                extension=sniffed.extension,
            )
            job = _tokenize_job(membership=membership, user=user, upload=stored, params=params)
    except Exception:
        if stored is not None and stored.file.name and not Upload.objects.filter(pk=stored.pk).exists():
            stored.file.storage.delete(stored.file.name)  # the row rolled back: its new file goes too
        raise
    return job, stored


def media_tokenize_from_upload(*, membership: Membership, user: User, upload: Upload, **options: Any) -> Job:
    """A new run on an earlier media upload of the team (its header is probed again: limits may have changed)."""
    filename = upload.filename or str(upload.id)
    probed = media_upload_probe(upload=upload)
    params = tokenize_params(team=membership.team, modality=upload.kind, filename=filename, **options)
    params["probe"] = probed
    return _tokenize_job(membership=membership, user=user, upload=upload, params=params)


def media_codebook_submit(
    *,
    membership: Membership,
    user: User,
    modality: str,
    method: str,
    codebook_size: int,
    seed: int = 0,
    uploads: Sequence[Any] = (),
    name: str = "",
) -> Job:
    """Queue the training of a team codebook from the shipped samples (no uploads) or the team's media uploads."""
    if modality not in CODEBOOK_METHODS:
        raise ApplicationError("modality is image or audio.")
    if method not in CODEBOOK_METHODS[modality]:
        raise ApplicationError(f"{modality} codebooks are trained with: {', '.join(CODEBOOK_METHODS[modality])}.")
    low, high = CODEBOOK_SIZES
    if not low <= int(codebook_size) <= high:
        raise ApplicationError(f"codebook_size is between {low} and {high}.")
    if len(uploads) > MAX_CODEBOOK_UPLOADS:
        raise ApplicationError(f"At most {MAX_CODEBOOK_UPLOADS} uploads per codebook.")
    rows = [selectors.media_upload_get_for_team(team=membership.team, upload_id=upload_id) for upload_id in uploads]
    for row in rows:
        if row.kind != modality:
            raise ApplicationError(f"Upload '{row.filename}' is {row.kind}; an {modality} codebook needs {modality}.")
    params = {
        "modality": modality,
        "method": method,
        "codebook_size": int(codebook_size),
        "seed": int(seed),
        "source": "uploads" if rows else "samples",
        "uploads": [{"id": str(row.id), "filename": row.filename, "sha256": row.sha256} for row in rows],
        "name": name[:80],
    }
    title = f"codebook · {method} k={codebook_size} · {name or params['source']}"
    return job_create(team=membership.team, owner=user, kind=selectors.MEDIA_CODEBOOK_KIND, params=params, title=title)
