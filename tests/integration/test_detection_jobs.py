"""Detection jobs on a real Celery worker with the bundled SmolLM2: a dataset job streams progress and stops when
cancelled; a frequency table built from an upload is listed and used by DC-PDD; exports carry the manifest."""

from __future__ import annotations

import csv
import io
import json

import pytest

from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, wait_for
from tests.factories import make_team, make_user, token_client

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MODEL = "smollm2-135m-instruct"


def _file(name: str, text: str) -> io.BytesIO:
    handle = io.BytesIO(text.encode("utf-8"))
    handle.name = name
    return handle


def test_a_dataset_job_streams_progress_and_stops_when_cancelled(celery_worker: ManagedProcess) -> None:
    """Catches a dataset at the 10,000-row limit that is refused, reports no progress while it scores, or runs on to
    its end after a cancel (the runner logs the cancel only when the pipeline stopped at a progress report)."""
    user = make_user("dataset-canceller")
    client = token_client(user, make_team("Dataset team", user))
    rows = "".join(
        json.dumps({"text": f"Row {i}: the committee met again to discuss item number {i}.", "label": i % 2}) + "\n"
        for i in range(10_000)
    )
    response = client.post(
        "/api/v1/detection/datasets/",
        {"models": [MODEL], "scores": ["loss", "min_k"], "file": _file("rows.jsonl", rows)},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]

    def scoring() -> bool:
        job = Job.objects.get(pk=job_id)
        return job.status == JobStatus.RUNNING and job.progress > 0 and "scored" in job.message

    wait_for(scoring, 240, "dataset job reporting progress", celery_worker)
    seen = Job.objects.get(pk=job_id)
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    wait_for(lambda: f"Job {job_id} was cancelled" in celery_worker.log(), 120, "pipeline stopped", celery_worker)
    stored = Job.objects.get(pk=job_id)
    assert stored.status == JobStatus.CANCELLED and stored.result is None
    assert 0 < seen.progress < 0.5, seen.progress


def test_an_uploaded_frequency_table_is_listed_and_used_by_dcpdd(celery_worker: ManagedProcess) -> None:
    """Catches a table job whose file is not found again by id (wrong team folder, wrong path in the worker), a
    detect job that cannot read it, or an export without the manifest and the per-score rows."""
    user = make_user("frequency-builder")
    client = token_client(user, make_team("Frequency team", user))
    corpus = "\n".join(["the cat sat on the mat", "a dog ran in the park", "Paris is a city in France"] * 20)
    built = client.post(
        "/api/v1/detection/frequency-tables/",
        {"model": MODEL, "file": _file("corpus.txt", corpus)},
        format="multipart",
    )
    assert built.status_code == 202, built.json()
    table_id = built.json()["id"]
    wait_for(lambda: Job.objects.get(pk=table_id).is_finished, 240, "frequency table built", celery_worker)
    assert Job.objects.get(pk=table_id).status == JobStatus.SUCCEEDED, Job.objects.get(pk=table_id).error
    listed = client.get("/api/v1/detection/frequency-tables/").json()
    assert [(t["id"], t["texts"], t["tokenizer_id"]) for t in listed] == [(table_id, 60, "tokenizers:smollm2")]

    detect = client.post(
        "/api/v1/detection/text/",
        {
            "texts": ["The cat sat on the mat in Paris."],
            "models": [MODEL],
            "scores": ["dcpdd", "loss"],
            "frequency_table": table_id,
        },
        format="json",
    )
    assert detect.status_code == 202, detect.json()
    job_id = detect.json()["id"]
    wait_for(lambda: Job.objects.get(pk=job_id).is_finished, 240, "detect job finished", celery_worker)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    entry = job.result["runs"][0]["results"][0]
    assert entry["scores"]["dcpdd"] > 0 and job.result["frequency_table"]["id"] == table_id
    exported = client.get(f"/api/v1/jobs/{job_id}/export/?format=csv").content.decode()
    lines = list(csv.reader(io.StringIO(exported)))
    assert lines[0][0] == "# manifest" and json.loads(lines[0][1])["kind"] == "detect_text"
    assert {row[2] for row in lines[2:]} == {"dcpdd", "loss"}
