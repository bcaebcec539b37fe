"""Logits → probabilities, sampling with a seeded generator, and the speculative-sampling residual.

The same warp (temperature, top-k, top-p) is applied to the target's p and the drafter's q: speculative sampling is
lossless with respect to the *warped* target, so warping the two differently would silently change the output
distribution.  Temperature 0 means greedy; probabilities are then the plain softmax (for display only, decisions use
the argmax).

Random draws always come from a CPU ``torch.Generator`` and use inverse-CDF sampling, so one seed gives the same draws
on CPU and CUDA and every uniform ``u`` can be written to the trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workers.decoding.errors import DecodingInputError


@dataclass(frozen=True)
class SamplingConfig:
    """How next-token distributions are shaped. ``temperature == 0`` selects greedy decoding."""

    temperature: float = 0.0
    top_k: int = 0
    """Keep only the k most likely tokens (0 = off)."""
    top_p: float = 1.0
    """Keep the smallest set of tokens whose mass reaches top_p (1.0 = off)."""

    def __post_init__(self) -> None:
        if not self.temperature >= 0.0:  # also rejects NaN
            raise DecodingInputError(f"temperature must be ≥ 0 (got {self.temperature}).")
        if self.top_k < 0:
            raise DecodingInputError(f"top_k must be ≥ 0 (got {self.top_k}).")
        if not 0.0 < self.top_p <= 1.0:
            raise DecodingInputError(f"top_p must be in (0, 1] (got {self.top_p}).")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


GREEDY = SamplingConfig()


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator: every random draw of a run comes from it, in a fixed order, so a seed reproduces the run."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return gen


def warp_logits(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Temperature, then top-k, then top-p (HF's order); filtered entries become -inf. Works on ``[..., V]``."""
    logits = logits.float()
    if config.greedy:
        return logits
    if config.temperature != 1.0:
        logits = logits / config.temperature
    vocab = logits.shape[-1]
    if 0 < config.top_k < vocab:
        kth = torch.topk(logits, config.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if config.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        sorted_probs = sorted_logits.softmax(dim=-1)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
        drop_sorted = mass_before >= config.top_p
        drop_sorted[..., 0] = False  # always keep the most likely token
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def probabilities(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Warped next-token probabilities ``[..., V]`` (float32). In greedy mode: the untempered softmax, for display."""
    return warp_logits(logits, config).softmax(dim=-1)


def sample(probs: torch.Tensor, gen: torch.Generator) -> tuple[int, float]:
    """Draw one token from a 1-D (possibly unnormalised) distribution by inverse CDF; returns (token, u).

    ``searchsorted(right=True)`` returns the first index whose CDF exceeds u·total, and the CDF only rises at
    tokens of positive probability, so a zero-probability token is never returned.
    """
    u = float(torch.rand((), generator=gen))
    cdf = probs.float().cumsum(dim=-1)
    index = int(torch.searchsorted(cdf, cdf[-1:] * u, right=True))
    if index >= probs.shape[-1]:  # u·total rounded up to the total: take the last token that has mass
        index = int((probs > 0).nonzero()[-1, 0])
    return index, u


def residual(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """norm(max(0, p − q)): where to resample after a rejection. Falls back to p if the difference is all zero
    (only possible through rounding, because a rejection implies p ≠ q)."""
    diff = (p - q).clamp_min(0.0)
    total = diff.sum()
    if float(total) <= 0.0:
        return p / p.sum()
    return diff / total


def residual_point_mass(p: torch.Tensor, token: int) -> torch.Tensor:
    """The residual when the draft was deterministic (q = δ_token): p with that token removed, renormalised."""
    diff = p.clone()
    diff[token] = 0.0
    total = diff.sum()
    if float(total) <= 0.0:
        return p / p.sum()
    return diff / total


def overlap(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """β = Σ_x min(p(x), q(x)) = 1 − TV(p, q): the probability that a q-sample is accepted against p."""
    return torch.minimum(p, q).sum(dim=-1)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats along the last axis (0·log 0 = 0)."""
    logp = torch.log(probs.clamp_min(1e-30))
    return -(probs * logp).sum(dim=-1)


def align_vocab(q: torch.Tensor, vocab: int) -> torch.Tensor:
    """Bring a draft distribution to the target's logits width: models of one tokenizer often pad their embedding
    matrices to different sizes. A narrower q is padded with zeros. A wider q must already be cut to the target's
    vocabulary before it was warped and sampled from (``ModelDrafter.within_vocab``); renormalising it here would
    verify the drafts against a different q than the one they were drawn from, so mass beyond ``vocab`` raises."""
    width = q.shape[-1]
    if width == vocab:
        return q
    if width > vocab:
        if bool((q[..., vocab:] > 0).any()):
            raise ValueError(
                f"the draft distribution has mass beyond the target's {vocab} tokens: cut the draft logits to the "
                "target's vocabulary before sampling"
            )
        return q[..., :vocab]
    pad = torch.zeros((*q.shape[:-1], vocab - width), dtype=q.dtype, device=q.device)
    return torch.cat([q, pad], dim=-1)


def check_draft_ids(tokens: Sequence[int], vocab: int | None) -> None:
    """Refuse drafted ids the target cannot emit (its embedding and logits have ``vocab`` entries; None: unknown)."""
    if vocab is None:
        return
    bad = [t for t in tokens if not 0 <= int(t) < vocab]
    if bad:
        raise DecodingInputError(
            f"The drafter proposed token id {bad[0]}, outside the target's vocabulary of {vocab} tokens: the draft "
            "model does not share the target's vocabulary."
        )
