"""Faults a hosted instance lives through, injected into real processes: Redis restarted while a job runs, and a web
process killed in the middle of a request. (A worker killed mid-job, a live worker in a long silent step and the
reaping at worker start are in test_worker_jobs.py.)"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from apps.accounts.services import api_token_create
from apps.jobs.models import Job, JobStatus
from tests.conftest import start_web, start_worker, wait_for
from tests.factories import make_team, make_user
from tests.integration.conftest import receive_until_final, step_job, ws_connect
from webapp.embedded_redis import EmbeddedRedis

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PARAGRAPH = "Tokenizers split text into pieces; 12345 apples cost $6.78 — naïve café 東京 🙂.\n"


def _partials(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "job.partial"]


@pytest.mark.usefixtures("step_kinds")
def test_redis_restart_while_a_job_runs_loses_no_job_and_subscribers_resume(
    embedded_redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    """Catches a broker or channel-layer restart that loses a queued job, leaves the worker or the web process
    disconnected for good, or leaves a browser on a silent connection: the running job finishes, the job queued behind
    it runs, a job submitted over HTTP afterwards runs, and a browser that reconnects gets the snapshot, the steps
    kept from before the restart, and every event after it."""
    redis_url = embedded_redis_server.url
    web, web_url = start_web(redis_url, tmp_path, extra_env={"TOKENIZE_SYNC_MAX_BYTES": "1000"})
    # Two pool processes, as `make run` has: one is free when the broker hands a running job's message back.
    worker = start_worker(redis_url, tmp_path / "worker.log", with_test_kinds=True, concurrency=2)
    try:
        user = make_user("restart-survivor")
        team = make_team("Restart team", user)
        running = step_job(user, team, steps=40, step_s=0.25)  # 10 s in all
        beside = step_job(user, team, steps=40, step_s=0.25)
        wait_for(lambda: Job.objects.filter(status=JobStatus.RUNNING).count() == 2, 60, "both running", worker)
        queued = step_job(user, team, steps=2, step_s=0.05)  # waits in Redis: both pool processes are busy

        with ws_connect(web_url, running.id, user) as socket:
            before = [json.loads(socket.recv(timeout=60))]
            while not (before[-1]["type"] == "job.partial" and before[-1]["partial"]["step"] >= 4):
                before.append(json.loads(socket.recv(timeout=60)))
            embedded_redis_server.stop()  # SIGTERM: Redis writes its append-only file and exits
            embedded_redis_server.start()
            # The old connection must not go silent: it either closes (the browser then reconnects) or goes on.
            try:
                while True:
                    event = json.loads(socket.recv(timeout=15))
                    if event["type"] == "job.partial" and event["partial"]["step"] > 5:
                        break
            except ConnectionClosed:
                pass

        with ws_connect(web_url, running.id, user) as socket:
            after = receive_until_final(socket)
        assert after[0]["type"] == "job.snapshot", after[0]
        assert after[0]["job"]["status"] == "running", "the job ended before the reconnect: nothing was tested"
        assert after[0]["job"]["progress"] >= before[-1]["partial"]["step"] / 40  # the row kept the progress
        assert after[-1]["type"] == "job.finished" and after[-1]["job"]["status"] == "succeeded", after[-1]
        partials = _partials(after)
        # The backlog survived the restart (seq 1 on), each partial once and in order, up to the last step. Steps
        # reported while Redis was down are missing from the live view only; the stored result is the truth.
        assert [p["seq"] for p in partials] == list(range(1, len(partials) + 1))
        steps = [p["partial"]["step"] for p in partials]
        assert steps == sorted(set(steps)) and steps[:4] == [1, 2, 3, 4] and steps[-1] == 40, steps
        assert steps[:4] == [p["partial"]["step"] for p in _partials(before)][:4]

        wait_for(lambda: Job.objects.get(pk=queued.pk).status == JobStatus.SUCCEEDED, 60, "queued job ran", worker)
        wait_for(lambda: Job.objects.get(pk=beside.pk).is_finished, 60, "the other job ended", worker)
        for job in (running, beside):  # neither was failed as a redelivery of a dead worker's job
            stored = Job.objects.get(pk=job.pk)
            assert stored.status == JobStatus.SUCCEEDED and (stored.result or {}).get("steps") == 40, stored.error
        _, key = api_token_create(user=user, name="after-restart")
        created = _post_json(
            f"{web_url}/api/v1/tokenize/",
            {"text": PARAGRAPH * 50, "tokenizers": ["builtin:bytes"]},
            {"Authorization": f"Token {key}", "X-Team": team.slug},
        )
        assert created["status"] == "queued", created  # the web process dispatched it through the restarted broker
        wait_for(lambda: Job.objects.get(pk=created["id"]).status == JobStatus.SUCCEEDED, 60, "new job ran", worker)
    finally:
        worker.stop()
        web.stop()


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float = 60) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return dict(json.loads(response.read()))
