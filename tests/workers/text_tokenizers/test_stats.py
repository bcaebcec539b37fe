"""Statistics on hand-computed examples (reference/tokenization.md definitions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.workers.text_tokenizers.conftest import require
from workers.text_tokenizers import TextIndex
from workers.text_tokenizers.stats import continued_words, number_chunks, token_stats, tokens_per_word


def stats_for(spec_id: str, text: str, baseline_tokens: int | None = None) -> dict[str, Any]:
    tokenizer = require(spec_id)
    index = TextIndex(text)
    return token_stats(tokenizer, tokenizer.encode(text, index), index, baseline_tokens)


def test_hello_world_with_cl100k() -> None:
    stats = stats_for("tiktoken:cl100k_base", "Hello world", baseline_tokens=4)
    # ["Hello", " world"]: 2 tokens, 11 chars, 2 words, neither word split.
    assert stats["tokens"] == 2 and stats["chars"] == 11 and stats["bytes"] == 11 and stats["words"] == 2
    assert stats["chars_per_token"] == 5.5 and stats["bytes_per_token"] == 5.5
    assert stats["fertility"] == 1.0 and stats["continued_word_ratio"] == 0.0
    assert stats["relative_cost"] == 0.5 and stats["distinct_tokens"] == 2 and stats["roundtrip"] is True
    assert stats["unknown"] == stats["byte_fallback"] == stats["special"] == 0


def test_character_level_counts() -> None:
    stats = stats_for("builtin:chars", "ab cde ab")
    # 9 characters = 9 tokens; words "ab", "cde", "ab" are all split; types a, b, " ", c, d, e.
    assert stats["tokens"] == 9 and stats["words"] == 3
    assert stats["fertility"] == 3.0 and stats["continued_word_ratio"] == 1.0
    assert stats["distinct_tokens"] == 6 and stats["chars_per_token"] == 1.0


def test_multibyte_text_bytes_per_token() -> None:
    stats = stats_for("builtin:bytes", "né 🙂")
    # n, c3 a9, space, f0 9f 99 82: 8 bytes, 4 characters, 1 word ("né", split into 3 bytes; an emoji is no word).
    assert stats["tokens"] == 8 and stats["chars"] == 4 and stats["bytes"] == 8
    assert stats["chars_per_token"] == 0.5 and stats["bytes_per_token"] == 1.0
    assert stats["words"] == 1 and stats["fertility"] == 8.0 and stats["continued_word_ratio"] == 1.0


def test_continued_words_with_cl100k() -> None:
    # cl100k: "Hello" | " unbelievable" | " token" "ization": 4 tokens, 3 words, only "tokenization" split.
    tokenizer = require("tiktoken:cl100k_base")
    text = "Hello unbelievable tokenization"
    assert [tokenizer.token_bytes(int(i)) for i in tokenizer.encode(text).ids] == [
        b"Hello",
        b" unbelievable",
        b" token",
        b"ization",
    ]
    stats = stats_for("tiktoken:cl100k_base", text)
    assert stats["words"] == 3 and stats["tokens"] == 4
    assert stats["fertility"] == round(4 / 3, 4) and stats["continued_word_ratio"] == round(1 / 3, 4)


def test_unknown_and_byte_fallback_counts() -> None:
    assert stats_for("tokenizers:bert-base-uncased", "I 🙂 you 🙃")["unknown"] == 2
    stats = stats_for("mistral:v1", "a 𝔘")  # one 4-byte character outside the vocabulary
    assert stats["byte_fallback"] == 4 and stats["unknown"] == 0 and stats["roundtrip"] is True


def test_empty_text_has_no_ratios() -> None:
    stats = stats_for("tiktoken:cl100k_base", "", baseline_tokens=0)
    assert stats["tokens"] == 0 and stats["words"] == 0
    assert stats["chars_per_token"] is None and stats["fertility"] is None and stats["relative_cost"] is None
    assert stats["roundtrip"] is True and stats["number_chunks"] == {"pattern": None, "examples": []}


def test_fertility_counts_whitespace_only_tokens_too() -> None:
    # Fertility is n_tokens / n_words: the newline token counts although it touches no word.
    stats = stats_for("tiktoken:cl100k_base", "Hello\n\nworld")
    assert stats["words"] == 2 and stats["fertility"] == stats["tokens"] / 2


# -------------------------------------------------------------------- number chunking


def spans(*cuts: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([c[0] for c in cuts], dtype=np.int64), np.array([c[1] for c in cuts], dtype=np.int64)


@pytest.mark.parametrize(
    ("cuts", "pattern", "pieces"),
    [
        ([(0, 3), (3, 5)], "1-3 digits, left to right", ["123", "45"]),
        ([(0, 2), (2, 5)], "1-3 digits, right to left", ["12", "345"]),
        ([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], "single digits", ["1", "2", "3", "4", "5"]),
        ([(0, 5)], "whole runs (up to 5 digits seen)", ["12345"]),
        ([(0, 1), (1, 3), (3, 5)], "1-2 digits, right to left", ["1", "23", "45"]),
        ([(0, 2), (2, 3), (3, 5)], "irregular (learned merges, up to 2 digits)", ["12", "3", "45"]),
    ],
)
def test_number_chunk_patterns_on_synthetic_spans(cuts: list[tuple[int, int]], pattern: str, pieces: list[str]) -> None:
    starts, ends = spans(*cuts)
    assert number_chunks(b"12345", starts, ends) == {"pattern": pattern, "examples": [["12345", pieces]]}


def test_number_chunks_read_from_real_tokenizers() -> None:
    text = "Call 1234567 or 12345 now; 2024 was 99."
    cl100k = stats_for("tiktoken:cl100k_base", text)["number_chunks"]
    assert cl100k["pattern"] == "1-3 digits, left to right"
    assert cl100k["examples"][:2] == [["1234567", ["123", "456", "7"]], ["12345", ["123", "45"]]]
    assert stats_for("tokenizers:llama-3", text)["number_chunks"]["pattern"] == "1-3 digits, left to right"
    for single in ("tokenizers:gemma-3", "mistral:v1", "tokenizers:qwen-2.5", "builtin:bytes"):
        assert stats_for(single, text)["number_chunks"]["pattern"] == "single digits", single
    assert stats_for("tokenizers:bert-base-uncased", "x 1234567 y")["number_chunks"]["examples"][0][0] == "1234567"


def test_gpt2_digits_are_learned_merges() -> None:
    # GPT-2 pieces: 123|45|67, " 9"|87|65|43|21, " 314"|159|26, " 27"|18|28|18|28: no fixed grouping.
    text = "1234567 987654321 31415926 2718281828"
    chunks = stats_for("tiktoken:gpt2", text)["number_chunks"]
    assert chunks["pattern"] == "irregular (learned merges, up to 3 digits)"
    assert chunks["examples"] == [
        ["2718281828", ["27", "18", "28", "18", "28"]],
        ["987654321", ["9", "87", "65", "43", "21"]],
        ["31415926", ["314", "159", "26"]],
    ]


# -------------------------------------------------------------------- tokens per word


def test_continued_words_fast_and_general_paths_agree_with_a_naive_count() -> None:
    rng = np.random.default_rng(7)
    text = "alpha  beta\tgamma délta\n\nepsilon 🙂zeta x " * 20
    index = TextIndex(text)
    word_starts, word_ends = index.word_spans
    for _ in range(30):
        cuts = np.unique(np.concatenate([[0, index.n_bytes], rng.integers(0, index.n_bytes, size=60)]))
        starts, ends = cuts[:-1].astype(np.int64), cuts[1:].astype(np.int64)
        naive = [
            int(((starts < we) & (ends > ws)).sum())
            for ws, we in zip(word_starts.tolist(), word_ends.tolist(), strict=True)
        ]
        assert tokens_per_word(index, starts, ends).tolist() == naive
        split = sum(1 for n in naive if n >= 2)
        assert continued_words(index, starts, ends, contiguous=True) == split
        assert continued_words(index, starts, ends, contiguous=False) == split
