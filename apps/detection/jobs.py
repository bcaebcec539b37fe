"""Build the detection pipelines' inputs from a queued Job (runs in the worker): the stored rows or corpus, and the
chosen frequency table's file (server paths never enter a job's parameters or result)."""

from __future__ import annotations

from typing import Any

import orjson

from apps.core.errors import ApplicationError
from apps.detection.selectors import frequency_table_get_for_team, frequency_table_path
from apps.jobs.models import Job
from apps.uploads.services import upload_read_text
from workers.pipelines.detection_common import DetectionJobError


def _detect_inputs(job: Job) -> dict[str, Any]:
    inputs = {key: value for key, value in job.params.items() if key not in ("dataset", "frequency_table", "texts")}
    table_id = job.params.get("frequency_table")
    if table_id:
        try:  # deleted since the request: a message for the user, not an internal error
            table = frequency_table_get_for_team(team=job.team, table_id=table_id)
        except ApplicationError as exc:
            raise DetectionJobError(exc.message) from exc
        inputs["frequency_table"] = {
            "id": str(table.id),
            "path": str(frequency_table_path(team_id=job.team_id, job_id=table.id)),
        }
    return inputs


def detect_text_inputs(job: Job) -> dict[str, Any]:
    if job.input_upload is None:
        raise DetectionJobError("The job's texts are missing (their upload was deleted).")
    return {**_detect_inputs(job), "texts": orjson.loads(upload_read_text(upload=job.input_upload))}


def detect_dataset_inputs(job: Job) -> dict[str, Any]:
    if job.input_upload is None:
        raise DetectionJobError("The job's dataset is missing (its upload was deleted).")
    rows = [orjson.loads(line) for line in upload_read_text(upload=job.input_upload).splitlines() if line]
    return {**_detect_inputs(job), "rows": rows, "dataset": job.params.get("dataset") or {}}


def frequency_table_inputs(job: Job) -> dict[str, Any]:
    corpus = dict(job.params["corpus"])
    if "upload" in corpus:
        if job.input_upload is None:
            raise DetectionJobError("The job's corpus is missing (its upload was deleted).")
        corpus["text"] = upload_read_text(upload=job.input_upload)
    return {
        "model": job.params["model"],
        "corpus": corpus,
        "max_tokens_per_text": job.params.get("max_tokens_per_text"),
        "output_path": str(frequency_table_path(team_id=job.team_id, job_id=job.id)),
    }
