"""The draft architecture: the target's class, vocabulary and embeddings, layers copied from a selection."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tests.workers.distill.conftest import VOCAB, tiny_llama
from workers.distill.model import build_draft, freeze_embeddings, head_logits, parameter_counts, select_layers


@pytest.mark.parametrize(
    ("total", "count", "strategy", "expected"),
    [
        (30, 4, "spread", [0, 10, 19, 29]),
        (30, 2, "spread", [0, 29]),
        (5, 4, "spread", [0, 1, 3, 4]),
        (30, 4, "first", [0, 1, 2, 3]),
        (30, 4, "first_last", [0, 1, 2, 29]),
    ],
)
def test_select_layers(total: int, count: int, strategy: Any, expected: list[int]) -> None:
    assert select_layers(total, count, strategy) == expected


@pytest.mark.parametrize(("total", "count", "strategy"), [(6, 6, "first"), (6, 0, "spread"), (6, 2, "middle")])
def test_select_layers_rejects_bad_requests(total: int, count: int, strategy: Any) -> None:
    with pytest.raises(ValueError):
        select_layers(total, count, strategy)


def test_draft_shares_vocabulary_and_copies_embeddings_and_layers(target: Any) -> None:
    draft = build_draft(target, 3, strategy="spread")
    model = draft.model
    assert type(model) is type(target)
    assert draft.source_layers == [0, 2, 5]
    assert model.config.num_hidden_layers == 3 and len(model.model.layers) == 3
    assert model.config.vocab_size == target.config.vocab_size == VOCAB
    assert model.config.hidden_size == target.config.hidden_size
    embed, target_embed = model.get_input_embeddings().weight, target.get_input_embeddings().weight
    assert torch.equal(embed, target_embed)
    assert embed.data_ptr() != target_embed.data_ptr()  # a copy: training the draft leaves the target alone
    assert model.get_output_embeddings().weight is embed  # tied, like the target
    assert torch.equal(model.model.norm.weight, target.model.norm.weight)
    for j, i in enumerate(draft.source_layers):
        ours, theirs = dict(model.model.layers[j].named_parameters()), dict(target.model.layers[i].named_parameters())
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[name], theirs[name]) for name in ours)
        assert model.model.layers[j].self_attn.layer_idx == j  # cache slots follow the draft's own numbering


def test_explicit_layers_and_validation(target: Any) -> None:
    assert build_draft(target, 2, layers=[1, 4]).source_layers == [1, 4]
    with pytest.raises(ValueError):
        build_draft(target, 2, layers=[4, 1])
    with pytest.raises(ValueError):
        build_draft(target, 2, layers=[0, 9])


def test_head_logits_matches_the_models_forward(target: Any) -> None:
    from tests.workers.models.conftest import tiny_gemma3

    ids = torch.tensor([[3, 7, 11, 13, 17]])
    for model in (build_draft(target, 2).model, build_draft(tiny_gemma3(), 3).model):
        with torch.no_grad():
            hidden = model.get_decoder()(input_ids=ids).last_hidden_state
            assert torch.allclose(head_logits(model, hidden), model(input_ids=ids).logits, atol=1e-5)


def test_gemma_layer_types_follow_the_selection() -> None:
    from tests.workers.models.conftest import tiny_gemma3

    gemma = tiny_gemma3()
    types = gemma.config.layer_types
    draft = build_draft(gemma, 3, strategy="spread")
    assert draft.model.config.layer_types == [types[i] for i in draft.source_layers]
    assert draft.model.config.layer_types[-1] == "full_attention"


def test_freezing_embeddings_leaves_layers_trainable(target: Any) -> None:
    model = build_draft(target, 2).model
    total, trainable = parameter_counts(model)
    assert total == trainable
    freeze_embeddings(model)
    _, trainable = parameter_counts(model)
    assert trainable == total - VOCAB * target.config.hidden_size
    assert not model.get_input_embeddings().weight.requires_grad
    assert all(p.requires_grad for p in model.model.layers.parameters())


def test_build_requires_fewer_layers_than_the_target() -> None:
    with pytest.raises(ValueError, match="between 1 and 3"):
        build_draft(tiny_llama(layers=4), 4)
