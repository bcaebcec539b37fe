"""Auto sign-in on the embedded default: loopback peers only, API requests only, and never on a public interface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from webapp.devstack import autologin_refusal

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[3]
autologin = override_settings(TOKENSCOPE_LOCAL_AUTOLOGIN=True)


@autologin
def test_embedded_default_signs_the_first_visitor_in_as_the_local_user() -> None:
    """Catches: the embedded default no longer landing a newcomer in the app as the local owner."""
    client = Client()
    me = client.get("/api/v1/auth/me/").json()
    assert me["user"]["username"] == "local"
    assert me["teams"][0]["slug"] == "local"
    assert me["teams"][0]["role"] == "owner"
    assert client.get("/api/v1/auth/me/").json()["user"]["username"] == "local"  # the cookie now carries it
    assert Session.objects.count() == 1


@autologin
def test_a_peer_off_loopback_is_not_signed_in_whatever_its_host_header_says() -> None:
    """Catches: auto sign-in for a remote peer (trusting the client-written Host header instead of the TCP peer)."""
    remote = Client(REMOTE_ADDR="192.0.2.10", HTTP_HOST="127.0.0.1")
    assert remote.get("/api/v1/auth/me/").status_code == 401
    assert Client(REMOTE_ADDR="::1").get("/api/v1/auth/me/").status_code == 200
    assert Client(REMOTE_ADDR="fe80::1").get("/api/v1/auth/me/").status_code == 401
    assert Session.objects.count() == 1  # the ::1 visitor's


@autologin
@pytest.mark.parametrize("path", ["/healthz", "/", "/history", "/static/app/index.html", "/favicon.ico"])
def test_requests_that_need_no_user_create_no_session(path: str) -> None:
    """Catches: a session row written for every cookie-less request (health checks filled the table)."""
    for _ in range(3):
        Client().get(path)
    assert Session.objects.count() == 0


def test_hosted_instance_requires_sign_in() -> None:
    """Catches: auto sign-in leaking onto a configuration that has it off."""
    assert Client().get("/api/v1/auth/me/").status_code == 401


@autologin
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_hosts_may_start_with_auto_login(host: str) -> None:
    """Catches: the start-up guard refusing the loopback addresses it exists to allow."""
    assert autologin_refusal(host) is None


@autologin
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org"])
def test_non_loopback_hosts_are_refused_with_auto_login(host: str) -> None:
    """Catches: auto sign-in served on a public interface (anyone on the network becomes the local owner)."""
    refusal = autologin_refusal(host)
    assert refusal is not None and "TOKENSCOPE_LOCAL_AUTOLOGIN" in refusal


def test_non_loopback_host_is_fine_without_auto_login() -> None:
    """Catches: the guard blocking a hosted instance (auto sign-in off) from listening on all interfaces."""
    assert autologin_refusal("0.0.0.0") is None


def test_devstack_refuses_to_start_on_a_public_interface() -> None:
    """Catches: ``HOST=0.0.0.0 python -m webapp.devstack`` starting anyway with auto sign-in on."""
    env = {**os.environ, "HOST": "0.0.0.0", "DJANGO_SETTINGS_MODULE": "webapp.settings.local"}
    env.pop("TOKENSCOPE_LOCAL_AUTOLOGIN", None)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # never reached: it must stop before starting anything
    done = subprocess.run(
        [sys.executable, "-m", "webapp.devstack"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "refusing to start" in done.stdout and "HOST=0.0.0.0" in done.stdout
