"""Build the media pipelines' inputs from a queued Job (runs in the worker): the stored file's path, checkpoint
references checked against the allow-list again, team codebooks resolved to their files, the artifact folder.
Server paths never enter a job's parameters or result."""

from __future__ import annotations

from typing import Any

from apps.catalog.references import model_ref_for_team
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.media import selectors
from apps.media.limits import MAX_IMAGE_PIXELS
from apps.uploads.models import Upload
from workers.pipelines.media_tokenize import MediaJobError


def _selection(job: Job, item: dict[str, Any]) -> dict[str, Any]:
    chosen: dict[str, Any] = {"id": item["id"], "ref": item.get("ref")}
    try:
        if chosen["ref"]:  # a folder allowed when the job was queued may not be now
            chosen["ref"] = model_ref_for_team(team=job.team, ref=chosen["ref"], role=f"{item['id']} checkpoint")
        if selectors.is_codebook_id(item["id"]):
            codebook = selectors.codebook_get_for_team(team=job.team, tokenizer_id=item["id"])
            chosen["codebook"] = {
                "path": str(selectors.codebook_path(team_id=job.team_id, job_id=codebook.id)),
                "method": codebook.params.get("method"),
            }
    except ApplicationError as exc:
        raise MediaJobError(exc.message) from exc
    return chosen


def _stored_path(upload: Upload | None, what: str) -> str:
    if upload is None or not upload.file.name or not upload.file.storage.exists(upload.file.name):
        raise MediaJobError(f"The job's {what} is missing (its upload was deleted); upload it again.")
    return str(upload.file.path)


def media_tokenize_inputs(job: Job) -> dict[str, Any]:
    params = job.params
    inputs: dict[str, Any] = {
        "modality": params["modality"],
        "path": _stored_path(job.input_upload, "file"),
        "filename": params.get("filename"),
        "sha256": (params.get("upload") or {}).get("sha256"),
        "size_bytes": (params.get("upload") or {}).get("size_bytes"),
        "tokenizers": [_selection(job, item) for item in params["tokenizers"]],
        "seed": params.get("seed", 0),
        "artifact_dir": str(selectors.artifact_dir(team_id=job.team_id, job_id=job.id)),
    }
    if params["modality"] == "image":
        inputs.update(ks=params.get("ks"), max_pixels=MAX_IMAGE_PIXELS)
    else:
        inputs["max_seconds"] = params["max_seconds"]
    return inputs


def media_codebook_inputs(job: Job) -> dict[str, Any]:
    params = job.params
    paths = []
    for item in params.get("uploads") or []:
        upload = Upload.objects.filter(pk=item["id"], team=job.team, kind=params["modality"]).first()
        paths.append({"path": _stored_path(upload, f"training file '{item.get('filename')}'"), **item})
    return {
        "modality": params["modality"],
        "method": params["method"],
        "codebook_size": params["codebook_size"],
        "seed": params.get("seed", 0),
        "uploads": paths,
        "output_path": str(selectors.codebook_path(team_id=job.team_id, job_id=job.id)),
        "tokenizer_id": selectors.codebook_tokenizer_id(modality=params["modality"], job_id=job.id),
        "name": params.get("name") or "",
    }
