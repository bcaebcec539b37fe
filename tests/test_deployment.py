"""The hosted instance's description stays coherent (Docker itself does not run on the development machines)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

REPO = Path(__file__).resolve().parents[1]


def test_compose_describes_the_hosted_instance() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker-cpu", "worker-gpu"} <= set(services)
    for name in ("postgres", "redis", "web", "worker-cpu", "worker-gpu"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    gpu = services["worker-gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert "-Q" in gpu["command"] and gpu["command"][gpu["command"].index("-Q") + 1] == "gpu"
    assert "models:/models" in services["worker-gpu"]["volumes"]
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://")


def test_production_refuses_a_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    monkeypatch.setenv("SECRET_KEY", "insecure-local-development-key")
    sys.modules.pop("webapp.settings.production", None)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        importlib.import_module("webapp.settings.production")


def compose_command(service: str) -> list[str]:
    command: list[str] = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"][service]["command"]
    return command


def test_compose_and_the_image_run_the_devstack_command_lines() -> None:
    """Catches: the hosted instance drifting from the embedded default's server configuration (one process, no frame
    cap, all cores for torch in every worker process) because compose spelled its own command lines."""
    from webapp.devstack import web_command, worker_command
    from webapp.serve import parse

    assert compose_command("web") == ["python", "-m", "webapp.serve", "web"]
    assert 'CMD ["python", "-m", "webapp.serve", "web"]' in (REPO / "Dockerfile").read_text()
    for service, queue, processes in (("worker-cpu", "cpu", 4), ("worker-gpu", "gpu", 1)):
        command = compose_command(service)
        assert command[:4] == ["python", "-m", "webapp.serve", "worker"]
        args = parse(command[3:])
        built = worker_command(args.queues, args.concurrency, args.name)
        assert built[built.index("-Q") + 1] == queue and built[built.index("--concurrency") + 1] == str(processes)
    web = web_command("0.0.0.0", 8000)
    assert int(web[web.index("--workers") + 1]) >= 2 and "--ws-max-size" in web


def test_web_processes_follow_the_cores_and_web_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: a single web process (one slow request stalls everyone) or an unbounded count on a big machine."""
    from webapp import devstack

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(devstack, "available_cores", lambda: 1)
    assert devstack.web_processes() == 2
    monkeypatch.setattr(devstack, "available_cores", lambda: 64)
    assert devstack.web_processes() == devstack.MAX_WEB_PROCESSES
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert devstack.web_processes() == 3


def test_logs_are_private_even_when_an_older_file_was_not(tmp_path: Path) -> None:
    """Catches: var/logs/*.log created world-readable (0644), which exposed whatever the server logged."""
    from webapp.devstack import open_private_log

    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    older = logs / "web.log"
    older.write_text("old\n")
    older.chmod(0o644)
    with open_private_log(older) as log, open_private_log(logs / "worker.log") as fresh:
        log.write(b"new\n")
        fresh.write(b"x\n")
    assert older.read_text() == "old\nnew\n"  # appended, not truncated
    for path, mode in ((logs, 0o700), (older, 0o600), (logs / "worker.log", 0o600)):
        assert path.stat().st_mode & 0o777 == mode, path


def test_serve_refuses_a_public_interface_with_auto_login() -> None:
    """Catches: ``python -m webapp.serve web --host 0.0.0.0`` on the embedded settings (auto sign-in for anyone)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings.local"}
    env.pop("TOKENSCOPE_LOCAL_AUTOLOGIN", None)
    done = subprocess.run(
        [sys.executable, "-m", "webapp.serve", "web", "--host", "0.0.0.0", "--port", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "TOKENSCOPE_LOCAL_AUTOLOGIN" in done.stderr


def test_server_log_lines_lose_their_query_strings() -> None:
    """Catches: a URL's query string (an old client's ``?token=<key>``) written into the server log."""
    import logging

    from webapp.server_logging import REDACTED, RedactQueryStrings

    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        "",
        0,
        '%s - "WebSocket %s" [accepted]',
        ("1.2.3.4:5", "/ws/jobs/x/?token=k"),
        None,
    )
    assert RedactQueryStrings().filter(record)
    assert record.getMessage() == f'1.2.3.4:5 - "WebSocket /ws/jobs/x/{REDACTED}" [accepted]'
