"""Model references in the speculative and distillation APIs: a team's own drafts and allowed folders only; every
other server path gets one message that says nothing about what exists."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.speculative.drafts import drafts_root
from apps.speculative.services import speculative_validate
from tests.factories import make_team, make_user, token_client
from workers.models import hub

pytestmark = pytest.mark.django_db
RUN = {"target": "smollm2-135m-instruct", "drafter": {"kind": "prompt_lookup"}, "prompt": "Hello", "max_new_tokens": 8}
SMOLLM2_CONFIG = {"model_type": "llama", "vocab_size": 49152, "max_position_embeddings": 8192}


@dataclass
class TwoTeams:
    owner: APIClient
    owner_team: Team
    other: APIClient
    other_team: Team
    draft: Path  # the owner team's distilled draft folder


def model_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(SMOLLM2_CONFIG))
    return path


@pytest.fixture
def teams() -> Iterator[TwoTeams]:
    alice, bob = make_user(f"alice-{uuid.uuid4().hex[:6]}"), make_user(f"bob-{uuid.uuid4().hex[:6]}")
    team_a = make_team(f"Team A {uuid.uuid4().hex[:6]}", alice)
    team_b = make_team(f"Team B {uuid.uuid4().hex[:6]}", bob)
    draft = model_folder(drafts_root() / team_a.slug / str(uuid.uuid4()))
    (drafts_root() / team_b.slug).mkdir(parents=True)
    yield TwoTeams(token_client(alice, team_a), team_a, token_client(bob, team_b), team_b, draft)
    for team in (team_a, team_b):
        shutil.rmtree(drafts_root() / team.slug, ignore_errors=True)


def refused_message(client: APIClient, ref: str) -> str:
    response = client.post("/api/v1/speculative/", {**RUN, "target": ref}, format="json")
    assert response.status_code == 400, response.json()
    return str(response.json()["message"])


def other_teams_draft_refs(teams: TwoTeams, tmp_path: Path) -> dict[str, str]:
    """Every way team B might name team A's draft folder."""
    own_drafts = drafts_root() / teams.other_team.slug
    (own_drafts / "link-to-a").symlink_to(teams.draft, target_is_directory=True)
    return {
        "absolute": str(teams.draft),
        "relative": os.path.relpath(teams.draft, settings.BASE_DIR),
        "dot-dot": f"{own_drafts}/../{teams.owner_team.slug}/{teams.draft.name}",
        "symlink in own drafts": str(own_drafts / "link-to-a"),
        "home-relative": "~/../" + os.path.relpath(teams.draft, "/"),
    }


def test_another_teams_draft_is_refused_however_it_is_named(teams: TwoTeams, tmp_path: Path) -> None:
    """Catches team B loading team A's distilled draft by absolute or relative path, '..' or a symlink."""
    expected = refused_message(teams.other, "/etc")
    for how, ref in other_teams_draft_refs(teams, tmp_path).items():
        for body in (
            {**RUN, "target": ref},
            {**RUN, "drafter": {"kind": "cross_tokenizer", "model": ref}},
        ):
            response = teams.other.post("/api/v1/speculative/", body, format="json")
            assert response.status_code == 400, (how, response.json())
            role = "target" if body["target"] == ref else "draft"
            assert response.json()["message"] == expected.replace("The target", f"The {role}"), how
        response = teams.other.post("/api/v1/drafts/", {"target": ref, "num_layers": 2}, format="json")
        assert response.status_code == 400, (how, response.json())
        assert response.json()["message"] == expected, how
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "ref", ["/root", "/etc", "/etc/passwd", "/no/such/folder", "../../..", "~", "./var", "/" + "a" * 5000]
)
def test_server_paths_all_get_the_same_message(teams: TwoTeams, ref: str) -> None:
    """Catches messages that tell a caller which server paths exist (/root, /etc) and which do not."""
    message = refused_message(teams.other, ref)
    assert message == refused_message(teams.other, "/no/such/folder/at/all")
    assert "none of these" in message and ref not in message.replace("GET /api/v1/models/", "")


def test_a_team_uses_its_own_draft_and_the_job_carries_the_checked_path(
    teams: TwoTeams, django_capture_on_commit_callbacks: Any
) -> None:
    """Catches the owner losing its own drafts, or the job carrying the unchecked string (re-read on the worker)."""
    own_drafts = drafts_root() / teams.owner_team.slug
    for ref in (
        str(teams.draft),
        f"{own_drafts}/./{teams.draft.name}",
        os.path.relpath(teams.draft, settings.BASE_DIR),
    ):
        with django_capture_on_commit_callbacks():
            response = teams.owner.post(
                "/api/v1/speculative/", {**RUN, "drafter": {"kind": "cross_tokenizer", "model": ref}}, format="json"
            )
        assert response.status_code == 202, (ref, response.json())
        job = Job.objects.get(pk=response.json()["id"])
        assert job.params["drafter"]["model"] == os.path.realpath(teams.draft)


def test_folders_under_an_allowed_root_work_and_symlinks_out_of_it_do_not(
    teams: TwoTeams, tmp_path: Path, settings: Any
) -> None:
    """Catches allowed roots not being honoured, or a symlink inside one leading the check outside it."""
    settings.TOKENSCOPE_ALLOWED_MODEL_ROOTS = [str(tmp_path / "allowed")]
    mine = model_folder(tmp_path / "allowed" / "my-model")
    outside = model_folder(tmp_path / "outside" / "secret-model")
    (tmp_path / "allowed" / "escape").symlink_to(outside, target_is_directory=True)
    (tmp_path / "allowed" / "to-a").symlink_to(teams.draft, target_is_directory=True)
    for ref in (str(mine), os.path.relpath(mine, settings.BASE_DIR), f"{tmp_path}/outside/../allowed/my-model"):
        params = speculative_validate({**RUN, "drafter": {"kind": "cross_tokenizer", "model": ref}}, teams.other_team)
        assert params["drafter"]["model"] == os.path.realpath(mine)
    expected = refused_message(teams.other, "/etc")
    for ref in (str(tmp_path / "allowed" / "escape"), str(tmp_path / "allowed" / "to-a"), f"{mine}/../../outside"):
        assert refused_message(teams.other, ref) == expected, ref


def test_no_folder_is_allowed_by_default_on_a_hosted_instance(teams: TwoTeams, settings: Any) -> None:
    """Catches the model store (or anything else) being usable by path without an administrator listing it."""
    from workers.models.catalog import bundled_models

    settings.TOKENSCOPE_ALLOWED_MODEL_ROOTS = []
    bundled_folder = bundled_models()[0].local_path
    assert bundled_folder is not None
    for ref in (str(bundled_folder), f"{bundled_folder}\x00"):  # a NUL byte: refused, not a ValueError (500)
        with pytest.raises(ApplicationError, match="none of these"):
            speculative_validate({**RUN, "target": ref}, teams.other_team)


def test_a_hub_target_without_a_hub_is_refused_at_once(teams: TwoTeams, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a hub-style target holding the request (or being queued and failing on the worker)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub.forget_probe()
    started = time.perf_counter()
    response = teams.other.post("/api/v1/speculative/", {**RUN, "target": "tokenscope-test/absent"}, format="json")
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400 and "cannot reach the Hugging Face hub" in response.json()["message"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    response = teams.other.post("/api/v1/drafts/", {"target": "tokenscope-test/absent"}, format="json")
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400 and "HF_HUB_OFFLINE" in response.json()["message"]
