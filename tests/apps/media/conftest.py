"""Fixtures of the media API tests: a fresh MEDIA_ROOT, a team and its member's API client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Team
from tests.factories import make_team, make_user, token_client


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """A fresh MEDIA_ROOT per test: team ids repeat across tests, and 'nothing stored' must mean this test's files."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def team() -> Team:
    return make_team("Media lab", make_user("listener"))


@pytest.fixture
def client(team: Team) -> APIClient:
    return token_client(team.memberships.get().user, team)
