"""Chain drafters: a separate draft model, prompt lookup (n-gram copy), early exit, and a cross-tokenizer draft.

All of them are lossless under the engine's standard verifier:
- the model drafters sample from q (warped like p) and hand q over, so the min(1, p/q) rule applies exactly;
- prompt lookup and the cross-tokenizer drafter are deterministic functions of the context, i.e. q is a point mass
  on each drafted token; the rule then accepts with probability p(x) and resamples from p with x removed, which is
  exactly p again. In greedy mode every drafter gives output identical to greedy autoregressive decoding.

Model drafters keep their own KV cache. Instead of an explicit "rollback after rejection" call, each ``propose``
re-synchronises: it keeps the longest cached prefix shared with the verified context, crops the rest (recorded as
``kv_rollback``) and feeds only the missing tokens. That handles rejections, bonus tokens and re-tokenisation alike.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Draft, Verification
from workers.decoding.sampling import SamplingConfig, probabilities, sample


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix.

    Called every step on contexts of thousands of tokens whose mismatch (if any) is near the end, so it compares
    whole slices at C speed, galloping back from the end, and scans element by element only inside the last gap.
    """
    a, b = list(a), list(b)
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    hi, back = n, 1  # invariant: a[:hi] != b[:hi]
    lo = n - 1
    while lo > 0 and a[:lo] != b[:lo]:
        hi, back = lo, back * 2
        lo = max(0, n - back)
    for i in range(lo, hi):
        if a[i] != b[i]:
            return i
    return hi


def as_lm(model: Any, name: str | None = None) -> CausalLM:
    """Accept our wrapper or any HF-style causal LM (``model(input_ids=…, past_key_values=…).logits``)."""
    return model if isinstance(model, CausalLM) else CausalLM(model, name=name)


class ModelDrafter:
    """A small causal LM over the target's vocabulary drafting autoregressively with its own KV cache."""

    shares_target_vocab = True

    def __init__(self, model: Any, *, name: str | None = None, kind: str = "draft_model") -> None:
        self.lm = as_lm(model, name)
        self.kind = kind
        self.model_name: str | None = self.lm.name
        self._logits: torch.Tensor | None = None
        """Logits after exactly ``self.lm.tokens`` when known (saves a forward right after the prefill)."""
        self.vocab_limit: int | None = None
        """The target's vocabulary width: logits beyond it are cut before warping and sampling."""

    def limit_vocab(self, width: int) -> None:
        self.vocab_limit = int(width)

    def within_vocab(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits cut to the target's vocabulary. Done *before* temperature, top-k and top-p, so that q is exactly
        the distribution the drafts are sampled from and no drafted id is one the target cannot emit."""
        if self.vocab_limit is not None and logits.shape[-1] > self.vocab_limit:
            return logits[..., : self.vocab_limit]
        return logits

    def start(self, prompt_ids: Sequence[int]) -> None:
        self.lm.reset()
        self._logits = self.lm.prefill(list(prompt_ids)) if prompt_ids else None

    def logits_after(self, context: Sequence[int]) -> tuple[torch.Tensor, int]:
        """Next-token logits after ``context``, re-using the cache; returns (logits, cache entries discarded)."""
        tokens = self.lm.tokens
        if (
            self._logits is not None
            and len(tokens) == len(context)
            and common_prefix_len(tokens, context) == len(context)
        ):
            return self._logits, 0
        keep = common_prefix_len(tokens, context)
        if keep == len(context):
            keep -= 1  # the logits after the last token are not stored: feed it again
        self._logits = None
        if keep <= 0 or self.lm.cache is None:
            rollback = self.lm.length
            return self.lm.prefill(list(context)), rollback
        try:
            rollback = self.lm.crop(keep)
        except ValueError:  # sliding-window states already dropped: rebuild from scratch
            rollback = self.lm.length
            return self.lm.prefill(list(context)), rollback
        return self.lm.forward(list(context[keep:]))[-1], rollback

    def propose(self, context: Sequence[int], max_tokens: int, sampling: SamplingConfig, gen: torch.Generator) -> Draft:
        calls, ms = self.lm.forward_calls, self.lm.forward_ms
        if max_tokens <= 0 or not context:
            return Draft([])
        logits, rollback = self.logits_after(context)
        tokens: list[int] = []
        dists: list[torch.Tensor] = []
        for i in range(max_tokens):
            logits = self.within_vocab(logits)
            q = probabilities(logits, sampling)
            token = int(logits.argmax()) if sampling.greedy else sample(q, gen)[0]
            tokens.append(token)
            dists.append(q)
            if i + 1 < max_tokens:
                logits = self.lm.forward([token])[-1]
        self._logits = logits  # the logits after exactly ``self.lm.tokens`` (context + all drafts but the last)
        return Draft(
            tokens=tokens,
            q=torch.stack(dists),
            forward_calls=self.lm.forward_calls - calls,
            forward_ms=self.lm.forward_ms - ms,
            kv_rollback=rollback,
        )

    def observe(self, context: Sequence[int], verification: Verification) -> None:
        return None


class EarlyExitDrafter(ModelDrafter):
    """Self-speculation: the draft is the target truncated to its first layers (built by ``workers.models``).

    Any causal LM object works here; it keeps a cache of its own (sharing the target's first-layer cache would save
    compute but ties the drafter to one architecture).
    """

    def __init__(self, model: Any, *, name: str | None = None, exit_layer: int | None = None) -> None:
        super().__init__(model, name=name, kind="early_exit")
        self.exit_layer = exit_layer


class PromptLookupDrafter:
    """Prompt lookup decoding: copy what followed an earlier occurrence of the context's last n-gram.

    Mirrors HF's ``prompt_lookup_num_tokens``: try n-gram sizes from ``max_ngram_size`` down to ``min_ngram_size``
    and take the earliest match that has a continuation, at most ``num_pred_tokens`` tokens long. No model, no
    forward calls. HF always falls back to 1-grams (``min_ngram_size=1``, the default here too); a single matching
    token is weak evidence, and where a verification forward costs well over one decoding step (a CPU: about 2× for
    SmolLM2) such drafts lose more than they gain, so ``min_ngram_size=2`` drafts only on longer matches.
    """

    kind = "prompt_lookup"
    model_name: str | None = None
    shares_target_vocab = True

    def __init__(self, max_ngram_size: int = 2, num_pred_tokens: int = 10, min_ngram_size: int = 1) -> None:
        if max_ngram_size < 1 or num_pred_tokens < 1 or min_ngram_size < 1:
            raise ValueError("max_ngram_size, min_ngram_size and num_pred_tokens must be ≥ 1")
        if min_ngram_size > max_ngram_size:
            raise ValueError(f"min_ngram_size ({min_ngram_size}) must not exceed max_ngram_size ({max_ngram_size})")
        self.max_ngram_size = max_ngram_size
        self.min_ngram_size = min_ngram_size
        self.num_pred_tokens = num_pred_tokens

    def start(self, prompt_ids: Sequence[int]) -> None:
        return None

    def lookup(self, context: Sequence[int], max_tokens: int) -> tuple[list[int], dict[str, Any]]:
        ids = torch.as_tensor(list(context), dtype=torch.long)
        length = ids.shape[0]
        limit = min(max_tokens, self.num_pred_tokens)
        for size in range(min(self.max_ngram_size, length - 1), self.min_ngram_size - 1, -1):
            windows = ids.unfold(0, size, 1)  # [length - size + 1, size]
            matches = (windows == ids[-size:]).all(dim=1).nonzero()[:, 0]
            for start in matches.tolist():
                begin = start + size
                end = min(begin + limit, length)
                if begin < end:
                    return ids[begin:end].tolist(), {"ngram_size": size, "match_start": int(start)}
        return [], {"ngram_size": 0, "match_start": None}

    def propose(self, context: Sequence[int], max_tokens: int, sampling: SamplingConfig, gen: torch.Generator) -> Draft:
        if max_tokens <= 0 or len(context) < 2:
            return Draft([])
        tokens, info = self.lookup(context, max_tokens)
        return Draft(tokens=tokens, q=None, extra={"prompt_lookup": info})

    def observe(self, context: Sequence[int], verification: Verification) -> None:
        return None


class TextTokenizer(Protocol):
    """The subset of a Hugging Face tokenizer the cross-tokenizer drafter needs."""

    def encode(self, text: str, *, add_special_tokens: bool = ...) -> Any: ...

    def decode(self, token_ids: Any, *, skip_special_tokens: bool = ...) -> Any: ...


class CrossTokenizerDrafter:
    """A draft model with a different tokenizer, bridged through text (like HF's universal assisted generation).

    Each step: decode the target context to text, re-tokenise it for the drafter (its KV cache, kept across steps,
    keeps the longest unchanged prefix, so only the tokens since the last draft are fed), draft greedily (stopping
    at the drafter's end of text, and after a token below ``min_confidence``), decode the new draft tokens to text,
    and re-tokenise that text for the target. Profiled on Gemma 3 with SmolLM2 (docs/benchmarks.md), the draft
    model's one-token forwards and the target's verification take nearly all the time; the text bridge (whole-context
    decode and re-encode included) takes about 1%, so it is not made incremental. The boundary is handled by re-encoding the last few committed target tokens together with the draft text
    and keeping only what comes after them; when the re-encoding merges across the boundary (it does not reproduce
    the committed tokens) the draft text is encoded on its own. The trace records which case happened, the text
    overlap and the re-tokenised ids.

    There is no q over the target vocabulary, so drafts are always greedy (deterministic): q is a point mass, and the
    standard rule, accepting x with probability p(x) and otherwise resampling from p without x, is exactly lossless in
    sampling mode too. What is *not* exact is the drafter's view: it sees the target context without special tokens.
    That only lowers acceptance; it cannot change the output.
    """

    kind = "cross_tokenizer"
    shares_target_vocab = False

    def __init__(
        self,
        model: Any,
        target_tokenizer: TextTokenizer,
        draft_tokenizer: TextTokenizer,
        *,
        name: str | None = None,
        overlap_tokens: int = 8,
        draft_eos_ids: Sequence[int] = (),
        min_confidence: float = 0.4,
    ) -> None:
        if not 0.0 <= min_confidence < 1.0:
            raise ValueError(f"min_confidence must be in [0, 1) (got {min_confidence})")
        self.inner = ModelDrafter(model, name=name)
        self.min_confidence = min_confidence
        """Stop drafting after a token the draft model gives less than this probability (0: never; 0.4 is HF's
        default for assisted generation): the tokens after an unsure one are rarely accepted, and each costs a draft
        forward plus a verified position of the target's (for Gemma 262k-wide) LM head."""
        self.model_name: str | None = self.inner.model_name
        self.target_tokenizer = target_tokenizer
        self.draft_tokenizer = draft_tokenizer
        self.overlap_tokens = overlap_tokens
        self.draft_eos_ids = set(draft_eos_ids)
        self._special_ids: set[int] = set(getattr(target_tokenizer, "all_special_ids", []) or [])

    def start(self, prompt_ids: Sequence[int]) -> None:
        self.inner.lm.reset()
        self.inner._logits = None

    def _draft_context(self, context: Sequence[int]) -> list[int]:
        text = str(self.target_tokenizer.decode(list(context), skip_special_tokens=True))
        return [int(t) for t in self.draft_tokenizer.encode(text, add_special_tokens=True)] if text else []

    def _draft_tokens(self, draft_context: list[int], max_tokens: int) -> tuple[list[int], int, str]:
        """Greedy draft tokens after ``draft_context`` in the drafter's vocabulary, re-using its KV cache.

        Returns (tokens, cache entries discarded, why drafting stopped). Stops *before* the drafter's end of text
        (what follows it is not text the target could continue) and right *after* a token below ``min_confidence``,
        so no forward is spent on tokens that are dropped or rarely accepted.
        """
        lm = self.inner.lm
        logits, rollback = self.inner.logits_after(draft_context)
        tokens: list[int] = []
        stop = "max_tokens"
        while True:  # invariant: ``logits`` follow exactly ``lm.tokens``
            token = int(logits.argmax())
            if token in self.draft_eos_ids:
                stop = "eos"
                break
            tokens.append(token)
            if len(tokens) >= max_tokens:
                break
            if self.min_confidence and float(torch.softmax(logits, dim=-1)[token]) < self.min_confidence:
                stop = "unsure"
                break
            logits = lm.forward([token])[-1]
        self.inner._logits = logits  # the next step starts from here when its context extends ``lm.tokens``
        return tokens, rollback, stop

    def _draft_text(self, draft_context: list[int], new: list[int]) -> str:
        tail = draft_context[-self.overlap_tokens :]
        before = str(self.draft_tokenizer.decode(tail, skip_special_tokens=True))
        after = str(self.draft_tokenizer.decode(tail + new, skip_special_tokens=True))
        text = after[len(before) :] if after.startswith(before) else str(self.draft_tokenizer.decode(new))
        return text.rstrip("\ufffd")  # an unfinished multi-byte character cannot be re-tokenised yet

    def _target_ids(self, context: Sequence[int], text: str) -> tuple[list[int], dict[str, Any]]:
        tail: list[int] = []
        for token in reversed(list(context)[-self.overlap_tokens :]):
            if token in self._special_ids:
                break
            tail.insert(0, int(token))
        tail_text = str(self.target_tokenizer.decode(tail, skip_special_tokens=True)) if tail else ""
        encoded = [int(t) for t in self.target_tokenizer.encode(tail_text + text, add_special_tokens=False)]
        if tail and encoded[: len(tail)] == tail:
            ids, boundary = encoded[len(tail) :], "aligned"
        else:
            ids = [int(t) for t in self.target_tokenizer.encode(text, add_special_tokens=False)]
            boundary = "standalone"
        return ids, {"overlap_text": tail_text, "overlap_ids": tail, "boundary": boundary}

    def propose(self, context: Sequence[int], max_tokens: int, sampling: SamplingConfig, gen: torch.Generator) -> Draft:
        if max_tokens <= 0:
            return Draft([])
        started = time.perf_counter()
        draft_context = self._draft_context(context)
        if not draft_context:
            return Draft([])
        # Draft in the drafter's own vocabulary, greedily (see the class docstring), then bridge through text.
        lm = self.inner.lm
        calls, forward_ms = lm.forward_calls, lm.forward_ms
        new, rollback, stop = self._draft_tokens(draft_context, max_tokens)
        forward_calls, forward_ms = lm.forward_calls - calls, lm.forward_ms - forward_ms
        text = self._draft_text(draft_context, new)
        ids, info = self._target_ids(context, text) if text else ([], {"boundary": "empty"})
        ids = ids[:max_tokens]
        info.update(
            draft_text=text,
            draft_ids=new,
            retokenized_ids=ids,
            draft_stop=stop,
            bridge_ms=(time.perf_counter() - started) * 1000.0 - forward_ms,
        )
        return Draft(
            tokens=ids,
            q=None,
            forward_calls=forward_calls,
            forward_ms=forward_ms,
            kv_rollback=rollback,
            extra={"cross_tokenizer": info},
        )

    def observe(self, context: Sequence[int], verification: Verification) -> None:
        return None
