"""Lossless single- and multi-draft verification rules over probability vectors (pure torch).

Every rule takes the target distribution ``p`` and the draft distribution ``q`` at one position (shape ``[V]``, or
``[B, V]`` for a batch of independent problems), the drafted candidate tokens in trial order (``[k]`` or ``[B, k]``)
and a ``torch.Generator``; it returns the emitted token and everything a trace records (which draft was accepted,
the acceptance probability and uniform draw of every trial that ran, the residual each rejection left behind).

Rules (notation: ``p`` target, ``q`` draft; ``norm`` renormalises to sum 1):

* ``single`` - Leviathan et al. 2023 / Chen et al. 2023: accept ``x ~ q`` w.p. ``min(1, p(x)/q(x))``, else sample
  ``norm(max(0, p - q))``. Acceptance ``sum_x min(p, q)``.
* ``rrs`` - recursive rejection sampling with replacement (SpecInfer, Miao et al. 2024) over ``k`` i.i.d. drafts:
  trial ``j`` accepts w.p. ``min(1, p_j(x_j)/q(x_j))``; on rejection ``p_{j+1} = norm(max(0, p_j - q))``.
* ``rsd`` - recursive rejection sampling without replacement (RSD, Jeon et al. 2024) over Gumbel-top-k drafts:
  on rejection ``q_{j+1} = norm(q_j without x_j)`` and ``p_{j+1} = norm(max(0, p_j - q_j))``.
* ``spectr`` - SpecTr K-SEQ (Sun et al. 2023) over ``k`` i.i.d. drafts: ``rho*`` solves
  ``1 - (1 - beta(rho))^k = rho beta(rho)`` with ``beta(rho) = sum min(q, p/rho)``; trial ``i`` accepts w.p.
  ``min(1, p(x_i)/(rho q(x_i)))``; if none does, sample ``norm(p - min(q, p/rho) (1 - (1 - beta)^k) / beta)``.
  Acceptance ``1 - (1 - beta)^k``.
* ``deterministic`` - drafts chosen deterministically (top-k of a draft model, a Token Recycling matrix, a dynamic
  tree): RSD with ``q_j = delta(x_j)``, i.e. accept ``x_j`` w.p. ``p_j(x_j)``, else ``p_{j+1} = norm(p_j without x_j)``
  (the Sequoia / SpecInfer "top-k children" rule).
* ``greedy`` - temperature 0: accept the first draft equal to ``argmax p``; emit ``argmax p``.

``optimal_acceptance_iid`` gives the optimal multi-draft acceptance bound (Hu et al., ICLR 2025) for ``k`` i.i.d.
drafts, ``alpha* = 1 - max_H [p(H) - (1 - (1 - q(H))^k)]``; see its docstring for the exact sorted-prefix algorithm.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

Rule = Literal["single", "rrs", "rsd", "spectr", "deterministic", "greedy"]
RULES: tuple[Rule, ...] = ("single", "rrs", "rsd", "spectr", "deterministic", "greedy")
LOSSLESS: dict[Rule, bool] = dict.fromkeys(RULES, True)
"""Every rule here is lossless: its output token is distributed exactly as ``p`` (``argmax p`` for ``greedy``)."""

_DTYPE = torch.float64
_EPS = 1e-12


@dataclass(frozen=True)
class BatchVerification:
    """Outcome of one rule over a batch of ``B`` independent problems with ``k`` trials each.

    ``accepted[b]`` is the trial index (into the draft order) that was accepted, ``-1`` when every draft was rejected
    and the token came from the residual. ``accept_prob``/``uniform`` are ``NaN`` for trials that never ran.
    ``final[b]`` is the distribution a rejected row's token is drawn from (the last residual). ``residuals[b, j]``
    (only when asked for) is the target-side distribution after trial ``j`` was rejected, i.e. ``p_{j+1}`` of the
    recursion (for SpecTr the single K-SEQ residual); ``NaN`` rows for trials that did not reject.
    """

    token: torch.Tensor
    accepted: torch.Tensor
    accept_prob: torch.Tensor
    uniform: torch.Tensor
    residual_uniform: torch.Tensor
    final: torch.Tensor
    rho: torch.Tensor | None = None
    residuals: torch.Tensor | None = None


@dataclass(frozen=True)
class Verification:
    """Outcome of one rule at one position, in plain Python types for the trace (see ``BatchVerification``)."""

    rule: Rule
    token: int
    drafts: tuple[int, ...]
    accepted_index: int | None
    accept_probs: tuple[float, ...]
    draws: tuple[float, ...]
    residual_draw: float | None
    source: Literal["draft", "residual", "greedy"]
    rho: float | None = None
    residual: torch.Tensor | None = None
    """The distribution the token was drawn from when every draft was rejected (None otherwise)."""
    residuals: tuple[torch.Tensor, ...] = ()
    """Per rejected trial, the recursive residual it left (only with ``keep_residuals``)."""

    @property
    def accepted(self) -> bool:
        return self.accepted_index is not None


# ----------------------------------------------------------------------------------------------------------------
# helpers


def _batch(x: torch.Tensor) -> torch.Tensor:
    x = x.to(_DTYPE)
    return x.unsqueeze(0) if x.dim() == 1 else x


def _normalise(x: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """Row-normalise ``x``; rows with (numerically) no mass fall back to ``fallback``."""
    mass = x.sum(-1, keepdim=True)
    ok = mass > _EPS
    return torch.where(ok, x / mass.clamp_min(_EPS), fallback)


def residual(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``norm(max(0, p - q))`` row-wise (the rejection residual); ``p`` itself where ``p <= q`` everywhere."""
    return _normalise((p - q).clamp_min(0.0), p)


def overlap(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``beta = sum_x min(p, q) = 1 - TV(p, q)``: the single-draft acceptance probability."""
    return torch.minimum(p.to(_DTYPE), q.to(_DTYPE)).sum(-1)


def _ratio_accept(px: torch.Tensor, qx: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """``min(1, px / qx)`` for the rows still being decided (``active``).

    A drafted token was sampled from q, so ``qx > 0``; ``qx = 0`` means the draft and its q disagree (a drafter
    bug), and any acceptance probability would then be a guess that biases the output, so it raises instead."""
    if bool((active & (qx <= 0)).any()):
        raise ValueError("a drafted token has draft probability q(x) = 0, so it cannot have been sampled from q")
    return (px / qx.clamp_min(1e-300)).clamp(max=1.0)


def sample_from(dist: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sample from each row of ``dist`` (``[B, V]``) with uniforms ``u`` (``[B]``)."""
    cdf = dist.cumsum(-1)
    target = (u * cdf[:, -1]).unsqueeze(-1)
    return torch.searchsorted(cdf, target, right=True).squeeze(-1).clamp(max=dist.shape[-1] - 1)


def _uniforms(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform draws from the (CPU) generator, then moved: a CPU generator cannot draw on another device, and
    drawing on the CPU gives the same numbers whatever device the distributions live on."""
    return torch.rand(shape, generator=generator, dtype=_DTYPE).to(device)


def sample_iid(q: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``k`` i.i.d. draws from ``q`` (``[V] -> [k]`` or ``[B, V] -> [B, k]``)."""
    qb = _batch(q)
    draws = sample_from(qb.repeat_interleave(k, 0), _uniforms((qb.shape[0] * k,), generator, qb.device))
    draws = draws.view(qb.shape[0], k)
    return draws[0] if q.dim() == 1 else draws


def sample_without_replacement(q: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``k`` draws from ``q`` without replacement, in draw order, by the Gumbel-top-k trick (RSD-C, Kool et al. 2019).

    ``k`` is capped at the size of ``q``'s support.
    """
    qb = _batch(q)
    k = min(k, int((qb > 0).sum(-1).min().item()))
    gumbel = -torch.log(-torch.log(_uniforms(tuple(qb.shape), generator, qb.device).clamp(1e-300, 1.0 - 1e-16)))
    keys = torch.where(qb > 0, qb.log() + gumbel, torch.full_like(qb, -math.inf))
    draws = keys.topk(k, dim=-1).indices
    return draws[0] if q.dim() == 1 else draws


# ----------------------------------------------------------------------------------------------------------------
# batched rules


def _finish(
    cur: torch.Tensor,
    drafts: torch.Tensor,
    accepted: torch.Tensor,
    probs: torch.Tensor,
    uniform: torch.Tensor,
    generator: torch.Generator | None,
    rho: torch.Tensor | None = None,
    residuals: torch.Tensor | None = None,
) -> BatchVerification:
    res_u = _uniforms((cur.shape[0],), generator, cur.device)
    from_residual = sample_from(cur, res_u)
    took = accepted >= 0
    drafted = drafts.gather(1, accepted.clamp_min(0).unsqueeze(1)).squeeze(1) if drafts.shape[1] else from_residual
    token = torch.where(took, drafted, from_residual)
    uniform = torch.where(probs.isnan(), torch.full_like(uniform, math.nan), uniform)
    res_u = torch.where(took, torch.full_like(res_u, math.nan), res_u)
    return BatchVerification(token, accepted, probs, uniform, res_u, cur, rho, residuals)


def _recursive(
    p: torch.Tensor,
    q: torch.Tensor,
    drafts: torch.Tensor,
    generator: torch.Generator | None,
    update_q: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
    keep_residuals: bool,
) -> BatchVerification:
    """Shared loop of RRS (``update_q=None``), RSD and the deterministic rule."""
    p, q = _batch(p), _batch(q)
    drafts = drafts.unsqueeze(0) if drafts.dim() == 1 else drafts
    batch, k = drafts.shape
    if q.shape[0] != batch:
        q = q.expand(batch, -1)
    if p.shape[0] != batch:
        p = p.expand(batch, -1)
    cur, q_cur = p.clone(), q.clone()
    accepted = torch.full((batch,), -1, dtype=torch.long, device=p.device)
    probs = torch.full((batch, k), math.nan, dtype=_DTYPE, device=p.device)
    uniform = _uniforms((batch, k), generator, p.device)
    residuals = torch.full((batch, k, p.shape[1]), math.nan, dtype=_DTYPE, device=p.device) if keep_residuals else None
    for j in range(k):
        active = accepted < 0
        if not bool(active.any()):
            break
        x = drafts[:, j : j + 1]
        a = _ratio_accept(cur.gather(1, x).squeeze(1), q_cur.gather(1, x).squeeze(1), active)
        probs[:, j] = torch.where(active, a, probs[:, j])
        take = active & (uniform[:, j] < a)
        accepted = torch.where(take, j, accepted)
        reject = (active & ~take).unsqueeze(1)
        cur = torch.where(reject, residual(cur, q_cur), cur)
        if update_q is not None:
            q_cur = torch.where(reject, update_q(q_cur, x), q_cur)
        if residuals is not None:
            residuals[:, j] = torch.where(reject, cur, residuals[:, j])
    return _finish(cur, drafts, accepted, probs, uniform, generator, residuals=residuals)


def _remove(q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``norm(q without token x)`` row-wise (the without-replacement draft update)."""
    removed = q.scatter(1, x, 0.0)
    return _normalise(removed, removed)


def rrs_batch(
    p: torch.Tensor,
    q: torch.Tensor,
    drafts: torch.Tensor,
    generator: torch.Generator | None = None,
    keep_residuals: bool = False,
) -> BatchVerification:
    """Recursive rejection sampling with replacement (SpecInfer); ``k = 1`` is the standard single-draft rule."""
    return _recursive(p, q, drafts, generator, None, keep_residuals)


def rsd_batch(
    p: torch.Tensor,
    q: torch.Tensor,
    drafts: torch.Tensor,
    generator: torch.Generator | None = None,
    keep_residuals: bool = False,
) -> BatchVerification:
    """Recursive rejection sampling without replacement (RSD); ``drafts`` must be a without-replacement sample."""
    return _recursive(p, q, drafts, generator, _remove, keep_residuals)


def deterministic_batch(
    p: torch.Tensor,
    drafts: torch.Tensor,
    generator: torch.Generator | None = None,
    keep_residuals: bool = False,
) -> BatchVerification:
    """Verification of deterministically chosen drafts: RSD with ``q_j = delta(x_j)`` (Sequoia-style)."""
    pb = _batch(p)
    drafts_b = drafts.unsqueeze(0) if drafts.dim() == 1 else drafts
    batch, k = drafts_b.shape
    pb = pb.expand(batch, -1) if pb.shape[0] != batch else pb
    probs = torch.full((batch, k), math.nan, dtype=_DTYPE, device=pb.device)
    uniform = _uniforms((batch, k), generator, pb.device)
    accepted = torch.full((batch,), -1, dtype=torch.long, device=pb.device)
    residuals = (
        torch.full((batch, k, pb.shape[1]), math.nan, dtype=_DTYPE, device=pb.device) if keep_residuals else None
    )
    cur = pb.clone()
    for j in range(k):
        active = accepted < 0
        if not bool(active.any()):
            break
        x = drafts_b[:, j : j + 1]
        a = cur.gather(1, x).squeeze(1).clamp(0.0, 1.0)
        probs[:, j] = torch.where(active, a, probs[:, j])
        take = active & (uniform[:, j] < a)
        accepted = torch.where(take, j, accepted)
        reject = (active & ~take).unsqueeze(1)
        cur = torch.where(reject, _normalise(cur.scatter(1, x, 0.0), cur), cur)
        if residuals is not None:
            residuals[:, j] = torch.where(reject, cur, residuals[:, j])
    return _finish(cur, drafts_b, accepted, probs, uniform, generator, residuals=residuals)


def spectr_beta(p: torch.Tensor, q: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """``beta(rho) = sum_x min(q(x), p(x)/rho)`` row-wise."""
    return torch.minimum(q, p / rho.unsqueeze(-1)).sum(-1)


def _spectr_rho_row(p: torch.Tensor, q: torch.Tensor, k: int) -> float:
    """Exact ``rho*`` for one row: ``beta(rho) = A + B / rho`` between consecutive breakpoints ``p(x)/q(x)``
    (``A`` = q-mass with ratio >= rho, ``B`` = p-mass with ratio < rho), so ``h`` is located on the sorted knots in
    one vectorised pass and the root is refined by scalar bisection inside that single smooth segment."""
    if k <= 1:
        return 1.0
    keep = q > 0
    pp, qq = p[keep], q[keep]
    ratio, order = (pp / qq).sort()
    pp, qq = pp[order], qq[order]
    zero = torch.zeros(1, dtype=_DTYPE, device=p.device)
    cum_p = torch.cat([zero, pp.cumsum(0)])
    cum_q = torch.cat([zero, qq.cumsum(0)])
    total_q = float(cum_q[-1])
    inner = ratio[(ratio > 1) & (ratio < k)]
    knots = torch.cat([torch.ones(1, dtype=_DTYPE, device=p.device), inner, torch.full_like(zero, float(k))])

    def coefficients(rho: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.searchsorted(ratio, rho)  # ratios < rho use p/rho
        return total_q - cum_q[idx], cum_p[idx]

    a, b = coefficients(knots)
    beta = a + b / knots
    h = 1 - (1 - beta) ** k - knots * beta
    first = max(1, int((h <= 0).to(torch.int8).argmax()))  # h(k) <= 0, so a sign change exists
    lo, hi = float(knots[first - 1]), float(knots[first])
    seg_a, seg_b = (float(v) for v in coefficients(torch.tensor([(lo + hi) / 2], dtype=_DTYPE, device=p.device)))
    for _ in range(64):
        mid = (lo + hi) / 2
        beta_mid = seg_a + seg_b / mid
        if 1 - (1 - beta_mid) ** k - mid * beta_mid > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def spectr_rho(p: torch.Tensor, q: torch.Tensor, k: int) -> torch.Tensor:
    """``rho*`` in ``[1, k]`` with ``1 - (1 - beta(rho))^k = rho beta(rho)`` (SpecTr K-SEQ), per row.

    ``h(rho) = 1 - (1 - beta)^k - rho beta`` is ``>= 0`` at ``rho = 1`` (``1 - (1 - b)^k >= b``) and ``<= 0`` at
    ``rho = k`` (Bernoulli: ``1 - (1 - b)^k <= k b``), so the bracket always holds a root; it is found exactly up to
    float64 bisection (``O(V log V)`` per row).
    """
    pb, qb = _batch(p), _batch(q)
    rows = [_spectr_rho_row(pr, qr, k) for pr, qr in zip(pb, qb, strict=True)]
    rho = torch.tensor(rows, dtype=_DTYPE, device=pb.device)
    return rho[0] if p.dim() == 1 else rho


def spectr_acceptance(p: torch.Tensor, q: torch.Tensor, k: int) -> torch.Tensor:
    """Closed-form K-SEQ acceptance ``1 - (1 - beta(rho*))^k``."""
    pb, qb = _batch(p), _batch(q)
    beta = spectr_beta(pb, qb, spectr_rho(pb, qb, k))
    out = 1 - (1 - beta) ** k
    return out[0] if p.dim() == 1 else out


def spectr_batch(
    p: torch.Tensor,
    q: torch.Tensor,
    drafts: torch.Tensor,
    generator: torch.Generator | None = None,
    keep_residuals: bool = False,
    rho: float | None = None,
) -> BatchVerification:
    """SpecTr K-SEQ over ``k`` i.i.d. drafts (``rho`` defaults to ``rho*`` for ``k = drafts.shape[-1]``)."""
    p, q = _batch(p), _batch(q)
    drafts = drafts.unsqueeze(0) if drafts.dim() == 1 else drafts
    batch, k = drafts.shape
    # rho* and beta are solved once per distinct (p, q) row: a [V] input broadcast over many drafts is solved once
    rho_t = spectr_rho(p, q, k) if rho is None else torch.full((p.shape[0],), rho, dtype=_DTYPE, device=p.device)
    beta = spectr_beta(p, q, rho_t)
    p, q = p.expand(batch, -1), q.expand(batch, -1)
    rho_t, beta = rho_t.expand(batch), beta.expand(batch)
    accepted = torch.full((batch,), -1, dtype=torch.long, device=p.device)
    probs = torch.full((batch, k), math.nan, dtype=_DTYPE, device=p.device)
    uniform = _uniforms((batch, k), generator, p.device)
    for j in range(k):
        active = accepted < 0
        x = drafts[:, j : j + 1]
        a = _ratio_accept(p.gather(1, x).squeeze(1) / rho_t, q.gather(1, x).squeeze(1), active)
        probs[:, j] = torch.where(active, a, probs[:, j])
        accepted = torch.where(active & (uniform[:, j] < a), j, accepted)
    total = 1 - (1 - beta) ** k
    scale = torch.where(beta > _EPS, total / beta.clamp_min(_EPS), torch.zeros_like(beta))
    res = _normalise((p - torch.minimum(q, p / rho_t.unsqueeze(-1)) * scale.unsqueeze(-1)).clamp_min(0.0), p)
    residuals = None
    if keep_residuals:
        residuals = torch.full((batch, k, p.shape[1]), math.nan, dtype=_DTYPE, device=p.device)
        residuals[:, -1] = torch.where((accepted < 0).unsqueeze(1), res, residuals[:, -1])
    return _finish(res, drafts, accepted, probs, uniform, generator, rho=rho_t, residuals=residuals)


def greedy_batch(p: torch.Tensor, drafts: torch.Tensor) -> BatchVerification:
    """Temperature 0: accept the first draft equal to ``argmax p``; the emitted token is always ``argmax p``."""
    pb = _batch(p)
    drafts_b = drafts.unsqueeze(0) if drafts.dim() == 1 else drafts
    batch, k = drafts_b.shape
    best = pb.argmax(-1).expand(batch)
    hit = drafts_b == best.unsqueeze(1)
    trial = torch.arange(k, device=pb.device).expand(batch, k)
    first = torch.where(hit, trial, k).min(-1).values if k else torch.zeros_like(best)
    accepted = torch.where(first < k, first, -1) if k else torch.full_like(best, -1)
    stop = torch.where(accepted >= 0, accepted, k).unsqueeze(1)
    nan = torch.full((batch, k), math.nan, dtype=_DTYPE, device=pb.device)
    probs = torch.where(trial <= stop, hit.to(_DTYPE), nan)
    return BatchVerification(
        best, accepted, probs, nan, torch.full((batch,), math.nan, dtype=_DTYPE, device=pb.device), pb.expand(batch, -1)
    )


# ----------------------------------------------------------------------------------------------------------------
# single-position entry point


def verify(
    rule: Rule,
    p: torch.Tensor,
    q: torch.Tensor | None,
    drafts: torch.Tensor | list[int],
    generator: torch.Generator | None = None,
    keep_residuals: bool = False,
) -> Verification:
    """Run ``rule`` at one position: ``p``/``q`` are ``[V]`` distributions, ``drafts`` the candidates in trial order.

    ``q`` is unused by ``deterministic`` and ``greedy``. ``single`` uses only the first draft.
    """
    d = torch.as_tensor(drafts, dtype=torch.long, device=p.device).reshape(-1)
    if rule == "single":
        d = d[:1]
    if rule in ("single", "rrs", "rsd", "spectr") and q is None:
        raise ValueError(f"rule {rule!r} needs the draft distribution q")
    if rule == "greedy":
        out = greedy_batch(p, d)
    elif rule == "deterministic":
        out = deterministic_batch(p, d, generator, keep_residuals)
    elif rule in ("single", "rrs"):
        assert q is not None
        out = rrs_batch(p, q, d, generator, keep_residuals)
    elif rule == "rsd":
        assert q is not None
        out = rsd_batch(p, q, d, generator, keep_residuals)
    elif rule == "spectr":
        assert q is not None
        out = spectr_batch(p, q, d, generator, keep_residuals)
    else:
        raise ValueError(f"unknown verification rule {rule!r}")
    idx = int(out.accepted[0])
    probs = out.accept_prob[0]
    ran = ~probs.isnan()
    residuals: tuple[torch.Tensor, ...] = ()
    if out.residuals is not None:
        residuals = tuple(r for r in out.residuals[0] if not bool(r.isnan().any()))
    res_u = float(out.residual_uniform[0])
    return Verification(
        rule=rule,
        token=int(out.token[0]),
        drafts=tuple(int(x) for x in d.tolist()),
        accepted_index=idx if idx >= 0 else None,
        accept_probs=tuple(float(x) for x in probs[ran].tolist()),
        draws=tuple(float(x) for x in out.uniform[0][ran].tolist()),
        residual_draw=None if math.isnan(res_u) else res_u,
        source="greedy" if rule == "greedy" else ("draft" if idx >= 0 else "residual"),
        rho=None if out.rho is None else float(out.rho[0]),
        residual=out.final[0] if idx < 0 and rule != "greedy" else None,
        residuals=residuals,
    )


# ----------------------------------------------------------------------------------------------------------------
# optimal acceptance (Hu et al., ICLR 2025)


def optimal_acceptance_iid(p: torch.Tensor, q: torch.Tensor, k: int, top_m: int | None = None) -> float:
    """Optimal acceptance ``alpha* = 1 - max_H [p(H) - (1 - (1 - q(H))^k)]`` for ``k`` i.i.d. drafts from ``q``.

    ``alpha*`` is the LP (optimal transport) value of the best lossless verifier for this draft distribution; by
    duality it is the subset expression above (Hu et al. 2025). Exact algorithm, ``O(V log V)``: writing
    ``g(s) = (1 - s)^k`` (convex, decreasing), an optimal ``H`` must satisfy, for ``x in H`` and ``y not in H``,
    ``p(x)/q(x) >= (g(s - q_x) - g(s))/q_x >= -g'(s) >= (g(s) - g(s + q_y))/q_y >= p(y)/q(y)`` (first and last from
    optimality, middle from convexity), so ``H`` is an upper level set of ``p/q``; within a tie class the objective
    is convex in the included ``q``-mass, so a whole-class cut is as good. Hence scanning every prefix of the tokens
    sorted by ``p/q`` (``q = 0`` first) gives the exact maximum; a test checks it against enumeration of all ``2^V``
    subsets and against the primal max-flow.

    ``top_m`` (optional, for speed on large vocabularies) restricts ``H`` to the ``top_m`` tokens of ``p``: the
    maximum over a smaller family can only be lower, so the result is an *upper* bound on ``alpha*`` (still a valid
    ceiling for every verifier), and exact whenever those tokens cover ``supp(p)`` (an optimal ``H`` never contains
    a token with ``p = 0``: dropping it keeps ``p(H)`` and raises ``(1 - q(H))^k``).
    """
    pv, qv = p.to(_DTYPE).reshape(-1), q.to(_DTYPE).reshape(-1)
    if top_m is not None and top_m < pv.numel():
        keep = pv.topk(top_m).indices
        pv, qv = pv[keep], qv[keep]
    ratio = torch.where(qv > 0, pv / qv.clamp_min(1e-300), torch.where(pv > 0, math.inf, 0.0))
    order = ratio.argsort(descending=True)
    p_pre = pv[order].cumsum(0)
    q_pre = qv[order].cumsum(0).clamp(max=1.0)
    best = float((p_pre - 1 + (1 - q_pre) ** k).max().clamp_min(0.0))
    return 1.0 - best


def without_replacement_set_probs(q: torch.Tensor, k: int) -> dict[frozenset[int], float]:
    """Exact law of the *set* of ``k`` draws without replacement from ``q`` (small vocabularies only).

    ``P(first |T| draws are T) = sum_{x in T} P(T - x) q_x / (1 - q(T - x))``, a DP over subsets of size ``<= k``.
    """
    qv = [float(x) for x in q.reshape(-1).tolist()]
    support = [i for i, x in enumerate(qv) if x > 0]
    k = min(k, len(support))
    probs: dict[frozenset[int], float] = {frozenset(): 1.0}
    for size in range(1, k + 1):
        layer: dict[frozenset[int], float] = {}
        for subset in itertools.combinations(support, size):
            t = frozenset(subset)
            total = 0.0
            for x in subset:
                rest = t - {x}
                left = 1.0 - sum(qv[i] for i in rest)
                if left > 0:
                    total += probs[rest] * qv[x] / left
            layer[t] = total
        probs = {**probs, **layer}
    return {t: v for t, v in probs.items() if len(t) == k}


def optimal_acceptance_exact(
    p: torch.Tensor, q: torch.Tensor, k: int, replacement: bool = True, max_vocab: int = 20
) -> float:
    """``alpha*`` by enumerating every subset ``H`` of a small vocabulary (reference implementation).

    ``P(draft set hits H)`` is ``1 - (1 - q(H))^k`` with replacement and, without replacement (RSD / Gumbel-top-k
    drafts), ``1 - sum_{T subset of H^c, |T| = k} P(set = T)``.
    """
    pv = [float(x) for x in p.reshape(-1).tolist()]
    qv = [float(x) for x in q.reshape(-1).tolist()]
    vocab = len(pv)
    if vocab > max_vocab:
        raise ValueError(f"exact enumeration over {vocab} tokens is too large (max {max_vocab})")
    set_probs = None if replacement else without_replacement_set_probs(q, k)
    best = 0.0
    for mask in range(1 << vocab):
        members = [i for i in range(vocab) if mask >> i & 1]
        p_h = sum(pv[i] for i in members)
        if set_probs is None:
            hit = 1.0 - (1.0 - sum(qv[i] for i in members)) ** k
        else:
            hit = sum(v for t, v in set_probs.items() if any(i in t for i in members))
        best = max(best, p_h - hit)
    return 1.0 - best
