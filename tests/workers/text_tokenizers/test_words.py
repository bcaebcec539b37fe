"""Words for fertility: UAX #29 segments, with dictionary segmentation for scripts written without spaces."""

from __future__ import annotations

import pytest

from tests.workers.text_tokenizers.conftest import require
from workers.text_tokenizers import TextIndex
from workers.text_tokenizers import words as words_module
from workers.text_tokenizers.stats import token_stats
from workers.text_tokenizers.words import SEGMENTER, word_char_spans


@pytest.fixture(autouse=True, params=["pieces", "direct"])
def segmenter_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs through both paths: ICU on the whole text, and the per-piece fast path of long texts."""
    monkeypatch.setattr(words_module, "DIRECT_MAX_CHARS", 0 if request.param == "pieces" else 10**9)


def words(text: str) -> list[str]:
    starts, ends = word_char_spans(text)
    return [text[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我们在学习自然语言处理", ["我们", "在", "学习", "自然", "语言", "处理"]),
        ("東京は日本の首都です。", ["東京", "は", "日本", "の", "首都", "です"]),
        ("ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรค", ["ภาษา", "ไทย", "เป็น", "ภาษา", "ที่", "ไม่มี", "การ", "เว้น", "วรรค"]),
    ],
)
def test_scripts_without_spaces_are_cut_into_dictionary_words(text: str, expected: list[str]) -> None:
    """Catches whitespace splitting (one "word" per sentence) or per-character UAX #29 fallbacks for CJK and Thai."""
    assert words(text) == expected
    assert TextIndex(text).n_words == len(expected)


def test_uax29_rules_for_spaced_scripts() -> None:
    """Catches punctuation counted as words or mid-word apostrophes and decimal points splitting a word."""
    text = "Hello, world! It's 3.14 (dog). e\u0301x _snake_case a-b 🙂👩\u200d💻 naïve"
    assert words(text) == ["Hello", "world", "It's", "3.14", "dog", "e\u0301x", "_snake_case", "a", "b", "naïve"]


def test_fertility_in_chinese_counts_dictionary_words() -> None:
    """Catches fertility computed per space-delimited run (one word for a whole Chinese sentence)."""
    tokenizer = require("tiktoken:cl100k_base")
    text = "我们在学习自然语言处理"
    index = TextIndex(text)
    stats = token_stats(tokenizer, tokenizer.encode(text, index), index)
    assert stats["words"] == 6
    assert stats["fertility"] == round(stats["tokens"] / 6, 4)


def test_the_segmenter_is_named() -> None:
    """Catches a result that does not say how words were counted."""
    assert "UAX #29" in SEGMENTER and "ICU" in SEGMENTER
    assert TextIndex("a").word_segmentation == SEGMENTER


def test_the_separators_are_characters_uax29_always_breaks_around() -> None:
    """Catches a cut at a character that can join words (U+202F is ExtendNumLet; "_" too)."""
    import regex

    from workers.text_tokenizers.words import _BREAKING_ASCII, SEPARATOR, _class_table

    table = _class_table()
    other = regex.compile(r"\p{Word_Break=Other}")
    assert all(other.fullmatch(char) for char in _BREAKING_ASCII)
    assert table[ord("_")] != SEPARATOR and table[0x202F] != SEPARATOR
    assert words("a\u202fb c") == ["a\u202fb", "c"]
