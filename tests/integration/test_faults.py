"""Faults a hosted instance lives through, injected into real processes: Redis restarted while a job runs, and a web
process killed in the middle of a request. (A worker killed mid-job, a live worker in a long silent step and the
reaping at worker start are in test_worker_jobs.py.)"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import override_settings
from websockets.exceptions import ConnectionClosed

from apps.accounts.services import api_token_create
from apps.jobs import services
from apps.jobs.models import Job, JobStatus
from apps.uploads.models import Upload
from tests.conftest import ManagedProcess, start_web, start_worker, wait_for
from tests.factories import make_team, make_user, token_client
from tests.integration.conftest import receive_until_final, step_job, ws_connect
from webapp.embedded_redis import EmbeddedRedis, free_port

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


def _kill_tree(process: ManagedProcess) -> None:
    """SIGKILL the server and any children it forked, as an out-of-memory kill or a lost machine would."""
    import psutil

    parent = psutil.Process(process.process.pid)
    for child in parent.children(recursive=True):
        child.kill()
    parent.kill()
    process.stop()


def _queued_task_ids(redis_url: str, queue: str = "cpu") -> set[str]:
    """The ids of the Celery messages waiting in a queue of the broker (no worker runs in the test below)."""
    broker = redis.Redis.from_url(redis_url)
    return {json.loads(raw)["headers"]["id"] for raw in broker.lrange(queue, 0, -1)}


def test_a_web_process_killed_mid_request_leaves_no_half_saved_row_and_the_next_one_serves(
    embedded_redis: str, tmp_path: Path
) -> None:
    """Catches a request whose writes are not all-or-nothing (an upload stored without its job, a job stored but never
    queued) and a restart that cannot serve (the port, the database or Redis left in a bad state): requests that store
    an upload and queue a job are killed at points spread over their run, then the next process on the same port
    serves. (The kill points are spread, not aimed: a gap between two writes is caught when a kill lands in it; one
    landed between storing a job and queueing it, which left the job 'queued' forever before the reaper failed such
    jobs.)"""
    env = {"TOKENIZE_SYNC_MAX_BYTES": "1000"}
    port = free_port()
    user = make_user("interrupted")
    team = make_team("Interrupted team", user)
    _, key = api_token_create(user=user, name="kill")
    headers = {"Authorization": f"Token {key}", "X-Team": team.slug}

    def body(attempt: int) -> dict[str, Any]:  # distinct texts: uploads are de-duplicated by content
        return {"text": f"attempt {attempt}\n" + PARAGRAPH * 30_000, "tokenizers": ["builtin:bytes"]}

    (tmp_path / "web-0").mkdir()
    web, url = start_web(embedded_redis, tmp_path / "web-0", env, port=port)
    endpoint = f"{url}/api/v1/tokenize/"  # every process serves the same port
    started = time.monotonic()
    answered = [_post_json(endpoint, body(0), headers)["id"]]
    duration = time.monotonic() - started
    for attempt, fraction in enumerate((0.2, 0.5, 0.8, 0.95), start=1):
        outcome: dict[str, Any] = {}

        def send(attempt: int = attempt, outcome: dict[str, Any] = outcome) -> None:
            try:
                outcome["job"] = _post_json(endpoint, body(attempt), headers)
            except (OSError, urllib.error.URLError) as exc:  # the server died under the request
                outcome["error"] = exc

        request = threading.Thread(target=send)
        request.start()
        time.sleep(duration * fraction)
        _kill_tree(web)
        request.join(timeout=60)
        if "job" in outcome:
            answered.append(outcome["job"]["id"])  # it finished before the kill: it must be complete
        (tmp_path / f"web-{attempt}").mkdir()
        web, _ = start_web(embedded_redis, tmp_path / f"web-{attempt}", env, port=port)  # the next process

        for upload in Upload.objects.filter(team=team):
            assert Job.objects.filter(input_upload=upload).exists(), f"upload {upload.pk} stored without its job"
            assert upload.file.name and upload.file.storage.exists(upload.file.name), f"upload {upload.pk}: no file"
        with override_settings(JOB_DISPATCH_GRACE_S=0):  # what any read of the jobs does once the grace is over
            services.job_reap_stale()
        queued = _queued_task_ids(embedded_redis)
        for job in Job.objects.filter(team=team):  # queued for a worker, or failed with a message: never in limbo
            never_sent = job.status == JobStatus.FAILED and "never started" in job.error
            assert str(job.pk) in queued or never_sent, f"job {job.pk} ({job.status}) was stored but never queued"
    try:
        assert set(answered) <= {str(pk) for pk in Job.objects.filter(team=team).values_list("pk", flat=True)}
        after = _post_json(endpoint, body(99), headers)  # the last process serves writes too
        assert after["status"] == "queued" and str(after["id"]) in _queued_task_ids(embedded_redis)
    finally:
        web.stop()


@override_settings(TOKENIZE_SYNC_MAX_BYTES=1000)
def test_a_job_submitted_while_redis_is_down_is_refused_not_lost(embedded_redis_server: EmbeddedRedis) -> None:
    """Catches a job stored as 'queued' while the broker is down: no worker would ever see it, and nothing would
    ever fail it (the reaper only looks at running jobs). The caller gets a 503 that says to retry, the row says why
    it never started, and once Redis is back the same request is queued."""
    user = make_user("outage")
    team = make_team("Outage team", user)
    client = token_client(user, team)
    body = {"text": PARAGRAPH * 50, "tokenizers": ["builtin:bytes"]}
    embedded_redis_server.stop()
    try:
        refused = client.post("/api/v1/tokenize/", body, format="json")
    finally:
        embedded_redis_server.start()
    assert refused.status_code == 503, refused.content
    assert "Try again" in refused.json()["message"]
    stored = Job.objects.get(team=team)
    assert stored.status == JobStatus.FAILED and "never started" in stored.error
    accepted = client.post("/api/v1/tokenize/", body, format="json")
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["id"] in _queued_task_ids(embedded_redis_server.url)
