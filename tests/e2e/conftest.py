"""Headless Debian Chromium (via Playwright's executablePath; no browser download) against the real stack."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ManagedProcess, start_web

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium's connections are refused by this machine's closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
E2E_SYNC_LIMIT = 5_000  # bytes: small, so the tests can exercise the queued-job path with modest text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Playwright's sync API keeps an event loop running on the main thread while it
    is open: a session-wide browser broke every async test collected after the e2e modules."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make browser` installs Debian's chromium.")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # With that loop running, Django's async-safety guard would refuse these tests' ORM calls, which are still
        # synchronous and single-threaded; allowed only while the browser is open.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def app_url(
    transactional_db: None, embedded_redis: str, celery_worker: ManagedProcess, tmp_path: Path
) -> Iterator[str]:
    """The web server with the built front end and the API, with a worker behind it."""
    server, url = start_web(embedded_redis, tmp_path, {"TOKENIZE_SYNC_MAX_BYTES": str(E2E_SYNC_LIMIT)})
    yield url
    server.stop()


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot, taken from the top so the sticky header is drawn where it belongs."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(browser: Any, url: str, username: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url + "/login")
    try:
        page.get_by_test_id("login-username").wait_for(timeout=15_000)
    except Exception:
        screenshot(page, f"login-failed-{username}")
        raise
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda u: "/login" not in u, timeout=15_000)
    return page
