"""Standard speculative sampling over a chain draft (Leviathan et al. 2023; Chen et al. 2023).

One target forward over ``[pending, x₁ … x_γ]`` gives p₁ … p_{γ+1}. Sampling mode: accept xᵢ while uᵢ < min(1,
pᵢ(xᵢ)/qᵢ(xᵢ)); at the first rejection resample from norm(max(0, pᵢ − qᵢ)); if all are accepted draw a bonus token
from p_{γ+1}. Greedy mode: accept while xᵢ = argmax pᵢ, then emit argmax at the stop position, which makes the output
token-identical to greedy autoregressive decoding (exactly so in float32 on CPU, as the tests check; in half
precision on a GPU a multi-token forward may round differently from single-token ones and flip a near-tie, which is
numerical, not a property of the rule). An empty draft is an ordinary autoregressive step.

The decision is vectorised (one gather, one comparison, one argmax over the block): no per-token Python work happens
before the decision; the per-token trace records are built afterwards from a handful of bulk ``tolist`` calls.
"""

from __future__ import annotations

import torch

from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Draft, Verification
from workers.decoding.sampling import (
    SamplingConfig,
    align_vocab,
    check_draft_ids,
    entropy,
    overlap,
    probabilities,
    residual,
    residual_point_mass,
    sample,
)
from workers.decoding.trace import Decision, DraftTokenRecord, NextSource, TopK


def top_k_lists(probs: torch.Tensor, k: int) -> list[TopK]:
    """Top-k of each row of ``[n, V]`` probabilities, converted to Python in one go."""
    if k <= 0 or probs.shape[0] == 0:
        return [TopK([], []) for _ in range(probs.shape[0])]
    values, ids = torch.topk(probs, min(k, probs.shape[-1]), dim=-1)
    return [TopK(i, v) for i, v in zip(ids.tolist(), values.tolist(), strict=True)]


class ChainVerifier:
    """The standard, lossless speculative-sampling rule for chain drafts (greedy when temperature is 0)."""

    name = "speculative_sampling"
    lossless = True
    supports_tree = False

    def verify(
        self,
        target: CausalLM,
        pending: int,
        draft: Draft,
        sampling: SamplingConfig,
        gen: torch.Generator,
        *,
        top_k: int = 5,
    ) -> Verification:
        if not draft.is_chain:
            raise ValueError(f"{self.name} verifies chain drafts only; use a tree verifier for tree drafts")
        n = len(draft.tokens)
        base = target.length
        check_draft_ids(draft.tokens, target.vocab_size)  # before the embedding lookup
        logits = target.forward([pending, *draft.tokens])  # [n + 1, V]
        forward_ms = target.last_forward_ms
        vocab = logits.shape[-1]
        check_draft_ids(draft.tokens, vocab)
        p = probabilities(logits, sampling)
        x = torch.tensor(draft.tokens, dtype=torch.long, device=p.device)
        q = align_vocab(draft.q.to(p.device, torch.float32), vocab) if draft.q is not None and n else None
        p_x = p[:n].gather(1, x[:, None])[:, 0] if n else p.new_zeros(0)
        q_x = q.gather(1, x[:, None])[:, 0] if q is not None else torch.ones_like(p_x)

        u: torch.Tensor | None = None
        if sampling.greedy:
            argmax = logits.argmax(dim=-1)
            ok = argmax[:n] == x
            accept_prob = ok.float()
        else:
            u = torch.rand(n, generator=gen).to(p.device)
            if q is not None and bool((q_x <= 0).any()):
                # a sampled draft has q(x) > 0; treating q(x) = 0 as certain acceptance would bias the output
                raise ValueError(
                    "a drafted token has draft probability q(x) = 0, so it cannot have been sampled from q"
                )
            accept_prob = (p_x / q_x.clamp_min(1e-30)).clamp(max=1.0)
            ok = u < accept_prob
        rejected = ~ok
        k = int(rejected.float().argmax()) if bool(rejected.any()) else n

        next_u: float | None = None
        residual_top: TopK | None = None
        source: NextSource
        if sampling.greedy:
            next_token = int(argmax[k])
            next_prob = float(p[k, next_token])
            source = "greedy" if k < n else ("bonus" if n else "sample")
        elif k < n:
            r = residual(p[k], q[k]) if q is not None else residual_point_mass(p[k], int(draft.tokens[k]))
            next_token, next_u = sample(r, gen)
            next_prob = float(r[next_token])
            source = "residual"
            residual_top = top_k_lists(r[None], top_k)[0]
        else:
            next_token, next_u = sample(p[n], gen)
            next_prob = float(p[n, next_token])
            source = "bonus" if n else "sample"

        rollback = target.crop(base + 1 + k)
        records = self._records(p[:n], q, x, p_x, q_x, accept_prob, u, k, top_k)
        return Verification(
            accepted=[int(t) for t in draft.tokens[:k]],
            next_token=next_token,
            next_source=source,
            next_prob=next_prob,
            next_u=next_u,
            records=records,
            first_rejection=k if k < n else None,
            kv_rollback=rollback,
            target_forwards=1,
            target_ms=forward_ms,
            residual_top=residual_top,
            next_top=top_k_lists(p[k][None], top_k)[0],
            target_logits=logits,
        )

    @staticmethod
    def _records(
        p: torch.Tensor,
        q: torch.Tensor | None,
        x: torch.Tensor,
        p_x: torch.Tensor,
        q_x: torch.Tensor,
        accept_prob: torch.Tensor,
        u: torch.Tensor | None,
        k: int,
        top_k: int,
    ) -> list[DraftTokenRecord]:
        n = x.shape[0]
        if n == 0:
            return []
        beta = overlap(p, q) if q is not None else p_x  # for a point mass q, Σ min(p, q) = p(x)
        h_p = entropy(p)
        h_q = entropy(q) if q is not None else torch.zeros_like(h_p)
        top_p = top_k_lists(p, top_k)
        top_q = top_k_lists(q, top_k) if q is not None else [TopK([t], [1.0]) for t in x.tolist()]
        columns = [t.tolist() for t in (x, p_x, q_x, accept_prob, beta, h_p, h_q)]
        draws = u.tolist() if u is not None else [None] * n
        records = []
        for i, (token, pi, qi, ai, bi, hpi, hqi) in enumerate(zip(*columns, strict=True)):
            decision: Decision = "accepted" if i < k else ("rejected" if i == k else "unverified")
            records.append(
                DraftTokenRecord(
                    node=i,
                    parent=i - 1,
                    depth=i + 1,
                    token=int(token),
                    q=qi,
                    p=pi,
                    accept_prob=ai,
                    u=draws[i] if i <= k else None,
                    decision=decision,
                    beta=bi,
                    entropy_p=hpi,
                    entropy_q=hqi,
                    top_p=top_p[i],
                    top_q=top_q[i],
                )
            )
        return records
