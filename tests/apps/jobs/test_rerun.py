"""``POST /api/v1/jobs/<id>/rerun/``: a stored result re-run from its manifest is the same result, as a new job.
Queued jobs (large tokenizations, speculative runs) are re-run on a real worker in tests/integration/test_reruns.py."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Role, Team
from apps.accounts.services import membership_set
from apps.jobs.models import Job, JobStatus
from apps.jobs.runner import job_execute
from tests.factories import make_team, make_user, token_client
from tests.workers.test_manifest import without_timings

pytestmark = pytest.mark.django_db
TEXT = "Re-run me: naïve café, 東京 🙂 and 12345.\n<|endoftext|>"


@pytest.fixture
def alice() -> tuple[APIClient, Team]:
    user = make_user("alice")
    team = make_team("Rerun lab", user)
    return token_client(user, team), team


def rerun(client: APIClient, job_id: str, status: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/jobs/{job_id}/rerun/")
    assert response.status_code == status, response.json()
    return dict(response.json())


def executed(job_id: str) -> Job:
    job_execute(job_id=job_id, worker="test-runner")
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def test_an_inline_tokenization_reruns_to_the_same_result(alice: tuple[APIClient, Team]) -> None:
    """Catches a re-run that drops a parameter (tokenizers, baseline, special-token mode) or the text."""
    client, _ = alice
    body = {"text": TEXT, "tokenizers": ["tiktoken:o200k_base", "mistral:v3"], "baseline": "mistral:v3"}
    first = client.post("/api/v1/tokenize/", body, format="json").json()
    second = rerun(client, first["id"], 201)
    assert second["id"] != first["id"] and second["status"] == "succeeded"
    assert without_timings(second["result"]) == without_timings(first["result"])
    assert second["result"]["manifest"] == first["result"]["manifest"]
    assert second["params"]["baseline"] == "mistral:v3"
    assert first["versions"] == first["result"]["manifest"]["libraries"] and first["versions"]["tiktoken"]


def test_a_changed_input_is_refused(alice: tuple[APIClient, Team]) -> None:
    """Catches a re-run that silently tokenizes a text other than the one the manifest hashed."""
    client, _ = alice
    first = client.post("/api/v1/tokenize/", {"text": TEXT, "tokenizers": ["builtin:bytes"]}, format="json").json()
    job = Job.objects.get(pk=first["id"])
    job.result = {**job.result, "text": TEXT + "!"}
    job.save(update_fields=["result"])
    response = client.post(f"/api/v1/jobs/{job.id}/rerun/")
    assert response.status_code == 409
    assert "not the one this result was computed from" in response.json()["message"]


def test_jobs_that_cannot_be_rerun_get_clear_errors(alice: tuple[APIClient, Team]) -> None:
    """Catches a 500 (or a silent new job) for a result without a manifest, a queued job, or a viewer's request."""
    client, team = alice
    owner = team.memberships.get().user
    legacy = Job.objects.create(team=team, owner=owner, kind="tokenize", status=JobStatus.SUCCEEDED, result={})
    assert "manifest" in rerun(client, str(legacy.id), 409)["message"]
    queued = Job.objects.create(team=team, owner=owner, kind="speculative", params={})
    assert rerun(client, str(queued.id), 409)["message"].startswith("Only a finished result")
    distill = Job.objects.create(team=team, owner=owner, kind="distill_draft", status=JobStatus.SUCCEEDED, result={})
    assert "cannot be re-run" in rerun(client, str(distill.id), 400)["message"]
    viewer = make_user("victor")
    membership_set(team=team, user=viewer, role=Role.VIEWER)
    assert token_client(viewer, team).post(f"/api/v1/jobs/{legacy.id}/rerun/").status_code == 403
    stranger = make_user("mallory")
    assert (
        token_client(stranger, make_team("Other", stranger)).post(f"/api/v1/jobs/{legacy.id}/rerun/").status_code == 404
    )
    assert Job.objects.count() == 3


def test_the_csv_export_starts_with_the_manifest(alice: tuple[APIClient, Team]) -> None:
    """Catches a CSV export that leaves out the manifest (or breaks the table after it)."""
    client, _ = alice
    job = client.post("/api/v1/tokenize/", {"text": "=1+2, hi", "tokenizers": ["builtin:chars"]}, format="json").json()
    rows = list(csv.reader(io.StringIO(client.get(f"/api/v1/jobs/{job['id']}/export/?format=csv").content.decode())))
    assert rows[0][0] == "# manifest" and json.loads(rows[0][1]) == job["result"]["manifest"]
    assert rows[1][:3] == ["tokenizer", "position", "token_id"] and len(rows) == 2 + len("=1+2, hi")
