"""The NumPy export of a media job (``GET /api/v1/jobs/<id>/export/?format=npz``): every tokenizer's codes as integer
arrays (the smallest signed type that holds them) (``codes/<tokenizer id>``, all of them, also where the stored result keeps only the first 100,000) and the
manifest as a JSON string (``manifest``). No pickles: ``np.load(path, allow_pickle=False)`` reads it."""

from __future__ import annotations

import io
import json

import numpy as np

from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.media import selectors
from workers.pipelines.media_tokenize import CODES_ARTIFACT


def media_npz(job: Job) -> bytes:
    path = selectors.artifact_dir(team_id=job.team_id, job_id=job.id) / CODES_ARTIFACT
    if path.is_file():
        return path.read_bytes()
    result = job.result or {}
    arrays = {
        f"codes/{item['id']}": np.asarray(item["codes"], dtype=np.int64)
        for item in result.get("tokenizers", [])
        if not item.get("error") and "codes" in item
    }
    if any(item.get("codes_truncated") for item in result.get("tokenizers", [])):
        raise ApplicationError(
            "This result's codes file is no longer stored; re-run the job to export all codes.", status=409
        )
    arrays["manifest"] = np.asarray(json.dumps(result.get("manifest"), ensure_ascii=False))
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
    return out.getvalue()
