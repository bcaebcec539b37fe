"""Reads for media: the tokenizer catalogue (the shipped entries and the team's codebooks), a team's media uploads,
where a job's artifacts live and which artifact names a result lists. No torch: the catalogue's ``status`` is cheap.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError

from apps.accounts.models import Team
from apps.core.errors import ApplicationError, NotFound
from apps.jobs.models import Job, JobStatus
from apps.uploads.models import Upload
from workers.media.catalog import MediaEntry, media_entries
from workers.model_store.store import store_dir

MEDIA_TOKENIZE_KIND = "media_tokenize"
MEDIA_CODEBOOK_KIND = "media_codebook"
MEDIA_UPLOAD_KINDS = ("image", "audio")
_CODEBOOK_ID = re.compile(r"^(image|audio)/codebook-([0-9a-f-]{36})$")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def team_folder(team_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / str(int(team_id))


def artifact_dir(*, team_id: int, job_id: Any) -> Path:
    """``<MEDIA_ROOT>/<team id>/media-results/<job id>/``: a media job's PNG/WAV files and ``codes.npz``."""
    return team_folder(team_id) / "media-results" / str(uuid.UUID(str(job_id)))


def codebook_path(*, team_id: int, job_id: Any) -> Path:
    """``<MEDIA_ROOT>/<team id>/media-codebooks/<job id>.npz``: a codebook a ``media_codebook`` job trained."""
    return team_folder(team_id) / "media-codebooks" / f"{uuid.UUID(str(job_id))}.npz"


def codebook_tokenizer_id(*, modality: str, job_id: Any) -> str:
    return f"{modality}/codebook-{job_id}"


def _without_server_paths(text: str) -> str:
    """A status line as users see it: the model store and project folders named, not their server paths."""
    for folder, name in ((store_dir(), "<model store>"), (Path(settings.BASE_DIR), "<project>")):
        text = text.replace(str(folder), name)
    return text


def entry_describe(entry: MediaEntry) -> dict[str, Any]:
    status = entry.status()
    return {
        **dataclasses.asdict(entry.info),
        "codebook_sizes": list(entry.info.codebook_sizes),
        "status": {
            "installed": status.installed,
            "detail": _without_server_paths(status.detail),
            "install": _without_server_paths(status.install),
        },
        "needs_ref": entry.needs_ref,
        "example_refs": list(entry.example_refs),
        "team_codebook": None,
    }


def codebook_describe(job: Job) -> dict[str, Any]:
    """A trained codebook as the catalogue lists it (its info is what the training job recorded)."""
    result = job.result or {}
    info = dict(result.get("info") or {})
    tokenizer_id = codebook_tokenizer_id(modality=job.params["modality"], job_id=job.id)
    return {
        **info,
        "id": tokenizer_id,
        "status": {"installed": True, "detail": f"trained by job {job.id}", "install": ""},
        "needs_ref": False,
        "example_refs": [],
        "team_codebook": {
            "job_id": str(job.id),
            "method": job.params.get("method"),
            "codebook_size": job.params.get("codebook_size"),
            "source": job.params.get("source"),
            "training": result.get("training"),
            "created_at": job.created_at.isoformat(),
        },
    }


def codebook_jobs_for_team(*, team: Team) -> list[Job]:
    jobs = Job.objects.filter(team=team, kind=MEDIA_CODEBOOK_KIND, status=JobStatus.SUCCEEDED).order_by("-created_at")
    return [job for job in jobs if codebook_path(team_id=team.id, job_id=job.id).is_file()]


def codebook_list_for_team(*, team: Team) -> list[dict[str, Any]]:
    return [codebook_describe(job) for job in codebook_jobs_for_team(team=team)]


def is_codebook_id(tokenizer_id: str) -> bool:
    return _CODEBOOK_ID.match(tokenizer_id) is not None


def codebook_get_for_team(*, team: Team, tokenizer_id: str) -> Job:
    """The team's trained codebook with this tokenizer id; one message for every miss (another team's included)."""
    missing = ApplicationError(
        f"No codebook '{tokenizer_id}' in this team: choose one from GET /api/v1/media/tokenizers/ or train one."
    )
    found = _CODEBOOK_ID.match(tokenizer_id)
    if found is None:
        raise missing
    try:
        job = Job.objects.filter(
            pk=found.group(2), team=team, kind=MEDIA_CODEBOOK_KIND, status=JobStatus.SUCCEEDED
        ).first()
    except DjangoValidationError:
        raise missing from None
    if job is None or job.params.get("modality") != found.group(1):
        raise missing
    if not codebook_path(team_id=team.id, job_id=job.id).is_file():
        raise missing
    return job


def media_tokenizer_list(*, team: Team) -> list[dict[str, Any]]:
    """Every shipped entry with its status, then the team's codebooks (newest first)."""
    shipped = [entry_describe(entry) for entry in media_entries().values()]
    return shipped + codebook_list_for_team(team=team)


def media_upload_get_for_team(*, team: Team, upload_id: Any) -> Upload:
    missing = NotFound(f"No media upload '{upload_id}' in this team: upload the file again.")
    try:
        upload = Upload.objects.filter(pk=str(upload_id), team=team, kind__in=MEDIA_UPLOAD_KINDS).first()
    except DjangoValidationError:
        raise missing from None
    if upload is None or not upload.file.name or not upload.file.storage.exists(upload.file.name):
        raise missing
    return upload


def artifact_names(result: Any) -> set[str]:
    """Every ``"artifact"`` (and the codes file) a stored result lists: the only names the artifact view serves."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("artifact", "codes_artifact") and isinstance(item, str):
                    names.add(item)
                elif key != "manifest":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(result)
    return {name for name in names if _ARTIFACT_NAME.match(name)}


def artifact_path_for(*, job: Job, name: str) -> Path:
    """The file of an artifact the job's result lists; a 404 for any other name (no request path is opened)."""
    if job.kind != MEDIA_TOKENIZE_KIND or job.status != JobStatus.SUCCEEDED:
        raise NotFound("This job has no media artifacts (it is not a finished media job).")
    if name not in artifact_names(job.result):
        raise NotFound(f"This job has no artifact '{name[:100]}'.")
    path = artifact_dir(team_id=job.team_id, job_id=job.id) / name
    if not path.is_file():
        raise NotFound(f"The artifact '{name}' is no longer stored; re-run the job to make it again.")
    return path
