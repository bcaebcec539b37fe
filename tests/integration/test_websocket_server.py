"""The websocket as a script sees it: a real client and the real server process (``web_command``), API-token
authentication in the ``Authorization`` header, refusals with close codes and reasons, nothing secret in the log."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from apps.accounts.services import api_token_create
from apps.jobs.models import Job
from apps.jobs.services import job_create
from tests.conftest import ManagedProcess, start_web
from tests.factories import PASSWORD, make_team, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(embedded_redis: str, tmp_path: Path) -> Iterator[tuple[ManagedProcess, str]]:
    process, url = start_web(embedded_redis, tmp_path)
    yield process, url.replace("http://", "ws://")
    process.stop()


@pytest.fixture
def web(server: tuple[ManagedProcess, str]) -> str:
    return server[1]


def job_and_key(username: str) -> tuple[Job, str]:
    user = make_user(username)
    job = job_create(team=make_team(f"team {username}", user), owner=user, kind="tokenize", params={}, dispatch=False)
    _, key = api_token_create(user=user, name="ws")
    return job, key


def closed_with(socket: ClientConnection) -> tuple[str, Close]:
    """The error frame's message, then the close frame the server sent."""
    message = json.loads(socket.recv(timeout=10))["message"]
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    return message, closed.value.rcvd


def test_script_with_a_token_header_and_no_origin_gets_the_snapshot(web: str) -> None:
    """Catches: a script (no Origin header) refused on the documented route, or the token header not accepted."""
    job, key = job_and_key("ws-script")
    with connect(f"{web}/ws/jobs/{job.id}/", additional_headers={"Authorization": f"Token {key}"}) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
        assert snapshot["type"] == "job.snapshot" and snapshot["job"]["id"] == str(job.id)
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=10)) == {"type": "pong"}


def test_browser_with_its_session_cookie_and_same_origin_gets_the_snapshot(web: str) -> None:
    """Catches: the browser's route (cookie from the login endpoint, its own Origin) refused by the new checks."""
    job, _ = job_and_key("ws-browser")
    http = web.replace("ws://", "http://")
    login = urllib.request.Request(
        f"{http}/api/v1/auth/login/",
        data=json.dumps({"username": "ws-browser", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as response:
        cookies = SimpleCookie("; ".join(response.headers.get_all("Set-Cookie")))
    cookie = f"sessionid={cookies['sessionid'].value}"
    with connect(f"{web}/ws/jobs/{job.id}/", origin=Origin(http), additional_headers={"Cookie": cookie}) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
    assert snapshot["type"] == "job.snapshot" and snapshot["job"]["id"] == str(job.id)


def test_wrong_token_is_closed_with_4401_and_a_reason(web: str) -> None:
    """Catches: a refused script getting a bare HTTP 403 (or a silent drop) instead of a code and a reason."""
    job, _ = job_and_key("ws-owner")
    with connect(f"{web}/ws/jobs/{job.id}/", additional_headers={"Authorization": "Token tks_wrong"}) as socket:
        message, close = closed_with(socket)
    assert close.code == 4401 and close.reason == message == "This API token is unknown or was revoked."


def test_a_foreign_origin_is_closed_with_4403_and_a_reason(web: str) -> None:
    """Catches: a cross-site page allowed to open the socket, or refused with a bare 403 that says nothing."""
    job, key = job_and_key("ws-origin")
    headers = {"Authorization": f"Token {key}"}
    with connect(f"{web}/ws/jobs/{job.id}/", origin=Origin("https://evil.example"), additional_headers=headers) as ws:
        _, close = closed_with(ws)
    assert close.code == 4403 and "origin" in close.reason


@pytest.mark.parametrize("path", ["/ws/jobs/not-a-uuid/", "/ws/unknown/", "/nothing"])
def test_malformed_job_ids_and_unknown_paths_are_refused_cleanly(server: tuple[ManagedProcess, str], path: str) -> None:
    """Catches: a 500 at the handshake (no route matched, or the id failed to parse) with a traceback in the log."""
    process, web = server
    _, key = job_and_key("ws-paths")
    with connect(f"{web}{path}", additional_headers={"Authorization": f"Token {key}"}) as socket:
        _, close = closed_with(socket)
    assert close.code == 4404 and close.reason
    assert "Traceback" not in process.log() and "500" not in process.log()


def test_100000_nested_brackets_get_a_close_code_not_a_crash(server: tuple[ManagedProcess, str]) -> None:
    """Catches: an uncaught RecursionError that dropped the connection with no close code."""
    process, web = server
    job, key = job_and_key("ws-nested")
    with connect(f"{web}/ws/jobs/{job.id}/", additional_headers={"Authorization": f"Token {key}"}) as socket:
        socket.recv(timeout=10)  # the snapshot
        socket.send("[" * 100_000 + "]" * 100_000)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big, before any parsing
    with connect(f"{web}/ws/jobs/{job.id}/", additional_headers={"Authorization": f"Token {key}"}) as socket:
        socket.recv(timeout=10)
        socket.send("[" * 1000)  # under the frame cap: parsed, too deep, answered
        assert "JSON" in json.loads(socket.recv(timeout=10))["message"]
    assert "RecursionError" not in process.log()


def test_no_key_in_a_url_reaches_the_server_log(server: tuple[ManagedProcess, str]) -> None:
    """Catches: an API key sent as ``?token=`` written in clear to the web log (uvicorn logs every handshake)."""
    process, web = server
    job, key = job_and_key("ws-log")
    with connect(f"{web}/ws/jobs/{job.id}/?token={key}") as socket:
        _, close = closed_with(socket)
    assert close.code == 4401  # the query string is not a credential
    with connect(f"{web}/ws/jobs/{job.id}/?x=1", additional_headers={"Authorization": f"Token {key}"}) as socket:
        socket.recv(timeout=10)
    log = process.log()
    assert f"/ws/jobs/{job.id}/?[query redacted]" in log  # the handshakes are logged, their query strings are not
    assert key not in log and key[len("tks_") :][:12] not in log


def test_tickets_and_keys_as_subprotocols_work_and_never_reach_the_log(embedded_redis: str, tmp_path: Path) -> None:
    """Catches: a ticket from the REST API that is refused, replayable, never expires, or opens another team's job
    on the real server; an API key as a subprotocol refused; or a ticket or key written to web.log, even at uvicorn's
    trace level, which logs every request header and ASGI scope."""
    process, http = start_web(
        embedded_redis, tmp_path, extra_env={"WS_TICKET_TTL_S": "3", "UVICORN_LOG_LEVEL": "trace"}
    )
    web = http.replace("http://", "ws://")
    job, key = job_and_key("ws-ticket")
    victim_job, _ = job_and_key("ws-ticket-victim")

    def new_ticket() -> str:
        request = urllib.request.Request(
            f"{http}/api/v1/ws-tickets/",
            data=b"{}",
            headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["ticket"])

    def offering(secret: str) -> list[Subprotocol]:
        return [Subprotocol("tokenscope"), Subprotocol(secret)]

    try:
        ticket, late, misused = new_ticket(), new_ticket(), new_ticket()
        with connect(f"{web}/ws/jobs/{job.id}/", subprotocols=offering(f"tokenscope.ticket.{ticket}")) as socket:
            assert socket.subprotocol == "tokenscope"
            assert json.loads(socket.recv(timeout=10))["job"]["id"] == str(job.id)
        with connect(f"{web}/ws/jobs/{job.id}/", subprotocols=offering(f"tokenscope.ticket.{ticket}")) as socket:
            message, close = closed_with(socket)
        assert close.code == 4401 and close.reason == message and "already used" in message
        with connect(f"{web}/ws/jobs/{victim_job.id}/", subprotocols=offering(f"tokenscope.ticket.{misused}")) as ws:
            _, close = closed_with(ws)
        assert close.code == 4404
        with connect(f"{web}/ws/jobs/{job.id}/", subprotocols=offering(f"tokenscope.token.{key}")) as socket:
            assert json.loads(socket.recv(timeout=10))["type"] == "job.snapshot"
        time.sleep(3.5)
        with connect(f"{web}/ws/jobs/{job.id}/", subprotocols=offering(f"tokenscope.ticket.{late}")) as socket:
            _, close = closed_with(socket)
        assert close.code == 4401
    finally:
        process.stop()
    log = process.log()
    assert "Started scope" in log and "< sec-websocket-protocol: [redacted]" in log  # trace on: headers were logged
    for secret in (ticket, late, misused, key):
        assert secret not in log and secret[4:][:12] not in log
