"""Every score of one text from its per-token quantities (numpy only; no model runs here).

Conventions shared by all scores: ``q.logp[i] = log p(x_i | x_<i)`` over the n scored tokens (token 0 of the
tokenized text has no prediction), natural logs, and "log perplexity" = loss = -mean(logp). Each score is stored
as its paper defines it; ``SCORES[name].higher_means`` gives its direction. A score that is undefined for a text
(e.g. LRR when every token ranks first) is None, with the reason in ``notes``.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from workers.detection.errors import DetectionInputError
from workers.detection.frequency import FrequencyTable
from workers.detection.lastde import lastde_score
from workers.detection.quantities import PairQuantities, TokenQuantities
from workers.detection.specs import SCORES, ScoreContext, ScoreParams

GLTR_EDGES = (10, 100, 1000)
"""GLTR buckets: rank <= 10, <= 100, <= 1000, and the rest."""


def _loss(q: TokenQuantities) -> float:
    return float(-np.mean(q.logp))


def _ratio(numerator: float, denominator: float, name: str, notes: list[str]) -> float | None:
    if denominator == 0.0:
        notes.append(f"{name}: undefined (the denominator is 0)")
        return None
    return numerator / denominator


def bottom_k(values: np.ndarray, k: float) -> np.ndarray:
    """Indices of the max(1, floor(n k)) smallest values (stable order). The official Min-K% and Min-K%++ scripts
    take int(n k), which is empty (a NaN score) for n k < 1; one token is the least-surprising completion."""
    count = max(1, int(values.size * k))
    return np.argsort(values, kind="stable")[:count]


def min_k_plus_plus_z(q: TokenQuantities) -> np.ndarray:
    """z_i = (log p(x_i) - mu_i) / sigma_i; 0 where the next-token distribution has no spread (sigma_i = 0)."""
    sigma = np.sqrt(np.clip(q.sigma2, 0.0, None))
    return np.divide(q.logp - q.mu, sigma, out=np.zeros_like(q.logp), where=sigma > 0)


def dcpdd(q: TokenQuantities, table: FrequencyTable, a: float) -> dict[str, Any]:
    """DC-PDD as the paper defines it: beta = mean over the first occurrence of each token id of
    min(p(x_i) * log(1 / f(x_i)), a), with Laplace-smoothed corpus frequencies f = (count + 1) / (N + |V|).

    Deviation from the official script, on purpose: ``com_det_sco.py`` computes the smoothed array but then indexes
    the raw one (a zero count gives log(1/0) = inf, clipped to a). We follow the paper and use the smoothed f. The
    script also negates beta ("larger for non-member"); we store beta itself, so higher means member.
    """
    table.check_tokenizer(q.tokenizer_hash)
    ids = q.token_ids[1:]
    if ids.size and int(ids.max()) >= table.vocab_size:
        raise DetectionInputError("the frequency table has fewer entries than this model's token ids")
    _, first_index = np.unique(ids, return_index=True)
    first = np.zeros(ids.size, dtype=bool)
    first[first_index] = True
    frequency = table.smoothed()[ids]
    contribution = np.exp(q.logp) * np.log(1.0 / frequency)
    clipped = contribution > a
    bounded = np.minimum(contribution, a)
    return {
        "score": float(np.mean(bounded[first])),
        "contribution": bounded,
        "first": first,
        "clipped": clipped,
        "frequency": frequency,
    }


def fast_detectgpt(q: TokenQuantities, pair: PairQuantities | None) -> tuple[float | None, np.ndarray]:
    """Analytic sampling discrepancy (sum log p(x_i) - sum mu~_i) / sqrt(sum var~_i), where mu~ and var~ are the
    mean and variance of the scoring model's log-probabilities under the sampling model's next-token distribution
    (Bao et al., ``get_sampling_discrepancy_analytic``). Alone, the model samples and scores (mu~ = mu); with a
    pair, this model scores and the second one samples, as ``--scoring_model_name`` / ``--sampling_model_name``."""
    mu, var = (q.mu, q.sigma2) if pair is None else (pair.mu_a_under_b, pair.var_a_under_b)
    contribution = q.logp - mu
    total_var = float(np.sum(var))
    if total_var <= 0.0:
        return None, contribution
    return float(np.sum(contribution) / np.sqrt(total_var)), contribution


def binoculars(pair: PairQuantities) -> tuple[float | None, np.ndarray, np.ndarray]:
    """log PPL over log X-PPL for observer = this model, performer = the second model, assigned as the official
    ``Binoculars.compute_score`` does: log PPL from the *performer*'s log-probabilities, and
    X-PPL = -mean_i sum_v p_observer,i(v) log p_performer,i(v). (The paper's text computes PPL with the observer,
    ahans30/Binoculars issue #27; the official code, whose thresholds are published, uses the performer.) Both means
    run over the same n scored positions; the official ``entropy`` also averages the position after the last token.
    """
    nll = -pair.second.logp
    cross = -pair.mu_b_under_a
    denominator = float(np.mean(cross))
    if denominator == 0.0:
        return None, nll, cross
    return float(np.mean(nll)) / denominator, nll, cross


def _needs(name: str, extra: ScoreContext) -> None:
    missing = {
        "lowercase": extra.lowercase is None,
        "reference": extra.reference is None,
        "dcpdd": extra.frequency is None,
        "binoculars": extra.pair is None,
    }
    if missing.get(name, False):
        needs = ", ".join(sorted(SCORES[name].needs))
        raise DetectionInputError(f"score {name!r} needs {needs}")


def score_text(
    q: TokenQuantities, *, scores: list[str], params: ScoreParams, extra: ScoreContext | None = None
) -> dict[str, Any]:
    """The requested scores of one text, with per-token values and marks for the views (JSON-ready)."""
    extra = extra or ScoreContext()
    params.validate()
    unknown = [name for name in scores if name not in SCORES]
    if unknown:
        raise DetectionInputError(f"unknown scores {unknown}; known: {sorted(SCORES)}")
    if q.n < 1:
        raise DetectionInputError("a text needs at least two tokens to be scored (the first one is not predicted)")
    notes = list(extra.notes)
    loss = _loss(q)
    log_rank = np.log(q.rank.astype(np.float64))
    z = min_k_plus_plus_z(q)
    values: dict[str, float | None] = {}
    per_token: dict[str, list[Any]] = {
        "logp": q.logp.tolist(),
        "rank": q.rank.tolist(),
        "entropy": q.entropy.tolist(),
        "gltr_bucket": np.searchsorted(GLTR_EDGES, q.rank, side="left").tolist(),
    }
    marks: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name in scores:
        _needs(name, extra)
        if name == "loss":
            values[name] = loss
        elif name == "perplexity":
            values[name] = float(np.exp(loss))
        elif name == "zlib":
            values[name] = loss / len(zlib.compress(q.text.encode("utf-8", "surrogatepass")))
        elif name == "lowercase":
            assert isinstance(extra.lowercase, TokenQuantities)
            values[name] = _ratio(loss, _loss(extra.lowercase), name, notes)
        elif name == "reference":
            assert isinstance(extra.reference, TokenQuantities)
            values[name] = _ratio(loss, _loss(extra.reference), name, notes)
        elif name == "min_k":
            chosen = bottom_k(q.logp, params.k)
            values[name] = float(np.mean(q.logp[chosen]))
            marks["min_k"] = sorted(chosen.tolist())
        elif name == "min_k_plus_plus":
            chosen = bottom_k(z, params.k)
            values[name] = float(np.mean(z[chosen]))
            marks["min_k_plus_plus"] = sorted(chosen.tolist())
            per_token["min_k_plus_plus_z"] = z.tolist()
        elif name == "dcpdd":
            assert isinstance(extra.frequency, FrequencyTable)
            result = dcpdd(q, extra.frequency, params.dcpdd_a)
            values[name] = result["score"]
            per_token["dcpdd"] = result["contribution"].tolist()
            per_token["dcpdd_frequency"] = result["frequency"].tolist()
            marks["dcpdd_repeated"] = np.flatnonzero(~result["first"]).tolist()
            marks["dcpdd_clipped"] = np.flatnonzero(result["clipped"]).tolist()
        elif name == "log_likelihood":
            values[name] = float(np.mean(q.logp))
        elif name == "log_rank":
            values[name] = float(-np.mean(log_rank))
        elif name == "entropy":
            values[name] = float(np.mean(q.entropy))
        elif name == "lrr":
            values[name] = _ratio(float(-np.sum(q.logp)), float(np.sum(log_rank)), name, notes)
        elif name == "gltr":
            counts = np.bincount(np.searchsorted(GLTR_EDGES, q.rank, side="left"), minlength=4)
            details["gltr"] = {
                "top10": int(counts[0]),
                "top100": int(counts[1]),
                "top1000": int(counts[2]),
                "rest": int(counts[3]),
            }
            values[name] = float(counts[0] / q.n)
        elif name == "fast_detectgpt":
            pair = extra.pair if isinstance(extra.pair, PairQuantities) else None
            values[name], contribution = fast_detectgpt(q, pair)
            per_token["fast_detectgpt"] = contribution.tolist()
            if values[name] is None:
                notes.append("fast_detectgpt: undefined (the sampling distribution has no variance)")
        elif name == "binoculars":
            assert isinstance(extra.pair, PairQuantities)
            values[name], nll, cross = binoculars(extra.pair)
            per_token["binoculars_performer_nll"] = nll.tolist()
            per_token["binoculars_cross_entropy"] = cross.tolist()
        elif name == "lastde":
            values[name] = lastde_score(
                q.logp, embed=params.lastde_embed, epsilon_factor=params.lastde_epsilon, scales=params.lastde_scales
            )
            if values[name] is None:
                notes.append(
                    f"lastde: undefined (needs at least {params.lastde_scales + params.lastde_embed} scored tokens "
                    "and a log-probability series that varies across scales)"
                )
    return {
        "model": q.model_name,
        "n_tokens": q.n,
        "truncated": q.truncated,
        "scores": values,
        "tokens": q.tokens,
        "offsets": q.offsets,
        "per_token": per_token,
        "marks": marks,
        "details": details,
        "notes": notes,
    }
