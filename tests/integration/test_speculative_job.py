"""A speculative-decoding job on a real worker with the bundled SmolLM2: streamed steps, a lossless greedy trace."""

from __future__ import annotations

import pytest

from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, wait_for
from tests.factories import make_team, make_user, token_client

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_prompt_lookup_job_reproduces_the_greedy_baseline(celery_worker: ManagedProcess) -> None:
    user = make_user("spec-user")
    client = token_client(user, make_team("Spec team", user))
    response = client.post(
        "/api/v1/speculative/",
        {
            "target": "smollm2-135m-instruct",
            "drafter": {"kind": "prompt_lookup"},
            "prompt": "Repeat this sentence exactly: The quick brown fox jumps over the lazy dog near the river bank.",
            "chat_template": True,
            "max_new_tokens": 24,
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    wait_for(lambda: Job.objects.get(pk=job_id).is_finished, 300, "speculative job finished", celery_worker)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    result = job.result or {}
    summary = result["trace"]["summary"]
    assert summary["output_matches_baseline"] is True
    assert result["output_ids"] == result["baseline"]["output_ids"]
    assert summary["target_calls"] < summary["new_tokens"], "prompt lookup accepted drafted tokens"
    assert job.versions["transformers"]
