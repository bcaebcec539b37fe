"""The websocket as a script sees it: a real client, the real server process, API-token authentication."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from apps.accounts.services import api_token_create
from apps.jobs.services import job_create
from tests.conftest import start_web
from tests.factories import make_team, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web(embedded_redis: str, tmp_path: Path) -> Iterator[str]:
    server, url = start_web(embedded_redis, tmp_path)
    yield url.replace("http://", "ws://")
    server.stop()


def test_token_authenticated_client_gets_the_snapshot(web: str) -> None:
    user = make_user("ws-script")
    job = job_create(team=make_team("WS team", user), owner=user, kind="tokenize", params={}, dispatch=False)
    _, key = api_token_create(user=user, name="ws")
    with connect(f"{web}/ws/jobs/{job.id}/?token={key}", origin=Origin("http://127.0.0.1")) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
        assert snapshot["type"] == "job.snapshot" and snapshot["job"]["id"] == str(job.id)
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=10)) == {"type": "pong"}


def test_wrong_token_is_closed_with_4403(web: str) -> None:
    user = make_user("ws-owner")
    job = job_create(team=make_team("WS team 2", user), owner=user, kind="tokenize", params={}, dispatch=False)
    with connect(f"{web}/ws/jobs/{job.id}/?token=tks_wrong", origin=Origin("http://127.0.0.1")) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "error"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
