"""The two plug-in points of the engine: a Drafter proposes tokens, a Verifier decides which of them to keep.

A draft is a chain, or a tree given by parent indices (multi-draft proposals are trees whose branches share only the
root). The engine only moves tokens and timings around; everything method-specific (tree attention, multi-draft
acceptance rules) lives in a Verifier, so tree/multi-draft methods plug in without touching the loop.

Target-cache contract shared by the engine and every verifier: before ``verify`` the target's cache holds the whole
committed context except its last token (the *pending* token); the verifier feeds the pending token followed by the
draft, and before returning crops the cache so it holds the context plus the accepted draft tokens. The token it
returns becomes the next pending token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

from workers.decoding.lm import CausalLM
from workers.decoding.sampling import SamplingConfig
from workers.decoding.trace import DraftTokenRecord, NextSource, TopK


@dataclass
class Draft:
    """What a drafter proposes for one step."""

    tokens: list[int]
    """Drafted token ids: in chain order, or the tree's nodes in an order where parents precede children."""
    q: torch.Tensor | None = None
    """``[len(tokens), V]`` draft distributions (warped like the target's). None = deterministic draft: q is a point
    mass on each token, which keeps the standard rule exact (accept w.p. p(x); resample from p without x)."""
    parents: list[int] | None = None
    """Tree drafts: parent node index per node (-1 = child of the pending token). None = a chain."""
    forward_calls: int = 0
    forward_ms: float = 0.0
    kv_rollback: int = 0
    """Draft-model cache entries discarded to re-synchronise with the verified context before drafting."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Trace details specific to the drafter (n-gram match position, cross-tokenizer boundary, …)."""

    @property
    def is_chain(self) -> bool:
        return self.parents is None


@dataclass
class Verification:
    """A verifier's decision for one step."""

    accepted: list[int]
    """Accepted draft tokens, in output order (the accepted path for a tree)."""
    next_token: int
    next_source: NextSource
    next_prob: float
    next_u: float | None
    records: list[DraftTokenRecord]
    first_rejection: int | None
    kv_rollback: int
    target_forwards: int
    target_ms: float
    residual_top: TopK | None = None
    next_top: TopK | None = None
    """Top-k of the target distribution at the resolving position."""
    target_logits: torch.Tensor | None = None
    """``[n + 1, V]`` raw target logits of the verified positions (for drafters that learn from them, such as Token
    Recycling: the unwarped ranking, since top-k/top-p warping leaves ties of zero-probability tokens); not
    serialised."""
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Drafter(Protocol):
    kind: str
    """Identifier shown in the trace: ``draft_model``, ``prompt_lookup``, ``early_exit``, ``cross_tokenizer``, …"""
    model_name: str | None
    shares_target_vocab: bool
    """True when drafted ids are target-vocabulary ids produced by a model over the same vocabulary, so q can be
    compared with p token by token."""

    def start(self, prompt_ids: Sequence[int]) -> None:
        """Reset per-run state; may prefill a draft model."""
        ...

    def propose(self, context: Sequence[int], max_tokens: int, sampling: SamplingConfig, gen: torch.Generator) -> Draft:
        """Propose at most ``max_tokens`` tokens that follow ``context`` (the whole committed sequence)."""
        ...

    def observe(self, context: Sequence[int], verification: Verification) -> None:
        """Called after each verification with the new committed context (no-op for most drafters)."""
        ...


@runtime_checkable
class VocabLimited(Protocol):
    """A drafter whose model may have a wider vocabulary than the target's (embedding matrices are often padded):
    the engine tells it the target's width before the run, and it drafts only ids below it."""

    def limit_vocab(self, width: int) -> None: ...


@runtime_checkable
class Verifier(Protocol):
    name: str
    lossless: bool
    """Whether the output distribution equals the (warped) target's: the UI flags lossy rules."""
    supports_tree: bool

    def verify(
        self,
        target: CausalLM,
        pending: int,
        draft: Draft,
        sampling: SamplingConfig,
        gen: torch.Generator,
        *,
        top_k: int,
    ) -> Verification:
        """Run the target over the pending token plus the draft and resolve the step (see the module docstring)."""
        ...
