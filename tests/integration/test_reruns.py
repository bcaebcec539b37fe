"""Re-runs of queued jobs on a real Celery worker: a large (uploaded) tokenization and a sampled, seeded speculative
run come back identical from ``POST /api/v1/jobs/<id>/rerun/``. The speculative models are tiny random-init Llamas
saved as a local folder (not real models: fast stand-ins with real files that the worker loads and hashes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, wait_for
from tests.factories import make_team, make_user, token_client
from tests.workers.distill.conftest import tiny_llama, tiny_tokenizer
from tests.workers.test_manifest import without_timings

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TEXT = "Re-run me from an upload: naïve café, 東京 🙂 and 12345.\n" * 20


@pytest.fixture
def client() -> APIClient:
    user = make_user("rerunner")
    return token_client(user, make_team("Rerun lab", user))


def finished(job_id: str, worker: ManagedProcess) -> Job:
    wait_for(lambda: Job.objects.get(pk=job_id).is_finished, 180, f"job {job_id} finished", worker)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def rerun(client: APIClient, job: Job) -> str:
    response = client.post(f"/api/v1/jobs/{job.id}/rerun/")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued" and response.json()["id"] != str(job.id)
    return str(response.json()["id"])


@override_settings(TOKENIZE_SYNC_MAX_BYTES=100)
def test_a_queued_tokenization_reruns_from_its_upload(client: APIClient, celery_worker: ManagedProcess) -> None:
    """Catches a re-run of a large input that cannot find its text (it is in the upload, not the result)."""
    body = {"text": TEXT, "tokenizers": ["tokenizers:llama-3", "tiktoken:gpt2"], "special_tokens": "special"}
    response = client.post("/api/v1/tokenize/", body, format="json")
    assert response.status_code == 202, response.json()
    first = finished(response.json()["id"], celery_worker)
    second = finished(rerun(client, first), celery_worker)
    assert without_timings(second.result) == without_timings(first.result)
    assert second.result["manifest"] == first.result["manifest"]
    assert second.result["manifest"]["parameters"]["special_tokens"] == "special"


def test_a_sampled_speculative_run_reruns_to_the_same_result(
    client: APIClient, celery_worker: ManagedProcess, tmp_path: Path
) -> None:
    """Catches a speculative re-run that loses the seed or a sampling parameter: the sampled output would differ."""
    for name, layers, seed in (("target", 4, 0), ("draft", 2, 1)):
        tiny_llama(layers=layers, seed=seed).save_pretrained(tmp_path / name)
        tiny_tokenizer().save_pretrained(tmp_path / name)
    body: dict[str, Any] = {
        "target": str(tmp_path / "target"),
        "drafter": {"kind": "draft_model", "model": str(tmp_path / "draft")},
        "prompt": "w5 w6 w7 w8",
        "gamma": 3,
        "max_new_tokens": 16,
        "temperature": 1.0,
        "top_k": 20,
        "seed": 11,
    }
    with override_settings(TOKENSCOPE_ALLOWED_MODEL_ROOTS=[str(tmp_path)]):
        response = client.post("/api/v1/speculative/", body, format="json")
        assert response.status_code == 202, response.json()
        first = finished(response.json()["id"], celery_worker)
        second = finished(rerun(client, first), celery_worker)
    assert second.result["output_ids"] == first.result["output_ids"]
    assert without_timings(second.result) == without_timings(first.result)
    assert second.result["manifest"] == first.result["manifest"]
    assert second.result["manifest"]["parameters"]["seed"] == 11 and second.versions["torch"]
    files = {f["name"] for model in second.result["manifest"]["models"] for f in model["files"]}
    assert "model.safetensors" in files
    exported = client.get(f"/api/v1/jobs/{second.id}/export/?format=json").json()
    assert exported["result"]["manifest"] == second.result["manifest"]
