"""Downloads of stored results (never a re-run)."""

from __future__ import annotations

import json

from apps.core.errors import ApplicationError
from apps.jobs.kinds import job_kind
from apps.jobs.models import Job
from apps.jobs.serializers import JobSummarySerializer


def export_job(*, job: Job, fmt: str) -> tuple[str, str]:
    if fmt == "json":
        payload = {"job": JobSummarySerializer(job).data, "result": job.result}
        return json.dumps(payload, ensure_ascii=False, indent=1), "application/json; charset=utf-8"
    to_csv = job_kind(job.kind).load_csv_exporter()
    if to_csv is None:
        raise ApplicationError(f"{job.kind} results export as JSON only; use format=json.")
    assert job.result is not None
    return to_csv(job.result), "text/csv; charset=utf-8"
