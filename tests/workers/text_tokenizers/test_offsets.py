"""Token spans are exact: byte spans rebuild the text, character spans cover exactly the characters a token's bytes
touch, and kinds (partial, byte_fallback, unknown) are right. Checked against a naive per-character computation and
against the libraries' own offsets."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

import workers.text_tokenizers.adapters as adapters
from tests.workers.text_tokenizers.conftest import BUILTIN_IDS, require
from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from tests.workers.text_tokenizers.reference import reference_char_offsets
from workers.text_tokenizers import TextIndex, load_tokenizer
from workers.text_tokenizers.adapters import split_for_chunks


def naive_char_of_byte(text: str) -> list[int]:
    """Index of the character containing each byte, computed one character at a time."""
    out: list[int] = []
    for position, char in enumerate(text):
        out.extend([position] * len(char.encode("utf-8")))
    return out


def naive_char_starts(text: str) -> set[int]:
    starts, at = set(), 0
    for char in text:
        starts.add(at)
        at += len(char.encode("utf-8"))
    starts.add(at)
    return starts


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_spans_are_ordered_and_inside_the_text(spec_id: str) -> None:
    tokenizer = require(spec_id)
    for name, text in HARD_TEXTS.items():
        encoding = tokenizer.encode(text)
        starts, ends = encoding.starts, encoding.ends
        assert len(starts) == len(ends) == len(encoding)
        if len(encoding):
            assert starts.min() >= 0 and ends.max() <= len(text), name
            assert (ends >= starts).all() and (np.diff(starts) >= 0).all(), name


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_byte_exact_spans_match_a_naive_character_walk(spec_id: str) -> None:
    tokenizer = require(spec_id)
    exact_seen = 0
    for name, text in HARD_TEXTS.items():
        encoding = tokenizer.encode(text)
        if not encoding.byte_exact:
            continue
        exact_seen += 1
        data = text.encode("utf-8")
        own = b"".join(tokenizer.token_bytes(i) for i in encoding.ids.tolist())
        # Token bytes rebuild the text; SentencePiece adds one dummy-prefix space in front.
        assert own in (data, b" " + data), name
        byte_starts, byte_ends = encoding.byte_spans
        assert (byte_starts[1:] == byte_ends[:-1]).all() and (len(data) == 0 or byte_ends[-1] == len(data)), name
        char_of_byte = naive_char_of_byte(text)
        boundaries = naive_char_starts(text)
        for i, (bs, be, cs, ce, kind) in enumerate(
            zip(
                byte_starts.tolist(),
                byte_ends.tolist(),
                encoding.starts.tolist(),
                encoding.ends.tolist(),
                encoding.kind_names(),
                strict=True,
            )
        ):
            if be == bs:
                assert cs == ce, (name, i)
                continue
            assert cs == char_of_byte[bs] and ce == char_of_byte[be - 1] + 1, (name, i)
            cuts_a_char = bs not in boundaries or be not in boundaries
            if kind == "normal":
                assert not cuts_a_char, (name, i)
                own_bytes = tokenizer.token_bytes(int(encoding.ids[i]))
                assert text[cs:ce].encode("utf-8") == own_bytes[len(own_bytes) - (be - bs) :], (name, i)
            elif kind == "partial":
                assert cuts_a_char, (name, i)
            else:
                assert kind == "byte_fallback", (name, i)
    if spec_id not in ("tokenizers:bert-base-uncased",):
        assert exact_seen >= len(HARD_TEXTS) - 4, "most texts should take the byte-exact path"


@pytest.mark.parametrize("spec_id", [i for i in BUILTIN_IDS if i.startswith(("tokenizers:", "mistral:v"))])
def test_character_offsets_agree_with_the_librarys_own(spec_id: str) -> None:
    """HF tokenizers and SentencePiece report offsets themselves; ours must agree for every whole-character token."""
    tokenizer = require(spec_id)
    for name, text in HARD_TEXTS.items():
        encoding = tokenizer.encode(text)
        library = reference_char_offsets(spec_id, text)
        assert library is not None and len(library) == len(encoding), name
        for i, (kind, cs, ce) in enumerate(
            zip(encoding.kind_names(), encoding.starts.tolist(), encoding.ends.tolist(), strict=True)
        ):
            if kind in ("normal", "unknown", "special"):
                assert (cs, ce) == library[i], (name, i, kind)


def test_emoji_split_by_byte_level_bpe_is_partial_and_covers_the_character() -> None:
    tokenizer = require("tiktoken:cl100k_base")
    text = "a👍🏽b"
    encoding = tokenizer.encode(text)
    rows = list(zip(encoding.starts.tolist(), encoding.ends.tolist(), encoding.kind_names(), strict=True))
    assert rows[0] == (0, 1, "normal") and rows[-1] == (3, 4, "normal")
    middle = rows[1:-1]
    assert all(kind == "partial" for _, _, kind in middle)
    assert {(s, e) for s, e, _ in middle} == {(1, 2), (2, 3)}  # each piece spans the emoji it belongs to
    assert b"".join(tokenizer.token_bytes(int(i)) for i in encoding.ids[1:-1]) == "👍🏽".encode()


def test_sentencepiece_byte_fallback_and_the_whitespace_marker() -> None:
    tokenizer = require("mistral:v1")
    text = "Hi 𝔘 there"  # 𝔘 is not in the 32k vocabulary: four <0xNN> pieces
    encoding = tokenizer.encode(text)
    assert encoding.byte_exact
    kinds = encoding.kind_names()
    assert kinds.count("byte_fallback") == 4
    fallback = [i for i, k in enumerate(kinds) if k == "byte_fallback"]
    assert [(int(encoding.starts[i]), int(encoding.ends[i])) for i in fallback] == [(3, 4)] * 4
    # "▁Hi" covers "Hi" (the ▁ is the dummy prefix, not text); "▁there" covers " there".
    assert (int(encoding.starts[0]), int(encoding.ends[0])) == (0, 2)
    assert text[int(encoding.starts[-1]) : int(encoding.ends[-1])] == " there"


def test_sentencepiece_text_with_leading_spaces_and_a_literal_marker() -> None:
    tokenizer = require("mistral:v1")
    encoding = tokenizer.encode("  x")  # pieces "▁▁" "▁x": the first ▁ is the dummy prefix, so "▁▁" covers one space
    assert encoding.byte_exact
    assert list(zip(encoding.starts.tolist(), encoding.ends.tolist(), strict=True)) == [(0, 1), (1, 3)]
    literal = tokenizer.encode("a▁b")  # SentencePiece reads U+2581 as a space: not byte-exact, library offsets used
    assert not literal.byte_exact
    assert literal.ends.tolist()[-1] == 3


def test_unknown_tokens_cover_the_characters_they_replace() -> None:
    tokenizer = require("tokenizers:bert-base-uncased")
    text = "I ❤ Zürich 🙂!"
    encoding = tokenizer.encode(text)
    unknown = [
        (int(s), int(e))
        for s, e, k in zip(encoding.starts, encoding.ends, encoding.kind_names(), strict=True)
        if k == "unknown"
    ]
    assert [text[s:e] for s, e in unknown] == ["❤", "🙂"]
    assert text[int(encoding.starts[2]) : int(encoding.ends[2])] == "Zürich"  # accents stripped, offsets still exact


def test_wordpiece_skips_whitespace_and_marks_continuations() -> None:
    tokenizer = require("tokenizers:bert-base-uncased")
    text = "  tokenization\n"
    encoding = tokenizer.encode(text)
    assert not encoding.byte_exact
    assert [text[s:e] for s, e in zip(encoding.starts.tolist(), encoding.ends.tolist(), strict=True)] == [
        "token",
        "ization",
    ]
    assert encoding.starts.tolist()[0] == 2


# Mistral's SentencePiece tokenizers encode long texts in one call (not chunk-safe), so they are not listed here.
CHUNKED_IDS = [i for i in BUILTIN_IDS if i not in ("builtin:bytes", "builtin:chars", "mistral:v1", "mistral:v3")]


def test_only_the_mistral_sentencepiece_tokenizers_encode_in_one_call() -> None:
    one_call = {i for i in BUILTIN_IDS if not getattr(require(i), "chunk_safe", False)}
    assert one_call - {"builtin:bytes", "builtin:chars"} == {"mistral:v1", "mistral:v3"}


@pytest.mark.parametrize("threads", [1, 3], ids=["one-thread", "three-threads"])
@pytest.mark.parametrize("spec_id", CHUNKED_IDS)
def test_chunked_encoding_gives_the_same_ids_as_one_call(
    spec_id: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long texts are encoded in pieces for progress (and on the free cores); where that is enabled it must not change
    a single id. Catches a bad cut, and pieces joined out of order when several threads encode them."""
    tokenizer = require(spec_id)
    assert getattr(tokenizer, "chunk_safe", False), f"{spec_id} is expected to encode long texts in pieces"
    text = "\n".join(list(HARD_TEXTS.values()) * 4) + "\nEnd.\n" + "trailing  \nword\n\n\nNext\r\nLine\n" * 30
    whole = tokenizer.encode(text).ids
    monkeypatch.setattr(adapters, "CHUNK_CHARS", 64)
    monkeypatch.setattr(adapters, "spare_cores", lambda: threads - 1)
    if threads > 1:  # also for libraries that hold the GIL (no faster there, but joined in the same order)
        monkeypatch.setattr(tokenizer, "encodes_without_gil", True)
    assert len(split_for_chunks(text, 64)) > 20
    calls: list[float] = []
    chunked = tokenizer.encode(text, progress=calls.append)
    assert np.array_equal(chunked.ids, whole)
    assert len(calls) > 20 and calls == sorted(calls) and calls[-1] == 1.0
    if hasattr(tokenizer, "encoding"):  # tiktoken-based: the roundtrip was verified piece by piece
        assert chunked.roundtrip is True


def test_an_error_in_one_piece_stops_the_pieces_not_yet_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a failed (or timed-out) encode that still encodes every queued piece before the error reaches the job:
    the thread pool's default shutdown waits for all of them."""
    tokenizer = require("tiktoken:cl100k_base")
    text = ("Some words here.\nAnother line 123.\n" * 200)[:6_000]
    monkeypatch.setattr(adapters, "CHUNK_CHARS", 64)
    monkeypatch.setattr(adapters, "spare_cores", lambda: 1)
    pieces = len(split_for_chunks(text, 64))
    calls: list[str] = []
    assert isinstance(tokenizer, adapters.TiktokenTokenizer)
    real = adapters.TiktokenTokenizer._encode_piece

    def failing(self: adapters.TiktokenTokenizer, piece: str, special: bool) -> tuple[Any, Any]:
        calls.append(piece)
        if len(calls) == 2:
            raise RuntimeError("piece failed")
        time.sleep(0.01)
        return real(self, piece, special)

    monkeypatch.setattr(adapters.TiktokenTokenizer, "_encode_piece", failing)
    with pytest.raises(RuntimeError, match="piece failed"):
        tokenizer.encode(text)
    assert pieces > 50 and len(calls) < pieces // 2


def test_split_points_only_fall_after_a_newline_before_a_letter() -> None:
    text = ("word " * 30 + "\n") * 50 + "  \nx" + "y" * 500
    pieces = split_for_chunks(text, 100)
    assert "".join(piece for _, piece in pieces) == text
    for offset, piece in pieces[1:]:
        assert (
            text[offset - 1] == "\n"
            and text[offset].isascii()
            and text[offset].isalpha()
            and not text[offset - 2].isspace()
        )
        assert pieces[[o for o, _ in pieces].index(offset)][1] == piece


def test_empty_text_gives_an_empty_encoding() -> None:
    for spec_id in ("tiktoken:cl100k_base", "mistral:v1", "tokenizers:bert-base-uncased", "builtin:chars"):
        encoding = require(spec_id).encode("")
        assert len(encoding) == 0 and encoding.starts.size == 0


def test_text_index_is_shared_between_tokenizers() -> None:
    text = HARD_TEXTS["emoji"] * 3
    index = TextIndex(text)
    first = load_tokenizer("builtin:bytes").encode(text, index)
    second = require("tiktoken:o200k_base").encode(text, index)
    assert first.index is second.index is index
