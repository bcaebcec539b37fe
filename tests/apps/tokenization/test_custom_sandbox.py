"""A team's tokenizer that crashes or runs away at use (one stored before upload checks existed, or one they miss):
the request gets a clear 4xx and the job fails with a true message; the next request is served."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.catalog.models import CustomTokenizer
from apps.jobs.kinds import job_kind
from apps.jobs.models import Job
from apps.jobs.runner import user_facing_error
from tests.factories import make_team, make_user, token_client

pytestmark = pytest.mark.django_db

# Python's regex parser cannot read `\R`, so this passes the static check; Oniguruma panics on a long run of "a".
PANICKY: dict[str, Any] = {
    "version": "1.0",
    "added_tokens": [],
    "normalizer": None,
    "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a|aa)+\\R?$"}, "behavior": "Isolated", "invert": False},
    "post_processor": None,
    "decoder": None,
    "model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "?": 2}, "unk_token": "?"},
}
CRASHING_TEXT = "a" * 400 + "\x01"


@pytest.fixture
def team_with_panicky_tokenizer() -> tuple[APIClient, Team, str]:
    user = make_user("carol")
    team = make_team("Carol lab", user)
    row = CustomTokenizer(team=team, created_by=user, name="Panicky", kind=CustomTokenizer.Kind.TOKENIZER_JSON)
    row.file.save(f"{row.id}.json", ContentFile(json.dumps(PANICKY).encode()), save=False)
    row.info = {"filename": "tokenizer.json"}
    row.save()
    return token_client(user, team), team, row.catalog_id


def test_a_crash_in_the_request_is_a_clear_400_and_the_next_request_is_served(
    team_with_panicky_tokenizer: tuple[APIClient, Team, str],
) -> None:
    """Catches: a Rust panic inside the synchronous tokenize request becoming a 500 with a traceback."""
    client, _, tokenizer_id = team_with_panicky_tokenizer
    started = time.monotonic()
    response = client.post("/api/v1/tokenize/", {"text": CRASHING_TEXT, "tokenizers": [tokenizer_id]}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert time.monotonic() - started < 20
    message = response.json()["message"]
    assert "The tokenizer 'Panicky' crashed while tokenizing" in message and "retry-limit-in-match" in message
    again = client.post("/api/v1/tokenize/", {"text": "b", "tokenizers": [tokenizer_id]}, format="json")
    assert again.status_code == 201, again.json()
    assert [t for t in again.json()["result"]["results"][0]["tokens"]["ids"]] == [1]


@override_settings(TOKENIZE_SYNC_MAX_BYTES=100)
def test_a_crash_in_a_job_fails_it_with_a_true_message(
    team_with_panicky_tokenizer: tuple[APIClient, Team, str], django_capture_on_commit_callbacks
) -> None:
    """Catches: the task dying on a Rust panic without reporting, later failed as "the worker stopped responding".

    Runs what ``runner.job_execute`` runs for this job (its input builder, its pipeline, its error wording) in this
    process: a BaseException would escape ``except Exception`` here just as it does on a worker."""
    client, _, tokenizer_id = team_with_panicky_tokenizer
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/api/v1/tokenize/", {"text": CRASHING_TEXT, "tokenizers": [tokenizer_id]}, format="json"
        )
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    kind = job_kind(job.kind)
    inputs = kind.load_input_builder()(job)
    try:
        kind.load_pipeline()(inputs, lambda *args, **kwargs: None)
    except Exception as exc:  # what job_execute catches
        error = user_facing_error(exc)
    else:
        pytest.fail("the crashing tokenizer did not fail the job")
    assert error.startswith("The tokenizer 'Panicky' crashed while tokenizing"), error
    assert "retry-limit-in-match" in error and "Internal error" not in error


def test_a_slow_tokenizer_is_stopped_at_the_time_limit_in_the_request(
    team_with_panicky_tokenizer: tuple[APIClient, Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches: a backtracking pattern holding the request thread (and the user waiting) for as long as it runs."""
    monkeypatch.setenv("TOKENIZER_SANDBOX_TIME_S", "1")
    monkeypatch.setenv("TOKENIZER_SANDBOX_TIME_PER_MB_S", "0")
    client, _, tokenizer_id = team_with_panicky_tokenizer
    slow_text = ("a" * 24 + "\x01") * 300  # each run stays under Oniguruma's cap (no panic); together they are slow
    started = time.monotonic()
    response = client.post("/api/v1/tokenize/", {"text": slow_text, "tokenizers": [tokenizer_id]}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert time.monotonic() - started < 5
    assert "The tokenizer 'Panicky' exceeded its time limit of 1 s while tokenizing" in response.json()["message"]
    served = client.post("/api/v1/tokenize/", {"text": "b", "tokenizers": [tokenizer_id]}, format="json")
    assert served.status_code == 201
