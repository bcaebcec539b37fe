"""Writes for jobs: create and dispatch, the lifecycle transitions, progress, cancellation, reaping."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from apps.accounts.models import Team
from apps.core.errors import ApplicationError, Conflict
from apps.core.fast_json import dumps
from apps.jobs.events import job_event_send, job_partial_send, job_stream_expire
from apps.jobs.kinds import job_kind
from apps.jobs.models import FINISHED_STATUSES, Job, JobStatus
from apps.jobs.serializers import job_snapshot
from apps.uploads.models import Upload


def job_create(
    *,
    team: Team,
    owner: User,
    kind: str,
    params: dict[str, Any],
    title: str = "",
    input_upload: Upload | None = None,
    dispatch: bool = True,
    job_id: uuid.UUID | None = None,
) -> Job:
    """Create a queued job; when ``dispatch`` it is sent to its queue once the transaction commits."""
    spec = job_kind(kind)
    job = Job.objects.create(
        id=job_id or uuid.uuid4(),
        team=team,
        owner=owner,
        kind=kind,
        params=params,
        title=title[:200],
        input_upload=input_upload,
        queue=spec.queue,
    )
    if dispatch:
        transaction.on_commit(lambda: job_dispatch(job=job))
    return job


def job_dispatch(*, job: Job) -> None:
    from workers.tasks import run_job

    spec = job_kind(job.kind)
    try:
        run_job.apply_async(
            args=[str(job.id)],
            queue=spec.queue,
            task_id=str(job.id),
            soft_time_limit=spec.time_limit_s,
            time_limit=spec.hard_time_limit_s,
        )
    except BrokerUnavailable as exc:  # after Celery's own publish retries
        # The row is committed but no worker will ever see it: a job left 'queued' forever would be lost silently.
        job_fail(job_id=job.id, error="The job queue could not be reached, so the job never started. Submit it again.")
        raise ApplicationError(
            "The job queue is unavailable right now, so nothing was started. Try again in a minute.",
            status=503,
            extra={"job_id": str(job.id)},
        ) from exc
    Job.objects.filter(pk=job.pk).update(task_id=str(job.id))


def job_mark_running(*, job_id: str, worker: str) -> Job | None:
    """Claim a job for a worker. Returns None when it must not run (cancelled, finished, or a redelivery).

    A job already marked running is a redelivery after its worker died (late acks): it is failed rather than
    retried, because the same input would likely kill the next worker too.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        if job.status == JobStatus.RUNNING:
            job.status, job.finished_at = JobStatus.FAILED, now
            job.error = f"The worker running this job stopped unexpectedly ({job.worker or 'unknown worker'})."
            job.save(update_fields=["status", "finished_at", "error"])
            failed = job
        else:
            job.status, job.started_at, job.heartbeat_at, job.worker = JobStatus.RUNNING, now, now, worker
            job.attempts += 1
            job.save(update_fields=["status", "started_at", "heartbeat_at", "worker", "attempts"])
            failed = None
    if failed is not None:
        job_event_send(failed.id, {"type": "job.failed", "job_id": str(failed.id), "error": failed.error})
        return None
    job_event_send(job.id, {"type": "job.progress", "job_id": str(job.id), "progress": 0.0, "message": "started"})
    return job


def job_report_progress(*, job_id: Any, progress: float, message: str = "", partial: Any = None) -> bool:
    """Record progress (and push it). Returns False when the job has been cancelled meanwhile."""
    progress = min(max(float(progress), 0.0), 1.0)
    updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=progress, message=message[:300], heartbeat_at=timezone.now()
    )
    if not updated:
        return False
    job_event_send(job_id, {"type": "job.progress", "job_id": str(job_id), "progress": progress, "message": message})
    if partial is not None:  # kept for late subscribers too, with a per-job sequence number (apps/jobs/events.py)
        job_partial_send(job_id, partial)
    return True


def job_heartbeat(*, job_id: Any) -> None:
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())


def _finish(job_id: Any, status: JobStatus, **fields: Any) -> Job | None:
    """Move a running (or queued) job to a final status; a cancelled job stays cancelled."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        for name, value in fields.items():
            setattr(job, name, value)
        job.status, job.finished_at = status, timezone.now()
        if status == JobStatus.SUCCEEDED:
            job.progress = 1.0
        job.save()
    job_stream_expire(job.id)  # the stored result (or the error) is the truth from now on
    return job


def job_succeed(*, job_id: Any, result: dict[str, Any], versions: dict[str, Any] | None = None) -> Job | None:
    # Round-trip through JSON so what is stored is exactly what any reader will get back.
    job = _finish(
        job_id, JobStatus.SUCCEEDED, result=orjson.loads(dumps(result)), versions=versions or {}, message="done"
    )
    if job is not None:
        job_event_send(job.id, {"type": "job.finished", "job": job_snapshot(job)})
    return job


def job_fail(*, job_id: Any, error: str) -> Job | None:
    job = _finish(job_id, JobStatus.FAILED, error=error[:5000])
    if job is not None:
        job_event_send(job.id, {"type": "job.failed", "job_id": str(job.id), "error": job.error})
    return job


def job_cancel(*, job: Job) -> Job:
    if job.is_finished:
        raise Conflict(f"This job already {job.status}; there is nothing to cancel.")
    cancelled = _finish(job.id, JobStatus.CANCELLED, message="cancelled")
    if cancelled is None:
        job.refresh_from_db()
        raise Conflict(f"This job already {job.status}; there is nothing to cancel.")
    if cancelled.task_id:
        from webapp.celery import app

        app.control.revoke(cancelled.task_id)  # a queued task is dropped; a running one stops at its next report
    job_event_send(cancelled.id, {"type": "job.cancelled", "job_id": str(cancelled.id)})
    return cancelled


def job_reap_stale(*, timeout_s: int | None = None) -> int:
    """Fail running jobs whose worker stopped reporting (a worker killed mid-job), and queued jobs that never reached
    the queue (a web process killed between storing a job and queueing it). Returns how many."""
    timeout_s = timeout_s if timeout_s is not None else settings.JOB_HEARTBEAT_TIMEOUT_S
    now = timezone.now()
    stale = list(
        Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=timeout_s)).values_list(
            "id", flat=True
        )
    )
    for job_id in stale:
        job_fail(
            job_id=job_id,
            error=f"The worker stopped responding (no heartbeat for {timeout_s} s); the job was abandoned.",
        )
    # A dispatched job has its task_id (written right after the task is sent); none after the grace period means no
    # worker will ever see it. Failing it (rather than sending it again) can never run a job twice.
    never_queued = list(
        Job.objects.filter(
            status=JobStatus.QUEUED,
            task_id="",
            created_at__lt=now - timedelta(seconds=settings.JOB_DISPATCH_GRACE_S),
        ).values_list("id", flat=True)
    )
    for job_id in never_queued:
        job_fail(
            job_id=job_id, error="The server stopped before this job was queued, so it never started. Submit it again."
        )
    return len(stale) + len(never_queued)


__all__ = [
    "FINISHED_STATUSES",
    "job_cancel",
    "job_create",
    "job_dispatch",
    "job_fail",
    "job_heartbeat",
    "job_mark_running",
    "job_reap_stale",
    "job_report_progress",
    "job_succeed",
]
