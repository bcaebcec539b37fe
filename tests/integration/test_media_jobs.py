"""Media jobs on a real Celery worker: an audio clip through real tokenizers (one of them not installed) with its
artifacts, exports and re-run; a team codebook trained as a job, listed as a tokenizer and used, for its team only."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from apps.jobs.models import Job, JobStatus
from tests.apps.media import files
from tests.conftest import ManagedProcess, wait_for
from tests.factories import make_team, make_user, token_client

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _finished(job_id: str, worker: ManagedProcess, timeout_s: float = 300) -> Job:
    wait_for(lambda: Job.objects.get(pk=job_id).is_finished, timeout_s, f"media job {job_id}", worker)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_audio_job_runs_serves_its_artifacts_exports_and_reruns(celery_worker: ManagedProcess) -> None:
    """Catches a worker that cannot read the stored upload or write the team's artifact folder, a tokenizer that is
    not installed failing the whole job, artifacts or exports another team can read, an npz whose codes differ from
    the result, or a re-run that computes different codes."""
    user = make_user("media-runner")
    client = token_client(user, make_team("Media runners", user))
    stranger = make_user("media-stranger")
    other = token_client(stranger, make_team("Strangers", stranger))
    tokenizers = [
        {"id": "audio/codec2-3200"},
        {"id": "audio/mulaw-8bit"},
        {"id": "audio/hf-codec", "ref": "facebook/encodec_24khz"},  # no hub here: "not installed", the rest run
    ]
    response = client.post(
        "/api/v1/media/tokenize/",
        {"file": files.named(files.speech(), "speech.wav"), "tokenizers": json.dumps(tokenizers)},
        format="multipart",
    )
    assert response.status_code == 202, response.content[:300]
    job_id = response.json()["job"]["id"]
    result = _finished(job_id, celery_worker).result
    assert result is not None
    codec2, mulaw, hf = result["tokenizers"]
    assert codec2["error"] is None and mulaw["error"] is None and "Not installed" in hf["error"]
    assert result["manifest"]["kind"] == "media_tokenize" and result["manifest"]["input"]["sha256"]

    artifact = f"/api/v1/media/jobs/{job_id}/artifacts/{codec2['reconstruction']['artifact']}/"
    served = client.get(artifact)
    assert served.status_code == 200 and _body(served)[:4] == b"RIFF"
    assert client.get(f"/api/v1/media/jobs/{job_id}/artifacts/original.wav/").status_code == 200
    assert other.get(artifact).status_code == 404
    assert other.get(f"/api/v1/jobs/{job_id}/export/?format=npz").status_code == 404

    exported = client.get(f"/api/v1/jobs/{job_id}/export/?format=npz")
    assert exported.status_code == 200
    with np.load(io.BytesIO(_body(exported)), allow_pickle=False) as saved:
        assert saved["codes/audio/codec2-3200"].tolist() == codec2["codes"]
        assert json.loads(str(saved["manifest"]))["seed"] == 0

    rerun = client.post(f"/api/v1/jobs/{job_id}/rerun/")
    assert rerun.status_code == 202, rerun.content[:300]
    again = _finished(rerun.json()["id"], celery_worker).result
    assert again is not None
    assert again["tokenizers"][0]["codes"] == codec2["codes"]  # Codec 2 is deterministic: the same tokens


def test_a_team_codebook_is_trained_listed_and_used_by_its_team_only(celery_worker: ManagedProcess) -> None:
    """Catches a codebook job whose file is not found again (wrong team folder), a codebook missing from the
    tokenizer list, one that cannot tokenize, or one that another team can list or use."""
    user = make_user("codebook-trainer")
    client = token_client(user, make_team("Codebook team", user))
    stranger = make_user("codebook-stranger")
    other = token_client(stranger, make_team("Codebook strangers", stranger))
    trained = client.post(
        "/api/v1/media/codebooks/",
        {"modality": "image", "method": "kmeans-patch", "codebook_size": 16, "name": "tiny patches"},
        format="json",
    )
    assert trained.status_code == 202, trained.content[:300]
    job = _finished(trained.json()["id"], celery_worker)
    tokenizer_id = f"image/codebook-{job.id}"
    listed = {item["id"]: item for item in client.get("/api/v1/media/tokenizers/").json()}
    assert listed[tokenizer_id]["label"] == "tiny patches" and listed[tokenizer_id]["codebook_sizes"] == [16]
    assert tokenizer_id not in {item["id"] for item in other.get("/api/v1/media/tokenizers/").json()}

    used = client.post(
        "/api/v1/media/tokenize/",
        {"file": files.named(files.png(64, 64), "g.png"), "tokenizers": json.dumps([{"id": tokenizer_id}])},
        format="multipart",
    )
    assert used.status_code == 202, used.content[:300]
    result = _finished(used.json()["job"]["id"], celery_worker).result
    assert result is not None
    entry = result["tokenizers"][0]
    assert entry["error"] is None and entry["id"] == tokenizer_id and entry["usage"]["used"] <= 16
    assert result["manifest"]["tokenizers"][0]["files"][0]["sha256"]  # the codebook file's hash
    refused = other.post(
        "/api/v1/media/tokenize/",
        {"file": files.named(files.png(64, 64), "g.png"), "tokenizers": json.dumps([{"id": tokenizer_id}])},
        format="multipart",
    )
    assert refused.status_code == 400 and "No codebook" in refused.json()["message"]
