"""Distilled drafts: queued with a team-owned output folder, listed for that team only, not usable by others."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.jobs.models import Job, JobStatus
from apps.speculative.drafts import drafts_root
from tests.factories import make_team, make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab() -> tuple[APIClient, Team]:
    user = make_user("distiller")
    team = make_team(f"Draft lab {uuid.uuid4().hex[:6]}", user)
    return token_client(user, team), team


@pytest.fixture
def finished_draft(lab: tuple[APIClient, Team]) -> Iterator[Path]:
    _, team = lab
    folder = drafts_root() / team.slug / str(uuid.uuid4())
    folder.mkdir(parents=True)
    Job.objects.create(
        team=team,
        kind="distill_draft",
        status=JobStatus.SUCCEEDED,
        params={"target": "smollm2-135m-instruct", "output_dir": str(folder)},
        result={"output_dir": str(folder), "draft": {"num_layers": 2, "parameters": 1000}},
    )
    yield folder
    shutil.rmtree(folder.parent, ignore_errors=True)


def test_distill_job_is_queued_with_a_team_folder(
    lab: tuple[APIClient, Team], django_capture_on_commit_callbacks: Any
) -> None:
    client, team = lab
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/v1/drafts/", {"target": "smollm2-135m-instruct", "num_layers": 2}, format="json")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.queue) == ("distill_draft", "gpu")
    assert job.params["output_dir"].endswith(f"drafts/{team.slug}/{job.id}")
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"target": "nope"}, "unknown model 'nope'"),
        ({"target": "smollm2-135m-instruct", "num_layers": 40}, "num_layers"),
        ({"target": "smollm2-135m-instruct", "time_budget_s": 1}, "time_budget_s"),
    ],
)
def test_bad_distill_parameters_get_a_400(lab: tuple[APIClient, Team], body: dict[str, Any], fragment: str) -> None:
    client, _ = lab
    response = client.post("/api/v1/drafts/", body, format="json")
    assert response.status_code == 400, response.json()
    assert fragment in response.json()["message"]


def test_finished_drafts_are_listed_for_their_team_only(lab: tuple[APIClient, Team], finished_draft: Path) -> None:
    client, _ = lab
    drafts = [m for m in client.get("/api/v1/models/").json() if m["kind"] == "distilled"]
    assert [d["id"] for d in drafts] == [str(finished_draft)]
    assert drafts[0]["vocab_size"] == 49152 and drafts[0]["tokenizer_id"] == "tokenizers:smollm2"
    assert drafts[0]["params"] == 1000  # the pipeline stores the count as draft.parameters

    outsider = make_user("draft-outsider")
    other = token_client(outsider, make_team("Other drafts", outsider))
    assert not [m for m in other.get("/api/v1/models/").json() if m["kind"] == "distilled"]
    response = other.post(
        "/api/v1/speculative/",
        {
            "target": "smollm2-135m-instruct",
            "drafter": {"kind": "draft_model", "model": str(finished_draft)},
            "prompt": "hello",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "This path is none of these" in response.json()["message"]
