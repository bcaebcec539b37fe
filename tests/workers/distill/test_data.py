"""The generated corpus: the target's own continuations, batched but identical to unbatched greedy decoding."""

from __future__ import annotations

import time
from typing import Any

import torch

from tests.workers.distill.conftest import EOS, tiny_tokenizer, word_prompts
from workers.decoding.engine import MethodConfig, generate
from workers.distill.data import SEED_PROMPTS, DataConfig, encode_prompt, generate_corpus


def test_greedy_sequences_equal_the_targets_own_greedy_decoding(target: Any, tokenizer: Any) -> None:
    """Left padding, batching and the shared cache must not change what the target says."""
    corpus = generate_corpus(target, tokenizer, word_prompts(12), DataConfig(num_sequences=12, max_new_tokens=20))
    greedy = [s for s in (*corpus.heldout, *corpus.train) if s.greedy]
    assert len(greedy) == 12  # 12 prompts, 12 sequences: every prompt once, all greedy
    config = MethodConfig(eos_token_ids=(EOS,))
    for seq in greedy:
        reference, _ = generate(target, None, seq.prompt_ids, 20, config)
        assert seq.output_ids == reference
        assert seq.topk_ids[:, 0].tolist() == seq.output_ids  # column 0 is the target's greedy token
        assert seq.topk_ids.shape == seq.topk_logits.shape == (len(seq.output_ids), 32)
        assert bool((seq.topk_logits[:, :-1] >= seq.topk_logits[:, 1:]).all())


def test_heldout_prompts_are_disjoint_and_repeats_are_sampled(target: Any, tokenizer: Any) -> None:
    prompts = word_prompts(10)
    corpus = generate_corpus(target, tokenizer, prompts, DataConfig(num_sequences=40, max_new_tokens=16, seed=3))
    assert len(corpus.heldout) == 5 and len(corpus.train) == 35
    heldout = {s.prompt_index for s in corpus.heldout}
    assert heldout.isdisjoint(s.prompt_index for s in corpus.train)
    assert all(s.greedy for s in corpus.heldout)
    assert sum(s.greedy for s in corpus.train) == 5  # one greedy pass over the 5 training prompts, then sampling
    sampled = [s for s in corpus.train if not s.greedy]
    assert any(s.output_ids != s.topk_ids[:, 0].tolist() for s in sampled)
    assert corpus.train_tokens == sum(len(s.output_ids) for s in corpus.train)
    again = generate_corpus(target, tokenizer, prompts, DataConfig(num_sequences=40, max_new_tokens=16, seed=3))
    assert [s.output_ids for s in again.train] == [s.output_ids for s in corpus.train]  # the seed reproduces it


def test_sequences_stop_after_eos(target: Any, tokenizer: Any) -> None:
    corpus = generate_corpus(target, tokenizer, word_prompts(30), DataConfig(num_sequences=30, max_new_tokens=64))
    for seq in (*corpus.train, *corpus.heldout):
        assert EOS not in seq.output_ids[:-1]
        assert len(seq.output_ids) == 64 or seq.output_ids[-1] == EOS


def test_chat_models_get_their_template(target: Any) -> None:
    chat = tiny_tokenizer(chat=True)
    ids = encode_prompt(chat, "w9 w10", chat=True)
    assert ids == [2, 9, 10, 3, 4]  # user turn markers w2 … w3, then the generation prompt w4
    corpus = generate_corpus(target, chat, word_prompts(4), DataConfig(num_sequences=8, max_new_tokens=16))
    assert corpus.chat
    assert all(s.prompt_ids[0] == 2 and s.prompt_ids[-1] == 4 for s in corpus.train)


def test_deadline_keeps_heldout_and_one_training_batch(target: Any, tokenizer: Any) -> None:
    config = DataConfig(num_sequences=64, max_new_tokens=16, batch_size=8)
    corpus = generate_corpus(target, tokenizer, word_prompts(20), config, deadline=time.monotonic() - 1)
    assert corpus.stopped_early
    assert len(corpus.heldout) == 8 and len(corpus.train) == 8


def test_builtin_prompts_are_varied() -> None:
    text = " ".join(SEED_PROMPTS).lower()
    assert len(SEED_PROMPTS) >= 40
    for kind in ("python", "summarize", "rewrite", "story", "explain", "sql"):
        assert kind in text
    assert len(set(SEED_PROMPTS)) == len(SEED_PROMPTS)
    assert torch.is_tensor(torch.tensor([len(p) for p in SEED_PROMPTS]))
