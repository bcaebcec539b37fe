"""Re-run a media tokenization from its manifest (``apps.jobs.reruns``): the stored upload, the manifest's
tokenizers (checkpoint references checked again), prefix lengths or seconds, and seed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Membership
from apps.core.errors import ApplicationError, Conflict
from apps.jobs.models import Job
from apps.media import selectors, services


def media_tokenize_rerun(*, membership: Membership, user: User, job: Job, manifest: dict[str, Any]) -> tuple[Job, bool]:
    parameters = manifest.get("parameters")
    expected = (manifest.get("input") or {}).get("sha256")
    if manifest.get("kind") != selectors.MEDIA_TOKENIZE_KIND or not isinstance(parameters, dict):
        raise Conflict("This manifest does not describe a media tokenization.")
    try:
        upload = selectors.media_upload_get_for_team(team=membership.team, upload_id=job.input_upload_id)
    except ApplicationError as exc:
        raise Conflict("The input file of this result is no longer stored, so it cannot be re-run.") from exc
    if upload.sha256 != expected:
        raise Conflict("The stored file is not the one this result was computed from (its sha256 differs).")
    new_job = services.media_tokenize_from_upload(
        membership=membership,
        user=user,
        upload=upload,
        tokenizers=list(parameters.get("tokenizers") or []),
        ks=parameters.get("ks"),
        max_seconds=parameters.get("max_seconds"),
        seed=int(parameters.get("seed") or 0),
    )
    return new_job, False
