"""Fixtures for the decoding engine: tiny random-init models (fast) and toy fixed-distribution "models"."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn
from transformers import Gemma3ForCausalLM, LlamaForCausalLM

from tests.workers.tiny_models import tiny_gemma3_model, tiny_llama_model

VOCAB = 97

# One intra-op thread: the tensors here are tiny, and on a shared 2-core machine torch's thread pool spends
# milliseconds per op spinning at barriers (softmax over 6 values measured at 1-10 ms with 2 threads, 8 µs with 1).
torch.set_num_threads(1)


def tiny_llama(seed: int = 0, layers: int = 2, vocab: int = VOCAB) -> LlamaForCausalLM:
    return tiny_llama_model(seed=seed, vocab_size=vocab, num_hidden_layers=layers, max_position_embeddings=256)


def tiny_gemma3(seed: int = 0, sliding_window: int = 6) -> Gemma3ForCausalLM:
    """Alternating sliding-window / full attention, like Gemma 3, with a window small enough to overflow."""
    return tiny_gemma3_model(
        seed=seed,
        vocab_size=VOCAB,
        num_hidden_layers=4,
        sliding_window=sliding_window,
        layer_types=["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
        max_position_embeddings=256,
    )


def truncated(model: LlamaForCausalLM, layers: int) -> LlamaForCausalLM:
    """An early-exit view: the same weights, only the first ``layers`` decoder layers (test stand-in for
    ``workers.models.early_exit``)."""

    def shallow(module: nn.Module) -> Any:
        # copy.copy alone would share the ``_modules`` table, so assigning a submodule would edit the original
        clone = copy.copy(module)
        for table in ("_modules", "_parameters", "_buffers"):
            object.__setattr__(clone, table, dict(getattr(module, table)))
        return clone

    view = shallow(model)
    view.config = copy.deepcopy(model.config)
    view.config.num_hidden_layers = layers
    inner = shallow(model.model)
    inner.config = view.config
    inner.layers = nn.ModuleList(list(model.model.layers)[:layers])
    view.model = inner
    return view


def perturbed(model: LlamaForCausalLM, scale: float, seed: int = 1) -> LlamaForCausalLM:
    """A copy with noise on every weight: a draft model that agrees with the target often, not always."""
    torch.manual_seed(seed)
    other = copy.deepcopy(model)
    with torch.no_grad():
        for param in other.parameters():
            param.add_(torch.randn_like(param) * scale * param.std().clamp_min(1e-3))
    return other


class FixedDistributionLM(nn.Module):
    """A "model" whose next-token distribution ignores the context: logits = log(probs) at every position.

    With a context-free target the output tokens of any lossless method are i.i.d. draws from the (warped) target,
    so frequencies over a long generation test the acceptance rule statistically.
    """

    def __init__(self, probs: list[float]) -> None:
        super().__init__()
        self.logits = nn.Buffer(torch.log(torch.tensor(probs, dtype=torch.float32)))
        self.config = SimpleNamespace(vocab_size=len(probs), max_position_embeddings=10**9, name_or_path="fixed")

    def forward(self, input_ids: torch.Tensor, logits_to_keep: int = 0, **_: Any) -> SimpleNamespace:
        n = input_ids.shape[1]
        return SimpleNamespace(logits=self.logits.expand(1, n, -1).clone())


class BigramLM(nn.Module):
    """A context-dependent toy "model": the next-token distribution depends on the last token only,
    ``P(next | ..., x) = table[x]``, so the logits of every position (a chain or a tree node) are ``log table[token]``.

    With a bigram target the emitted pairs ``(previous, next)`` of a lossless method follow ``table`` row by row,
    which exercises acceptance decisions that change with the context (a context-free target cannot)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.logits = nn.Buffer(torch.log(table.to(torch.float32)))
        vocab = table.shape[-1]
        self.config = SimpleNamespace(vocab_size=vocab, max_position_embeddings=10**9, name_or_path="bigram")

    def forward(self, input_ids: torch.Tensor, logits_to_keep: int = 0, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(logits=self.logits[input_ids])


@pytest.fixture(scope="session")
def target() -> LlamaForCausalLM:
    return tiny_llama(seed=0, layers=4)


@pytest.fixture(scope="session")
def prompt() -> list[int]:
    # Repeated material so that prompt lookup finds matches.
    return [5, 6, 7, 8, 9, 10, 11, 12, 5, 6, 7, 8, 13, 14, 15, 5, 6]
