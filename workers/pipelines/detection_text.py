"""The detect_text pipeline: texts x models x scores, with the per-token quantities the views draw.

Framework-free: ``run(inputs, report)`` takes ``{"texts": [...], "models": [...], "scores": [...], "params": {...},
"reference_model", "second_model", "frequency_table": {"id", "path"}, "batch_size"}`` and returns the result
described in docs/api.md ("Detection").
"""

from __future__ import annotations

import csv
import io
from typing import Any

from workers.pipelines.detection_common import (
    LENGTH_RULE,
    MAX_TEXT_CHARS,
    MAX_TEXTS,
    DetectionJobError,
    Report,
    detect_manifest,
    frequency_entry,
    load_models,
    model_entry,
    parse_detect_params,
    score_conventions,
    texts_sha256,
)
from workers.pipelines.model_loading import Loader, noop_report


def parse_texts(inputs: dict[str, Any]) -> list[str]:
    texts = inputs.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise DetectionJobError("Give at least one text to score (texts: a list of strings).")
    if len(texts) > MAX_TEXTS:
        raise DetectionJobError(f"Score at most {MAX_TEXTS} texts in one run; upload a dataset for more.")
    for index, text in enumerate(texts):
        if not text.strip():
            raise DetectionJobError(f"Text {index + 1} is empty: there is nothing to score.")
        if len(text) > MAX_TEXT_CHARS:
            raise DetectionJobError(
                f"Text {index + 1} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,} per text."
            )
    return texts


def run(inputs: dict[str, Any], report: Report = noop_report, *, load: Loader | None = None) -> dict[str, Any]:
    texts = parse_texts(inputs)
    params = parse_detect_params(inputs)
    models = load_models(params, load, report)
    runs = []
    for index, (ref, loaded) in enumerate(models.main.items()):
        span = (index / len(models.main), (index + 1) / len(models.main))

        def stage(progress: float, message: str, span: tuple[float, float] = span, ref: str = ref) -> None:
            report(span[0] + progress * (span[1] - span[0]), f"{ref}: {message}")

        results = models.score(texts, ref=ref, params=params, report=stage)
        runs.append({"model": model_entry(ref, loaded), "results": results})
    report(1.0, "Done")
    frequency = frequency_entry(params, models.frequency)
    manifest = detect_manifest(
        "detect_text",
        params,
        models,
        input_section={"texts": len(texts), "sha256": texts_sha256(texts)},
        frequency=frequency,
    )
    return {
        "texts": texts,
        "scores": score_conventions(params.scores),
        "params": params.for_manifest()["params"],
        "reference_model": model_entry(str(params.reference_model), models.reference),
        "second_model": model_entry(str(params.second_model), models.second),
        "frequency_table": frequency,
        "length_rule": LENGTH_RULE,
        "runs": runs,
        "manifest": manifest,
        "versions": manifest["libraries"],  # the job's ``versions`` (the runner moves it out of the result)
    }


CSV_COLUMNS = ("model", "text_index", "score", "value", "higher_means", "n_tokens", "truncated")


def to_csv(result: dict[str, Any]) -> str:
    """One row per (model, text, score): the stored value and its sign convention."""
    conventions = {entry["name"]: entry["higher_means"] for entry in result["scores"]}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for run_entry in result["runs"]:
        model = run_entry["model"]["id"]
        for text_index, entry in enumerate(run_entry["results"]):
            for name, value in entry["scores"].items():
                writer.writerow(
                    (
                        model,
                        text_index,
                        name,
                        "" if value is None else repr(float(value)),
                        conventions.get(name, ""),
                        entry["n_tokens"],
                        entry["truncated"],
                    )
                )
    return buffer.getvalue()
