"""Re-run a speculative-decoding run from its manifest (``apps.jobs.reruns``): the same parameters, seed included."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Membership
from apps.core.errors import Conflict
from apps.jobs.models import Job
from apps.speculative.services import speculative_submit
from workers.manifest import ManifestError, request_from_manifest


def speculative_rerun(*, membership: Membership, user: User, job: Job, manifest: dict[str, Any]) -> tuple[Job, bool]:
    try:
        _, inputs = request_from_manifest(manifest)
    except ManifestError as exc:
        raise Conflict(str(exc)) from exc
    return speculative_submit(membership=membership, user=user, inputs=inputs), False
