"""A team tokenizer that panics, on a real Celery worker: the job fails with a true message and the worker goes on."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from apps.catalog.models import CustomTokenizer
from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, wait_for
from tests.factories import make_team, make_user, token_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Python's regex parser cannot read `\R`, so this passes the static upload check; Oniguruma panics on a run of "a"
# (stored directly, as a file uploaded before the checks existed would be).
PANICKY = json.dumps(
    {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Split",
            "pattern": {"Regex": "(a|aa)+\\R?$"},
            "behavior": "Isolated",
            "invert": False,
        },
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "?": 2}, "unk_token": "?"},
    }
).encode()


@override_settings(TOKENIZE_SYNC_MAX_BYTES=100)
def test_a_panicking_tokenizer_fails_its_job_truthfully_and_the_worker_runs_the_next(
    celery_worker: ManagedProcess,
) -> None:
    """Catches: the Rust panic killing the task without a report, the job later failed as "the worker stopped
    responding" (misleading), and a worker left unable to run the next job."""
    user = make_user("dora")
    team = make_team("Dora lab", user)
    client = token_client(user, team)
    row = CustomTokenizer(team=team, created_by=user, name="Panicky", kind=CustomTokenizer.Kind.TOKENIZER_JSON)
    row.file.save(f"{row.id}.json", ContentFile(PANICKY), save=False)
    row.save()

    def submit(text: str, tokenizer: str) -> str:
        response = client.post("/api/v1/tokenize/", {"text": text, "tokenizers": [tokenizer]}, format="json")
        assert response.status_code == 202, response.content
        return str(response.json()["id"])

    def finished(job_id: str) -> bool:
        return Job.objects.get(pk=job_id).status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    crashing = submit("a" * 400 + "\x01", row.catalog_id)
    wait_for(lambda: finished(crashing), 90, "the crashing job to finish", celery_worker)
    job = Job.objects.get(pk=crashing)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The tokenizer 'Panicky' crashed while tokenizing"), job.error
    assert "retry-limit-in-match" in job.error

    following = submit("b " * 100, "builtin:bytes")
    wait_for(lambda: finished(following), 60, "the next job to finish", celery_worker)
    assert Job.objects.get(pk=following).status == JobStatus.SUCCEEDED
