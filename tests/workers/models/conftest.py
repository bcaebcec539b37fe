"""Test fixtures: tiny random-init causal LMs built from configs here. They are NOT real models (their weights are
noise); they exercise code paths in milliseconds. The real bundled models are loaded only in ``@pytest.mark.slow``
tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.workers.tiny_models import tiny_gemma3_model, tiny_llama_model

VOCAB = 61


def tiny_llama(layers: int = 4, seed: int = 0, vocab: int = VOCAB) -> Any:
    """Test fixture: a 4-layer random-init Llama (tied embeddings, like SmolLM2)."""
    return tiny_llama_model(
        seed=seed, vocab_size=vocab, num_hidden_layers=layers, max_position_embeddings=128, tie_word_embeddings=True
    )


def tiny_gemma3(seed: int = 0) -> Any:
    """Test fixture: a 6-layer random-init Gemma 3 with sliding-window and full-attention layers."""
    return tiny_gemma3_model(
        seed=seed,
        vocab_size=VOCAB,
        num_hidden_layers=6,
        sliding_window=4,
        max_position_embeddings=128,
        final_logit_softcapping=30.0,
    )


def tiny_tokenizer() -> Any:
    """Test fixture: a whitespace word-level tokenizer over VOCAB made-up words."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, **{f"w{i}": i for i in range(1, VOCAB)}}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """Test fixture: a random-init model saved in Hugging Face layout, as a user's local folder would be."""
    folder = tmp_path / "tiny-llama-fixture"
    tiny_llama().save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder
