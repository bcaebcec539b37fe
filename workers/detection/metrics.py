"""Dataset metrics of a score over labelled texts (numpy only).

Every function takes *oriented* scores: higher means the positive class (member / machine), and labels 1 for the
positive class, 0 for the negative one. ``orient`` turns a stored score into that form with its spec's
``higher_means``, so an AUROC is always "positive = member / machine".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workers.detection.errors import DetectionInputError

Metric = Callable[[np.ndarray, np.ndarray], float]

DEFAULT_LENGTH_EDGES = (0, 32, 64, 128, 256)
"""WikiMIA-style length buckets (in words, or whatever unit the caller's lengths use); the last one is open."""


def orient(scores: Sequence[float] | np.ndarray, higher_means: str) -> np.ndarray:
    """Stored scores -> oriented scores (negated when a higher value means non-member or human)."""
    values = np.asarray(scores, dtype=np.float64)
    if higher_means in ("member", "machine"):
        return values
    if higher_means in ("non-member", "human"):
        return -values
    raise ValueError(f"unknown direction {higher_means!r}")


def _checked(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    raw = np.asarray(labels).reshape(-1)
    if s.shape != raw.shape:
        raise DetectionInputError(f"{s.size} scores but {raw.size} labels")
    if not np.all(np.isfinite(s)):
        raise DetectionInputError("scores must be finite numbers (drop the rows a score is undefined for)")
    if raw.size and not np.all(np.isin(raw, (0, 1))):
        raise DetectionInputError("labels must be binary: 1 (member / machine) or 0 (non-member / human)")
    y = raw.astype(np.int64)
    if y.sum() == 0 or y.sum() == y.size:
        raise DetectionInputError("the metrics need both classes: at least one row labelled 1 and one labelled 0")
    return s, y


def roc_curve(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds): one point per distinct score, thresholds descending, plus the (0, 0) point whose
    threshold is +inf. A row is predicted positive when its score >= the threshold (as scikit-learn's, with
    ``drop_intermediate=False``)."""
    s, y = _checked(scores, labels)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_each = np.r_[np.nonzero(np.diff(s_sorted))[0], s.size - 1]
    tp = np.cumsum(y_sorted)[last_of_each]
    fp = (last_of_each + 1) - tp
    fpr = np.r_[0.0, fp / (y.size - y.sum())]
    tpr = np.r_[0.0, tp / y.sum()]
    thresholds = np.r_[np.inf, s_sorted[last_of_each]]
    return fpr, tpr, thresholds


def auroc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative) + 0.5 P(tie)."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.trapezoid(tpr, fpr))


def tpr_at_fpr(scores: Any, labels: Any, fpr: float = 0.01) -> float:
    """The highest TPR of a threshold whose false-positive rate is at most ``fpr``."""
    if not 0.0 <= fpr <= 1.0:
        raise DetectionInputError(f"fpr must be in [0, 1], got {fpr}")
    rates, tprs, _ = roc_curve(scores, labels)
    return float(tprs[rates <= fpr + 1e-12].max())


def pr_auc(scores: Any, labels: Any) -> float:
    """Area under the precision-recall curve as average precision: sum over thresholds of
    (recall_k - recall_{k-1}) * precision_k (step-wise, scikit-learn's ``average_precision_score``; Lastde's script
    reports the trapezoidal area instead, which overestimates on few points)."""
    s, y = _checked(scores, labels)
    fpr, tpr, _ = roc_curve(s, y)
    tp = tpr[1:] * y.sum()
    fp = fpr[1:] * (y.size - y.sum())
    precision = tp / (tp + fp)
    recall_steps = np.diff(tpr)
    return float(np.sum(recall_steps * precision))


def best_accuracy(scores: Any, labels: Any) -> dict[str, float]:
    """Best balanced accuracy over thresholds, max 1 - (FPR + FNR) / 2 (DC-PDD's and MIMIR's "accuracy")."""
    fpr, tpr, thresholds = roc_curve(scores, labels)
    values = 1.0 - (fpr + (1.0 - tpr)) / 2.0
    best = int(np.argmax(values))
    return {"accuracy": float(values[best]), "threshold": float(thresholds[best])}


def bootstrap_ci(
    metric: Metric,
    scores: Any,
    labels: Any,
    *,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """Percentile bootstrap interval of ``metric``: ``n`` resamples of the rows with replacement, stratified by
    class (each resample keeps the class sizes, so none lacks a class). Deterministic for a seed."""
    s, y = _checked(scores, labels)
    if n < 1 or not 0.0 < level < 1.0:
        raise DetectionInputError("bootstrap needs n >= 1 and a level in (0, 1)")
    rng = np.random.default_rng(seed)
    values = np.array([metric(s[idx], y[idx]) for idx in bootstrap_indices(y, n, rng)])
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return {"estimate": float(metric(s, y)), "low": float(low), "high": float(high), "n": n, "level": level}


def bootstrap_indices(labels: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The row indices of each stratified resample (exposed so a test can recompute the metric on them)."""
    positives = np.flatnonzero(labels == 1)
    negatives = np.flatnonzero(labels == 0)
    return [
        np.concatenate(
            [rng.choice(positives, positives.size, replace=True), rng.choice(negatives, negatives.size, replace=True)]
        )
        for _ in range(n)
    ]


def threshold_summary(scores: Any, labels: Any, threshold: float) -> dict[str, float | int]:
    """What a threshold implies on these rows: predicted positive when score >= threshold."""
    s, y = _checked(scores, labels)
    predicted = s >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    tn = int(np.sum(~predicted & (y == 0)))
    return {
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "tpr": tp / (tp + fn),
        "fpr": fp / (fp + tn),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "accuracy": (tp + tn) / y.size,
    }


def histogram_per_class(scores: Any, labels: Any, *, bins: int = 30) -> dict[str, list[float] | list[int]]:
    """Counts per class over shared, equal-width bins spanning all scores."""
    s, y = _checked(scores, labels)
    edges = np.histogram_bin_edges(s, bins=bins)
    return {
        "edges": edges.tolist(),
        "positive": np.histogram(s[y == 1], bins=edges)[0].tolist(),
        "negative": np.histogram(s[y == 0], bins=edges)[0].tolist(),
    }


def breakdown_by_length(
    scores: Any, labels: Any, lengths: Any, *, edges: Sequence[int] = DEFAULT_LENGTH_EDGES
) -> list[dict[str, Any]]:
    """AUROC per length bucket [edges[i], edges[i+1]) (the last open-ended); None where a bucket lacks a class."""
    s, y = _checked(scores, labels)
    n = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if n.shape != s.shape:
        raise DetectionInputError(f"{n.size} lengths for {s.size} scores")
    bounds: list[int | None] = [*edges, None]
    rows: list[dict[str, Any]] = []
    for low, high in zip(edges, bounds[1:], strict=True):
        inside = (n >= low) & (n < high) if high is not None else n >= low
        count_pos = int(y[inside].sum())
        count = int(inside.sum())
        both = 0 < count_pos < count
        rows.append(
            {
                "min": low,
                "max": high,
                "n": count,
                "positive": count_pos,
                "negative": count - count_pos,
                "auroc": auroc(s[inside], y[inside]) if both else None,
            }
        )
    return rows
