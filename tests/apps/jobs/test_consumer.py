"""The websocket consumer against the real ASGI application and a real Redis channel layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from apps.jobs import services
from apps.jobs.models import Job
from tests.factories import make_team, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_redis")]


def app() -> Any:
    from webapp.asgi import application

    return application


async def connect(job_id: object, user: object) -> WebsocketCommunicator:
    from apps.accounts.websocket_auth import WebsocketAuthMiddlewareStack  # noqa: F401 - the stack under test

    communicator = WebsocketCommunicator(app(), f"/ws/jobs/{job_id}/", headers=[(b"origin", b"http://localhost")])
    communicator.scope["user"] = user  # what the session middleware would have resolved
    return communicator


@sync_to_async
def make_job(username: str) -> Job:
    user = make_user(username)
    return services.job_create(
        team=make_team(f"team-{username}", user), owner=user, kind="tokenize", params={}, dispatch=False
    )


async def test_snapshot_on_connect_then_events() -> None:
    job = await make_job("ws-owner")
    communicator = await connect(job.id, job.owner)
    connected, _ = await communicator.connect()
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "job.snapshot" and snapshot["job"]["status"] == "queued"

    await sync_to_async(services.job_mark_running)(job_id=str(job.id), worker="w")
    started = await communicator.receive_json_from(timeout=5)
    assert started == {"type": "job.progress", "job_id": str(job.id), "progress": 0.0, "message": "started"}

    await sync_to_async(services.job_succeed)(job_id=job.id, result={"ok": True})
    finished = await communicator.receive_json_from(timeout=5)
    assert finished["type"] == "job.finished" and finished["job"]["status"] == "succeeded"
    assert finished["job"]["result_available"] is True and "result" not in finished["job"]  # fetched over HTTP

    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.send_to(text_data="{not json")
    assert "JSON" in (await communicator.receive_json_from(timeout=5))["message"]
    await communicator.send_json_to({"type": "subscribe", "job": "other"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.disconnect()


async def test_other_teams_job_is_refused_without_confirming_it_exists() -> None:
    job = await make_job("ws-victim")
    intruder = await sync_to_async(make_user)("ws-intruder")
    communicator = await connect(job.id, intruder)
    await communicator.connect()
    message = await communicator.receive_json_from(timeout=5)
    assert message == {"type": "error", "message": "No such job in your teams."}
    assert (await communicator.receive_output(timeout=5))["code"] == 4404


async def test_anonymous_is_refused() -> None:
    job = await make_job("ws-anon")
    communicator = await connect(job.id, AnonymousUser())
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    assert (await communicator.receive_output(timeout=5))["code"] == 4403
