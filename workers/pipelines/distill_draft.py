"""The draft-distillation pipeline: make a small same-tokenizer draft model for a target that has none.

FastDraft-style (Intel, "FastDraft: How to Train Your Draft", 2024), sized for one CPU job: the target continues a
set of prompts, a few-layer copy of the target (its embeddings, head and a subset of its layers) is trained on those
continuations, and the result is saved as a normal Hugging Face folder that the ``draft_model`` drafter can load.

Framework-free (no Django); torch is imported inside ``run``, so the web process can import ``parse_inputs`` to
validate a request. Inputs (defaults in brackets):

- ``target``: model reference (bundled id, local folder or hub id) — required.
- ``num_layers`` 2–8 [4]: draft depth (fewer than the target's layers).
- ``prompts``: optional list of extra prompts (added to the built-in varied set).
- ``num_sequences`` 8–2048 [128]; ``max_new_tokens`` 16–256 [96]: the generated corpus.
- ``max_steps`` 1–20000 [300]; ``time_budget_s`` 10–3600 [600]: whichever ends first. The budget covers generation
  (at most half of it) and training; loading, the final held-out evaluation and saving are outside it.
- ``seed`` [0]; ``output_dir``: absolute path of a folder that does not exist yet or is empty — required.
- ``layer_selection``: ``first`` | ``spread`` | ``first_last`` [first]: which target layers initialise the draft
  (see ``workers.distill.model``).

``report(progress, message, partial)``: during training ``partial = {"step", "loss", "acceptance_estimate"}``.
Bad parameters raise ``DecodingInputError``, whose message is shown to the user.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast

from workers.decoding.errors import DecodingInputError
from workers.manifest import distill_manifest
from workers.pipelines.model_loading import Loaded, Loader, default_loader, noop_report

Report = Callable[..., None]
MAX_PROMPTS = 1000
MAX_PROMPT_CHARS = 4000
MAX_CURVE_POINTS = 200
GENERATION_SHARE = 0.5
"""At most this fraction of ``time_budget_s`` goes to generating the corpus; training gets the rest."""
LayerSelection = Literal["first", "spread", "first_last"]
LAYER_SELECTIONS: tuple[LayerSelection, ...] = ("first", "spread", "first_last")


@dataclass(frozen=True)
class Params:
    target: str
    num_layers: int
    prompts: tuple[str, ...]
    num_sequences: int
    max_new_tokens: int
    max_steps: int
    time_budget_s: float
    seed: int
    output_dir: Path
    layer_selection: LayerSelection


def _int(inputs: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = inputs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodingInputError(f"{key} must be a whole number (got {value!r}).")
    if not low <= value <= high:
        raise DecodingInputError(f"{key} must be between {low} and {high} (got {value}).")
    return value


def _prompts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise DecodingInputError("prompts must be a list of strings.")
    if len(value) > MAX_PROMPTS:
        raise DecodingInputError(f"At most {MAX_PROMPTS} prompts are allowed (got {len(value)}).")
    for i, prompt in enumerate(value):
        if not isinstance(prompt, str) or not prompt.strip():
            raise DecodingInputError(f"Prompt {i + 1} must be a non-empty string.")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise DecodingInputError(f"Prompt {i + 1} is longer than {MAX_PROMPT_CHARS} characters.")
    return tuple(p.strip() for p in value)


def _output_dir(value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise DecodingInputError("Choose an output folder (output_dir) for the draft model.")
    path = Path(value.strip())
    if not path.is_absolute():
        raise DecodingInputError(f"output_dir must be an absolute path (got {value!r}).")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise DecodingInputError(f"output_dir {str(path)!r} already exists and is not an empty folder.")
    return path


def parse_inputs(inputs: dict[str, Any]) -> Params:
    """Check types and ranges before anything is loaded, with messages a user can act on."""
    target = inputs.get("target")
    if not isinstance(target, str) or not target.strip():
        raise DecodingInputError("Choose a target model.")
    budget = inputs.get("time_budget_s", 600)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 10 <= budget <= 3600:
        raise DecodingInputError(f"time_budget_s must be a number of seconds between 10 and 3600 (got {budget!r}).")
    selection = inputs.get("layer_selection", "first")
    if selection not in LAYER_SELECTIONS:
        raise DecodingInputError(f"layer_selection must be one of {', '.join(LAYER_SELECTIONS)} (got {selection!r}).")
    return Params(
        target=target.strip(),
        num_layers=_int(inputs, "num_layers", 4, 2, 8),
        prompts=_prompts(inputs.get("prompts")),
        num_sequences=_int(inputs, "num_sequences", 128, 8, 2048),
        max_new_tokens=_int(inputs, "max_new_tokens", 96, 16, 256),
        max_steps=_int(inputs, "max_steps", 300, 1, 20000),
        time_budget_s=float(budget),
        seed=_int(inputs, "seed", 0, 0, 2**63 - 1),
        output_dir=_output_dir(inputs.get("output_dir")),
        layer_selection=cast(LayerSelection, selection),
    )


def _span(report: Report, low: float, high: float) -> Report:
    """A ``report`` that maps its own 0–1 progress into [low, high] of the job's."""

    def scaled(progress: float, message: str = "", partial: Any = None) -> None:
        report(low + (high - low) * max(0.0, min(1.0, progress)), message, partial)

    return scaled


def downsample(points: list[dict[str, float]], limit: int = MAX_CURVE_POINTS) -> list[dict[str, float]]:
    """At most ``limit`` points: consecutive steps averaged in equal buckets, each labelled with its last step."""
    if len(points) <= limit:
        return [{"step": p["step"], "loss": p["loss"]} for p in points]
    out = []
    for b in range(limit):
        bucket = points[b * len(points) // limit : (b + 1) * len(points) // limit]
        out.append({"step": bucket[-1]["step"], "loss": sum(p["loss"] for p in bucket) / len(bucket)})
    return out


def _name(loaded: Loaded, ref: str) -> dict[str, Any]:
    spec = loaded.spec
    return {"ref": ref, "id": getattr(spec, "id", ref), "name": getattr(spec, "name", ref)}


def run(inputs: dict[str, Any], report: Report = noop_report, *, load: Loader | None = None) -> dict[str, Any]:
    """Distil a draft for ``inputs['target']`` and save it to ``inputs['output_dir']``; see the module doc."""
    import torch

    from workers.decoding.trace import expected_tokens_per_call
    from workers.distill.data import SEED_PROMPTS, DataConfig, generate_corpus
    from workers.distill.model import build_draft, num_layers, parameter_counts
    from workers.distill.train import TrainConfig, save_draft, train_draft

    params = parse_inputs(inputs)
    started = time.monotonic()
    report(0.0, "Loading the target model")
    target = (load or default_loader)(params.target)
    try:
        target_layers = num_layers(target.model)
    except TypeError as exc:
        raise DecodingInputError(f"This target cannot be distilled by layer selection: {exc}") from exc
    if params.num_layers >= target_layers:
        raise DecodingInputError(
            f"num_layers must be smaller than the target's {target_layers} layers (got {params.num_layers})."
        )
    torch.manual_seed(params.seed)
    budget_start = time.monotonic()  # the budget covers generation and training, not loading

    data_config = DataConfig(num_sequences=params.num_sequences, max_new_tokens=params.max_new_tokens, seed=params.seed)
    prompts = [*params.prompts, *SEED_PROMPTS]
    budget_end = budget_start + params.time_budget_s
    try:
        corpus = generate_corpus(
            target.model,
            target.tokenizer,
            prompts,
            data_config,
            deadline=budget_start + params.time_budget_s * GENERATION_SHARE,
            progress=_span(report, 0.05, 0.35),
        )
    except ValueError as exc:  # e.g. prompts too long for the target's context
        raise DecodingInputError(f"Cannot generate training data: {exc}") from exc

    report(0.35, "Building the draft from the target's layers")
    draft = build_draft(target.model, params.num_layers, strategy=params.layer_selection)
    train_config = TrainConfig(
        max_steps=params.max_steps,
        time_budget_s=max(1.0, budget_end - time.monotonic()),
        seed=params.seed,
    )
    result = train_draft(draft.model, corpus.train, corpus.heldout, train_config, _span(report, 0.35, 0.95))
    total_params, trainable = parameter_counts(draft.model)

    report(0.95, "Saving the draft model")
    spec_id = getattr(target.spec, "id", params.target)
    manifest = {
        "target": spec_id,
        "target_ref": params.target,
        "method": "FastDraft-style distillation (layer-selection init, target-generated data, CE + top-k KL)",
        "source_layers": draft.source_layers,
        "layer_selection": draft.strategy,
        "steps": result.steps,
        "stop_reason": result.stop_reason,
        "train_sequences": len(corpus.train),
        "train_tokens": corpus.train_tokens,
        "heldout_sequences": len(corpus.heldout),
        "heldout_tokens": corpus.heldout_tokens,
        "heldout_agreement_before": result.agreement_before,
        "heldout_agreement_after": result.agreement_after,
        "seed": params.seed,
    }
    out = save_draft(draft.model, target.tokenizer, params.output_dir, manifest)
    report(1.0, "Done")
    gamma = 4
    return {
        "target": _name(target, params.target),
        "output_dir": os.fspath(out),
        "draft": {
            "architecture": type(draft.model).__name__,
            "num_layers": params.num_layers,
            "source_layers": draft.source_layers,
            "layer_selection": draft.strategy,
            "parameters": total_params,
            "trainable_parameters": trainable,
            "target_parameters": sum(p.numel() for p in target.model.parameters()),
        },
        "data": {
            "train_sequences": len(corpus.train),
            "train_tokens": corpus.train_tokens,
            "heldout_sequences": len(corpus.heldout),
            "heldout_tokens": corpus.heldout_tokens,
            "chat_template": corpus.chat,
            "stopped_early": corpus.stopped_early,
            "seconds": round(corpus.seconds, 2),
        },
        "training": {
            "steps": result.steps,
            "stop_reason": result.stop_reason,
            "tokens_seen": result.tokens_seen,
            "losses": downsample(result.losses),
            "evals": result.evals,
            "seconds": round(result.seconds, 2),
        },
        "agreement": {"before": result.agreement_before, "after": result.agreement_after},
        "expected_tokens_per_target_call": {
            "gamma": gamma,
            "before": expected_tokens_per_call(result.agreement_before, gamma),
            "after": expected_tokens_per_call(result.agreement_after, gamma),
            "note": "From held-out agreement α as (1 − α^(γ+1)) / (1 − α): greedy decoding, i.i.d. acceptance.",
        },
        "elapsed_s": round(time.monotonic() - started, 2),
        "manifest": (run_manifest := distill_manifest(asdict(params), target, out)),
        "versions": run_manifest["libraries"],  # the job's ``versions`` (the runner moves it out of the result)
    }
