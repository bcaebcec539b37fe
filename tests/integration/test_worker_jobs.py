"""Queued jobs on a real Celery worker with a real Redis: progress over the websocket, cancel, dead workers, limits,
the heartbeat of a live worker and the reaping of abandoned jobs when a worker starts."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.jobs import services
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create
from tests.conftest import ManagedProcess, start_worker, wait_for
from tests.factories import make_team, make_user, token_client
from tests.integration.conftest import receive_until_final, step_job, ws_connect

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SMALL_SYNC_LIMIT = override_settings(TOKENIZE_SYNC_MAX_BYTES=1000)
PARAGRAPH = "Tokenizers split text into pieces; 12345 apples cost $6.78 — naïve café 東京 🙂.\n"


def submit(client: Any, text: str, tokenizers: list[str]) -> dict[str, Any]:
    response = client.post("/api/v1/tokenize/", {"text": text, "tokenizers": tokenizers}, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


def job_status(job_id: str) -> str:
    return str(Job.objects.get(pk=job_id).status)


@SMALL_SYNC_LIMIT
def test_queued_job_streams_progress_and_matches_the_inline_result(
    web_url: str, embedded_redis: str, tmp_path: Path
) -> None:
    """Catches progress that never reaches a subscriber (not pushed by the worker, or not forwarded by the server):
    the browser is connected before the worker starts, so it must see the pipeline's own progress events."""
    user = make_user("worker-user")
    client = token_client(user, make_team("Worker team", user))
    text = PARAGRAPH * 2000  # about 170 kB: a queued job, a few chunks
    job = submit(client, text, ["tiktoken:cl100k_base", "builtin:bytes"])
    with ws_connect(web_url, job["id"], user) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
        assert snapshot["type"] == "job.snapshot" and snapshot["job"]["status"] == "queued", snapshot
        worker = start_worker(embedded_redis, tmp_path / "worker.log")
        try:
            events = receive_until_final(socket)
        finally:
            worker.stop()
    assert events[-1]["type"] == "job.finished" and events[-1]["job"]["status"] == "succeeded", events[-1]
    progress = [e for e in events if e["type"] == "job.progress"]
    assert progress[0]["message"] == "started"  # the worker claimed the job
    from_pipeline = [e["message"] for e in progress[1:]]
    assert "reading the text" in from_pipeline, from_pipeline  # the pipeline's own report reached the browser
    values = [e["progress"] for e in progress]
    assert values == sorted(values) and all(0.0 <= v <= 1.0 for v in values), values

    stored = client.get(f"/api/v1/jobs/{job['id']}/").json()
    assert stored["status"] == "succeeded"
    with override_settings(TOKENIZE_SYNC_MAX_BYTES=10_000_000):
        inline = client.post(
            "/api/v1/tokenize/", {"text": text, "tokenizers": ["tiktoken:cl100k_base", "builtin:bytes"]}, format="json"
        ).json()
    for queued_result, inline_result in zip(stored["result"]["results"], inline["result"]["results"], strict=True):
        assert queued_result["tokens"]["ids"] == inline_result["tokens"]["ids"]
        assert queued_result["stats"]["tokens"] == inline_result["stats"]["tokens"]


@SMALL_SYNC_LIMIT
def test_cancel_a_running_job_and_the_worker_stays_healthy(celery_worker: ManagedProcess) -> None:
    """Catches a cancel that only relabels the row while the pipeline runs on to its end: the runner must log that
    the pipeline stopped at the cancel flag, and the worker must be free for the next job."""
    user = make_user("canceller")
    client = token_client(user, make_team("Cancel team", user))
    big = PARAGRAPH * 120_000  # about 10 MB
    job = submit(client, big, ["tiktoken:cl100k_base", "tiktoken:o200k_base", "builtin:chars"])
    wait_for(lambda: job_status(job["id"]) == JobStatus.RUNNING, 60, "job running", celery_worker)
    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 409
    # Only the runner's JobCancelled handler writes this line: the pipeline saw the flag at a progress report.
    wait_for(lambda: f"Job {job['id']} was cancelled" in celery_worker.log(), 60, "pipeline stopped", celery_worker)
    stored = Job.objects.get(pk=job["id"])
    assert stored.status == JobStatus.CANCELLED and stored.result is None and stored.progress < 1.0

    follow_up = submit(client, PARAGRAPH * 30, ["builtin:bytes"])
    wait_for(lambda: job_status(follow_up["id"]) == JobStatus.SUCCEEDED, 60, "next job succeeds", celery_worker)


@SMALL_SYNC_LIMIT
def test_a_job_whose_worker_is_killed_ends_failed(celery_worker: ManagedProcess) -> None:
    """Catches a job left 'running' forever when its worker is killed (out of memory, a lost machine)."""
    user = make_user("unlucky")
    client = token_client(user, make_team("Crash team", user))
    job = submit(client, PARAGRAPH * 120_000, ["tiktoken:cl100k_base", "tiktoken:o200k_base", "builtin:chars"])
    wait_for(lambda: job_status(job["id"]) == JobStatus.RUNNING, 60, "job running", celery_worker)
    _kill_tree(celery_worker)
    with override_settings(JOB_HEARTBEAT_TIMEOUT_S=2):
        time.sleep(3)
        stored = client.get(f"/api/v1/jobs/{job['id']}/").json()
    assert stored["status"] == "failed"
    assert "stopped responding" in stored["error"]


def _kill_tree(process: ManagedProcess) -> None:
    """SIGKILL the worker and its pool children, as an out-of-memory kill would."""
    import psutil

    parent = psutil.Process(process.process.pid)
    for child in parent.children(recursive=True):
        child.kill()
    parent.kill()
    process.process.wait()


@SMALL_SYNC_LIMIT
@override_settings(JOB_TIME_LIMITS={"tokenize": 1})
def test_time_limit_fails_the_job_with_a_message(embedded_redis: str, tmp_path: Path) -> None:
    """Catches a job that overruns its time limit and is left running (or dies without a message)."""
    worker = start_worker(embedded_redis, tmp_path / "worker.log", extra_env={"JOB_TIME_LIMITS": "tokenize=1"})
    try:
        user = make_user("slowpoke")
        client = token_client(user, make_team("Slow team", user))
        job = submit(client, PARAGRAPH * 300_000, ["tiktoken:cl100k_base", "tiktoken:o200k_base", "builtin:chars"])
        wait_for(lambda: job_status(job["id"]) == JobStatus.FAILED, 90, "job failed by its time limit", worker)
        assert "exceeded its time limit of 1 s" in Job.objects.get(pk=job["id"]).error
        follow_up = submit(client, PARAGRAPH * 30, ["builtin:bytes"])
        wait_for(lambda: job_status(follow_up["id"]) == JobStatus.SUCCEEDED, 60, "worker still serves jobs", worker)
    finally:
        worker.stop()


@pytest.mark.usefixtures("step_kinds")
def test_cancel_stops_the_pipeline_before_its_last_step(embedded_redis: str, tmp_path: Path) -> None:
    """Catches a cancel that lets the pipeline run on to its end: a 40-step job of 10 s in all is cancelled after its
    second step, and the worker's own record of the task says it ended long before 10 s."""
    worker = start_worker(embedded_redis, tmp_path / "worker.log", with_test_kinds=True)
    try:
        user = make_user("step-canceller")
        team = make_team("Step cancel team", user)
        job = step_job(user, team, steps=40, step_s=0.25)
        wait_for(lambda: Job.objects.get(pk=job.pk).progress >= 2 / 40, 60, "two steps done", worker)
        services.job_cancel(job=Job.objects.get(pk=job.pk))
        task_done = re.compile(rf"Task tokenscope\.run_job\[{job.id}\] succeeded in ([0-9.]+)s")
        wait_for(lambda: task_done.search(worker.log()) is not None, 30, "task ended", worker)
        match = task_done.search(worker.log())
        assert match is not None and float(match.group(1)) < 8.0, match
        assert f"Job {job.id} was cancelled" in worker.log()
        assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    finally:
        worker.stop()


@pytest.mark.usefixtures("step_kinds")
def test_a_live_worker_in_a_long_silent_step_is_not_reaped(embedded_redis: str, tmp_path: Path) -> None:
    """Catches a heartbeat that does not beat often enough for the configured timeout: with a 2 s timeout, a step
    that reports nothing for 6 s must keep the job running (the heartbeat thread), and the job must succeed."""
    env = {"JOB_HEARTBEAT_TIMEOUT_S": "2"}
    worker = start_worker(embedded_redis, tmp_path / "worker.log", extra_env=env, with_test_kinds=True)
    try:
        user = make_user("patient")
        team = make_team("Silent team", user)
        job = step_job(user, team, steps=2, step_s=0.05, silent_at=1, silent_s=6.0)
        wait_for(lambda: Job.objects.get(pk=job.pk).progress >= 0.5, 60, "first step done", worker)
        silent_since = time.monotonic()
        beats = set()
        with override_settings(JOB_HEARTBEAT_TIMEOUT_S=2):
            while job_status(str(job.pk)) == JobStatus.RUNNING:
                assert services.job_reap_stale() == 0, "a live job was reaped"  # what every API read does
                beats.add(Job.objects.get(pk=job.pk).heartbeat_at)
                time.sleep(0.2)
        stored = Job.objects.get(pk=job.pk)
        assert stored.status == JobStatus.SUCCEEDED, stored.error
        assert time.monotonic() - silent_since >= 5.0  # the silent step really outlasted the timeout
        assert len(beats) >= 4, beats  # the heartbeat thread, not a progress report, kept it alive
    finally:
        worker.stop()


def test_a_starting_worker_fails_jobs_abandoned_by_a_dead_worker(embedded_redis: str, tmp_path: Path) -> None:
    """Catches a worker start that leaves jobs 'running' forever after their worker died without a trace, or that
    fails jobs whose worker is still alive."""
    user = make_user("orphan-owner")
    team = make_team("Orphan team", user)
    abandoned = job_create(team=team, owner=user, kind="tokenize", params={}, dispatch=False)
    alive = job_create(team=team, owner=user, kind="tokenize", params={}, dispatch=False)
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=abandoned.pk).update(status=JobStatus.RUNNING, heartbeat_at=long_ago, worker="gone@host")
    Job.objects.filter(pk=alive.pk).update(status=JobStatus.RUNNING, heartbeat_at=timezone.now(), worker="other@host")
    worker = start_worker(embedded_redis, tmp_path / "worker.log")  # returns once the worker is ready
    try:
        wait_for(lambda: job_status(str(abandoned.pk)) == JobStatus.FAILED, 10, "abandoned job reaped", worker)
        assert "stopped responding" in Job.objects.get(pk=abandoned.pk).error
        assert "Marked 1 abandoned job(s) as failed" in worker.log()
        assert job_status(str(alive.pk)) == JobStatus.RUNNING
    finally:
        worker.stop()
