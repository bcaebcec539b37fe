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
