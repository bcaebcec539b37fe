"""A self-speculative drafter: the target model's own first N decoder layers, its embeddings and its LM head.

This is what transformers' ``generate(assistant_early_exit=N)`` computes, but as a separate module object instead
of a temporary edit of the target's ``config.num_hidden_layers``. Why: that edit is shared state (two threads or a
target forward pass during drafting would see the truncated model), and a separate drafter can be passed anywhere an
``assistant_model`` is accepted, with its own KV cache sized for N layers.

No weights are copied: the drafter's modules are the target's modules (same tensors, same ``data_ptr``), so it costs
no memory and always matches the target's current weights. Models not trained for early exit (SmolLM2, Gemma) give
weaker drafts from shallow layers; the decoding engine measures the acceptance rate rather than assuming one.
"""

from __future__ import annotations

import copy
from typing import Any


def decoder_of(model: Any) -> Any:
    """The decoder stack (``model.model`` for Llama/Gemma-style causal LMs) holding ``layers`` and ``norm``."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else getattr(model, model.base_model_prefix)
    if not hasattr(decoder, "layers"):
        raise TypeError(f"{type(model).__name__}: no decoder with a `layers` list to exit early from")
    return decoder


def _shallow_module_copy(module: Any) -> Any:
    """A new module object whose submodule/parameter tables can be changed without touching the original."""
    clone = copy.copy(module)
    for table in ("_modules", "_parameters", "_buffers"):
        object.__setattr__(clone, table, dict(getattr(module, table)))
    return clone


def _truncated_config(config: Any, num_layers: int) -> Any:
    """The target's config for N layers; per-layer lists (Gemma's ``layer_types``) are cut to match."""
    full = config.num_hidden_layers
    draft = copy.deepcopy(config)
    draft.num_hidden_layers = num_layers
    for name, value in vars(config).items():
        if isinstance(value, list) and len(value) == full:
            setattr(draft, name, list(value[:num_layers]))
    return draft


def build_early_exit_drafter(target: Any, num_layers: int) -> Any:
    """A causal LM running the target's first ``num_layers`` layers, then its final norm and LM head.

    The result shares every parameter with ``target`` and can be used as ``generate(assistant_model=...)``.
    """
    from torch import nn

    decoder = decoder_of(target)
    total = len(decoder.layers)
    if not 1 <= num_layers < total:
        raise ValueError(f"num_layers must be between 1 and {total - 1} for a {total}-layer model, not {num_layers}")

    config = _truncated_config(target.config, num_layers)
    draft_decoder = _shallow_module_copy(decoder)
    draft_decoder.layers = nn.ModuleList(list(decoder.layers)[:num_layers])
    draft_decoder.config = config

    drafter = _shallow_module_copy(target)
    setattr(drafter, _decoder_attr(target, decoder), draft_decoder)
    drafter.config = config
    drafter.generation_config = copy.deepcopy(target.generation_config)
    return drafter


def _decoder_attr(target: Any, decoder: Any) -> str:
    for name, child in target.named_children():
        if child is decoder:
            return str(name)
    raise TypeError(f"{type(target).__name__}: the decoder is not a direct child module")
