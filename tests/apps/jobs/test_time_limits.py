"""The job time limit holds even where the worker's time-limit signal lands in code that catches broad exceptions
(found by the full suite: the signal arrived while a progress event was pushed, the push swallowed it, and a 1 s job
ran to the end and succeeded after 18 s)."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from apps.jobs import events
from apps.jobs.kinds import JOB_KINDS, JobKind
from apps.jobs.models import Job, JobStatus
from apps.jobs.runner import job_execute
from apps.jobs.services import job_create
from tests.factories import make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)
KIND = "test_steps_no_time"


class RaisingLayer:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def group_send(self, *_: Any) -> None:
        raise self.exc


def test_an_event_push_lets_the_time_limit_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a best-effort event push that swallows the time-limit signal along with Redis errors."""
    monkeypatch.setattr(events, "get_channel_layer", lambda: RaisingLayer(SoftTimeLimitExceeded()))
    with pytest.raises(SoftTimeLimitExceeded):
        events.job_event_send("0" * 32, {"type": "job.progress"})
    monkeypatch.setattr(events, "get_channel_layer", lambda: RaisingLayer(ConnectionError("redis is down")))
    events.job_event_send("0" * 32, {"type": "job.progress"})  # a Redis error stays best effort


def test_a_job_that_outlived_its_time_limit_fails_even_when_the_signal_was_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Catches a job that returns after its time limit (the signal swallowed somewhere in the pipeline) and is stored
    as succeeded: a 0 s limit, a pipeline that never sees the signal."""
    monkeypatch.setitem(
        JOB_KINDS,
        KIND,
        JobKind(KIND, "cpu", 0, "tests.integration.stepper:run", "tests.integration.stepper:build_inputs"),
    )
    user = make_user("limited")
    job = job_create(team=make_team("Limit team", user), owner=user, kind=KIND, params={"steps": 2}, dispatch=False)
    job_execute(job_id=str(job.id), worker="test-runner")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "exceeded its time limit of 0 s" in (job.error or "")
    assert Job.objects.get(pk=job.id).result in (None, {})
