"""Distilled draft models (FastDraft-style): a team trains one for a target, then uses it as a ``draft_model``.

Each draft is saved in the model store under ``drafts/<team>/<job id>``; only that team sees and may use it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Membership, Team
from apps.catalog.references import drafts_root, model_ref_for_team, team_drafts_folder
from apps.core.errors import ApplicationError
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create
from workers.decoding.errors import DecodingInputError
from workers.models.catalog import ModelNotFoundError, ModelUnavailableError, resolve_model
from workers.pipelines.distill_draft import parse_inputs

__all__ = ["check_model_ref_allowed", "draft_list_for_team", "draft_submit", "drafts_root"]


def draft_submit(*, membership: Membership, user: User, inputs: dict[str, Any]) -> Job:
    job_id = uuid.uuid4()
    output_dir = team_drafts_folder(team=membership.team) / str(job_id)  # created by the job when it saves the draft
    target = inputs.get("target")
    if isinstance(target, str):
        inputs = {**inputs, "target": check_model_ref_allowed(team=membership.team, ref=target, role="target")}
    params = {**inputs, "output_dir": str(output_dir)}
    try:
        parse_inputs(params)
        target = resolve_model(str(params.get("target", "")))
    except (DecodingInputError, ModelNotFoundError, ModelUnavailableError) as exc:
        raise ApplicationError(f"{exc}") from exc
    title = f"distil a {params.get('num_layers', 4)}-layer draft for {target.name}"
    return job_create(team=membership.team, owner=user, kind="distill_draft", params=params, title=title, job_id=job_id)


def draft_list_for_team(*, team: Team) -> list[dict[str, Any]]:
    """The team's finished drafts as model-catalogue entries (usable as ``drafter.model``)."""
    entries = []
    for job in Job.objects.filter(team=team, kind="distill_draft", status=JobStatus.SUCCEEDED).order_by("-created_at"):
        result = job.result or {}
        folder = result.get("output_dir") or job.params.get("output_dir")
        if not folder or not Path(folder).is_dir():
            continue
        try:
            target = resolve_model(str(job.params.get("target")))
        except (ModelNotFoundError, ModelUnavailableError):
            continue
        draft = result.get("draft", {})
        entries.append(
            {
                "id": folder,
                "name": f"Distilled draft for {target.name} ({draft.get('num_layers', '?')} layers)",
                "family": target.family,
                "kind": "distilled",
                "source": f"distilled by job {job.id} from {target.name}'s own generations (FastDraft-style)",
                "licence": target.licence,
                "params": draft.get("parameters"),
                "context_length": target.context_length,
                "vocab_size": target.vocab_size,
                "tokenizer_id": target.tokenizer_id,
                "chat": False,
                "available": True,
                "status": "installed",
            }
        )
    return entries


def check_model_ref_allowed(*, team: Team, ref: str, role: str) -> str:
    """The reference a job may carry for this team (folders as their checked real path), or a 400 that is the same
    for every refused folder: another team's draft, the uploads, any server path outside the allowed roots."""
    return model_ref_for_team(team=team, ref=ref, role=role)
