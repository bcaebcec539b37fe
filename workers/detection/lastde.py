"""Lastde (Xu et al., ICLR 2025): the token log-probability series read as a time series.

For scales tau = 1..T the series s is smoothed by a moving average of width tau (valid windows only); the smoothed
series is embedded into orbits (sliding windows of m values); the cosine similarities of consecutive orbits are
counted into eps equal bins over [-1, 1]; the diversity entropy of that histogram is
DE_tau = -sum_b P_b log P_b / log(eps). MDE = sample standard deviation (ddof 1) of DE_1..DE_T, and
Lastde = mean(s) / MDE. eps = epsilon_factor * n for the whole text, the same at every scale, as in the official
``get_lastde`` (open-source setting m = 3, eps = 10 n, T = 5).

Two stated details: similarities are clipped to [-1, 1] before binning (torch.histc, which the official code uses,
silently drops a rounding excess such as 1.0000001), and a zero orbit has similarity 0 (torch's eps guard).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def diversity_entropy(series: np.ndarray, embed: int, bins: int) -> float:
    orbits = sliding_window_view(series, embed)
    left, right = orbits[:-1], orbits[1:]
    norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    cosine = np.clip(np.sum(left * right, axis=1) / np.maximum(norms, 1e-8), -1.0, 1.0)
    index = np.minimum(((cosine + 1.0) * bins / 2.0).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    probabilities = counts[counts > 0] / counts.sum()
    return float(-np.sum(probabilities * np.log(probabilities)) / np.log(bins))


def multiscale_des(logp: np.ndarray, embed: int, bins: int, scales: int) -> list[float]:
    """DE_1..DE_scales of the series' moving averages (``bins`` histogram bins at every scale)."""
    return [diversity_entropy(sliding_window_view(logp, tau).mean(axis=1), embed, bins) for tau in range(1, scales + 1)]


def min_tokens(embed: int, scales: int) -> int:
    """The shortest series with at least one orbit pair at the largest scale."""
    return scales + embed


def lastde_score(logp: np.ndarray, *, embed: int, epsilon_factor: int, scales: int) -> float | None:
    """Lastde of a log-probability series; None when the series is too short or MDE is 0 (undefined)."""
    if logp.size < min_tokens(embed, scales):
        return None
    mde = float(np.std(multiscale_des(logp, embed, epsilon_factor * logp.size, scales), ddof=1))
    if mde == 0.0:
        return None
    return float(np.mean(logp)) / mde
