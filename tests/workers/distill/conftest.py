"""Test fixtures: tiny random-init Llama targets and a made-up word-level tokenizer. They are NOT real models (their
weights are noise); they make the distillation code paths run in seconds. The real SmolLM2 is used only in the
``@pytest.mark.slow`` test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.workers.tiny_models import tiny_gemma3_model, tiny_llama_model

VOCAB = 64
EOS = 1
PAD = 0
CHAT_TEMPLATE = "{% for message in messages %}w2 {{ message['content'] }} w3 {% endfor %}{% if add_generation_prompt %}w4{% endif %}"

# Tiny tensors: torch's thread pool costs more than it saves, and the machine is shared.
torch.set_num_threads(1)


def tiny_llama(layers: int = 6, seed: int = 0) -> Any:
    """Test fixture: a random-init Llama with tied embeddings (like SmolLM2). A large init scale makes its next-token
    distributions peaked, so it has definite greedy choices that a draft can learn to match."""
    return tiny_llama_model(
        seed=seed,
        vocab_size=VOCAB,
        num_hidden_layers=layers,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=EOS,
        pad_token_id=PAD,
    )


def tiny_gemma3(seed: int = 0) -> Any:
    """Test fixture: a random-init 6-layer Gemma 3 whose sliding window (4) is shorter than the prompts, with final
    logit soft-capping: the family-specific paths (sliding-window cache with left padding, capped head)."""
    return tiny_gemma3_model(
        seed=seed,
        vocab_size=VOCAB,
        num_hidden_layers=6,
        sliding_window=4,
        max_position_embeddings=256,
        final_logit_softcapping=30.0,
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=EOS,
        pad_token_id=PAD,
    )


def tiny_tokenizer(chat: bool = False) -> Any:
    """Test fixture: whitespace word-level tokenizer over made-up words ``w2``…, plus ``<pad>`` (0) and ``<eos>`` (1)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": PAD, "<eos>": EOS, **{f"w{i}": i for i in range(2, VOCAB)}}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<pad>", pad_token="<pad>", eos_token="<eos>"
    )
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def word_prompts(count: int, seed: int = 0) -> list[str]:
    """Test fixture: random 3–8 word prompts over the tiny vocabulary (no EOS/padding words)."""
    gen = torch.Generator().manual_seed(seed)
    prompts = []
    for _ in range(count):
        length = int(torch.randint(3, 9, (1,), generator=gen))
        words = torch.randint(5, VOCAB, (length,), generator=gen).tolist()
        prompts.append(" ".join(f"w{i}" for i in words))
    return prompts


@pytest.fixture(scope="session")
def target() -> Any:
    return tiny_llama()


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return tiny_tokenizer()


@pytest.fixture
def target_dir(tmp_path: Path) -> Path:
    """Test fixture: the tiny target saved as a local HF folder (what a user's model folder looks like)."""
    folder = tmp_path / "tiny-llama-target-fixture"
    tiny_llama().save_pretrained(folder)
    tiny_tokenizer(chat=True).save_pretrained(folder)
    return folder
