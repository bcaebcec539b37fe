"""The detect_dataset pipeline: every row of a labelled dataset x models x scores, then the metrics of each score.

Inputs: the detect parameters (``detection_common.parse_detect_params``) plus ``rows`` (``[{"text", "label"}]``,
label 1 = member / machine), ``dataset`` (its description), ``bootstrap`` and ``seed``. Rows are scored in chunks;
progress is reported after each chunk (and inside it), and a cancelled job stops at the next report.

Metrics orient each score with its ``higher_means`` (AUROC is always "positive class = member / machine"); ROC
thresholds are given back in the score's own units with the rule that turns them into a prediction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.detection import (
    SCORES,
    auroc,
    best_accuracy,
    bootstrap_ci,
    breakdown_by_length,
    histogram_per_class,
    orient,
    pr_auc,
    roc_curve,
    tpr_at_fpr,
)
from workers.pipelines.detection_common import (
    LENGTH_RULE,
    MAX_DATASET_ROWS,
    DetectionJobError,
    Report,
    detect_manifest,
    frequency_entry,
    load_models,
    model_entry,
    parse_detect_params,
    score_conventions,
    texts_sha256,
    user_errors,
)
from workers.pipelines.model_loading import Loader, noop_report

CHUNK_ROWS = 64
"""Rows scored between two progress reports (a cancel is seen within one chunk at the latest)."""
MAX_ROC_POINTS = 1000
"""ROC points stored per score (evenly thinned; the end points always kept)."""
PREVIEW_CHARS = 80
SCORING_SHARE = 0.9
"""Share of the progress bar for scoring; the metrics (bootstrap) take the rest."""


def parse_rows(inputs: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    rows = inputs.get("rows")
    if not isinstance(rows, list) or len(rows) < 2:
        raise DetectionJobError("The dataset needs at least two rows (one of each class).")
    if len(rows) > MAX_DATASET_ROWS:
        raise DetectionJobError(f"The dataset has more than {MAX_DATASET_ROWS:,} rows.")
    texts = [str(row["text"]) for row in rows]
    labels = np.asarray([int(row["label"]) for row in rows], dtype=np.int64)
    if not np.all(np.isin(labels, (0, 1))) or labels.sum() in (0, labels.size):
        raise DetectionJobError("Labels must be 0 or 1, with both classes present.")
    return texts, labels


def _thin(count: int, limit: int) -> np.ndarray:
    if count <= limit:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, count - 1, limit)).astype(np.int64))


def score_metrics(
    values: list[float | None], labels: np.ndarray, words: np.ndarray, name: str, *, bootstrap: int, seed: int
) -> dict[str, Any]:
    """Every metric of one score over the rows it is defined for (undefined rows are counted and left out)."""
    spec = SCORES[name]
    defined = np.asarray([v is not None and np.isfinite(v) for v in values])
    raw = np.asarray([v if d else 0.0 for v, d in zip(values, defined, strict=True)], dtype=np.float64)[defined]
    y = labels[defined]
    base: dict[str, Any] = {
        "higher_means": spec.higher_means,
        "rows_scored": int(defined.sum()),
        "rows_undefined": int((~defined).sum()),
        "positives": int(y.sum()),
        "negatives": int(y.size - y.sum()),
    }
    if y.size == 0 or y.sum() in (0, y.size):
        return {**base, "available": False, "reason": "the rows this score is defined for lack one of the classes"}
    s = orient(raw, spec.higher_means)
    fpr, tpr, thresholds = roc_curve(s, y)
    keep = _thin(fpr.size, MAX_ROC_POINTS)
    stored = thresholds[keep] if spec.positive_is_higher else -thresholds[keep]
    ci: dict[str, Any] = {}
    if bootstrap > 0:
        metrics: dict[str, Callable[[Any, Any], float]] = {
            "auroc": auroc,
            "tpr_at_1_fpr": lambda a, b: tpr_at_fpr(a, b, 0.01),
            "tpr_at_5_fpr": lambda a, b: tpr_at_fpr(a, b, 0.05),
        }
        ci = {key: bootstrap_ci(metric, s, y, n=bootstrap, seed=seed) for key, metric in metrics.items()}
    best = best_accuracy(s, y)
    return {
        **base,
        "available": True,
        "auroc": auroc(s, y),
        "tpr_at_1_fpr": tpr_at_fpr(s, y, 0.01),
        "tpr_at_5_fpr": tpr_at_fpr(s, y, 0.05),
        "pr_auc": pr_auc(s, y),
        "best_accuracy": {
            "accuracy": best["accuracy"],
            "threshold": best["threshold"] if spec.positive_is_higher else -best["threshold"],
        },
        "ci": ci,
        "roc": {
            "rule": ">=" if spec.positive_is_higher else "<=",
            "fpr": fpr[keep].tolist(),
            "tpr": tpr[keep].tolist(),
            "threshold": [None if not np.isfinite(t) else float(t) for t in stored],
        },
        "histogram": histogram_per_class(raw, y),
        "by_length": breakdown_by_length(s, y, words[defined]),
    }


def run(inputs: dict[str, Any], report: Report = noop_report, *, load: Loader | None = None) -> dict[str, Any]:
    texts, labels = parse_rows(inputs)
    params = parse_detect_params(inputs)
    bootstrap = int(inputs.get("bootstrap", 1000))
    seed = int(inputs.get("seed", 0))
    models = load_models(params, load, report)
    words = np.asarray([len(text.split()) for text in texts], dtype=np.int64)
    per_model: dict[str, list[dict[str, Any]]] = {}
    total_steps = len(models.main) * len(texts)
    done_rows = 0
    for ref, loaded in models.main.items():
        model_id = str(getattr(loaded.spec, "id", ref))
        results: list[dict[str, Any]] = []
        for start in range(0, len(texts), CHUNK_ROWS):
            chunk = texts[start : start + CHUNK_ROWS]

            def stage(
                progress: float, message: str, base: int = done_rows, size: int = len(chunk), name: str = model_id
            ) -> None:
                report(SCORING_SHARE * (base + progress * size) / total_steps, f"{name}: {message}")

            scored = models.score(chunk, ref=ref, params=params, report=stage)
            results += [
                {"scores": r["scores"], "n_tokens": r["n_tokens"], "truncated": r["truncated"], "notes": r["notes"]}
                for r in scored
            ]
            done_rows += len(chunk)
            report(
                SCORING_SHARE * done_rows / total_steps,
                f"{model_id}: scored {start + len(chunk):,} of {len(texts):,} rows",
            )
        per_model[model_id] = results
    metrics: dict[str, dict[str, Any]] = {}
    pairs = [(model_id, name) for model_id in per_model for name in params.scores]
    for index, (model_id, name) in enumerate(pairs):
        report(SCORING_SHARE + (1 - SCORING_SHARE) * index / len(pairs), f"metrics: {model_id} · {name}")
        values = [row["scores"].get(name) for row in per_model[model_id]]
        with user_errors():
            metrics.setdefault(model_id, {})[name] = score_metrics(
                values, labels, words, name, bootstrap=bootstrap, seed=seed
            )
    report(1.0, "Done")
    rows = [
        {
            "index": i,
            "label": int(labels[i]),
            "words": int(words[i]),
            "chars": len(texts[i]),
            "preview": " ".join(texts[i][: PREVIEW_CHARS * 2].split())[:PREVIEW_CHARS],
            "results": {model_id: per_model[model_id][i] for model_id in per_model},
        }
        for i in range(len(texts))
    ]
    frequency = frequency_entry(params, models.frequency)
    dataset = dict(inputs.get("dataset") or {})
    manifest = detect_manifest(
        "detect_dataset",
        params,
        models,
        input_section={
            "dataset_sha256": dataset.get("sha256"),
            "rows": len(texts),
            "rows_sha256": texts_sha256(texts),
            "bootstrap": bootstrap,
            "seed": seed,
        },
        frequency=frequency,
    )
    return {
        "dataset": dataset,
        "scores": score_conventions(params.scores),
        "params": params.for_manifest()["params"],
        "models": [model_entry(ref, loaded) for ref, loaded in models.main.items()],
        "reference_model": model_entry(str(params.reference_model), models.reference),
        "second_model": model_entry(str(params.second_model), models.second),
        "frequency_table": frequency,
        "length_rule": LENGTH_RULE,
        "bootstrap": {"n": bootstrap, "seed": seed, "level": 0.95, "stratified": True},
        "rows": rows,
        "metrics": metrics,
        "manifest": manifest,
        "versions": manifest["libraries"],
    }


def to_csv(result: dict[str, Any]) -> str:
    """One row per dataset row: index, label, words, preview, then one column per (model, score) value."""
    models = [entry["id"] for entry in result["models"]]
    scores = [entry["name"] for entry in result["scores"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("index", "label", "words", "preview", *(f"{m}:{s}" for m in models for s in scores)))
    for row in result["rows"]:
        values = []
        for model in models:
            found = row["results"][model]["scores"]
            values += ["" if found.get(s) is None else repr(float(found[s])) for s in scores]
        writer.writerow((row["index"], row["label"], row["words"], row["preview"], *values))
    return buffer.getvalue()
