"""Token Recycling: adjacency-matrix updates, BFS tree drafting, and greedy identity with autoregressive decoding."""

from __future__ import annotations

import pytest
import torch

from workers.decoding.engine import MethodConfig, generate
from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Verification
from workers.decoding.sampling import GREEDY, SamplingConfig, make_generator
from workers.decoding.token_recycling import UNKNOWN, TokenRecyclingDrafter
from workers.decoding.tree import TreeVerifier
from workers.decoding.tree_engine import TreeMethodConfig, generate_tree

TEMPLATE = ((0,), (1,), (0, 0), (0, 1), (1, 0))


def one_row(vocab: int, ranked: list[int]) -> torch.Tensor:
    """A distribution whose top tokens are ``ranked``, in that order."""
    probs = torch.full((vocab,), 0.001)
    for rank, token in enumerate(ranked):
        probs[token] = 1.0 - 0.1 * rank
    return probs / probs.sum()


def test_bfs_expansion_follows_the_matrix_under_the_template() -> None:
    drafter = TokenRecyclingDrafter(10, k=3, template=TEMPLATE)
    drafter.update([2, 5], torch.stack([one_row(10, [5, 7, 1]), one_row(10, [3, 4, 6])]))
    assert drafter.matrix is not None and drafter.matrix[2].tolist() == [5, 7, 1]
    tree = drafter.build_tree(root=2, max_tokens=16)
    # root 2 -> 5 (rank 0), 7 (rank 1); 5 -> 3, 4; row 7 is unknown so (1, 0) has no node
    assert tree.tokens == [5, 7, 3, 4]
    assert tree.parents == [-1, -1, 0, 0]
    assert drafter.build_tree(root=9, max_tokens=16).tokens == []  # unseen token: no draft
    assert drafter.build_tree(root=2, max_tokens=3).tokens == [5, 7, 3]  # budget truncates breadth-first


def test_observe_refreshes_the_root_and_every_tree_node() -> None:
    drafter = TokenRecyclingDrafter(10, k=2, template=TEMPLATE)
    drafter.update([2], one_row(10, [5, 7])[None])
    draft = drafter.propose([0, 2], 8, GREEDY, torch.Generator())
    assert draft.tokens == [5, 7] and draft.q is None and draft.extra["tree"]["child_sampling"] == "deterministic"
    probs = torch.stack([one_row(10, [8, 9]), one_row(10, [1, 3]), one_row(10, [4, 6])])  # rows: root 2, node 5, 7
    verification = Verification(
        accepted=[5],
        next_token=1,
        next_source="greedy",
        next_prob=1.0,
        next_u=None,
        records=[],
        first_rejection=1,
        kv_rollback=1,
        target_forwards=1,
        target_ms=0.0,
        target_logits=probs.log(),
    )
    drafter.observe([0, 2, 5, 1], verification)
    assert drafter.matrix is not None
    assert drafter.matrix[2].tolist() == [8, 9]
    assert drafter.matrix[5].tolist() == [1, 3]
    assert drafter.matrix[7].tolist() == [4, 6]
    assert drafter.matrix[0].tolist() == [UNKNOWN, UNKNOWN]


def test_matrix_stays_under_two_megabytes_for_a_49k_vocabulary() -> None:
    drafter = TokenRecyclingDrafter(49_152, k=8)
    assert drafter.matrix is not None
    assert drafter.matrix.numel() * drafter.matrix.element_size() < 2 * 2**20


def test_template_ranks_must_fit_in_k() -> None:
    with pytest.raises(ValueError):
        TokenRecyclingDrafter(10, k=2, template=((0,), (1,), (2,)))


def test_greedy_token_recycling_matches_autoregressive_and_learns_across_requests(target) -> None:
    prompt = [5, 6, 7, 8, 9, 10, 5, 6, 7, 8, 9, 10, 5, 6]
    expected, _ = generate(target, None, prompt, 30, MethodConfig())
    config = TreeMethodConfig(method="token_recycling")
    drafter = TokenRecyclingDrafter(target.config.vocab_size, k=config.recycling_k, template=config.resolved_template())
    first, cold = generate_tree(target, prompt, 30, config, drafter=drafter)
    second, warm = generate_tree(target, prompt, 30, config, drafter=drafter)
    assert first == expected and second == expected
    assert cold.summary is not None and warm.summary is not None
    assert warm.summary.target_calls < cold.summary.target_calls  # recycled candidates pay off on a repeat
    assert warm.summary.target_calls < 30


def test_matrix_rows_come_from_the_raw_logits_when_sampling_with_top_k(target) -> None:
    """Catches rows filled from the warped p: with top-k = 2, p is zero beyond two tokens, so its top-6 would hold
    arbitrary zero-probability ties instead of the target's real next-best candidates."""
    prompt = [5, 6, 7, 8, 9]
    sampling = SamplingConfig(temperature=1.0, top_k=2)
    drafter = TokenRecyclingDrafter(target.config.vocab_size, k=6)
    drafter.start(prompt)
    lm = CausalLM(target)
    lm.prefill(prompt[:-1])
    draft = drafter.propose(prompt, 8, sampling, make_generator(0))  # nothing recycled yet: an empty tree
    verification = TreeVerifier().verify(lm, prompt[-1], draft, sampling, make_generator(0))
    drafter.observe([*prompt, verification.next_token], verification)
    with torch.inference_mode():
        logits = target(input_ids=torch.tensor([prompt])).logits[0, -1]
    assert drafter.matrix is not None
    assert drafter.matrix[prompt[-1]].tolist() == torch.topk(logits, 6).indices.tolist()
