"""A tiny causal LM with known probabilities: the next-token distribution depends only on the previous token, and
is a hand-written table, so every score has a value computable by hand. Plus its real (tokenizers-library) word
tokenizer: ``<bos>`` then one token per space-separated letter a-d."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

VOCAB = {"a": 0, "b": 1, "c": 2, "d": 3, "<bos>": 4, "<unk>": 5}
IMPOSSIBLE = -1e4
"""Logit of <bos> and <unk> as next tokens: exp underflows to exactly 0 probability in float32."""

P0 = [1 / 2, 1 / 4, 1 / 8, 1 / 8]
P1 = [1 / 4, 1 / 4, 1 / 4, 1 / 4]
P2 = [1 / 8, 1 / 8, 1 / 4, 1 / 2]
TABLE = {"<bos>": P0, "a": P0, "b": P1, "c": P2, "d": P2, "<unk>": P1}
"""The main model: P(next over a, b, c, d | previous token)."""
UNIFORM = dict.fromkeys(TABLE, P1)


class BigramLM(nn.Module):
    def __init__(self, table: dict[str, list[float]], name: str = "bigram") -> None:
        super().__init__()
        logits = torch.full((len(VOCAB), len(VOCAB)), IMPOSSIBLE)
        for previous, probabilities in table.items():
            logits[VOCAB[previous], :4] = torch.tensor([math.log(p) for p in probabilities])
        self.logits = nn.Parameter(logits, requires_grad=False)
        self.config = SimpleNamespace(vocab_size=len(VOCAB), max_position_embeddings=64, name_or_path=name)

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None, use_cache: bool = False) -> Any:
        return SimpleNamespace(logits=self.logits[input_ids])


def bigram_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab=VOCAB, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", VOCAB["<bos>"])])
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<bos>", unk_token="<unk>")
