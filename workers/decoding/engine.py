"""The generation loop: autoregressive or speculative, one traced step at a time.

A step = draft (optional) → verify (one target forward) → emit the accepted tokens plus one target token. An
autoregressive step is the same with an empty draft, so both methods share the code path and their timings are
directly comparable. The prompt is prefilled once; caches are cropped, never rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch

from workers.decoding.chain import ChainVerifier, top_k_lists
from workers.decoding.drafters import as_lm
from workers.decoding.errors import DecodingInputError
from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Draft, Drafter, Verifier, VocabLimited
from workers.decoding.sampling import GREEDY, SamplingConfig, make_generator, probabilities, sample
from workers.decoding.trace import NextSource, StepRecord, Trace, fill_strings, summarize

Method = Literal["autoregressive", "speculative"]
MAX_GAMMA = 64


@dataclass(frozen=True)
class MethodConfig:
    """How to decode. ``gamma`` is the draft length (the starting value when ``adaptive_gamma``)."""

    method: Method = "autoregressive"
    sampling: SamplingConfig = GREEDY
    gamma: int = 5
    adaptive_gamma: bool = False
    """HF's "heuristic" schedule: γ += 2 after a fully accepted draft, else γ = max(1, γ − 1)."""
    max_gamma: int = MAX_GAMMA
    eos_token_ids: tuple[int, ...] = ()
    trace_top_k: int = 5

    def __post_init__(self) -> None:
        if self.method not in ("autoregressive", "speculative"):
            raise DecodingInputError(f"Unknown method {self.method!r}: use 'autoregressive' or 'speculative'.")
        if not 1 <= self.gamma <= MAX_GAMMA:
            raise DecodingInputError(f"Draft length must be between 1 and {MAX_GAMMA} (got {self.gamma}).")
        if not 1 <= self.max_gamma <= MAX_GAMMA:
            raise DecodingInputError(f"Maximum draft length must be between 1 and {MAX_GAMMA} (got {self.max_gamma}).")
        if not 0 <= self.trace_top_k <= 50:
            raise DecodingInputError(f"trace_top_k must be between 0 and 50 (got {self.trace_top_k}).")


StepCallback = Callable[[StepRecord], None]
Decode = Callable[[Sequence[int]], str]


class _Strings:
    """Token and incremental output text for the trace; per-token strings are memoised."""

    def __init__(self, decode: Decode) -> None:
        self.decode = decode
        self._tokens: dict[int, str] = {}
        self._text = ""

    def token(self, token: int) -> str:
        text = self._tokens.get(token)
        if text is None:
            text = self._tokens[token] = self.decode([token])
        return text

    def advance(self, output: Sequence[int]) -> str:
        """The text the latest tokens added, as a diff of full decodes (decoding a token alone loses the leading
        space of SentencePiece pieces)."""
        text = self.decode(output)
        added = text[len(self._text) :] if text.startswith(self._text) else text
        self._text = text
        return added


def generate(
    target: CausalLM | Any,
    drafter: Drafter | None,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    config: MethodConfig = MethodConfig(),
    seed: int = 0,
    on_step: StepCallback | None = None,
    *,
    verifier: Verifier | None = None,
    decode: Decode | None = None,
) -> tuple[list[int], Trace]:
    """Generate up to ``max_new_tokens`` tokens after ``prompt_ids``; returns (new token ids, trace).

    ``drafter`` is required for the speculative method and ignored for autoregressive decoding. ``verifier``
    defaults to the standard chain rule; tree/multi-draft verifiers plug in here. ``decode`` (token ids → text)
    fills the trace's strings. ``on_step`` receives every finished step, e.g. to stream it.
    """
    lm = as_lm(target)
    prompt = [int(t) for t in prompt_ids]
    if not prompt:
        raise DecodingInputError("The prompt is empty.")
    if max_new_tokens < 1:
        raise DecodingInputError(f"max_new_tokens must be ≥ 1 (got {max_new_tokens}).")
    if lm.max_positions is not None and len(prompt) + max_new_tokens > lm.max_positions:
        raise DecodingInputError(
            f"Prompt ({len(prompt)} tokens) plus max_new_tokens ({max_new_tokens}) exceeds the model's context "
            f"limit of {lm.max_positions} tokens."
        )
    speculative = config.method == "speculative"
    if speculative and drafter is None:
        raise DecodingInputError("The speculative method needs a drafter.")
    active_drafter = drafter if speculative else None
    rule = verifier or ChainVerifier()
    gen = make_generator(seed)
    strings = _Strings(decode) if decode is not None else None
    eos = set(config.eos_token_ids)

    trace = Trace(
        method=config.method,
        drafter=active_drafter.kind if active_drafter else None,
        verifier=rule.name,
        lossless=rule.lossless,
        sampling=asdict(config.sampling),
        seed=seed,
        gamma=config.gamma,
        adaptive_gamma=config.adaptive_gamma and speculative,
        prompt_len=len(prompt),
        max_new_tokens=max_new_tokens,
        target=lm.name,
        draft_model=active_drafter.model_name if active_drafter else None,
        device=str(lm.device),
    )

    started = time.perf_counter()
    # Two ways to start, both without a forward of their own for the first new token (as HF ``generate`` does). A
    # chain draft rides along with the prefill: the prompt's last token is "pending" and the first draft is verified
    # in the prefill's forward. Otherwise (no drafter, or a tree, whose mask covers the cached prefix only) the
    # prefill's last logits give the first token. Either way the target's cache then holds everything but the last
    # committed token (the pending one, fed with the next draft).
    draft_in_prefill = active_drafter is not None and not rule.supports_tree and len(prompt) > 1
    first_logits: torch.Tensor | None = None
    if draft_in_prefill:
        lm.defer_prefill(prompt[:-1])
    else:
        first_logits = lm.prefill(prompt)
    if active_drafter is not None:
        if isinstance(active_drafter, VocabLimited) and lm.vocab_size is not None:
            active_drafter.limit_vocab(lm.vocab_size)
        active_drafter.start(prompt)
    prefill_ms = (time.perf_counter() - started) * 1000.0

    context = list(prompt)
    output: list[int] = []
    pending = prompt[-1]
    gamma = config.gamma
    stop_reason = "max_new_tokens"
    callback_ms = 0.0  # time spent in on_step is the caller's, not decoding's
    decode_start = time.perf_counter()
    if first_logits is not None:
        first = _first_token_step(first_logits, config, gen, len(prompt), lossless=rule.lossless)
        pending = first.next_token
        output.append(pending)
        context.append(pending)
        if pending in eos:
            stop_reason = "eos"
        callback_ms += _finish_step(first, trace, strings, output, on_step, step_start=decode_start)
    while len(output) < max_new_tokens and stop_reason != "eos":
        step_start = time.perf_counter()
        remaining = max_new_tokens - len(output)
        want = min(gamma, remaining - 1)  # leave room for the target's own token
        if active_drafter is not None and want > 0:
            draft = active_drafter.propose(context, want, config.sampling, gen)
            if len(draft.tokens) > want:  # a prefix of a tree (parents precede children) is still a tree
                draft.tokens = draft.tokens[:want]
                draft.q = draft.q[:want] if draft.q is not None else None
                draft.parents = draft.parents[:want] if draft.parents is not None else None
        else:
            draft = Draft([])
        draft_done = time.perf_counter()
        verification = rule.verify(lm, pending, draft, config.sampling, gen, top_k=config.trace_top_k)
        verify_done = time.perf_counter()

        emitted = [*verification.accepted, verification.next_token]
        for i, token in enumerate(emitted):
            if token in eos:
                emitted = emitted[: i + 1]
                stop_reason = "eos"
                break
        before = len(context)
        output.extend(emitted)
        context.extend(emitted)
        pending = verification.next_token
        if active_drafter is not None:
            active_drafter.observe(context, verification)
        step_gamma = gamma
        if config.adaptive_gamma and draft.tokens:
            full = len(verification.accepted) == len(draft.tokens)
            gamma = min(gamma + 2, config.max_gamma) if full else max(1, gamma - 1)

        record = StepRecord(
            index=len(trace.steps),
            method=config.method,
            draft_source=active_drafter.kind if active_drafter else "none",
            gamma=step_gamma if active_drafter else 0,
            prefix_len_before=before,
            prefix_len_after=len(context),
            draft=verification.records,
            is_tree=not draft.is_chain,
            first_rejection=verification.first_rejection,
            accepted_count=len(verification.accepted),
            next_token=verification.next_token,
            next_source=verification.next_source,
            next_prob=verification.next_prob,
            next_u=verification.next_u,
            emitted=emitted,
            draft_ms=(draft_done - step_start) * 1000.0,
            verify_ms=(verify_done - draft_done) * 1000.0,
            overhead_ms=0.0,
            target_forwards=verification.target_forwards,
            draft_forwards=draft.forward_calls,
            target_forward_ms=verification.target_ms,
            draft_forward_ms=draft.forward_ms,
            kv_rollback=verification.kv_rollback,
            draft_kv_rollback=draft.kv_rollback,
            lossless=rule.lossless,
            residual_top=verification.residual_top,
            next_top=verification.next_top,
            extra={**draft.extra, **verification.extra},
        )
        if draft_in_prefill and record.index == 0:
            record.extra["prefill_tokens"] = len(prompt) - 1
        callback_ms += _finish_step(record, trace, strings, output, on_step, step_start=verify_done)
        if stop_reason == "eos":
            break

    decode_ms = (time.perf_counter() - decode_start) * 1000.0 - callback_ms
    trace.summary = summarize(
        trace.steps, new_tokens=len(output), prefill_ms=prefill_ms, decode_ms=decode_ms, stop_reason=stop_reason
    )
    return output, trace


def _first_token_step(
    logits: torch.Tensor, config: MethodConfig, gen: torch.Generator, prompt_len: int, *, lossless: bool
) -> StepRecord:
    """The token drawn from the prefill's last logits: an autoregressive step whose forward was the prefill."""
    probs = probabilities(logits, config.sampling)
    source: NextSource
    u: float | None = None
    if config.sampling.greedy:
        token, source = int(logits.argmax()), "greedy"
    else:
        token, u = sample(probs, gen)
        source = "sample"
    return StepRecord(
        index=0,
        method=config.method,
        draft_source="none",
        gamma=0,
        prefix_len_before=prompt_len,
        prefix_len_after=prompt_len + 1,
        draft=[],
        is_tree=False,
        first_rejection=None,
        accepted_count=0,
        next_token=token,
        next_source=source,
        next_prob=float(probs[token]),
        next_u=u,
        emitted=[token],
        draft_ms=0.0,
        verify_ms=0.0,
        overhead_ms=0.0,
        target_forwards=0,
        draft_forwards=0,
        target_forward_ms=0.0,
        draft_forward_ms=0.0,
        kv_rollback=0,
        draft_kv_rollback=0,
        lossless=lossless,
        next_top=top_k_lists(probs[None], config.trace_top_k)[0],
        extra={"from_prefill": True},
    )


def _finish_step(
    record: StepRecord,
    trace: Trace,
    strings: _Strings | None,
    output: Sequence[int],
    on_step: StepCallback | None,
    *,
    step_start: float,
) -> float:
    """Attach strings, time the bookkeeping, store and publish a step; returns the time spent in ``on_step``."""
    if strings is not None:
        fill_strings(record, strings.token)
        record.accepted_text = strings.advance(output)
    record.overhead_ms = (time.perf_counter() - step_start) * 1000.0
    trace.steps.append(record)
    if on_step is None:
        return 0.0
    callback_start = time.perf_counter()
    on_step(record)
    return (time.perf_counter() - callback_start) * 1000.0
