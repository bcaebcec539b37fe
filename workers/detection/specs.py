"""What each score is: its task, sign convention, what it needs beyond the model, and the parameters.

Every score is stored as its paper defines it; ``higher_means`` says what a higher value indicates. The dataset
metrics orient each score with it, so an AUROC is always "positive class = member / machine".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Task = Literal["membership", "machine"]
Direction = Literal["member", "non-member", "machine", "human"]

LOWERCASE = "lowercase_text"
"""A need: a second forward of the same model over the lowercased text (the lowercase ratio)."""
REFERENCE_MODEL = "reference_model"
"""A need: a second, calibration model (the reference ratio); it may use another tokenizer."""
SECOND_MODEL = "second_model"
"""A need: a second model sharing the first one's tokenizer (Binoculars; optional for Fast-DetectGPT)."""
FREQUENCY_TABLE = "frequency_table"
"""A need: token frequencies of a reference corpus for the model's tokenizer (DC-PDD)."""


@dataclass(frozen=True)
class ScoreSpec:
    name: str
    label: str
    task: Task
    higher_means: Direction
    description: str
    needs: frozenset[str] = frozenset()
    """Inputs the score cannot run without."""
    optional: frozenset[str] = frozenset()
    """Inputs the score uses when given (Fast-DetectGPT: a separate sampling model)."""
    source: str = ""

    @property
    def positive_is_higher(self) -> bool:
        """True when a higher value points to the positive class (member / machine)."""
        return self.higher_means in ("member", "machine")


@dataclass(frozen=True)
class ScoreParams:
    k: float = 0.2
    """Fraction of lowest tokens averaged by Min-K% and Min-K%++ (0 < k <= 1)."""
    dcpdd_a: float = 0.01
    """DC-PDD's upper bound on each token's contribution."""
    lastde_embed: int = 3
    """Lastde: orbit (embedding) size m (official open-source setting: 3)."""
    lastde_epsilon: int = 10
    """Lastde: histogram bins per scored token; the bins are ``lastde_epsilon * n`` (official: 10)."""
    lastde_scales: int = 5
    """Lastde: moving-average scales tau = 1..lastde_scales (official: 5); needs n >= scales + embed tokens."""
    max_tokens: int = 1024
    """Texts longer than this (or than the model's context) are truncated to their first tokens."""

    def validate(self) -> None:
        from workers.detection.errors import DetectionInputError

        if not 0.0 < self.k <= 1.0:
            raise DetectionInputError(f"k must be in (0, 1], got {self.k}")
        if not self.dcpdd_a > 0.0:
            raise DetectionInputError(f"dcpdd_a must be positive, got {self.dcpdd_a}")
        if self.lastde_embed < 2 or self.lastde_scales < 2 or self.lastde_epsilon < 1:
            raise DetectionInputError("lastde_embed must be >= 2, lastde_scales >= 2 and lastde_epsilon >= 1")
        if self.max_tokens < 2:
            raise DetectionInputError(f"max_tokens must be at least 2, got {self.max_tokens}")


_MEMBER: Task = "membership"
_MACHINE: Task = "machine"

SCORES: dict[str, ScoreSpec] = {
    spec.name: spec
    for spec in [
        ScoreSpec(
            "loss",
            "Loss",
            _MEMBER,
            "non-member",
            "Mean negative log-likelihood of the text's tokens.",
            source="Yeom et al. 2018; Carlini et al. 2021",
        ),
        ScoreSpec(
            "perplexity",
            "Perplexity",
            _MEMBER,
            "non-member",
            "exp(loss).",
            source="Carlini et al. 2021",
        ),
        ScoreSpec(
            "zlib",
            "zlib ratio",
            _MEMBER,
            "non-member",
            "log perplexity divided by the zlib-compressed length of the text's UTF-8 bytes.",
            source="Carlini et al. 2021",
        ),
        ScoreSpec(
            "lowercase",
            "Lowercase ratio",
            _MEMBER,
            "non-member",
            "log perplexity of the text over log perplexity of the lowercased text (its own forward).",
            needs=frozenset({LOWERCASE}),
            source="Carlini et al. 2021",
        ),
        ScoreSpec(
            "reference",
            "Reference-model ratio",
            _MEMBER,
            "non-member",
            "log perplexity under the model over log perplexity under a reference model.",
            needs=frozenset({REFERENCE_MODEL}),
            source="Carlini et al. 2021",
        ),
        ScoreSpec(
            "min_k",
            "Min-K% Prob",
            _MEMBER,
            "member",
            "Mean of the k% lowest token log-probabilities.",
            source="Shi et al., ICLR 2024",
        ),
        ScoreSpec(
            "min_k_plus_plus",
            "Min-K%++",
            _MEMBER,
            "member",
            "Mean of the k% lowest per-token z-scores (log p - mu) / sigma against the model's own next-token "
            "distribution.",
            source="Zhang et al., ICLR 2025",
        ),
        ScoreSpec(
            "dcpdd",
            "DC-PDD",
            _MEMBER,
            "member",
            "Mean over first occurrences of min(p(x_i) * log(1/f(x_i)), a), f Laplace-smoothed corpus frequencies.",
            needs=frozenset({FREQUENCY_TABLE}),
            source="Zhang et al., EMNLP 2024",
        ),
        ScoreSpec(
            "log_likelihood",
            "Log-likelihood",
            _MACHINE,
            "machine",
            "Mean token log-probability.",
            source="Solaiman et al. 2019; Gehrmann et al. 2019",
        ),
        ScoreSpec(
            "log_rank",
            "Log-rank",
            _MACHINE,
            "machine",
            "Minus the mean log of each token's 1-based rank.",
            source="Mitchell et al. 2023 (baseline)",
        ),
        ScoreSpec(
            "entropy",
            "Entropy",
            _MACHINE,
            "human",
            "Mean entropy of the next-token distributions.",
            source="Gehrmann et al. 2019",
        ),
        ScoreSpec(
            "lrr",
            "Log-likelihood / log-rank ratio",
            _MACHINE,
            "machine",
            "-sum log p / sum log rank.",
            source="Su et al. 2023 (DetectLLM)",
        ),
        ScoreSpec(
            "gltr",
            "GLTR top-10 fraction",
            _MACHINE,
            "machine",
            "Fraction of tokens ranked in the top 10 (all four buckets top-10/100/1000/rest in details).",
            source="Gehrmann et al. 2019",
        ),
        ScoreSpec(
            "fast_detectgpt",
            "Fast-DetectGPT",
            _MACHINE,
            "machine",
            "Analytic sampling discrepancy (sum log p - sum mu~) / sqrt(sum sigma~^2).",
            optional=frozenset({SECOND_MODEL}),
            source="Bao et al., ICLR 2024",
        ),
        ScoreSpec(
            "binoculars",
            "Binoculars",
            _MACHINE,
            "human",
            "log perplexity over log cross-perplexity of an observer/performer pair sharing a tokenizer.",
            needs=frozenset({SECOND_MODEL}),
            source="Hans et al., ICML 2024",
        ),
        ScoreSpec(
            "lastde",
            "Lastde",
            _MACHINE,
            "machine",
            "Mean log-probability over the multiscale diversity entropy of the log-probability series.",
            source="Xu et al., ICLR 2025",
        ),
    ]
}


@dataclass
class ScoreContext:
    """What a score needs beyond the model's own quantities for the text (see ``ScoreSpec.needs``)."""

    lowercase: object | None = None
    """TokenQuantities of the same model over the lowercased text."""
    reference: object | None = None
    """TokenQuantities of the reference model over the text."""
    pair: object | None = None
    """PairQuantities of the model with a second model sharing its tokenizer (Binoculars: the model is the
    observer and the second model the performer; Fast-DetectGPT: the model scores and the second one samples)."""
    frequency: object | None = None
    """A FrequencyTable built with the model's tokenizer."""
    notes: list[str] = field(default_factory=list)
