"""A viewer who opens a running speculative job mid-run (a reload, the permalink, a teammate) sees it from its start:
the real worker streams steps through the real Redis, the real ASGI server replays what was streamed before the
viewer connected, then forwards the rest, every step once and in order."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.sync.client import connect
from websockets.typing import Origin

from apps.accounts.services import api_token_create
from apps.jobs.events import job_stream_keys
from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, start_web, wait_for
from tests.factories import make_team, make_user, token_client

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web(embedded_redis: str, tmp_path: Path) -> Iterator[str]:
    server, url = start_web(embedded_redis, tmp_path)
    yield url.replace("http://", "ws://")
    server.stop()


def follow(url: str, key: str) -> list[dict[str, Any]]:
    """Every message until the job ends (a final event, or a snapshot of a finished job)."""
    received: list[dict[str, Any]] = []
    headers = {"Authorization": f"Token {key}"}
    with connect(url, origin=Origin("http://127.0.0.1"), additional_headers=headers, max_size=None) as socket:
        while True:
            message = json.loads(socket.recv(timeout=300))
            received.append(message)
            if message["type"] in ("job.finished", "job.failed", "job.cancelled") or (
                message["type"] == "job.snapshot" and message["job"]["status"] in ("succeeded", "failed", "cancelled")
            ):
                return received


def steps_by_phase(partials: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    phases: dict[str, list[dict[str, Any]]] = {}
    for event in partials:
        phases.setdefault(event["partial"]["phase"], []).extend(event["partial"]["steps"])
    return phases


def test_a_viewer_joining_mid_run_gets_every_step_once_in_order(
    celery_worker: ManagedProcess, web: str, embedded_redis: str
) -> None:
    user = make_user("late-viewer")
    client = token_client(user, make_team("Late team", user))
    _, key = api_token_create(user=user, name="ws")
    response = client.post(
        "/api/v1/speculative/",
        {
            "target": "smollm2-135m-instruct",
            "drafter": {"kind": "prompt_lookup"},
            "prompt": "Write a short story about a lighthouse keeper who finds a message in a bottle.",
            "chat_template": True,
            "max_new_tokens": 64,
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    url = f"{web}/ws/jobs/{job_id}/"

    # The first viewer is there before the worker starts; the second joins once a few batches were streamed.
    early: list[dict[str, Any]] = []
    first_viewer = threading.Thread(target=lambda: early.extend(follow(url, key)), daemon=True)
    first_viewer.start()
    backlog = redis.Redis.from_url(embedded_redis.rsplit("/", 1)[0] + "/2")
    wait_for(lambda: backlog.llen(job_stream_keys(job_id)[1]) >= 2, 300, "two batches streamed", celery_worker)
    late = follow(url, key)
    first_viewer.join(timeout=300)

    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    snapshot = late[0]
    assert snapshot["type"] == "job.snapshot"
    assert snapshot["job"]["status"] == "running", "the job finished before the second viewer joined: nothing tested"
    # The replay comes right after the snapshot: the batches streamed before the viewer connected, from the first.
    assert [e.get("seq") for e in late[1:3]] == [1, 2], [e["type"] for e in late[:5]]

    late_partials = [e for e in late if e["type"] == "job.partial"]
    early_partials = [e for e in early if e["type"] == "job.partial"]
    assert early[0]["type"] == "job.snapshot" and early[-1]["type"] == "job.finished"
    assert [e["seq"] for e in late_partials] == list(range(1, len(late_partials) + 1))  # once each, in order
    assert [e["seq"] for e in early_partials] == [e["seq"] for e in late_partials]
    assert [e["partial"] for e in late_partials] == [e["partial"] for e in early_partials]

    result = job.result or {}
    phases = steps_by_phase(late_partials)
    assert set(phases) == {"speculative", "baseline"}
    for steps in phases.values():
        assert [s["index"] for s in steps] == list(range(len(steps)))
    streamed = phases["speculative"]
    assert len(streamed) == len(result["trace"]["steps"])
    assert [t for s in streamed for t in s["emitted"]] == result["output_ids"]
    assert [t for s in phases["baseline"] for t in s["emitted"]] == result["baseline"]["output_ids"]
