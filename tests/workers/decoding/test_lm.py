"""KV-cache rollback: logits after a crop (or a tree-path selection) equal those of a fresh prefill."""

from __future__ import annotations

import pytest
import torch

from tests.workers.decoding.conftest import tiny_gemma3, tiny_llama
from workers.decoding.lm import CausalLM

ATOL = 1e-4


def fresh_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0].float()


@pytest.mark.parametrize("make", [tiny_llama, tiny_gemma3], ids=["llama", "gemma3-sliding"])
def test_rollback_then_continue_matches_fresh_prefill(make) -> None:
    model = make()
    lm = CausalLM(model)
    prompt = list(range(3, 15))  # longer than the sliding window (6)
    lm.prefill(prompt[:-1])
    history = list(prompt[:-1])
    pending = prompt[-1]  # as in the engine: the cache holds everything but the newest token
    for step, (draft, keep) in enumerate([([20, 21, 22, 23], 2), ([30, 31, 32], 0), ([40, 41, 42, 43, 44], 5)]):
        feed = [pending, *draft]
        lm.forward(feed)
        removed = lm.crop(len(history) + 1 + keep)
        assert removed == len(draft) - keep
        history = history + feed[: 1 + keep]
        pending = 50 + step
        assert lm.tokens == history
        # Continue after the rollback; the logits must match a from-scratch run over the same tokens.
        check = [pending, 60, 61]
        got = lm.forward(check)
        expected = fresh_logits(model, history + check)[-len(check) :]
        torch.testing.assert_close(got, expected, atol=ATOL, rtol=1e-4)
        lm.crop(len(history))


def test_prefill_returns_last_logits_and_counts_calls() -> None:
    model = tiny_llama()
    lm = CausalLM(model)
    ids = [1, 2, 3, 4, 5]
    logits = lm.prefill(ids)
    torch.testing.assert_close(logits, fresh_logits(model, ids)[-1], atol=ATOL, rtol=1e-4)
    assert lm.forward_calls == 1 and lm.length == 5 and lm.forward_ms > 0


def test_keep_positions_selects_a_tree_path() -> None:
    """The tree-verification route: feed a flattened token tree with a 4-D ancestor mask and tree position ids, then
    keep only the accepted path. The cache must then behave exactly as if only that path had been fed."""
    model = tiny_llama()
    lm = CausalLM(model)
    prefix = [4, 5, 6, 7]
    lm.prefill(prefix)
    nodes, parents = [10, 11, 12, 13], [-1, -1, 0, 1]  # 10 → 12 and 11 → 13
    depth = [1, 1, 2, 2]
    allowed = torch.zeros(len(nodes), len(prefix) + len(nodes), dtype=torch.bool)
    allowed[:, : len(prefix)] = True
    for i in range(len(nodes)):
        j = i
        while j >= 0:
            allowed[i, len(prefix) + j] = True
            j = parents[j]
    mask = torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)[None, None]
    positions = torch.tensor([[len(prefix) - 1 + d for d in depth]])
    tree_logits = lm.forward(nodes, position_ids=positions, attention_mask=mask)
    torch.testing.assert_close(tree_logits[2], fresh_logits(model, [*prefix, 10, 12])[-1], atol=ATOL, rtol=1e-4)
    lm.keep_positions([0, 1, 2, 3, 4, 6])
    assert lm.tokens == [*prefix, 10, 12]
    got = lm.forward([20])[-1]
    torch.testing.assert_close(got, fresh_logits(model, [*prefix, 10, 12, 20])[-1], atol=ATOL, rtol=1e-4)


def test_sliding_window_rollback_beyond_checkpoint_is_refused() -> None:
    lm = CausalLM(tiny_gemma3())
    lm.prefill(list(range(3, 15)))
    lm.forward([20, 21])
    lm.crop(13)
    with pytest.raises(ValueError, match="sliding-window"):
        lm.crop(10)


@pytest.mark.parametrize("make", [tiny_llama, tiny_gemma3], ids=["llama", "gemma3-sliding"])
def test_deferred_prefill_verifies_a_draft_in_the_prefill_forward(make) -> None:
    """The engine's start for chain drafts: the prompt is fed together with the first draft in one forward, which
    returns only the draft's logits; rejected draft tokens must still roll back, even past a sliding window."""
    model = make()
    lm = CausalLM(model)
    prompt = list(range(3, 15))  # longer than the sliding window (6)
    lm.defer_prefill(prompt[:-1])
    assert lm.length == len(prompt) - 1 and lm.forward_calls == 0
    feed = [prompt[-1], 20, 21, 22, 23]
    got = lm.forward(feed)
    assert lm.forward_calls == 1 and lm.length == len(prompt) + 4
    torch.testing.assert_close(got, fresh_logits(model, [*prompt, 20, 21, 22, 23])[-len(feed) :], atol=ATOL, rtol=1e-4)
    assert lm.crop(len(prompt) + 1) == 3  # keep the first drafted token
    history = [*prompt, 20]
    assert lm.tokens == history
    check = [30, 31]
    torch.testing.assert_close(lm.forward(check), fresh_logits(model, history + check)[-2:], atol=ATOL, rtol=1e-4)


def test_deferred_prefill_refuses_tree_masks() -> None:
    lm = CausalLM(tiny_llama())
    lm.defer_prefill([1, 2, 3])
    with pytest.raises(ValueError, match="deferred prefill"):
        lm.forward([4, 5], position_ids=torch.tensor([[3, 3]]))
