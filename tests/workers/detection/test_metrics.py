"""The dataset metrics against scikit-learn on the same arrays (ties included: scores are rounded)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from workers.detection import (
    DetectionInputError,
    auroc,
    best_accuracy,
    bootstrap_ci,
    breakdown_by_length,
    histogram_per_class,
    orient,
    pr_auc,
    roc_curve,
    threshold_summary,
    tpr_at_fpr,
)
from workers.detection.metrics import bootstrap_indices


@pytest.fixture(params=[0, 1, 2])
def data(request) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(request.param)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + 0.8 * labels, 1)  # rounded: many ties
    return scores, labels


def test_roc_curve_equals_sklearn(data) -> None:
    """Catches ties split into several ROC points, a wrong threshold direction, or a missing (0, 0) point."""
    scores, labels = data
    fpr, tpr, thresholds = roc_curve(scores, labels)
    sk_fpr, sk_tpr, sk_thresholds = sk.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thresholds[1:], sk_thresholds[1:])
    assert thresholds[0] == np.inf


def test_auroc_pr_auc_and_tpr_at_fpr_equal_sklearn(data) -> None:
    """Catches a wrong area (ties not counted half), AP computed trapezoidally, or TPR@FPR read at FPR > target."""
    scores, labels = data
    assert auroc(scores, labels) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    assert pr_auc(scores, labels) == pytest.approx(sk.average_precision_score(labels, scores), abs=1e-12)
    sk_fpr, sk_tpr, _ = sk.roc_curve(labels, scores)
    for target in (0.01, 0.05, 0.2):
        assert tpr_at_fpr(scores, labels, target) == pytest.approx(sk_tpr[sk_fpr <= target].max())


def test_best_accuracy_and_threshold_summary_equal_sklearn(data) -> None:
    """Catches a confusion matrix built with '>' instead of '>=' at the threshold, or a best accuracy that is not
    the balanced one DC-PDD reports."""
    scores, labels = data
    best = best_accuracy(scores, labels)
    predicted = (scores >= best["threshold"]).astype(int)
    assert best["accuracy"] == pytest.approx(sk.balanced_accuracy_score(labels, predicted))
    thresholds = np.unique(scores)
    assert best["accuracy"] == pytest.approx(
        max(sk.balanced_accuracy_score(labels, (scores >= t).astype(int)) for t in thresholds)
    )
    for threshold in (thresholds[3], 0.0, thresholds[-2]):
        summary = threshold_summary(scores, labels, threshold)
        tn, fp, fn, tp = sk.confusion_matrix(labels, (scores >= threshold).astype(int)).ravel()
        assert (summary["tp"], summary["fp"], summary["tn"], summary["fn"]) == (tp, fp, tn, fn)
        assert summary["tpr"] == pytest.approx(sk.recall_score(labels, scores >= threshold))


def test_bootstrap_interval_equals_sklearn_on_the_same_resamples(data) -> None:
    """Catches resamples that lose a class, a wrong percentile, or a seed that is not honoured."""
    scores, labels = data
    got = bootstrap_ci(auroc, scores, labels, n=200, seed=7)
    resamples = bootstrap_indices(labels, 200, np.random.default_rng(7))
    values = [sk.roc_auc_score(labels[idx], scores[idx]) for idx in resamples]
    assert got["low"] == pytest.approx(np.quantile(values, 0.025))
    assert got["high"] == pytest.approx(np.quantile(values, 0.975))
    assert got["estimate"] == pytest.approx(sk.roc_auc_score(labels, scores))
    assert all(labels[idx].sum() == labels.sum() for idx in resamples)  # stratified
    assert bootstrap_ci(auroc, scores, labels, n=200, seed=7) == got


def test_histograms_and_length_breakdown(data) -> None:
    """Catches per-class histograms over different bins (not comparable) and a length bucket that leaks rows."""
    scores, labels = data
    hist = histogram_per_class(scores, labels, bins=12)
    assert hist["positive"] == np.histogram(scores[labels == 1], bins=hist["edges"])[0].tolist()
    assert sum(hist["positive"]) + sum(hist["negative"]) == scores.size
    lengths = np.arange(scores.size)
    rows = breakdown_by_length(scores, labels, lengths, edges=(0, 100, 200))
    assert [row["n"] for row in rows] == [100, 100, 100]
    assert rows[1]["auroc"] == pytest.approx(sk.roc_auc_score(labels[100:200], scores[100:200]))


def test_orientation_makes_auroc_positive_class_member_or_machine() -> None:
    """Catches a score whose 'higher means non-member' is not flipped before the metrics."""
    perplexity = np.array([2.0, 3.0, 10.0, 20.0])
    member = np.array([1, 1, 0, 0])
    assert auroc(orient(perplexity, "non-member"), member) == 1.0
    assert auroc(orient(perplexity, "member"), member) == 0.0


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.1, 0.2], [1, 1], "both classes"),
        ([0.1], [1], "both classes"),
        ([0.1, 0.2], [0, 2], "binary"),
        ([0.1, float("nan")], [0, 1], "finite"),
        ([0.1, 0.2, 0.3], [0, 1], "labels"),
    ],
)
def test_bad_datasets_are_user_errors(scores, labels, message) -> None:
    """Catches a one-class or one-row dataset, non-binary labels or NaN scores giving NaN metrics (or a 500)."""
    with pytest.raises(DetectionInputError, match=message):
        auroc(scores, labels)
