"""Start the real product (bundled Redis, a Celery worker, the web server) on a throwaway database, for benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from webapp.devstack import web_command, worker_command
from webapp.embedded_redis import EmbeddedRedis, free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stack:
    url: str  # the web server's base URL
    key: str  # an API token of the user "bench" (team "bench")
    env: dict[str, str]  # the environment the processes run with (database, Redis, media)


@contextmanager
def running_stack() -> Iterator[tuple[str, str]]:
    """Yield (base URL, API token key) of a freshly started product; stop it afterwards."""
    with started_stack() as stack:
        yield stack.url, stack.key


@contextmanager
def started_stack(extra_env: dict[str, str] | None = None, worker_concurrency: int = 1) -> Iterator[Stack]:
    """A freshly started product (``webapp.devstack``'s web and worker commands) with ``extra_env``; stopped after."""
    with tempfile.TemporaryDirectory(prefix="tokenscope-bench-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", free_port(), persist=False).start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "webapp.settings.local",
            "TOKENSCOPE_LOCAL_AUTOLOGIN": "0",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "MEDIA_ROOT": f"{tmp}/media",
            "REDIS_URL": redis.url,
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=REPO, check=True)
        key = (
            subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "-c",
                    "from django.contrib.auth import get_user_model; from apps.accounts.services import *;"
                    "u = get_user_model().objects.create_user('bench', password='bench-password-123');"
                    "team_create(name='Bench', owner=u); print(api_token_create(user=u, name='bench')[1])",
                ],
                env=env,
                cwd=REPO,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        logs = open(Path(tmp) / "stack.log", "wb")  # noqa: SIM115 - closed below
        processes = [
            subprocess.Popen(
                worker_command(concurrency=worker_concurrency), env=env, cwd=REPO, stdout=logs, stderr=subprocess.STDOUT
            ),
            subprocess.Popen(
                web_command("127.0.0.1", port),
                env=env,
                cwd=REPO,
                stdout=logs,
                stderr=subprocess.STDOUT,
            ),
        ]
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the stack did not start; see " + str(Path(tmp) / "stack.log")) from None
                    time.sleep(0.2)
            time.sleep(3)  # let the worker connect to the broker
            yield Stack(url, key, env)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:  # a server still draining connections: the numbers are taken
                    process.kill()
                    process.wait()
            logs.close()
            redis.stop()
