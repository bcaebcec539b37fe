"""Build the tokenize pipeline's inputs from a queued Job (runs in the worker)."""

from __future__ import annotations

from typing import Any

from apps.catalog.services import tokenizer_inputs_for_team
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.uploads.services import upload_read_text


def build_inputs(job: Job) -> dict[str, Any]:
    if job.input_upload is None:
        raise ApplicationError("The job's input text is missing (its upload was deleted).")
    tokenizers = list(job.params["tokenizers"])
    return {
        "text": upload_read_text(upload=job.input_upload),
        "tokenizers": tokenizers,
        "baseline": job.params.get("baseline"),
        "special_tokens": job.params.get("special_tokens", "plain"),
        "custom": tokenizer_inputs_for_team(team=job.team, tokenizer_ids=tokenizers),
    }
