"""The draft architecture: the target's own model class, cut down to a few decoder layers, initialised from it.

Why the target's class and sizes: a draft must share the target's tokenizer and vocabulary so that its ids and
probabilities compare with the target's token by token (``ModelDrafter`` requires it), and the same class means any
runtime that loads the target loads the draft. Hidden size and vocabulary stay the target's, so the embedding matrix
and the LM head can be *copied* rather than learnt — FastDraft notes that a draft sharing the target's embeddings
starts closer to it, and with a 49k–262k vocabulary the embeddings are most of a small draft's parameters.

Why a subset of the target's layers rather than random ones: layer dropping ("distillation by layer selection", the
initialisation ablated in FastDraft) gives a model that already produces the target's tokens some of the time, so
the short CPU-sized training budgets here refine a working draft instead of pre-training one.

Which layers: ``first`` (the first N, i.e. a trained early exit) keeps the residual stream in the state the next
copied layer expects, so the untrained draft already agrees with the target sometimes (SmolLM2, 4 of 30 layers:
4.8% held-out agreement) — the pipeline's default. ``spread`` (first, last, evenly spaced between) and
``first_last`` start near 0% (the skipped layers leave the last layer an input it never saw: initial loss 16–64
nats) but catch up within tens of steps; after 60 steps on SmolLM2 all three were within noise (12–15%).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from workers.models.early_exit import decoder_of

LayerSelection = Literal["spread", "first", "first_last"]
LAYER_SELECTIONS: tuple[LayerSelection, ...] = ("spread", "first", "first_last")


@dataclass
class DraftModel:
    """A freshly built draft and where its layers came from."""

    model: Any
    """An HF causal LM of the target's class (float32, on the target's device, eval mode)."""
    source_layers: list[int]
    """Target layer index copied into each draft layer, in order."""
    strategy: str


def num_layers(model: Any) -> int:
    return len(decoder_of(model).layers)


def select_layers(total: int, count: int, strategy: LayerSelection = "first") -> list[int]:
    """Which of the target's ``total`` layers initialise a ``count``-layer draft (ascending, distinct)."""
    if not 1 <= count < total:
        raise ValueError(f"a draft needs between 1 and {total - 1} layers for a {total}-layer target, not {count}")
    if strategy == "first":
        return list(range(count))
    if strategy == "first_last":
        return [*range(count - 1), total - 1]
    if strategy == "spread":
        if count == 1:
            return [0]
        return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})
    raise ValueError(f"unknown layer selection {strategy!r}: use one of {', '.join(LAYER_SELECTIONS)}")


def layers_prefix(model: Any) -> str:
    """The state-dict prefix of the decoder's layer list, e.g. ``model.layers.``."""
    layers = decoder_of(model).layers
    for name, module in model.named_modules():
        if module is layers:
            return f"{name}."
    raise TypeError(f"{type(model).__name__}: the decoder layers are not a submodule")


def draft_config(config: Any, layers: list[int]) -> Any:
    """The target's config with only ``layers``; per-layer lists (Gemma's ``layer_types``) follow the selection, so a
    copied sliding-window layer stays a sliding-window layer."""
    total = config.num_hidden_layers
    draft = copy.deepcopy(config)
    draft.num_hidden_layers = len(layers)
    for name, value in vars(config).items():
        if isinstance(value, list) and len(value) == total:
            setattr(draft, name, [value[i] for i in layers])
    draft.dtype = torch.float32
    return draft


def build_draft(
    target: Any,
    num_layers: int,
    *,
    strategy: LayerSelection = "first",
    layers: list[int] | None = None,
) -> DraftModel:
    """A ``num_layers``-layer draft of ``target``'s class with copies of its embeddings, final norm, LM head and the
    selected decoder layers. Copies, never shared tensors: training the draft must not touch the target."""
    total = len(decoder_of(target).layers)
    chosen = list(layers) if layers is not None else select_layers(total, num_layers, strategy)
    if len(chosen) != num_layers or sorted(set(chosen)) != chosen or not all(0 <= i < total for i in chosen):
        raise ValueError(f"layers must be {num_layers} distinct ascending indices below {total}, not {chosen}")
    config = draft_config(target.config, chosen)
    device = next(target.parameters()).device
    with torch.device(device):
        draft = type(target)(config)
    draft = draft.to(dtype=torch.float32)
    _copy_weights(target, draft, chosen)
    if getattr(target, "generation_config", None) is not None:
        draft.generation_config = copy.deepcopy(target.generation_config)
    return DraftModel(model=draft.eval(), source_layers=chosen, strategy="custom" if layers else strategy)


def _copy_weights(target: Any, draft: Any, chosen: list[int]) -> None:
    """Fill every draft tensor from the target's: layer ``j`` of the draft from layer ``chosen[j]``, all else by
    name. A draft tensor without a source is an error (a silently random layer would look like a bad draft)."""
    source = target.state_dict()
    prefix = layers_prefix(draft)
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)\.(.*)$")
    mapped: dict[str, torch.Tensor] = {}
    for key in draft.state_dict():
        match = pattern.match(key)
        source_key = f"{prefix}{chosen[int(match.group(1))]}.{match.group(2)}" if match else key
        if source_key not in source:
            raise KeyError(f"no target weight {source_key!r} for draft weight {key!r}")
        mapped[key] = source[source_key]
    with torch.no_grad():
        draft.load_state_dict(mapped, strict=True)


def head_logits(model: Any, hidden: torch.Tensor) -> torch.Tensor:
    """Logits from final hidden states, as the model's own forward computes them (LM head, then Gemma's final
    soft-capping). Lets training apply the vocabulary-sized head only at the positions that carry a loss."""
    logits: torch.Tensor = model.get_output_embeddings()(hidden)
    cap = getattr(model.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def freeze_embeddings(model: Any) -> None:
    """Keep the copied input embeddings and LM head fixed: the draft keeps reading and writing the target's token
    space, and the vocabulary-sized weight gradient (the largest matmul of a step) is skipped."""
    for module in (model.get_input_embeddings(), model.get_output_embeddings()):
        if isinstance(module, nn.Module):
            for param in module.parameters():
                param.requires_grad_(False)


def parameter_counts(model: Any) -> tuple[int, int]:
    """(all, trainable) parameters; tied weights are one parameter and counted once."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)
