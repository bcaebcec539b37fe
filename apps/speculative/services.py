"""Speculative-decoding runs: validated in the request (clear 4xx), decoded on a worker (the gpu queue)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Membership, Team
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.jobs.services import job_create
from apps.speculative.drafts import check_model_ref_allowed
from workers.decoding.errors import DecodingInputError
from workers.models.catalog import ModelNotFoundError, ModelSpec, ModelUnavailableError, resolve_model
from workers.pipelines.speculative import parse_inputs
from workers.text_tokenizers.catalog import load_tokenizer

SHARED_VOCAB_DRAFTERS = ("draft_model", "multi_draft", "tree_fixed", "tree_dyspec")
DRAFT_MODEL_DRAFTERS = (*SHARED_VOCAB_DRAFTERS, "cross_tokenizer")


def _model(ref: str, role: str) -> ModelSpec:
    try:
        return resolve_model(ref)  # a hub id that is neither cached nor reachable is refused here, at once
    except (ModelNotFoundError, ModelUnavailableError) as exc:
        raise ApplicationError(f"The {role} model is not usable: {exc}.") from exc


def _prompt_tokens(spec: ModelSpec, prompt: str) -> int | None:
    """Count the prompt with the model's own tokenizer when the text catalogue has it (no torch in the web)."""
    if not spec.tokenizer_id:
        return None
    return int(load_tokenizer(spec.tokenizer_id).encode_ids(prompt).size)


def speculative_validate(inputs: dict[str, Any], team: Team | None = None) -> dict[str, Any]:
    """Everything that can be checked before a model is loaded; returns the normalised parameters."""
    try:
        params = parse_inputs(inputs)
    except DecodingInputError as exc:
        raise ApplicationError(str(exc)) from exc
    target_ref = params.target
    drafter = dict(params.drafter)
    if team is not None:  # folders become their checked real path, so the worker opens what was checked
        target_ref = check_model_ref_allowed(team=team, ref=target_ref, role="target")
        if isinstance(drafter.get("model"), str) and drafter["model"].strip():
            drafter["model"] = check_model_ref_allowed(team=team, ref=drafter["model"], role="draft")
    draft_ref = drafter.get("model")
    needs_draft = params.method == "speculative" and drafter.get("kind") in DRAFT_MODEL_DRAFTERS
    if needs_draft and (not isinstance(draft_ref, str) or not draft_ref.strip()):
        raise ApplicationError(
            f"The '{drafter.get('kind')}' drafter needs a draft model: set drafter.model to a model id from "
            "GET /api/v1/models/ (one with the target's tokenizer)."
        )
    target = _model(target_ref, "target")
    if params.method == "speculative" and isinstance(draft_ref, str) and draft_ref.strip():
        draft = _model(draft_ref, "draft")
        needs_shared = drafter.get("kind") in SHARED_VOCAB_DRAFTERS
        if (
            needs_shared
            and target.vocab_size
            and draft.vocab_size
            and (target.vocab_size != draft.vocab_size or target.tokenizer_id != draft.tokenizer_id)
        ):
            raise ApplicationError(
                f"{draft.name} has a different vocabulary ({draft.vocab_size} tokens) from {target.name} "
                f"({target.vocab_size}); the '{drafter.get('kind')}' method needs a shared tokenizer. Use the "
                "'cross_tokenizer' drafter for this pair, or a draft model with the target's tokenizer."
            )
    prompt_tokens = _prompt_tokens(target, params.prompt)
    limit = target.context_length
    if prompt_tokens is not None and limit and prompt_tokens + params.max_new_tokens > limit:
        raise ApplicationError(
            f"The prompt is {prompt_tokens} tokens; with {params.max_new_tokens} new tokens it exceeds "
            f"{target.name}'s context of {limit} tokens. Shorten the prompt."
        )
    checked = {"drafter": drafter} if isinstance(inputs.get("drafter"), dict) else {}
    return {**inputs, **checked, "target": target_ref, "prompt_tokens": prompt_tokens}


def speculative_submit(*, membership: Membership, user: User, inputs: dict[str, Any]) -> Job:
    params = speculative_validate(inputs, membership.team)
    drafter = params.get("drafter") or {}
    method = params.get("method", "speculative")
    label = drafter.get("kind", "autoregressive") if method == "speculative" else "autoregressive"
    title = f"{label} · {params['target']} · {' '.join(str(params['prompt']).split())[:60]}"
    return job_create(team=membership.team, owner=user, kind="speculative", params=params, title=title)
