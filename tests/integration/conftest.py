"""Helpers for the integration tests: the test-only job kinds and a browser-like websocket client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import User
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from apps.accounts.models import Team
from apps.jobs.kinds import JOB_KINDS
from apps.jobs.models import Job
from apps.jobs.services import job_create
from tests.conftest import start_web
from tests.factories import session_cookie
from tests.integration import stepper

FINAL_EVENTS = ("job.finished", "job.failed", "job.cancelled")


@pytest.fixture
def step_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process knows the test-only kinds (to create their jobs); workers need ``with_test_kinds=True``."""
    for name, kind in stepper.KINDS.items():
        monkeypatch.setitem(JOB_KINDS, name, kind)


def step_job(user: User, team: Team, *, kind: str = stepper.STEPS_KIND, **params: Any) -> Job:
    """A queued job of a test-only kind, dispatched to its queue like any other job."""
    return job_create(team=team, owner=user, kind=kind, params=params, title="steps")


@pytest.fixture
def web_url(embedded_redis: str, tmp_path: Path) -> Iterator[str]:
    """The real ASGI server (the product's server command); yields its http:// URL."""
    server, url = start_web(embedded_redis, tmp_path)
    yield url
    server.stop()


@pytest.fixture
def web_address(web_url: str) -> tuple[str, int]:
    """(host, port) of the real server, for tests that speak raw HTTP over a socket."""
    parsed = urlparse(web_url)
    return str(parsed.hostname), int(parsed.port or 80)


def ws_connect(base_url: str, job_id: Any, user: User) -> ClientConnection:
    """A browser's connection to ``/ws/jobs/<id>/``: signed in by its session cookie, with an Origin header."""
    return connect(
        f"{base_url.replace('http://', 'ws://')}/ws/jobs/{job_id}/",
        origin=Origin("http://127.0.0.1"),
        additional_headers={"Cookie": session_cookie(user)},
        max_size=None,
    )


def is_final(message: dict[str, Any]) -> bool:
    return message["type"] in FINAL_EVENTS or (
        message["type"] == "job.snapshot" and message["job"]["status"] in ("succeeded", "failed", "cancelled")
    )


def receive_until_final(socket: ClientConnection, timeout_s: float = 120) -> list[dict[str, Any]]:
    """Every message until the job ends (a final event, or the snapshot of a finished job)."""
    received: list[dict[str, Any]] = []
    while not received or not is_final(received[-1]):
        received.append(json.loads(socket.recv(timeout=timeout_s)))
    return received
