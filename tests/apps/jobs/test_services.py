from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import Conflict
from apps.jobs import services
from apps.jobs.models import Job, JobStatus
from apps.jobs.runner import JobCancelled, Reporter, user_facing_error
from tests.factories import make_team, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> Job:
    user = make_user("runner")
    return services.job_create(team=make_team("Jobs", user), owner=user, kind="tokenize", params={}, dispatch=False)


def test_lifecycle_queued_running_succeeded(job: Job) -> None:
    assert job.status == JobStatus.QUEUED
    running = services.job_mark_running(job_id=str(job.id), worker="w1")
    assert running is not None and running.status == JobStatus.RUNNING and running.attempts == 1
    assert services.job_report_progress(job_id=job.id, progress=0.5, message="half")
    done = services.job_succeed(job_id=job.id, result={"answer": 42}, versions={"lib": "1.0"})
    assert done is not None
    job.refresh_from_db()
    assert (job.status, job.progress, job.result, job.versions) == (
        JobStatus.SUCCEEDED,
        1.0,
        {"answer": 42},
        {"lib": "1.0"},
    )
    assert job.started_at is not None and job.finished_at is not None
    # A finished job cannot be claimed or finished again.
    assert services.job_mark_running(job_id=str(job.id), worker="w2") is None
    assert services.job_fail(job_id=job.id, error="late") is None


def test_progress_is_clamped(job: Job) -> None:
    services.job_mark_running(job_id=str(job.id), worker="w1")
    services.job_report_progress(job_id=job.id, progress=7.0)
    job.refresh_from_db()
    assert job.progress == 1.0


def test_cancel_stops_the_pipeline_at_its_next_report(job: Job) -> None:
    services.job_mark_running(job_id=str(job.id), worker="w1")
    report = Reporter(job.id, min_interval_s=0)
    report(0.1, "working")
    services.job_cancel(job=Job.objects.get(pk=job.id))
    with pytest.raises(JobCancelled):
        report(0.2, "still working")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    # The worker's late success does not overwrite the user's cancellation.
    assert services.job_succeed(job_id=job.id, result={}) is None
    with pytest.raises(Conflict):
        services.job_cancel(job=job)


def test_redelivery_after_a_worker_died_fails_instead_of_retrying(job: Job) -> None:
    services.job_mark_running(job_id=str(job.id), worker="w1")
    assert services.job_mark_running(job_id=str(job.id), worker="w2") is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "stopped unexpectedly" in job.error and "w1" in job.error


def test_reaper_fails_running_jobs_without_heartbeat(job: Job) -> None:
    services.job_mark_running(job_id=str(job.id), worker="w1")
    assert services.job_reap_stale(timeout_s=60) == 0
    Job.objects.filter(pk=job.id).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert services.job_reap_stale(timeout_s=60) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "no heartbeat for 60 s" in job.error


def test_reaper_fails_queued_jobs_that_never_reached_the_queue(job: Job) -> None:
    """Catches a job stored but never sent to the broker (its web process died in between) left 'queued' forever,
    and a reaper that would fail a job that was sent."""
    user = make_user("sender")
    sent = services.job_create(team=make_team("Sent", user), owner=user, kind="tokenize", params={}, dispatch=False)
    long_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk__in=[job.pk, sent.pk]).update(created_at=long_ago)
    Job.objects.filter(pk=sent.pk).update(task_id=str(sent.pk))  # what job_dispatch writes once the task is sent
    assert services.job_reap_stale() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "never started" in job.error
    assert Job.objects.get(pk=sent.pk).status == JobStatus.QUEUED


def test_reporter_throttles_database_writes(job: Job, django_assert_max_num_queries) -> None:
    services.job_mark_running(job_id=str(job.id), worker="w1")
    report = Reporter(job.id, min_interval_s=3600)
    with django_assert_max_num_queries(1):
        for i in range(100):
            report(i / 1000)


def test_internal_errors_are_labelled_and_input_errors_pass_through() -> None:
    class InputProblem(ValueError):
        user_facing = True

    assert user_facing_error(InputProblem("Draft length must be 1..64")) == "Draft length must be 1..64"
    assert user_facing_error(KeyError("x")).startswith("Internal error while running the job (KeyError")
