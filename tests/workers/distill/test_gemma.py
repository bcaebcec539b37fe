"""Gemma 3 targets: batched generation over sliding-window layers, and a trained draft that stays lossless."""

from __future__ import annotations

from typing import Any

from tests.workers.distill.conftest import EOS, tiny_gemma3, word_prompts
from workers.decoding.drafters import ModelDrafter
from workers.decoding.engine import MethodConfig, generate
from workers.distill.data import DataConfig, generate_corpus
from workers.distill.model import build_draft
from workers.distill.train import TrainConfig, train_draft


def test_gemma_corpus_matches_greedy_decoding_and_its_draft_is_lossless(tokenizer: Any) -> None:
    target = tiny_gemma3()
    config = DataConfig(num_sequences=24, max_new_tokens=20, top_k_logits=8, batch_size=8)
    corpus = generate_corpus(target, tokenizer, word_prompts(24, seed=5), config)
    greedy = MethodConfig(eos_token_ids=(EOS,))
    for seq in [s for s in (*corpus.heldout, *corpus.train) if s.greedy]:
        reference, _ = generate(target, None, seq.prompt_ids, 20, greedy)
        assert seq.output_ids == reference  # left padding + sliding windows: the same tokens as unbatched decoding

    draft = build_draft(target, 3, strategy="spread")
    assert draft.model.config.layer_types == [target.config.layer_types[i] for i in draft.source_layers]
    result = train_draft(draft.model, corpus.train, corpus.heldout, TrainConfig(max_steps=30, learning_rate=3e-3))
    assert result.losses[-1]["loss"] < result.losses[0]["loss"]
    speculative = MethodConfig(method="speculative", gamma=4, eos_token_ids=(EOS,))
    for seq in corpus.heldout:
        baseline, _ = generate(target, None, seq.prompt_ids, 20, greedy)
        output, _ = generate(target, ModelDrafter(draft.model), seq.prompt_ids, 20, speculative)
        assert output == baseline
