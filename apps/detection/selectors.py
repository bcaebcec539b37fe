"""Reads for detection: a team's frequency tables (each one a finished ``frequency_table`` job and its file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError

from apps.accounts.models import Team
from apps.core.errors import ApplicationError
from apps.jobs.models import Job, JobStatus
from apps.uploads.paths import team_media_name

FREQUENCY_TABLE_KIND = "frequency_table"


def frequency_table_path(*, team_id: int, job_id: Any) -> Path:
    """Where a table is stored: ``<MEDIA_ROOT>/<team id>/frequency_tables/<job id>.npz`` (the team's own folder)."""
    return Path(settings.MEDIA_ROOT) / team_media_name(team_id, "frequency_tables", f"{job_id}.npz")


def frequency_table_describe(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {
        "id": str(job.id),
        "model": job.params.get("model"),
        "tokenizer_id": job.params.get("tokenizer_id"),
        "vocab_size": result.get("vocab_size"),
        "tokenizer_hash": result.get("tokenizer_hash"),
        "corpus": result.get("corpus") or {},
        "texts": result.get("texts"),
        "total_tokens": result.get("total_tokens"),
        "max_tokens_per_text": job.params.get("max_tokens_per_text"),
        "created_at": job.created_at.isoformat(),
    }


def frequency_table_list_for_team(*, team: Team) -> list[dict[str, Any]]:
    jobs = Job.objects.filter(team=team, kind=FREQUENCY_TABLE_KIND, status=JobStatus.SUCCEEDED).order_by("-created_at")
    return [
        frequency_table_describe(job) for job in jobs if frequency_table_path(team_id=team.id, job_id=job.id).is_file()
    ]


def frequency_table_get_for_team(*, team: Team, table_id: Any) -> Job:
    """The team's finished table with this id; one message for every miss (another team's id included)."""
    missing = ApplicationError(
        f"No frequency table '{table_id}' in this team: choose one from GET /api/v1/detection/frequency-tables/."
    )
    try:
        job = Job.objects.filter(
            pk=str(table_id), team=team, kind=FREQUENCY_TABLE_KIND, status=JobStatus.SUCCEEDED
        ).first()
    except DjangoValidationError:  # not a UUID
        raise missing from None
    if job is None or not frequency_table_path(team_id=team.id, job_id=job.id).is_file():
        raise missing
    return job
