"""The websocket consumer through the real ASGI application: real sign-in (session cookie from the login endpoint, or
an API token in the ``Authorization`` header), the real origin check and routing, a real Redis channel layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from apps.accounts.services import api_token_create, api_token_revoke
from apps.jobs import services
from apps.jobs.models import Job
from tests.factories import PASSWORD, make_team, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_redis")]

SAME_ORIGIN = (b"origin", b"http://localhost")


def app() -> Any:
    from webapp.asgi import application

    return application


@sync_to_async
def make_job(username: str) -> Job:
    user = make_user(username)
    return services.job_create(
        team=make_team(f"team-{username}", user), owner=user, kind="tokenize", params={}, dispatch=False
    )


@sync_to_async
def session_cookie(username: str) -> tuple[bytes, bytes]:
    """Sign in through the real login endpoint and return the browser's Cookie header."""
    client = Client()
    assert client.post("/api/v1/auth/login/", {"username": username, "password": PASSWORD}).status_code == 200
    return b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()


@sync_to_async
def token_header(username: str) -> tuple[bytes, bytes]:
    from django.contrib.auth import get_user_model

    _, key = api_token_create(user=get_user_model().objects.get(username=username), name="ws test")
    return b"authorization", f"Token {key}".encode()


def communicator(path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(app(), path, headers=list(headers))


async def refusal(socket: WebsocketCommunicator) -> tuple[str, int, str]:
    """The error frame's message, then the close code and reason."""
    connected, _ = await socket.connect(timeout=5)
    assert connected, "a refusal must come after the handshake, not as a bare HTTP 403"
    message = (await socket.receive_json_from(timeout=5))["message"]
    closed = await socket.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    return message, closed["code"], closed.get("reason", "")


async def test_snapshot_on_connect_then_events_with_a_session_cookie() -> None:
    """Catches: a browser signed in with its session cookie not getting the snapshot and the job's events."""
    job = await make_job("ws-owner")
    socket = communicator(f"/ws/jobs/{job.id}/", SAME_ORIGIN, await session_cookie("ws-owner"))
    connected, _ = await socket.connect()
    assert connected
    snapshot = await socket.receive_json_from(timeout=5)
    assert snapshot["type"] == "job.snapshot" and snapshot["job"]["status"] == "queued"

    await sync_to_async(services.job_mark_running)(job_id=str(job.id), worker="w")
    started = await socket.receive_json_from(timeout=5)
    assert started == {"type": "job.progress", "job_id": str(job.id), "progress": 0.0, "message": "started"}

    await sync_to_async(services.job_succeed)(job_id=job.id, result={"ok": True})
    finished = await socket.receive_json_from(timeout=5)
    assert finished["type"] == "job.finished" and finished["job"]["status"] == "succeeded"
    assert finished["job"]["result_available"] is True and "result" not in finished["job"]  # fetched over HTTP

    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
    await socket.send_to(text_data="{not json")
    assert "JSON" in (await socket.receive_json_from(timeout=5))["message"]
    await socket.send_json_to({"type": "subscribe", "job": "other"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "error"
    await socket.disconnect()


async def test_script_with_a_token_header_and_no_origin_gets_the_snapshot() -> None:
    """Catches: scripts (no Origin header) locked out of the documented route, or the token header ignored."""
    job = await make_job("ws-script")
    socket = communicator(f"/ws/jobs/{job.id}/", await token_header("ws-script"))
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["job"]["id"] == str(job.id)
    await socket.disconnect()


async def test_other_teams_job_is_refused_without_confirming_it_exists() -> None:
    """Catches: a websocket that streams another team's job, or answers differently for existing ids."""
    job = await make_job("ws-victim")
    await sync_to_async(make_user)("ws-intruder")
    socket = communicator(f"/ws/jobs/{job.id}/", await token_header("ws-intruder"))
    assert await refusal(socket) == ("No such job in your teams.", 4404, "No such job in your teams.")


async def test_anonymous_is_refused_with_4401_and_how_to_sign_in() -> None:
    """Catches: an anonymous socket let through, or refused without saying how to authenticate."""
    job = await make_job("ws-anon")
    message, code, reason = await refusal(communicator(f"/ws/jobs/{job.id}/", SAME_ORIGIN))
    assert code == 4401 and "Authorization: Token" in message and reason == message


async def test_a_key_in_the_query_string_is_not_a_credential() -> None:
    """Catches: the old ``?token=<key>`` route still working (the key then lands in every URL log)."""
    job = await make_job("ws-query")
    assert job.owner is not None
    _, key = await sync_to_async(api_token_create)(user=job.owner, name="query")
    _, code, _ = await refusal(communicator(f"/ws/jobs/{job.id}/?token={key}"))
    assert code == 4401


async def test_a_wrong_or_revoked_token_is_refused_even_next_to_a_valid_cookie() -> None:
    """Catches: a rejected token header silently falling back to the cookie, or a revoked key still working."""
    job = await make_job("ws-revoked")
    cookie = await session_cookie("ws-revoked")
    message, code, _ = await refusal(
        communicator(f"/ws/jobs/{job.id}/", SAME_ORIGIN, cookie, (b"authorization", b"Token tks_wrong"))
    )
    assert (message, code) == ("This API token is unknown or was revoked.", 4401)
    assert job.owner is not None

    token, key = await sync_to_async(api_token_create)(user=job.owner, name="soon revoked")
    await sync_to_async(api_token_revoke)(user=job.owner, token_id=token.id)
    _, code, _ = await refusal(communicator(f"/ws/jobs/{job.id}/", (b"authorization", f"Token {key}".encode())))
    assert code == 4401
    _, code, _ = await refusal(communicator(f"/ws/jobs/{job.id}/", (b"authorization", f"Bearer {key}".encode())))
    assert code == 4401


async def test_a_foreign_origin_is_refused_with_a_reason_even_with_a_valid_cookie() -> None:
    """Catches: cross-site websocket hijacking (another site's page riding the visitor's cookie)."""
    job = await make_job("ws-csrf")
    cookie = await session_cookie("ws-csrf")
    message, code, reason = await refusal(
        communicator(f"/ws/jobs/{job.id}/", (b"origin", b"https://evil.example"), cookie)
    )
    assert code == 4403 and "origin" in message and reason


@pytest.mark.parametrize("path", ["/ws/jobs/not-a-uuid/", "/ws/jobs/", "/ws/nothing/", "/ws/jobs/a/b/", "/"])
async def test_malformed_ids_and_unknown_paths_get_4404_with_a_reason(path: str) -> None:
    """Catches: a 500 at the handshake (no route, or a UUID parse error) instead of a clean refusal."""
    await make_job("ws-paths")
    _, code, reason = await refusal(communicator(path, await token_header("ws-paths")))
    assert code == 4404 and reason


async def test_deeply_nested_or_oversized_frames_get_an_error_frame_and_the_socket_lives_on() -> None:
    """Catches: an uncaught RecursionError on 100,000 nested brackets, which dropped the connection with no code."""
    job = await make_job("ws-nested")
    socket = communicator(f"/ws/jobs/{job.id}/", await token_header("ws-nested"))
    await socket.connect()
    await socket.receive_json_from(timeout=5)  # the snapshot
    await socket.send_to(text_data="[" * 100_000 + "]" * 100_000)
    assert "at most" in (await socket.receive_json_from(timeout=5))["message"]
    await socket.send_to(text_data="[" * 1000)  # under the size cap, deeper than the JSON parser's recursion limit
    assert "JSON" in (await socket.receive_json_from(timeout=5))["message"]
    await socket.send_to(bytes_data=b"\x00\x01")
    assert "JSON" in (await socket.receive_json_from(timeout=5))["message"]
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
    await socket.disconnect()
