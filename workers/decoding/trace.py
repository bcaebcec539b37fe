"""The decoding trace: what happened at every step, and the run's summary metrics (reference §6.2 and §6.4).

Plain dataclasses so that a step can be streamed as soon as it finishes (``StepRecord.to_dict()``) and the whole run
stored as JSON. Token strings are left empty by the engine unless the caller supplies a decode function.

Summary formulas for chain drafts (Leviathan et al. 2023), with α the per-token acceptance, γ a step's draft length
and c the cost of drafting one token relative to one target call:
  expected tokens per target call  τ(γ) = (1 − α^(γ+1)) / (1 − α)
  expected wall-time speedup         Σ τ(γ_s) / Σ (γ_s c + 1) over the verification steps s
(the mean of the per-step predictions, so steps that drafted nothing count as the single token they give, rather
than a mean γ being put through the formula). Tree drafts are summarised per depth instead: a level passes when
any of its candidates is accepted, γ is the tree's depth, and the chain formulas (which assume one candidate per
position) are not applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Decision = Literal["accepted", "rejected", "unverified"]
NextSource = Literal["residual", "bonus", "greedy", "sample"]
"""Where the token emitted by the target at the end of a step came from: ``residual`` = resampled from
norm(max(0, p − q)) after a rejection; ``bonus`` = every draft accepted, drawn from the next target distribution;
``greedy`` = argmax correction after a greedy rejection; ``sample`` = a plain autoregressive draw/argmax (no draft)."""


@dataclass
class TopK:
    """The k most likely tokens of one distribution."""

    ids: list[int]
    probs: list[float]
    strings: list[str] | None = None


@dataclass
class DraftTokenRecord:
    """One drafted token (a chain element, or a tree node with its parent)."""

    node: int
    parent: int
    """Index of the parent node; -1 = attached to the last committed token (the chain's start / the tree's root)."""
    depth: int
    token: int
    q: float
    """Draft probability of the token (1.0 for deterministic drafters such as prompt lookup)."""
    p: float
    """Target probability of the token (warped; untempered softmax in greedy mode)."""
    accept_prob: float
    """min(1, p/q) in sampling mode; 1 or 0 (argmax match) in greedy mode."""
    u: float | None
    """The uniform draw compared with accept_prob (None in greedy mode or when never tested)."""
    decision: Decision
    beta: float
    """Σ min(p, q) at this position: the expected acceptance probability (1 − TV)."""
    entropy_p: float
    entropy_q: float
    top_p: TopK | None = None
    top_q: TopK | None = None
    text: str | None = None

    @property
    def ratio(self) -> float:
        return self.p / self.q if self.q > 0 else float("inf")


@dataclass
class StepRecord:
    """One draft → verify → resolve cycle (an autoregressive step is a step with an empty draft)."""

    index: int
    method: str
    draft_source: str
    gamma: int
    """Draft length requested for this step (the adaptive value when adaptive γ is on)."""
    prefix_len_before: int
    prefix_len_after: int
    draft: list[DraftTokenRecord]
    is_tree: bool
    first_rejection: int | None
    """Position in the chain (node index in a tree) of the first rejected draft token; None if none was rejected."""
    accepted_count: int
    next_token: int
    next_source: NextSource
    next_prob: float
    """Probability of the emitted token under the distribution it was drawn from."""
    next_u: float | None
    emitted: list[int]
    """Tokens appended to the output this step: accepted drafts, then the target's token."""
    draft_ms: float
    verify_ms: float
    overhead_ms: float
    target_forwards: int
    draft_forwards: int
    target_forward_ms: float
    """Time inside the target's forward call(s) only (verify_ms also covers the decision and the trace records)."""
    draft_forward_ms: float
    kv_rollback: int
    """Target KV entries discarded after verification (rejected draft tokens)."""
    draft_kv_rollback: int
    lossless: bool
    residual_top: TopK | None = None
    next_top: TopK | None = None
    """Top-k of the target distribution at the position the emitted token resolves (what it was chosen among)."""
    next_text: str | None = None
    accepted_text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Drafter- or verifier-specific details (prompt-lookup match position, cross-tokenizer boundary, …)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    new_tokens: int
    steps: int
    target_calls: int
    """Target forward calls during decoding (the prefill excluded)."""
    draft_forwards: int
    drafted: int
    accepted: int
    acceptance_rate: float | None
    """Accepted draft tokens / drafted tokens (tokens after a rejection count as drafted, not accepted)."""
    alpha: float | None
    """Chains: accepted / tested, the per-token acceptance α of the formulas (estimates mean β). Trees: levels
    passed / levels reached (a level passes when any of its candidates is accepted)."""
    acceptance_by_position: list[float]
    """α_i = accepted / tested at chain position i, or levels passed / reached at tree depth i (conditional on
    reaching it)."""
    mean_beta: float | None
    mean_beta_by_position: list[float]
    mean_gamma: float
    """Mean draft length of the verification steps: tokens for chains, depth for trees."""
    tokens_per_target_call: float
    theoretical_tokens_per_call: float | None
    """Chains only: the mean over verification steps of τ(γ_s) at the measured α (None for trees)."""
    prefill_ms: float
    decode_ms: float
    total_ms: float
    tokens_per_s: float
    """New tokens per second of wall time, prefill included."""
    draft_ms: float
    verify_ms: float
    overhead_ms: float
    target_ms_per_call: float | None
    """Mean time of one target forward call (verification forward; prefill excluded)."""
    draft_ms_per_token: float | None
    """Mean drafting wall time per drafted token (draft forwards, sampling, lookup, re-tokenisation)."""
    cost_ratio: float | None
    """c = draft_ms_per_token / target_ms_per_call, both measured in this run."""
    theoretical_speedup: float | None
    """Chains only: Σ τ(γ_s) / Σ (γ_s c + 1) over the verification steps (None for trees)."""
    stop_reason: str
    tree: bool = False
    """The drafts were trees: acceptance is per depth and the chain formulas are not applied."""
    mean_nodes: float | None = None
    """Trees: mean drafted nodes per verification step (γ above is the depth)."""
    measured_speedup: float | None = None
    """Filled in by the caller: this run's tokens/s ÷ the autoregressive baseline's tokens/s."""
    baseline_tokens_per_s: float | None = None
    output_matches_baseline: bool | None = None
    verify_cost_ratio: float | None = None
    """v = this run's mean verification forward ÷ the baseline's mean autoregressive forward (filled in with the
    baseline). The formula above takes v = 1, which holds where the target is memory-bound (a GPU at batch size 1);
    on a CPU a forward over γ + 1 tokens costs noticeably more than over one."""
    theoretical_speedup_at_verify_cost: float | None = None
    """The theoretical speedup ÷ v: the same expectation with a step priced at γ·(draft per token) + v·(AR step), i.e.
    (1 − α^(γ+1)) / ((1 − α)·v·(γc + 1)) with c measured against the verification forward as above."""


@dataclass
class Trace:
    method: str
    drafter: str | None
    verifier: str | None
    lossless: bool
    sampling: dict[str, Any]
    seed: int
    gamma: int
    adaptive_gamma: bool
    prompt_len: int
    max_new_tokens: int
    target: str
    draft_model: str | None = None
    device: str = "cpu"
    steps: list[StepRecord] = field(default_factory=list)
    summary: Summary | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_tokens_per_call(alpha: float, gamma: float) -> float:
    """τ = (1 − α^(γ+1)) / (1 − α); its limit γ + 1 at α = 1."""
    if alpha >= 1.0:
        return gamma + 1.0
    return (1.0 - alpha ** (gamma + 1.0)) / (1.0 - alpha)


def expected_speedup(alpha: float, gamma: float, cost_ratio: float) -> float:
    """(1 − α^(γ+1)) / ((1 − α)(γc + 1))."""
    return expected_tokens_per_call(alpha, gamma) / (gamma * cost_ratio + 1.0)


def _level_counts(step: StepRecord) -> tuple[list[int], list[int]]:
    """Per depth of one step's draft: (reached, passed). A chain position is reached when its token was tested; a
    tree level when any candidate at that depth was, and it passes when any of them was accepted."""
    depth = max((record.depth for record in step.draft), default=0)
    reached, passed = [0] * depth, [0] * depth
    for record in step.draft:
        if record.decision == "unverified":
            continue
        pos = record.depth - 1
        if step.is_tree:
            reached[pos] = 1
            passed[pos] = max(passed[pos], int(record.decision == "accepted"))
        else:
            reached[pos] += 1
            passed[pos] += record.decision == "accepted"
    return reached, passed


def summarize(
    steps: Sequence[StepRecord], *, new_tokens: int, prefill_ms: float, decode_ms: float, stop_reason: str
) -> Summary:
    """Aggregate the per-step records into the run's metrics (see the module docstring for the formulas)."""
    drafted = accepted = 0
    tested: list[int] = []
    passed: list[int] = []
    betas: list[list[float]] = []
    draft_ms = verify_ms = overhead_ms = target_forward_ms = 0.0
    target_calls = draft_forwards = 0
    verified_tokens = 0  # tokens emitted by steps that called the target (the first one comes from the prefill)
    draft_lengths: list[int] = []  # per verification step: tokens (chain) or depth (tree)
    node_counts: list[int] = []
    tree = any(step.is_tree for step in steps)
    for step in steps:
        draft_ms += step.draft_ms
        verify_ms += step.verify_ms
        overhead_ms += step.overhead_ms
        target_forward_ms += step.target_forward_ms
        target_calls += step.target_forwards
        draft_forwards += step.draft_forwards
        if step.target_forwards:
            verified_tokens += len(step.emitted)
            draft_lengths.append(max((record.depth for record in step.draft), default=0))
            node_counts.append(len(step.draft))
        drafted += len(step.draft)
        accepted += step.accepted_count
        reached, ok = _level_counts(step)
        while len(tested) < len(reached):
            tested.append(0)
            passed.append(0)
            betas.append([])
        for pos, (r, a) in enumerate(zip(reached, ok, strict=True)):
            tested[pos] += r
            passed[pos] += a
        for record in step.draft:
            betas[record.depth - 1].append(record.beta)
    # A first draft verified inside the prefill's forward: that forward's time is the prefill's, not a verification's.
    prefill_forward_ms = steps[0].target_forward_ms if steps and "prefill_tokens" in steps[0].extra else 0.0
    if prefill_forward_ms:
        prefill_ms, decode_ms = prefill_ms + prefill_forward_ms, decode_ms - prefill_forward_ms
        verify_ms -= prefill_forward_ms
        target_forward_ms -= prefill_forward_ms
    timed_calls = target_calls - (1 if prefill_forward_ms else 0)
    rate = accepted / drafted if drafted else None
    alpha = sum(passed) / sum(tested) if sum(tested) else None
    all_betas = [b for column in betas for b in column]
    mean_gamma = sum(draft_lengths) / len(draft_lengths) if draft_lengths else 0.0
    target_ms_per_call = target_forward_ms / timed_calls if timed_calls else None
    draft_ms_per_token = draft_ms / drafted if drafted else None
    cost_ratio = (
        draft_ms_per_token / target_ms_per_call if draft_ms_per_token is not None and target_ms_per_call else None
    )
    theory_tau = theory_speedup = None
    if alpha is not None and not tree:
        predicted = [expected_tokens_per_call(alpha, gamma) for gamma in draft_lengths]
        theory_tau = sum(predicted) / len(predicted)
        if cost_ratio is not None:
            theory_speedup = sum(predicted) / sum(gamma * cost_ratio + 1.0 for gamma in draft_lengths)
    total_ms = prefill_ms + decode_ms
    return Summary(
        new_tokens=new_tokens,
        steps=len(steps),
        target_calls=target_calls,
        draft_forwards=draft_forwards,
        drafted=drafted,
        accepted=accepted,
        acceptance_rate=rate,
        alpha=alpha,
        acceptance_by_position=[p / t if t else 0.0 for p, t in zip(passed, tested, strict=True)],
        mean_beta=sum(all_betas) / len(all_betas) if all_betas else None,
        mean_beta_by_position=[sum(column) / len(column) for column in betas if column],
        mean_gamma=mean_gamma,
        tokens_per_target_call=verified_tokens / target_calls if target_calls else 0.0,
        theoretical_tokens_per_call=theory_tau,
        prefill_ms=prefill_ms,
        decode_ms=decode_ms,
        total_ms=total_ms,
        tokens_per_s=new_tokens / (total_ms / 1000.0) if total_ms > 0 else 0.0,
        draft_ms=draft_ms,
        verify_ms=verify_ms,
        overhead_ms=overhead_ms,
        target_ms_per_call=target_ms_per_call,
        draft_ms_per_token=draft_ms_per_token,
        cost_ratio=cost_ratio,
        theoretical_speedup=theory_speedup,
        stop_reason=stop_reason,
        tree=tree,
        mean_nodes=sum(node_counts) / len(node_counts) if tree and node_counts else None,
    )


def compare_with_baseline(trace: Trace, baseline: Trace, output: Sequence[int], baseline_output: Sequence[int]) -> None:
    """Fill the summary's measured speedup from a baseline run of the same prompt and settings."""
    if trace.summary is None or baseline.summary is None:
        return
    base = baseline.summary.tokens_per_s
    trace.summary.baseline_tokens_per_s = base
    trace.summary.measured_speedup = trace.summary.tokens_per_s / base if base > 0 else None
    trace.summary.output_matches_baseline = list(output) == list(baseline_output)
    summary, ar_call = trace.summary, baseline.summary.target_ms_per_call
    if summary.target_ms_per_call and ar_call:
        summary.verify_cost_ratio = summary.target_ms_per_call / ar_call
        if summary.theoretical_speedup is not None:
            summary.theoretical_speedup_at_verify_cost = summary.theoretical_speedup / summary.verify_cost_ratio


def fill_strings(record: StepRecord, token_text: Callable[[int], str]) -> None:
    """Attach token strings to one step's records (top-k lists, drafted tokens, the emitted token)."""
    for draft in record.draft:
        draft.text = token_text(draft.token)
        for top in (draft.top_p, draft.top_q):
            if top is not None:
                top.strings = [token_text(t) for t in top.ids]
    for top in (record.residual_top, record.next_top):
        if top is not None:
            top.strings = [token_text(t) for t in top.ids]
    record.next_text = token_text(record.next_token)
