"""An independent, straightforward implementation of every score for the cross-checks: a plain HF forward over
one text at a time (no batching, no padding), then each formula written out once, in loops where that is clearer."""

from __future__ import annotations

import math
import zlib
from collections import Counter
from typing import Any

import numpy as np
import torch


def plain(model: Any, tokenizer: Any, text: str, max_tokens: int | None = None, scale: float = 1.0) -> dict:
    """Per-token values of one text; ``scale`` multiplies the logits (the tempered test model)."""
    ids = tokenizer(text, return_tensors="pt").input_ids[:, :max_tokens]
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, :-1].float() * scale
    labels = ids[0, 1:]
    lp = torch.log_softmax(logits, dim=-1)
    p = lp.exp()
    rows = torch.arange(labels.numel())
    mu = (p * lp).sum(-1)
    return {
        "ids": ids[0].tolist(),
        "logits": logits,
        "lp": lp,
        "logp": lp[rows, labels].double().numpy(),
        "rank": ((logits > logits[rows, labels][:, None]).sum(-1) + 1).numpy(),
        "entropy": (-mu).double().numpy(),
        "mu": mu.double().numpy(),
        "sigma2": ((p * lp**2).sum(-1) - mu**2).double().numpy(),
    }


def lowest_mean(values: np.ndarray, k: float) -> float:
    count = max(1, int(len(values) * k))
    return float(np.mean(sorted(values)[:count]))


def lastde(logp: np.ndarray, embed: int = 3, factor: int = 10, scales: int = 5) -> float | None:
    n = len(logp)
    if n < scales + embed:  # the stated rule: at least one orbit pair at the largest scale
        return None
    bins = factor * n
    des = []
    for tau in range(1, scales + 1):
        series = [sum(logp[i : i + tau]) / tau for i in range(n - tau + 1)]
        orbits = [np.array(series[i : i + embed]) for i in range(len(series) - embed + 1)]
        counts: Counter[int] = Counter()
        for left, right in zip(orbits[:-1], orbits[1:], strict=True):
            cosine = float(left @ right / (np.linalg.norm(left) * np.linalg.norm(right)))
            counts[min(int((min(max(cosine, -1.0), 1.0) + 1) / 2 * bins), bins - 1)] += 1
        total = sum(counts.values())
        des.append(-sum(c / total * math.log(c / total) for c in counts.values()) / math.log(bins))
    return float(np.mean(logp) / np.std(des, ddof=1))


def scores(text: str, own: dict, lower: dict, ref: dict, second: dict, frequency: np.ndarray, a: float) -> dict:
    """Every score; ``second`` is the performer (Binoculars) and the sampling model (Fast-DetectGPT)."""
    logp, rank = own["logp"], own["rank"]
    loss = -logp.mean()
    z = (logp - own["mu"]) / np.sqrt(own["sigma2"])
    seen: set[int] = set()
    contributions = []
    for token, lp in zip(own["ids"][1:], logp, strict=True):
        if token in seen:
            continue
        seen.add(token)
        contributions.append(min(math.exp(lp) * math.log(1 / frequency[token]), a))
    q_second = second["lp"].exp()
    mu_under_second = (q_second * own["lp"]).sum(-1).double().numpy()
    var_under_second = (q_second * own["lp"] ** 2).sum(-1).double().numpy() - mu_under_second**2
    cross = -(own["lp"].exp() * second["lp"]).sum(-1).double().numpy()  # observer probs x performer log-probs
    return {
        "loss": loss,
        "perplexity": math.exp(loss),
        "zlib": loss / len(zlib.compress(text.encode("utf-8"))),
        "lowercase": loss / -lower["logp"].mean(),
        "reference": loss / -ref["logp"].mean(),
        "min_k": lowest_mean(logp, 0.2),
        "min_k_plus_plus": lowest_mean(z, 0.2),
        "dcpdd": float(np.mean(contributions)),
        "log_likelihood": logp.mean(),
        "log_rank": -np.log(rank).mean(),
        "entropy": own["entropy"].mean(),
        "lrr": -logp.sum() / np.log(rank).sum(),
        "gltr": float(np.mean(rank <= 10)),
        "fast_detectgpt": (logp.sum() - mu_under_second.sum()) / math.sqrt(var_under_second.sum()),
        "binoculars": -second["logp"].mean() / cross.mean(),
        "lastde": lastde(logp),
    }
