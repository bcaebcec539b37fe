"""Partial results kept for late subscribers: sequence numbers, the Redis backlog, and the consumer's replay and
de-duplication, against the real ASGI application and a real Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from apps.core.fast_json import dumps
from apps.jobs import events, services
from apps.jobs.models import Job
from tests.factories import make_team, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_redis")]


def running_job(username: str) -> Job:
    user = make_user(username)
    job = services.job_create(
        team=make_team(f"team-{username}", user), owner=user, kind="speculative", params={}, dispatch=False
    )
    services.job_mark_running(job_id=str(job.id), worker="w")
    return job


def report(job: Job, n: int) -> None:
    assert services.job_report_progress(job_id=job.id, progress=n / 100, message=f"batch {n}", partial={"batch": n})


def backlog(job: Job) -> list[dict[str, Any]]:
    return async_to_sync(events.job_stream_backlog)(job.id)


def channel_layer_redis(embedded_redis: str) -> redis.Redis:
    return redis.Redis.from_url(embedded_redis.rsplit("/", 1)[0] + "/2")  # the channel layer's database


async def follow(job: Job) -> WebsocketCommunicator:
    from webapp.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/jobs/{job.id}/", headers=[(b"origin", b"http://localhost")])
    communicator.scope["user"] = job.owner
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def partials(communicator: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    """The next ``count`` job.partial events (progress events in between are skipped)."""
    received: list[dict[str, Any]] = []
    while len(received) < count:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "job.partial":
            received.append(message)
    return received


def test_partials_are_numbered_and_kept_in_order_until_the_job_finishes(embedded_redis: str) -> None:
    job = running_job("backlog-order")
    for n in range(1, 4):
        report(job, n)
    kept = backlog(job)
    assert [e["seq"] for e in kept] == [1, 2, 3]
    assert kept[0] == {"seq": 1, "type": "job.partial", "job_id": str(job.id), "partial": {"batch": 1}}
    client = channel_layer_redis(embedded_redis)
    seq_key, list_key = events.job_stream_keys(job.id)
    assert 3500 < client.ttl(list_key) <= 2 * 3600 and client.ttl(seq_key) > 3500

    services.job_succeed(job_id=job.id, result={"ok": True})
    assert 0 < client.ttl(list_key) <= 60 and 0 < client.ttl(seq_key) <= 60  # the result is the truth now


@override_settings(JOB_STREAM_BACKLOG_MAX_EVENTS=3)
def test_the_backlog_is_capped_and_keeps_the_latest() -> None:
    job = running_job("backlog-cap")
    for n in range(1, 6):
        report(job, n)
    assert [e["seq"] for e in backlog(job)] == [3, 4, 5]


def test_a_cancelled_job_reports_nothing_more() -> None:
    job = running_job("backlog-cancel")
    report(job, 1)
    services.job_cancel(job=Job.objects.get(pk=job.id))
    assert not services.job_report_progress(job_id=job.id, progress=0.5, partial={"batch": 2})
    assert [e["seq"] for e in backlog(job)] == [1]


async def test_a_late_subscriber_gets_the_snapshot_then_every_partial_once_in_order() -> None:
    job = await sync_to_async(running_job)("late-viewer")
    for n in range(1, 4):
        await sync_to_async(report)(job, n)
    early_joiner_missed = [1, 2, 3]

    communicator = await follow(job)
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "job.snapshot" and snapshot["job"]["status"] == "running"
    replay = [await communicator.receive_json_from(timeout=5) for _ in early_joiner_missed]
    assert [(e["type"], e["seq"], e["partial"]) for e in replay] == [
        ("job.partial", n, {"batch": n}) for n in early_joiner_missed
    ]

    for n in range(4, 6):
        await sync_to_async(report)(job, n)
    live = await partials(communicator, 2)
    assert [(e["seq"], e["partial"]) for e in live] == [(4, {"batch": 4}), (5, {"batch": 5})]
    await communicator.disconnect()


async def test_a_partial_both_in_the_backlog_and_pushed_live_is_sent_once() -> None:
    """The race the ordering allows: appended before the subscriber read the backlog, pushed after it subscribed."""
    job = await sync_to_async(running_job)("race-viewer")
    layer = get_channel_layer()
    assert layer is not None
    client = events._redis(layer, job.id)
    assert client is not None
    pushed_late: list[dict[str, Any]] = []
    for n in (1, 2):
        event = {"type": "job.partial", "job_id": str(job.id), "partial": {"batch": n}}
        seq = await client.eval(events._APPEND_SCRIPT, 2, *events.job_stream_keys(job.id), dumps(event), 100, 60)
        pushed_late.append({**event, "seq": int(seq)})

    communicator = await follow(job)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "job.snapshot"
    assert [e["seq"] for e in [await communicator.receive_json_from(timeout=5) for _ in range(2)]] == [1, 2]
    for payload in pushed_late:  # the pushes of the two appends arrive now: both are repeats
        await layer.group_send(events.job_group(job.id), {"type": "job.event", "payload": payload})
    await sync_to_async(report)(job, 3)
    assert [e["seq"] for e in await partials(communicator, 1)] == [3]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_finished_job_gets_its_snapshot_and_no_replay() -> None:
    job = await sync_to_async(running_job)("finished-viewer")
    await sync_to_async(report)(job, 1)
    await sync_to_async(services.job_succeed)(job_id=job.id, result={"ok": True})
    communicator = await follow(job)
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "job.snapshot" and snapshot["job"]["status"] == "succeeded"
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_partials_without_a_seq_are_forwarded_as_they_come() -> None:
    job = await sync_to_async(running_job)("no-seq-viewer")
    communicator = await follow(job)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "job.snapshot"
    layer = get_channel_layer()
    assert layer is not None
    payload = {"type": "job.partial", "job_id": str(job.id), "partial": {"batch": 0}}
    for _ in range(2):
        await layer.group_send(events.job_group(job.id), {"type": "job.event", "payload": payload})
    assert await partials(communicator, 2) == [payload, payload]
    await communicator.disconnect()
