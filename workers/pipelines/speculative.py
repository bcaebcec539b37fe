"""The speculative-decoding pipeline: one prompt through a drafter + target, traced step by step, plus a baseline.

Framework-free (no Django): a Celery worker calls ``run(inputs, report)``. Inputs (defaults in brackets):

- ``target``: model reference (bundled id, local folder or hub id) — required.
- ``method``: ``speculative`` | ``autoregressive`` [speculative].
- ``drafter``: ``{"kind": ..., ...}`` — ``draft_model`` (``model``: reference sharing the target's tokenizer),
  ``prompt_lookup`` (``max_ngram_size`` [2], ``min_ngram_size`` [2; 1 = HF's rule], ``num_pred_tokens`` [10]), ``early_exit``
  (``exit_layer`` [a third of the target's layers]), ``cross_tokenizer`` (``model``: reference with any tokenizer),
  or a tree / multi-draft method of ``workers.decoding.tree_engine`` (``multi_draft``, ``tree_fixed``,
  ``tree_dyspec``, ``token_recycling``; their own parameters pass through).
- ``gamma`` draft length 1–64 [5]; ``adaptive_gamma`` [false].
- ``prompt`` (text); ``chat_template`` [false]: wrap the prompt as one user turn with the target's chat template.
- ``max_new_tokens`` 1–512 [128]; ``temperature`` ≥ 0 [0 = greedy]; ``top_p`` (0, 1] [1]; ``top_k`` ≥ 0 [0];
  ``seed`` [0]; ``run_baseline`` [true]: also decode autoregressively to measure the real speedup.

``report(progress, message, partial)`` receives batches of finished steps as they happen
(``partial = {"phase", "steps", "text"}``). The result holds the output, the trace (``Trace.to_dict``, every step),
the baseline's output and summary, the measured speedup, and ``trace_limits`` (below). Bad parameters raise
``DecodingInputError``, whose message is shown to the user.

Trace size: every step is stored with every per-token value, but the top-k lists (each drafted token's ``top_p`` and
``top_q``, a step's ``residual_top`` and ``next_top``, a tree level's ``residuals_top``) are kept only while they fit
in ``TRACE_TOPK_BUDGET`` entries: the first steps keep them all, and from the first step that does not fit, every
later step has them set to null (streamed steps too). ``trace_limits`` says where that happened; the summary is
computed by the engine over all steps, before any of this.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workers.decoding.errors import DecodingInputError
from workers.manifest import speculative_manifest
from workers.pipelines.model_loading import Loaded, Loader, default_loader, noop_report

Report = Callable[..., None]
MAX_NEW_TOKENS = 512
MAX_GAMMA = 64
DRAFTER_KINDS = ("draft_model", "prompt_lookup", "early_exit", "cross_tokenizer")
TREE_KINDS = ("multi_draft", "tree_fixed", "tree_dyspec", "token_recycling")
STREAM_INTERVAL_S = 0.25
STREAM_MAX_STEPS = 32
TRACE_TOPK_BUDGET = 100_000
"""Top-k entries (token id + probability + token string) one decoding phase keeps: about 3–4 MB of JSON on a real
vocabulary. Defaults (γ 5, top-k 5) need at most ~31k for 512 tokens, so only heavy settings are ever cut; the
worst case (γ or tree nodes 64, ``trace_top_k`` 50, 512 tokens) would otherwise be ~3.3M entries, ~100 MB."""


# ----------------------------------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class Params:
    target: str
    method: str
    drafter: dict[str, Any]
    gamma: int
    adaptive_gamma: bool
    prompt: str
    chat_template: bool
    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    run_baseline: bool
    trace_top_k: int


def _int(inputs: dict[str, Any], key: str, default: int, low: int, high: int, label: str) -> int:
    value = inputs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodingInputError(f"{label} must be a whole number (got {value!r}).")
    if not low <= value <= high:
        raise DecodingInputError(f"{label} must be between {low} and {high} (got {value}).")
    return value


def _float(inputs: dict[str, Any], key: str, default: float, label: str) -> float:
    value = inputs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodingInputError(f"{label} must be a number (got {value!r}).")
    return float(value)


def prompt_lookup_params(spec: dict[str, Any]) -> dict[str, int]:
    """The prompt-lookup drafter's n-gram sizes and copy length, checked (and defaulted) without loading anything."""
    max_ngram = _int(spec, "max_ngram_size", 2, 1, 8, "max_ngram_size")
    return {
        "max_ngram_size": max_ngram,
        # 2 by default, unlike HF's 1: single-token matches rarely pay where a verification costs over one step.
        "min_ngram_size": _int(
            spec, "min_ngram_size", min(2, max_ngram), 1, max_ngram, f"min_ngram_size (1–{max_ngram})"
        ),
        "num_pred_tokens": _int(spec, "num_pred_tokens", 10, 1, MAX_GAMMA, "num_pred_tokens"),
    }


def parse_inputs(inputs: dict[str, Any]) -> Params:
    """Check types and ranges before anything is loaded, with messages a user can act on."""
    target = inputs.get("target")
    if not isinstance(target, str) or not target.strip():
        raise DecodingInputError("Choose a target model.")
    method = inputs.get("method", "speculative")
    if method not in ("speculative", "autoregressive"):
        raise DecodingInputError(f"Unknown method {method!r}: use 'speculative' or 'autoregressive'.")
    drafter = inputs.get("drafter") or {}
    if not isinstance(drafter, dict):
        raise DecodingInputError("The drafter must be an object such as {'kind': 'prompt_lookup'}.")
    kind = drafter.get("kind")
    if method == "speculative" and kind not in (*DRAFTER_KINDS, *TREE_KINDS):
        raise DecodingInputError(f"Unknown drafter {kind!r}: choose one of {', '.join((*DRAFTER_KINDS, *TREE_KINDS))}.")
    if method == "speculative" and kind in ("draft_model", "cross_tokenizer"):
        model = drafter.get("model")
        if not isinstance(model, str) or not model.strip():
            raise DecodingInputError(f"The {kind} drafter needs a draft model.")
    if method == "speculative" and kind == "prompt_lookup":
        prompt_lookup_params(drafter)
    if method == "speculative" and kind == "early_exit" and "exit_layer" in drafter:
        _int(drafter, "exit_layer", 1, 1, 10_000, "exit_layer")  # the upper bound needs the model: checked on load
    prompt = inputs.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise DecodingInputError("The prompt is empty.")
    temperature = _float(inputs, "temperature", 0.0, "Temperature")
    if not temperature >= 0.0:
        raise DecodingInputError(f"Temperature must be ≥ 0 (got {temperature}); 0 means greedy decoding.")
    top_p = _float(inputs, "top_p", 1.0, "top_p")
    if not 0.0 < top_p <= 1.0:
        raise DecodingInputError(f"top_p must be greater than 0 and at most 1 (got {top_p}).")
    return Params(
        target=target.strip(),
        method=method,
        drafter=dict(drafter),
        gamma=_int(inputs, "gamma", 5, 1, MAX_GAMMA, "Draft length (gamma)"),
        adaptive_gamma=bool(inputs.get("adaptive_gamma", False)),
        prompt=prompt,
        chat_template=bool(inputs.get("chat_template", False)),
        max_new_tokens=_int(inputs, "max_new_tokens", 128, 1, MAX_NEW_TOKENS, "max_new_tokens"),
        temperature=temperature,
        top_p=top_p,
        top_k=_int(inputs, "top_k", 0, 0, 1_000_000, "top_k"),
        seed=_int(inputs, "seed", 0, 0, 2**63 - 1, "Seed"),
        run_baseline=bool(inputs.get("run_baseline", True)),
        trace_top_k=_int(inputs, "trace_top_k", 5, 0, 50, "trace_top_k"),
    )


# ----------------------------------------------------------------------------------------------------------------
# model helpers


def _config(model: Any) -> Any:
    config = getattr(model, "config", None)
    return config.get_text_config() if config is not None and hasattr(config, "get_text_config") else config


def context_limit(loaded: Loaded) -> int | None:
    limit = getattr(loaded.spec, "context_length", None) or getattr(
        _config(loaded.model), "max_position_embeddings", None
    )
    return int(limit) if limit else None


def num_layers(model: Any) -> int:
    return int(getattr(_config(model), "num_hidden_layers", 0) or 0)


def same_vocabulary(a: Any, b: Any) -> bool:
    """Whether two tokenizers map the same strings to the same ids (what a shared-vocabulary drafter needs)."""
    if a is b:
        return True
    try:
        return bool(a.get_vocab() == b.get_vocab())
    except (AttributeError, TypeError):
        return False


def eos_ids(loaded: Loaded) -> tuple[int, ...]:
    ids: set[int] = set()
    for source in (getattr(loaded.model, "generation_config", None), _config(loaded.model), loaded.tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value if isinstance(v, int))
    return tuple(sorted(ids))


def encode_prompt(tokenizer: Any, prompt: str, chat: bool) -> list[int]:
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise DecodingInputError("This target model has no chat template: turn the chat template option off.")
        encoded = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        if isinstance(encoded, dict) or hasattr(encoded, "keys"):
            encoded = encoded["input_ids"]
        if encoded and isinstance(encoded[0], list):
            encoded = encoded[0]
        return [int(t) for t in encoded]
    return [int(t) for t in tokenizer.encode(prompt, add_special_tokens=True)]


def _name(loaded: Loaded, ref: str) -> dict[str, Any]:
    spec = loaded.spec
    return {"ref": ref, "id": getattr(spec, "id", ref), "name": getattr(spec, "name", ref)}


# ----------------------------------------------------------------------------------------------------------------
# trace size


def _tree_levels(step: Any) -> list[dict[str, Any]]:
    verification = step.extra.get("tree_verification") if isinstance(step.extra, dict) else None
    levels = verification.get("levels") if isinstance(verification, dict) else None
    return [level for level in levels if isinstance(level, dict)] if isinstance(levels, list) else []


def topk_entries(step: Any) -> int:
    """How many top-k entries a step record holds (every list that ``drop_topk`` removes)."""
    lists: list[Any] = [step.residual_top, step.next_top]
    for record in step.draft:
        lists += [record.top_p, record.top_q]
    count = sum(len(top.ids) for top in lists if top is not None)
    for level in _tree_levels(step):
        count += sum(len(top.get("ids") or []) for top in level.get("residuals_top") or [] if isinstance(top, dict))
    return count


def drop_topk(step: Any) -> None:
    """Set a step record's top-k lists to null; every other field (per-token values, decisions, timings) stays."""
    step.residual_top = step.next_top = None
    for record in step.draft:
        record.top_p = record.top_q = None
    if _tree_levels(step):
        verification = step.extra["tree_verification"]
        levels = [
            {**level, "residuals_top": None} if isinstance(level, dict) else level for level in verification["levels"]
        ]
        step.extra = {**step.extra, "tree_verification": {**verification, "levels": levels}}


class TraceLimiter:
    """Applies ``TRACE_TOPK_BUDGET`` to one phase's steps, in order, as they finish (so the worker never holds more).

    The steps whose top-k lists are kept are a prefix (``steps[:full_steps]``): the first step that does not fit in
    what is left of the budget, and every step after it, lose their top-k lists, even a later one that would fit.
    """

    def __init__(self, budget: int | None = None) -> None:
        self.budget = TRACE_TOPK_BUDGET if budget is None else budget
        self.kept = self.total = self.steps = self.full_steps = 0
        self._seen: set[int] = set()

    def admit(self, step: Any) -> None:
        if id(step) in self._seen:
            return
        self._seen.add(id(step))
        entries = topk_entries(step)
        self.total += entries
        self.steps += 1
        if self.full_steps == self.steps - 1 and self.kept + entries <= self.budget:
            self.kept += entries
            self.full_steps += 1
        else:
            drop_topk(step)

    def summary(self) -> dict[str, Any]:
        """The result's ``trace_limits``."""
        return {
            "topk_budget": self.budget,
            "topk_entries": self.kept,
            "topk_entries_total": self.total,
            "steps": self.steps,
            "full_steps": self.full_steps,
            "truncated": self.full_steps < self.steps,
        }

    def note(self) -> str | None:
        if self.full_steps >= self.steps:
            return None
        return (
            f"Trace size limit: top-k lists are kept for the first {self.full_steps} of {self.steps} steps "
            f"({self.budget:,} entries); later steps keep every per-token value but not their top-k lists. "
            "The summary covers all steps."
        )


# ----------------------------------------------------------------------------------------------------------------
# streaming


class _Streamer:
    """Batches finished steps into ``report`` calls (at most every 0.25 s or 32 steps) so a browser can follow.

    Each step goes through the phase's ``TraceLimiter`` first, so what is streamed is what is stored."""

    def __init__(
        self, report: Report, phase: str, total: int, span: tuple[float, float], limiter: TraceLimiter | None = None
    ) -> None:
        self.report, self.phase, self.total, self.span = report, phase, total, span
        self.limiter = limiter or TraceLimiter()
        self.pending: list[dict[str, Any]] = []
        self.text: list[str] = []
        self.tokens = 0
        self.last = time.monotonic()

    def __call__(self, step: Any) -> None:
        self.limiter.admit(step)
        self.pending.append(step.to_dict())
        self.tokens += len(step.emitted)
        self.text.append(step.accepted_text or "")
        if len(self.pending) >= STREAM_MAX_STEPS or time.monotonic() - self.last >= STREAM_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        low, high = self.span
        progress = low + (high - low) * min(1.0, self.tokens / max(1, self.total))
        partial = {"phase": self.phase, "steps": self.pending, "text": "".join(self.text)}
        self.pending, self.text = [], []
        self.last = time.monotonic()
        self.report(progress, f"{self.phase}: {self.tokens}/{self.total} tokens", partial)


# ----------------------------------------------------------------------------------------------------------------
# the pipeline


def _build_drafter(params: Params, target: Loaded, load: Loader) -> tuple[Any, Loaded | None]:
    from workers.decoding.drafters import (
        CrossTokenizerDrafter,
        EarlyExitDrafter,
        ModelDrafter,
        PromptLookupDrafter,
    )

    spec = params.drafter
    kind = spec["kind"]
    if kind == "prompt_lookup":
        return PromptLookupDrafter(**prompt_lookup_params(spec)), None
    if kind == "early_exit":
        layers = num_layers(target.model)
        if layers < 2:
            raise DecodingInputError("Early exit needs a target with at least two decoder layers.")
        exit_layer = _int(spec, "exit_layer", max(1, layers // 3), 1, layers - 1, f"exit_layer (1–{layers - 1})")
        from workers.models.early_exit import build_early_exit_drafter

        model = build_early_exit_drafter(target.model, exit_layer)
        return EarlyExitDrafter(model, name=f"{_name(target, params.target)['name']}[:{exit_layer}]"), None
    draft = load(str(spec["model"]).strip())
    if kind == "draft_model":
        if not same_vocabulary(target.tokenizer, draft.tokenizer):
            raise DecodingInputError(
                "The draft model's tokenizer differs from the target's, so its token probabilities cannot be compared "
                "with the target's. Pick a draft model from the same family, or use the cross_tokenizer drafter."
            )
        return ModelDrafter(draft.model, name=_name(draft, spec["model"])["name"]), draft
    # cross_tokenizer
    return (
        CrossTokenizerDrafter(
            draft.model,
            target.tokenizer,
            draft.tokenizer,
            name=_name(draft, spec["model"])["name"],
            draft_eos_ids=eos_ids(draft),
        ),
        draft,
    )


def _tree_config(params: Params, eos: tuple[int, ...], sampling: Any) -> Any:
    from workers.decoding.tree_engine import TreeMethodConfig

    allowed = ("rule", "num_drafts", "draft_length", "node_budget", "max_depth", "max_children", "recycling_k")
    extra = {key: params.drafter[key] for key in allowed if key in params.drafter}
    try:
        return TreeMethodConfig(
            method=params.drafter["kind"],
            sampling=sampling,
            eos_token_ids=eos,
            trace_top_k=params.trace_top_k,
            **extra,
        )
    except TypeError as exc:
        raise DecodingInputError(f"Bad parameters for the {params.drafter['kind']} method: {exc}") from exc


def run(inputs: dict[str, Any], report: Report = noop_report, *, load: Loader | None = None) -> dict[str, Any]:
    """Decode ``inputs['prompt']`` with the chosen method (and the autoregressive baseline); see the module doc."""
    from workers.decoding.engine import MethodConfig, generate
    from workers.decoding.sampling import SamplingConfig
    from workers.decoding.trace import compare_with_baseline

    params = parse_inputs(inputs)
    load = load or default_loader
    report(0.0, "Loading models")
    target = load(params.target)
    tokenizer = target.tokenizer
    prompt_ids = encode_prompt(tokenizer, params.prompt, params.chat_template)
    limit = context_limit(target)
    if limit is not None and len(prompt_ids) + params.max_new_tokens > limit:
        raise DecodingInputError(
            f"The prompt is {len(prompt_ids)} tokens; with max_new_tokens={params.max_new_tokens} it exceeds the "
            f"target's context limit of {limit} tokens. Shorten the prompt or ask for fewer tokens."
        )
    sampling = SamplingConfig(temperature=params.temperature, top_k=params.top_k, top_p=params.top_p)
    eos = eos_ids(target)
    speculative = params.method == "speculative"
    kind = params.drafter.get("kind") if speculative else None
    drafter, draft_loaded = (None, None)
    if speculative and kind in DRAFTER_KINDS:
        drafter, draft_loaded = _build_drafter(params, target, load)
    tree_config = _tree_config(params, eos, sampling) if speculative and kind in TREE_KINDS else None
    if tree_config is not None and kind != "token_recycling":
        draft_ref = params.drafter.get("model")
        if not isinstance(draft_ref, str) or not draft_ref.strip():
            raise DecodingInputError(f"The {kind} method needs a draft model.")
        draft_loaded = load(draft_ref.strip())
        if not same_vocabulary(tokenizer, draft_loaded.tokenizer):
            raise DecodingInputError(f"The {kind} method needs a draft model with the target's tokenizer.")

    config = MethodConfig(
        method="speculative" if speculative else "autoregressive",
        sampling=sampling,
        gamma=params.gamma,
        adaptive_gamma=params.adaptive_gamma,
        eos_token_ids=eos,
        trace_top_k=params.trace_top_k,
    )

    def decode(ids: Sequence[int]) -> str:
        return str(tokenizer.decode(list(ids), skip_special_tokens=False))

    _warm_up(target.model, prompt_ids)
    with_baseline = params.run_baseline and speculative
    main_span = (0.05, 0.6 if with_baseline else 1.0)
    stream = _Streamer(report, "speculative" if speculative else "autoregressive", params.max_new_tokens, main_span)
    if tree_config is not None:
        from workers.decoding.tree_engine import generate_tree

        output, trace = generate_tree(
            target.model,
            prompt_ids,
            params.max_new_tokens,
            tree_config,
            params.seed,
            stream,
            draft_model=draft_loaded.model if draft_loaded is not None else None,
            decode=decode,
        )
    else:
        output, trace = generate(
            target.model, drafter, prompt_ids, params.max_new_tokens, config, params.seed, stream, decode=decode
        )
    stream.flush()  # the engine publishes every step it stores, so the limiter has seen them all
    note = stream.limiter.note()
    if note:
        trace.notes.append(note)

    baseline: dict[str, Any] | None = None
    if with_baseline:
        base_stream = _Streamer(report, "baseline", params.max_new_tokens, (0.6, 1.0))
        base_config = MethodConfig(
            method="autoregressive", sampling=sampling, eos_token_ids=eos, trace_top_k=params.trace_top_k
        )
        base_output, base_trace = generate(
            target.model, None, prompt_ids, params.max_new_tokens, base_config, params.seed, base_stream, decode=decode
        )
        base_stream.flush()
        compare_with_baseline(trace, base_trace, output, base_output)
        baseline = {
            "output_ids": base_output,
            "output_text": decode(base_output),
            "summary": base_trace.to_dict()["summary"],
        }
    report(1.0, "Done")
    return {
        "target": _name(target, params.target),
        "drafter": {
            **params.drafter,
            "model": _name(draft_loaded, str(params.drafter.get("model")))
            if draft_loaded is not None
            else getattr(drafter, "model_name", None),
        }
        if speculative
        else None,
        "method": params.method,
        "prompt_ids": prompt_ids,
        "prompt_text": decode(prompt_ids),
        "output_ids": output,
        "output_text": decode(output),
        "trace": trace.to_dict(),
        "trace_limits": stream.limiter.summary(),
        "baseline": baseline,
        "lossless": _lossless_note(kind, sampling.greedy, trace.lossless),
        "manifest": (manifest := speculative_manifest(asdict(params), target, draft_loaded, tree_config or config)),
        "versions": manifest["libraries"],  # the job's ``versions`` (the runner moves it out of the result)
    }


def _warm_up(model: Any, prompt_ids: Sequence[int]) -> None:
    """One short forward so that one-time costs (allocator growth, kernel selection) do not land in the first timed
    run and skew the measured speedup."""
    import torch

    device = getattr(model, "device", None) or torch.device("cpu")
    with torch.inference_mode():
        model(input_ids=torch.tensor([list(prompt_ids[:16])], device=device), use_cache=False)


def _lossless_note(kind: str | None, greedy: bool, rule_lossless: bool) -> dict[str, Any]:
    if kind is None:
        return {"lossless": True, "note": "Autoregressive decoding: the reference itself."}
    if not rule_lossless:
        return {"lossless": False, "note": "This verification rule changes the output distribution."}
    if greedy:
        note = (
            "Greedy: the output is token-for-token the target's greedy output (checked against the baseline). In half "
            "precision on a GPU, multi-token and single-token forwards can round differently and flip a near-tie."
        )
    elif kind in ("prompt_lookup", "cross_tokenizer"):
        note = (
            "Sampling with a deterministic draft (q is a point mass): a draft token x is accepted with probability "
            "p(x) and otherwise the token is drawn from p with x removed, so every output token follows the target's "
            "warped distribution exactly. A sample differs from the baseline's only through the random draws."
        )
    else:
        note = (
            "Sampling: standard speculative sampling (accept with min(1, p/q), resample from norm(max(0, p − q))) "
            "with temperature/top-k/top-p applied identically to p and q; the output follows the target's warped "
            "distribution exactly. A sample differs from the baseline's only through the random draws."
        )
    return {"lossless": True, "note": note}
