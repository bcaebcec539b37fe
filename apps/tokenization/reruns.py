"""Re-run a tokenization from its manifest (``apps.jobs.reruns``): the stored text, the manifest's parameters."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Membership
from apps.core.errors import Conflict
from apps.jobs.models import Job
from apps.tokenization.services import tokenize_submit
from apps.uploads.services import upload_read_text
from workers.manifest import ManifestError, request_from_manifest


def _stored_text(job: Job) -> str | None:
    """The job's input: its upload (queued jobs), else the text echoed in its result (small, inline ones)."""
    if job.input_upload is not None:
        return upload_read_text(upload=job.input_upload)
    result = job.result if isinstance(job.result, dict) else {}
    return None if result.get("text_truncated") else result.get("text")


def tokenize_rerun(*, membership: Membership, user: User, job: Job, manifest: dict[str, Any]) -> tuple[Job, bool]:
    text = _stored_text(job)
    if text is None:
        raise Conflict("The input text of this result is no longer stored, so it cannot be re-run.")
    try:
        _, inputs = request_from_manifest(manifest, text=text)
    except ManifestError as exc:
        raise Conflict(str(exc)) from exc
    inputs.pop("text")
    outcome = tokenize_submit(
        membership=membership,
        user=user,
        text=text,
        filename=str(job.params.get("filename") or ""),
        encoding=str(job.params.get("encoding") or "utf-8"),
        **inputs,
    )
    return outcome.job, outcome.ran_inline
