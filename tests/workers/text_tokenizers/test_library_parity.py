"""Every built-in tokenizer gives exactly the ids of its library, on hard text, and reports roundtrip honestly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workers.text_tokenizers.conftest import BUILTIN_IDS, require
from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from tests.workers.text_tokenizers.reference import hf_tokenizer, reference_decode, reference_ids
from workers.text_tokenizers import TextIndex
from workers.text_tokenizers.encoding import KIND_SPECIAL
from workers.text_tokenizers.stats import token_stats

ALL_HARD = "\n".join(HARD_TEXTS.values())


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_ids_equal_the_library_on_hard_texts(spec_id: str) -> None:
    tokenizer = require(spec_id)
    for name, text in {**HARD_TEXTS, "all": ALL_HARD}.items():
        encoding = tokenizer.encode(text)
        assert encoding.ids.tolist() == reference_ids(spec_id, text), name
        assert tokenizer.encode_ids(text).tolist() == encoding.ids.tolist(), name


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_roundtrip_flag_is_what_decoding_really_gives(spec_id: str) -> None:
    tokenizer = require(spec_id)
    for name, text in HARD_TEXTS.items():
        index = TextIndex(text)
        encoding = tokenizer.encode(text, index)
        expected = reference_decode(spec_id, encoding.ids.tolist()) == text
        assert token_stats(tokenizer, encoding, index)["roundtrip"] is expected, name


@pytest.mark.parametrize(
    "spec_id", ["tiktoken:cl100k_base", "tiktoken:o200k_base", "tokenizers:llama-3", "mistral:tekken"]
)
def test_lossless_tokenizers_round_trip_everything(spec_id: str) -> None:
    tokenizer = require(spec_id)
    index = TextIndex(ALL_HARD)
    assert token_stats(tokenizer, tokenizer.encode(ALL_HARD, index), index)["roundtrip"] is True


def test_lossy_tokenizers_are_reported_as_such() -> None:
    bert = require("tokenizers:bert-base-uncased")
    index = TextIndex("Hello World")
    assert token_stats(bert, bert.encode("Hello World", index), index)["roundtrip"] is False  # lowercased
    qwen = require("tokenizers:qwen-2.5")
    decomposed = "Cafe\u0301"  # NFC normaliser composes it, so decoding gives "Café" with one code point
    index = TextIndex(decomposed)
    assert token_stats(qwen, qwen.encode(decomposed, index), index)["roundtrip"] is False


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_special_token_strings_in_the_text_are_plain_text(spec_id: str) -> None:
    tokenizer = require(spec_id)
    text = " ".join(tokenizer.spec.special_tokens) + " " + HARD_TEXTS["specials"]
    encoding = tokenizer.encode(text)
    assert not (encoding.kinds == KIND_SPECIAL).any()
    assert encoding.ids.tolist() == reference_ids(spec_id, text)


def _with_specials(spec_id: str) -> str:
    tokenizer = require(spec_id)
    return " ".join(tokenizer.spec.special_tokens) + " " + HARD_TEXTS["specials"] + "\n" + ALL_HARD


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_special_mode_ids_equal_the_library_parsing_specials(spec_id: str) -> None:
    """Catches special=True calling the library another way than tiktoken allowed_special="all" / HF split_special."""
    tokenizer = require(spec_id)
    text = _with_specials(spec_id)
    for name, sample in {**HARD_TEXTS, "with specials": text}.items():
        encoding = tokenizer.encode(sample, special=True)
        assert encoding.ids.tolist() == reference_ids(spec_id, sample, special=True), name
        assert tokenizer.encode_ids(sample, special=True).tolist() == encoding.ids.tolist(), name
        assert len(encoding.starts) == len(encoding), name


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_special_mode_parses_specials_exactly_where_the_library_defines_them(spec_id: str) -> None:
    """Catches a special mode that silently stays plain (or a parses_specials flag that lies)."""
    tokenizer = require(spec_id)
    text = _with_specials(spec_id)
    encoding = tokenizer.encode(text, special=True)
    parsed = bool((encoding.kinds == KIND_SPECIAL).any())
    assert parsed is tokenizer.parses_specials
    assert parsed is (reference_ids(spec_id, text, special=True) != reference_ids(spec_id, text))
    if parsed:  # each special token covers exactly its string in the text
        for position in np.flatnonzero(encoding.kinds == KIND_SPECIAL).tolist():
            start, end = int(encoding.starts[position]), int(encoding.ends[position])
            own = tokenizer.token_bytes(int(encoding.ids[position])).decode("utf-8").strip()
            assert text[start:end].strip() == own


def test_the_plain_text_policy_changes_what_hf_would_do_by_default() -> None:
    """Guards the policy: without encode_special_tokens the library would parse the string as one special id."""
    require("tokenizers:llama-3")
    default = (
        hf_tokenizer("tokenizers:llama-3", parse_specials=True)
        .encode("<|begin_of_text|>", add_special_tokens=False)
        .ids
    )
    assert default == [128000]
    assert reference_ids("tokenizers:llama-3", "<|begin_of_text|>") != [128000]


def test_known_ids_for_a_few_well_documented_cases() -> None:
    """Spot values that are public knowledge, independent of any library call made here."""
    assert require("tiktoken:cl100k_base").encode("Hello world").ids.tolist() == [9906, 1917]
    assert require("tiktoken:gpt2").encode("Hello world").ids.tolist() == [15496, 995]
    assert require("builtin:bytes").encode("é").ids.tolist() == [0xC3, 0xA9]
    assert require("builtin:chars").encode("é🙂").ids.tolist() == [0xE9, 0x1F642]
