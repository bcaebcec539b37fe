"""Re-run a stored result from its manifest: the same parameters, tokenizers and models, as a new job of the team.

Each kind that can be re-run names its resubmitter in ``apps.jobs.kinds`` (``JobKind.rerun``); it turns the
manifest back into that kind's request (``workers.manifest.request_from_manifest``) and submits it the usual way,
so a re-run is validated, throttled and stored like any run.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from apps.accounts.models import Membership
from apps.core.errors import ApplicationError, Conflict
from apps.jobs.kinds import job_kind
from apps.jobs.models import Job, JobStatus


def job_rerun(*, job: Job, user: User) -> tuple[Job, bool]:
    """Submit the run ``job``'s manifest describes; returns the new job and whether it already finished (inline)."""
    rerun = job_kind(job.kind).load_rerun()
    if rerun is None:
        raise ApplicationError(
            f"{job.kind} results cannot be re-run from their manifest; submit a new run with the parameters its "
            "manifest lists."
        )
    manifest = job.result.get("manifest") if isinstance(job.result, dict) else None
    if job.status != JobStatus.SUCCEEDED or not isinstance(manifest, dict):
        raise Conflict(
            "Only a finished result with a manifest can be re-run (results stored before manifests existed have "
            "none); start a new run instead."
        )
    membership = Membership.objects.select_related("team").get(team=job.team, user=user)
    return rerun(membership=membership, user=user, job=job, manifest=manifest)
