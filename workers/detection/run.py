"""Score texts end to end: the forwards each requested score needs (each model once per text), then the scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.detection.errors import DetectionInputError
from workers.detection.frequency import FrequencyTable, tokenizer_fingerprint
from workers.detection.quantities import Report, compute_pair_quantities, compute_quantities
from workers.detection.scores import score_text
from workers.detection.specs import (
    FREQUENCY_TABLE,
    LOWERCASE,
    REFERENCE_MODEL,
    SCORES,
    SECOND_MODEL,
    ScoreContext,
    ScoreParams,
)


@dataclass(frozen=True)
class DetectionModel:
    """A loaded causal LM (a ``LoadedModel``'s ``model``) with its tokenizer and the name results show."""

    model: Any
    tokenizer: Any
    name: str


def required_inputs(scores: list[str]) -> set[str]:
    """What the chosen scores cannot run without (the app checks these before queueing a job)."""
    unknown = [name for name in scores if name not in SCORES]
    if unknown:
        raise DetectionInputError(f"unknown scores {unknown}; known: {sorted(SCORES)}")
    return set().union(*(SCORES[name].needs for name in scores)) if scores else set()


def score_texts(
    texts: list[str],
    *,
    model: DetectionModel,
    scores: list[str],
    params: ScoreParams | None = None,
    reference: DetectionModel | None = None,
    second: DetectionModel | None = None,
    frequency: FrequencyTable | None = None,
    batch_size: int = 8,
    report: Report | None = None,
) -> list[dict[str, Any]]:
    """One result per text (``score_text``'s dict). ``second`` is Binoculars' performer (``model`` observes) and
    Fast-DetectGPT's sampling model (``model`` scores); ``reference`` calibrates the reference ratio."""
    params = params or ScoreParams()
    params.validate()
    if not scores:
        raise DetectionInputError("choose at least one score")
    needs = required_inputs(scores)
    if REFERENCE_MODEL in needs and reference is None:
        raise DetectionInputError("the reference ratio needs a reference model")
    if SECOND_MODEL in needs and second is None:
        raise DetectionInputError("Binoculars needs a second model (the performer) that shares the tokenizer")
    if FREQUENCY_TABLE in needs:
        if frequency is None:
            raise DetectionInputError("DC-PDD needs a frequency table built with this model's tokenizer")
        frequency.check_tokenizer(tokenizer_fingerprint(model.tokenizer))
    use_second = second is not None and any(SECOND_MODEL in SCORES[n].needs | SCORES[n].optional for n in scores)
    steps = 1 + (LOWERCASE in needs) + (REFERENCE_MODEL in needs)
    done = 0

    def stage(progress: float, message: str) -> None:
        if report is not None:
            report((done + progress) / steps, message)

    if use_second:
        assert second is not None
        pairs = compute_pair_quantities(
            model.model,
            second.model,
            model.tokenizer,
            texts,
            second_tokenizer=second.tokenizer,
            name=model.name,
            second_name=second.name,
            batch_size=batch_size,
            max_tokens=params.max_tokens,
            report=stage,
        )
        own = [q for q, _ in pairs]
        contexts = [ScoreContext(pair=pair) for _, pair in pairs]
    else:
        own = compute_quantities(
            model.model,
            model.tokenizer,
            texts,
            name=model.name,
            batch_size=batch_size,
            max_tokens=params.max_tokens,
            report=stage,
        )
        contexts = [ScoreContext() for _ in texts]
    done += 1
    if LOWERCASE in needs:
        lowered = compute_quantities(
            model.model,
            model.tokenizer,
            [t.lower() for t in texts],
            name=model.name,
            batch_size=batch_size,
            max_tokens=params.max_tokens,
            report=stage,
        )
        for context, q in zip(contexts, lowered, strict=True):
            context.lowercase = q
        done += 1
    if REFERENCE_MODEL in needs:
        assert reference is not None
        refs = compute_quantities(
            reference.model,
            reference.tokenizer,
            texts,
            name=reference.name,
            batch_size=batch_size,
            max_tokens=params.max_tokens,
            report=stage,
        )
        for context, q, mine in zip(contexts, refs, own, strict=True):
            context.reference = q
            if q.truncated or mine.truncated:
                context.notes.append("reference: a truncated text; the two models may cover different prefixes")
        done += 1
    for context in contexts:
        context.frequency = frequency
    return [score_text(q, scores=scores, params=params, extra=c) for q, c in zip(own, contexts, strict=True)]
