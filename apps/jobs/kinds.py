"""Every kind of job: which queue runs it, its time limits, its pipeline and how its inputs are built.

A kind's pipeline (``workers.pipelines.<name>.run``) is framework-free; its input builder (in the feature's app)
turns the Job row into the plain dict the pipeline takes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str  # "cpu" or "gpu": routed by resource
    soft_time_limit_s: int
    pipeline: str  # "module:function"
    build_inputs: str  # "module:function" taking the Job, returning the pipeline's inputs
    csv_exporter: str | None = None  # "module:function" turning a stored result into CSV text
    rerun: str | None = None  # "module:function" submitting a new job from a stored result's manifest
    npz_exporter: str | None = None  # "module:function" turning a finished Job into NumPy .npz bytes

    @property
    def time_limit_s(self) -> int:
        """The soft limit, unless JOB_TIME_LIMITS overrides it for this kind (an operator's knob)."""
        from django.conf import settings

        return int(settings.JOB_TIME_LIMITS.get(self.name, self.soft_time_limit_s))

    @property
    def hard_time_limit_s(self) -> int:
        return self.time_limit_s + 30

    def load_pipeline(self) -> Callable[..., dict[str, Any]]:
        return _load(self.pipeline)

    def load_csv_exporter(self) -> Callable[[dict[str, Any]], str] | None:
        return _load(self.csv_exporter) if self.csv_exporter else None

    def load_input_builder(self) -> Callable[..., dict[str, Any]]:
        return _load(self.build_inputs)

    def load_npz_exporter(self) -> Callable[..., bytes] | None:
        return _load(self.npz_exporter) if self.npz_exporter else None

    def load_rerun(self) -> Callable[..., tuple[Any, bool]] | None:
        return _load(self.rerun) if self.rerun else None


def _load(dotted: str) -> Callable[..., Any]:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


JOB_KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in [
        JobKind(
            "tokenize",
            "cpu",
            600,
            "workers.pipelines.tokenize:run",
            "apps.tokenization.jobs:build_inputs",
            csv_exporter="workers.pipelines.tokenize:to_csv",
            rerun="apps.tokenization.reruns:tokenize_rerun",
        ),
        JobKind(
            "speculative",
            "gpu",
            900,
            "workers.pipelines.speculative:run",
            "apps.speculative.jobs:build_inputs",
            rerun="apps.speculative.reruns:speculative_rerun",
        ),
        JobKind("distill_draft", "gpu", 3900, "workers.pipelines.distill_draft:run", "apps.speculative.jobs:params"),
        JobKind(
            "detect_text",
            "gpu",
            900,
            "workers.pipelines.detection_text:run",
            "apps.detection.jobs:detect_text_inputs",
            csv_exporter="workers.pipelines.detection_text:to_csv",
        ),
        JobKind(
            "detect_dataset",
            "gpu",
            3600,
            "workers.pipelines.detection_dataset:run",
            "apps.detection.jobs:detect_dataset_inputs",
            csv_exporter="workers.pipelines.detection_dataset:to_csv",
        ),
        JobKind(
            "frequency_table",
            "cpu",
            1800,
            "workers.pipelines.detection_frequency:run",
            "apps.detection.jobs:frequency_table_inputs",
        ),
        JobKind(
            "media_tokenize",
            "cpu",
            900,
            "workers.pipelines.media_tokenize:run",
            "apps.media.jobs:media_tokenize_inputs",
            rerun="apps.media.reruns:media_tokenize_rerun",
            npz_exporter="apps.media.export:media_npz",
        ),
        JobKind(
            "media_codebook",
            "cpu",
            1800,
            "workers.pipelines.media_codebook:run",
            "apps.media.jobs:media_codebook_inputs",
        ),
    ]
}


def job_kind(name: str) -> JobKind:
    return JOB_KINDS[name]
