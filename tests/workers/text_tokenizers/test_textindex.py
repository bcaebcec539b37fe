"""The per-text arrays agree with independent definitions (ICU's word segments, str.splitlines, str.isspace)."""

from __future__ import annotations

import hashlib
import os
import sys
import threading

import numpy as np
import pytest

from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from workers.text_tokenizers import TextIndex, TokenizerError, textindex, words

ALL_SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
# Characters that share a lead byte with multi-byte spaces but are not spaces (©, ’, 、, ᚁ, \u2060).
LOOKALIKES = "\u00a9\u2019\u3001\u1681\u2060\u200b\u00c2\u0085x"


def icu_words(text: str) -> list[str]:
    """ICU's word segments of the whole text that hold a letter or digit (the definition, computed the slow way)."""
    from icu4py.breakers import WordBreaker

    return [segment for segment in WordBreaker(text, "root") if any(c.isalnum() for c in segment)] if text else []


def words_as_chars(index: TextIndex) -> list[str]:
    starts, ends = index.word_spans
    return [index.data[s:e].decode("utf-8") for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]


@pytest.mark.parametrize("name", [*HARD_TEXTS, "all"])
@pytest.mark.parametrize("path", ["pieces", "direct"])
def test_words_are_icus_word_segments_of_the_whole_text(name: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches the fast path (pieces known to be one word, ICU once per distinct piece) drifting from ICU itself."""
    monkeypatch.setattr(words, "DIRECT_MAX_CHARS", 0 if path == "pieces" else 10**9)
    text = "\n".join(HARD_TEXTS.values()) * 3 if name == "all" else HARD_TEXTS[name]
    index = TextIndex(text)
    assert words_as_chars(index) == icu_words(text)
    assert index.n_words == len(icu_words(text))


@pytest.mark.parametrize("name", list(HARD_TEXTS))
def test_lines_are_exactly_str_splitlines(name: str) -> None:
    text = HARD_TEXTS[name]
    assert TextIndex(text).n_lines == len(text.splitlines())


def test_every_unicode_space_and_its_lookalikes() -> None:
    text = "a".join(ALL_SPACES) + "b" + LOOKALIKES + "\r\n\r\n" + "a\u2028b\u2029c\u0085d\x1c"
    index = TextIndex(text)
    assert words_as_chars(index) == icu_words(text)
    assert index.n_lines == len(text.splitlines())
    per_char = [c.isspace() for c in text for _ in c.encode("utf-8")]
    assert index.space_mask.tolist() == per_char


def test_character_spans_of_byte_spans() -> None:
    text = "aé🙂b"  # bytes: a | c3 a9 | f0 9f 99 82 | b
    index = TextIndex(text)
    starts = np.array([0, 1, 2, 3, 4, 6, 7, 8], dtype=np.int64)
    ends = np.array([1, 2, 3, 4, 6, 7, 8, 8], dtype=np.int64)
    char_starts, char_ends = index.char_spans(starts, ends)
    assert char_starts.tolist() == [0, 1, 1, 2, 2, 2, 3, 4]
    assert char_ends.tolist() == [1, 2, 2, 3, 3, 3, 4, 4]
    assert index.byte_of_char.tolist() == [0, 1, 3, 7, 8]
    assert index.is_continuation(np.arange(9)).tolist() == [False, False, True, False, True, True, True, False, False]


def test_chars_before_and_snapping_match_a_naive_walk() -> None:
    text = HARD_TEXTS["emoji"] + HARD_TEXTS["indic_thai"]
    index = TextIndex(text)
    data = text.encode()
    starts = [i for i in range(len(data) + 1) if i == len(data) or (data[i] & 0xC0) != 0x80]
    positions = np.arange(len(data) + 1, dtype=np.int64)
    expected = [sum(1 for s in starts if s < p) for p in range(len(data) + 1)]
    assert index.chars_before(positions).tolist() == expected
    assert index.snap_down(positions).tolist() == [max(s for s in starts if s <= p) for p in range(len(data) + 1)]
    assert index.snap_up(positions).tolist() == [min(s for s in starts if s >= p) for p in range(len(data) + 1)]


def test_background_warm_up_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches arrays computed differently (or raced) by the warm-up thread than in line."""
    monkeypatch.setattr(textindex, "available_cores", lambda: 2)
    monkeypatch.setattr(textindex, "running_elsewhere", lambda: 0)  # a core is free: the thread starts
    text = (HARD_TEXTS["whitespace"] + HARD_TEXTS["cjk"]) * 5000
    warmed = TextIndex(text)
    warmed.warm_in_background()
    assert warmed._worker is not None
    plain = TextIndex(text)
    assert warmed.n_words == plain.n_words == len(icu_words(text))
    assert warmed.n_lines == plain.n_lines and warmed.sha256 == plain.sha256


def test_unpaired_surrogates_are_refused_with_a_clear_message() -> None:
    with pytest.raises(TokenizerError, match="unpaired UTF-16 surrogate"):
        TextIndex("ok \ud800 bad")


def test_the_warm_up_thread_is_used_only_when_a_core_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a helper thread started on a machine whose cores are all busy, where it slows the encode down, and
    a count that forgets the calling thread itself."""
    monkeypatch.setattr(textindex, "available_cores", lambda: 2)
    monkeypatch.setattr(textindex, "running_elsewhere", lambda: 0)  # no other process runs
    assert textindex.spare_core() and textindex.spare_cores() == 1
    monkeypatch.setattr(textindex, "running_elsewhere", lambda: 1)
    assert not textindex.spare_core()
    monkeypatch.setattr(textindex, "running_elsewhere", lambda: None)  # no /proc: the 1-minute load average
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.0, 0.0))
    assert not textindex.spare_core()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert textindex.spare_core()
    big = TextIndex("word " * (TextIndex.BACKGROUND_MIN_BYTES // 5 + 1))
    monkeypatch.setattr(textindex, "running_elsewhere", lambda: 1)  # every core busy: warmed in line later
    big.warm_in_background()
    assert big._worker is None


def test_a_process_caught_running_in_one_reading_does_not_take_the_spare_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a single reading deciding: the web process still finishing the request that queued the job made every
    10 MB job here encode on one thread."""
    monkeypatch.setattr(textindex, "available_cores", lambda: 2)
    readings = iter([2, 0, 1, 2, 2])
    monkeypatch.setattr(textindex, "running_elsewhere", lambda: next(readings))
    assert textindex.spare_cores() == 1


def test_running_threads_are_read_from_proc_and_this_process_s_own_are_told_apart() -> None:
    """Catches a parse of /proc that always fails (every long text then encoded on one thread), and this process's
    own busy threads counted as other load (the index's warm-up thread kept every 10 MB job on one thread)."""
    assert (textindex.running_threads() or 0) >= 1  # the reading thread itself runs
    assert (textindex.running_threads_of_this_process() or 0) >= 1  # the caller
    started, stop = threading.Event(), threading.Event()

    def busy() -> None:  # hashing a large buffer releases the GIL: a thread on a core of its own, as an encode is
        data = b"x" * (64 << 20)
        started.set()
        while not stop.is_set():
            hashlib.sha256(data)

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    try:
        assert started.wait(10)
        seen = [textindex.running_threads_of_this_process() or 0 for _ in range(50)]
        assert max(seen) >= 2
        assert textindex.running_elsewhere() is not None
    finally:
        stop.set()
        worker.join()
