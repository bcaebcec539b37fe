"""The self-speculative drafter is a view over the target's first N layers: shared tensors, exact logits.

Models here are test fixtures (tiny random-init configs from conftest), never real models.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tests.workers.models.conftest import VOCAB, tiny_gemma3, tiny_llama
from workers.models.early_exit import build_early_exit_drafter
from workers.models.registry import model_nbytes

MAKERS = [tiny_llama, tiny_gemma3]


def manual_early_exit_logits(target: Any, input_ids: torch.Tensor, layers: int) -> torch.Tensor:
    """Reference: the target's hidden state after ``layers`` layers, then its final norm, LM head and soft-cap."""
    with torch.inference_mode():
        hidden = target(input_ids=input_ids, output_hidden_states=True).hidden_states[layers]
        logits = target.lm_head(target.model.norm(hidden))
    cap = getattr(target.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


@pytest.mark.parametrize("make", MAKERS, ids=["llama", "gemma3"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_drafter_logits_equal_the_manual_computation(make: Any, layers: int) -> None:
    target = make()
    drafter = build_early_exit_drafter(target, layers)
    input_ids = torch.randint(0, VOCAB, (2, 11), generator=torch.Generator().manual_seed(layers))
    with torch.inference_mode():
        got = drafter(input_ids=input_ids).logits
    torch.testing.assert_close(got, manual_early_exit_logits(target, input_ids, layers), rtol=0, atol=1e-6)


@pytest.mark.parametrize("make", MAKERS, ids=["llama", "gemma3"])
def test_drafter_shares_every_tensor_with_the_target(make: Any) -> None:
    target = make()
    drafter = build_early_exit_drafter(target, 2)
    target_ptrs = {p.data_ptr() for p in target.parameters()}
    assert {p.data_ptr() for p in drafter.parameters()} <= target_ptrs
    assert drafter.get_input_embeddings().weight.data_ptr() == target.get_input_embeddings().weight.data_ptr()
    assert drafter.lm_head.weight.data_ptr() == target.lm_head.weight.data_ptr()
    for mine, theirs in zip(drafter.model.layers, target.model.layers, strict=False):
        assert mine is theirs
    assert model_nbytes(drafter) < model_nbytes(target)
    with torch.no_grad():  # a change to the target is seen by the drafter: nothing was copied
        target.model.norm.weight.add_(1.0)
    assert torch.equal(drafter.model.norm.weight, target.model.norm.weight)


@pytest.mark.parametrize("make", MAKERS, ids=["llama", "gemma3"])
def test_target_is_left_untouched(make: Any) -> None:
    target = make()
    layers, config_layers = len(target.model.layers), target.config.num_hidden_layers
    input_ids = torch.randint(0, VOCAB, (1, 9), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        before = target(input_ids=input_ids).logits
    drafter = build_early_exit_drafter(target, 1)
    assert drafter.config.num_hidden_layers == 1 and len(drafter.model.layers) == 1
    assert len(target.model.layers) == layers and target.config.num_hidden_layers == config_layers
    if getattr(target.config, "layer_types", None):
        assert drafter.config.layer_types == target.config.layer_types[:1]
        assert len(target.config.layer_types) == config_layers
    with torch.inference_mode():
        assert torch.equal(target(input_ids=input_ids).logits, before)


@pytest.mark.parametrize("make", MAKERS, ids=["llama", "gemma3"])
def test_speculative_generation_with_the_drafter_equals_greedy(make: Any) -> None:
    target = make()
    drafter = build_early_exit_drafter(target, 2)
    input_ids = torch.randint(0, VOCAB, (1, 7), generator=torch.Generator().manual_seed(3))
    greedy = target.generate(input_ids, max_new_tokens=16, do_sample=False)
    assisted = target.generate(input_ids, max_new_tokens=16, do_sample=False, assistant_model=drafter)
    assert torch.equal(greedy, assisted)


@pytest.mark.parametrize("layers", [0, 4, -1])
def test_exit_layer_must_leave_at_least_one_layer_out(layers: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 3"):
        build_early_exit_drafter(tiny_llama(layers=4), layers)
