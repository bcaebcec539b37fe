"""Detection scores: membership inference (was this text in the training data?) and machine-text detection.

Framework-free science. Importing this package imports numpy only; torch is imported by the functions that run a
model. Public names (the app and the job pipelines import only these):
"""

from workers.detection.errors import DetectionInputError
from workers.detection.frequency import FrequencyTable, tokenizer_fingerprint
from workers.detection.metrics import (
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
from workers.detection.quantities import PairQuantities, TokenQuantities, compute_pair_quantities, compute_quantities
from workers.detection.run import DetectionModel, required_inputs, score_texts
from workers.detection.scores import score_text
from workers.detection.specs import (
    FREQUENCY_TABLE,
    LOWERCASE,
    REFERENCE_MODEL,
    SCORES,
    SECOND_MODEL,
    ScoreContext,
    ScoreParams,
    ScoreSpec,
)

__all__ = [
    "FREQUENCY_TABLE",
    "LOWERCASE",
    "REFERENCE_MODEL",
    "SCORES",
    "SECOND_MODEL",
    "DetectionInputError",
    "DetectionModel",
    "FrequencyTable",
    "PairQuantities",
    "ScoreContext",
    "ScoreParams",
    "ScoreSpec",
    "TokenQuantities",
    "auroc",
    "best_accuracy",
    "bootstrap_ci",
    "breakdown_by_length",
    "compute_pair_quantities",
    "compute_quantities",
    "histogram_per_class",
    "orient",
    "pr_auc",
    "required_inputs",
    "roc_curve",
    "score_text",
    "score_texts",
    "threshold_summary",
    "tokenizer_fingerprint",
    "tpr_at_fpr",
]
