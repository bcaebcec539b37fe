"""Speculative runs are validated in the request: bad parameters get a clear 4xx before any model loads."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.jobs.models import Job
from tests.factories import make_team, make_user, token_client

pytestmark = pytest.mark.django_db

GOOD = {
    "target": "smollm2-135m-instruct",
    "drafter": {"kind": "prompt_lookup"},
    "prompt": "Repeat after me: the quick brown fox jumps over the lazy dog.",
    "max_new_tokens": 32,
}


@pytest.fixture
def client() -> APIClient:
    user = make_user("researcher")
    return token_client(user, make_team("Spec lab", user))


def test_models_catalogue_lists_the_bundled_models(client: APIClient) -> None:
    models = {m["id"]: m for m in client.get("/api/v1/models/").json()}
    assert models["smollm2-135m-instruct"]["vocab_size"] == 49152
    assert models["smollm2-135m-instruct"]["status"] == "installed"
    assert models["gemma-3-270m"]["tokenizer_id"] == "tokenizers:gemma-3"


def test_models_catalogue_says_what_is_not_installed(
    client: APIClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches the API hiding why a model cannot be chosen (the catalogue must say how to install it)."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))  # an empty model store
    models = {m["id"]: m for m in client.get("/api/v1/models/").json()}
    qwen = models["qwen2.5-coder-1.5b-instruct"]
    assert qwen["available"] is False and qwen["status"] == "not installed: run `make models-qwen`"


def test_a_valid_run_is_queued_on_the_gpu_queue(client: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/v1/speculative/", GOOD, format="json")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.queue, job.status) == ("speculative", "gpu", "queued")
    assert job.params["prompt_tokens"] > 5
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"target": "no-such-model"}, "unknown model 'no-such-model'"),
        ({"target": "/nowhere/model"}, "This path is none of these"),
        ({"drafter": {"kind": "draft_model", "model": "gemma-3-270m"}}, "different vocabulary"),
        ({"drafter": {"kind": "telepathy"}}, "Unknown drafter 'telepathy'"),
        ({"drafter": {"kind": "prompt_lookup", "max_ngram_size": 9}}, "max_ngram_size must be between 1 and 8"),
        ({"drafter": {"kind": "prompt_lookup", "min_ngram_size": 3}}, "min_ngram_size (1–2) must be between 1 and 2"),
        ({"drafter": {"kind": "prompt_lookup", "num_pred_tokens": "ten"}}, "num_pred_tokens must be a whole number"),
        ({"drafter": {"kind": "early_exit", "exit_layer": 0}}, "exit_layer must be between"),
        ({"gamma": 0}, "Draft length"),
        ({"gamma": 10_000}, "Draft length"),
        ({"temperature": -0.5}, "Temperature must be ≥ 0"),
        ({"top_p": 0}, "top_p"),
        ({"max_new_tokens": 100_000}, "max_new_tokens"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "word " * 9000}, "exceeds SmolLM2-135M-Instruct's context of 8192 tokens"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(client: APIClient, changes: dict[str, Any], fragment: str) -> None:
    response = client.post("/api/v1/speculative/", {**GOOD, **changes}, format="json")
    assert response.status_code == 400, response.json()
    assert fragment in response.json()["message"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"drafter": {"kind": "tree_fixed"}}, "The 'tree_fixed' drafter needs a draft model"),
        ({"drafter": {"kind": "multi_draft", "model": "  "}}, "The 'multi_draft' drafter needs a draft model"),
        ({"drafter": {"kind": "tree_dyspec"}}, "The 'tree_dyspec' drafter needs a draft model"),
        ({"target": "nobody-here/no-such-model"}, "is not in the local Hugging Face cache"),
    ],
)
def test_runs_that_would_fail_on_the_worker_are_refused_at_request_time(
    client: APIClient, changes: dict[str, Any], fragment: str
) -> None:
    """Catches a tree drafter without a draft model, or an unreachable hub target, accepted (202) and then failing on
    the worker with a traceback."""
    response = client.post("/api/v1/speculative/", {**GOOD, **changes}, format="json")
    assert response.status_code == 400, response.json()
    assert fragment in response.json()["message"]
    assert not Job.objects.exists()
