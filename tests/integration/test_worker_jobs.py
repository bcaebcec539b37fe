"""Queued jobs on a real Celery worker with a real Redis: progress over the websocket, cancel, dead workers, limits."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, wait_for
from tests.factories import make_team, make_user, token_client

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
def test_queued_job_streams_progress_and_matches_the_inline_result(celery_worker: ManagedProcess) -> None:
    user = make_user("worker-user")
    team = make_team("Worker team", user)
    client = token_client(user, team)
    text = PARAGRAPH * 40
    job = submit(client, text, ["tiktoken:cl100k_base", "builtin:bytes"])
    assert job["status"] in ("queued", "running", "succeeded")

    async def follow() -> list[dict[str, Any]]:
        from webapp.asgi import application

        communicator = WebsocketCommunicator(
            application, f"/ws/jobs/{job['id']}/", headers=[(b"origin", b"http://localhost")]
        )
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        events = [await communicator.receive_json_from(timeout=10)]
        while events[-1]["type"] not in ("job.finished", "job.failed") and not (
            events[-1]["type"] == "job.snapshot" and events[-1]["job"]["status"] in ("succeeded", "failed")
        ):
            events.append(await communicator.receive_json_from(timeout=60))
        await communicator.disconnect()
        return events

    # A fresh thread owns its own event loop (another test's browser may hold this thread's loop).
    with ThreadPoolExecutor(max_workers=1) as pool:
        events = pool.submit(asyncio.run, follow()).result()
    assert events[0]["type"] == "job.snapshot"
    final = events[-1]["job"]
    assert final["status"] == "succeeded", events[-1]

    stored = client.get(f"/api/v1/jobs/{job['id']}/").json()
    assert stored["status"] == "succeeded"
    with override_settings(TOKENIZE_SYNC_MAX_BYTES=10_000_000):
        inline = client.post(
            "/api/v1/tokenize/", {"text": text, "tokenizers": ["tiktoken:cl100k_base", "builtin:bytes"]}, format="json"
        ).json()
    for queued_result, inline_result in zip(stored["result"]["results"], inline["result"]["results"], strict=True):
        assert [t["id"] for t in queued_result["tokens"]] == [t["id"] for t in inline_result["tokens"]]
        assert queued_result["stats"]["tokens"] == inline_result["stats"]["tokens"]


@SMALL_SYNC_LIMIT
def test_cancel_a_running_job_and_the_worker_stays_healthy(celery_worker: ManagedProcess) -> None:
    user = make_user("canceller")
    client = token_client(user, make_team("Cancel team", user))
    big = PARAGRAPH * 120_000  # about 10 MB
    job = submit(client, big, ["tiktoken:cl100k_base", "tiktoken:o200k_base", "builtin:chars"])
    wait_for(lambda: job_status(job["id"]) == JobStatus.RUNNING, 60, "job running", celery_worker)
    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 409
    time.sleep(2)
    assert job_status(job["id"]) == JobStatus.CANCELLED

    follow_up = submit(client, PARAGRAPH * 30, ["builtin:bytes"])
    wait_for(lambda: job_status(follow_up["id"]) == JobStatus.SUCCEEDED, 60, "next job succeeds", celery_worker)


@SMALL_SYNC_LIMIT
def test_a_job_whose_worker_is_killed_ends_failed(celery_worker: ManagedProcess) -> None:
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
def test_time_limit_fails_the_job_with_a_message(embedded_redis: str, tmp_path: Any) -> None:
    import sys

    from tests.conftest import subprocess_env
    from webapp.devstack import worker_command

    env = {**subprocess_env(embedded_redis), "JOB_TIME_LIMITS": "tokenize=1"}
    worker = ManagedProcess([sys.executable, *worker_command(concurrency=1)[1:]], env, tmp_path / "worker.log")
    try:
        wait_for(lambda: "ready." in worker.log(), 60, "worker ready", worker)
        user = make_user("slowpoke")
        client = token_client(user, make_team("Slow team", user))
        job = submit(client, PARAGRAPH * 300_000, ["tiktoken:cl100k_base", "tiktoken:o200k_base", "builtin:chars"])
        wait_for(lambda: job_status(job["id"]) == JobStatus.FAILED, 90, "job failed by its time limit", worker)
        assert "exceeded its time limit of 1 s" in Job.objects.get(pk=job["id"]).error
        follow_up = submit(client, PARAGRAPH * 30, ["builtin:bytes"])
        wait_for(lambda: job_status(follow_up["id"]) == JobStatus.SUCCEEDED, 60, "worker still serves jobs", worker)
    finally:
        worker.stop()
