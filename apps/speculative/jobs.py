"""Build the speculative pipeline's inputs from a queued Job (runs in the worker)."""

from __future__ import annotations

from typing import Any

from apps.jobs.models import Job


def params(job: Job) -> dict[str, Any]:
    return dict(job.params)


def build_inputs(job: Job) -> dict[str, Any]:
    return {key: value for key, value in job.params.items() if key != "prompt_tokens"}
