"""The production settings pass Django's deployment checks and really enforce HTTPS; each switch works from the env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECRET = "a-test-secret-that-is-long-enough-for-the-deploy-check-0123456789"


def production(code: str = "", *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py (args) or a script (code) under webapp.settings.production in a fresh process."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # a test-only switch
    environment = {**inherited, "DJANGO_SETTINGS_MODULE": "webapp.settings.production", "SECRET_KEY": SECRET, **env}
    command = [sys.executable, "manage.py", *args] if args else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean() -> None:
    """Catches a production setting that Django's deployment checklist warns about (HSTS, SSL redirect, cookies)."""
    done = production("", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


REQUESTS = """
import json, django
django.setup()
from django.test import Client
from django.conf import settings
client = Client()
plain = client.get("/api/v1/auth/me/")
proxied = client.get("/api/v1/auth/me/", headers={"X-Forwarded-Proto": "https"})
health = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
    "health": health.status_code,
    "cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY],
}))
"""


def run_requests(**env: str) -> dict:
    done = production(REQUESTS, ALLOWED_HOSTS="testserver", DATABASE_URL="sqlite:///:memory:", **env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_https_is_enforced_behind_a_proxy() -> None:
    """Catches plain HTTP served (no redirect), HSTS missing, the proxy's X-Forwarded-Proto ignored, or the
    /healthz probe redirected (the container healthcheck speaks plain HTTP)."""
    seen = run_requests()
    assert seen["plain"] == [301, "https://testserver/api/v1/auth/me/"]
    status, hsts = seen["proxied"]
    assert status == 401  # reached the API over "HTTPS": anonymous is refused, not redirected
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert seen["health"] == 200
    assert seen["cookies"] == [True, True, True]


def test_redirect_and_hsts_can_be_switched_off_from_the_environment() -> None:
    """Catches switches that the environment cannot change (an operator whose proxy already redirects)."""
    seen = run_requests(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0", TRUST_X_FORWARDED_PROTO="false")
    assert seen["plain"][0] == 401
    assert seen["proxied"] == [401, None]


def test_a_short_secret_key_refuses_to_start() -> None:
    """Catches a production start with a key that Django's deployment check calls weak (under 50 characters)."""
    done = production("import django; django.setup()", SECRET_KEY="x" * 10 + "abcdefghij" * 3)
    assert done.returncode != 0 and "at least 50 characters" in done.stderr
