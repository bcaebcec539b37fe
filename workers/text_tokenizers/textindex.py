"""Per-text lookup arrays shared by every tokenizer run on the same text.

Everything is computed in UTF-8 *byte* space, where byte-level tokenizers give their spans for free, with numpy
passes over the bytes; character offsets are derived only where they are shown (the listed tokens, boundary
ranges). Built once per input, not per tokenizer.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

from workers.models.device import available_cores
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.words import SEGMENTER, word_char_spans

T = TypeVar("T")
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# Python's str.isspace(): ASCII 0x09-0x0D, 0x1C-0x20, and UTF-8 sequences of 2-3 bytes starting with these bytes.
_SPACE_LEADS = np.zeros(256, dtype=np.bool_)
_SPACE_LEADS[[0xC2, 0xE1, 0xE2, 0xE3]] = True
# str.splitlines() boundaries: \n \v \f \r \x1c \x1d \x1e, U+0085, U+2028, U+2029 (\r\n counts once).
_LINE_BREAKS = (
    b"\n",
    b"\x0b",
    b"\x0c",
    b"\r",
    b"\x1c",
    b"\x1d",
    b"\x1e",
    b"\xc2\x85",
    b"\xe2\x80\xa8",
    b"\xe2\x80\xa9",
)
_LINE_BREAK_CHARS = frozenset(b.decode() for b in _LINE_BREAKS)


RUNNABLE_SAMPLES, RUNNABLE_SAMPLE_GAP_S = 5, 0.002  # only asked before work of hundreds of milliseconds


def spare_cores() -> int:
    """How many cores other processes leave free besides the calling thread's, i.e. how many helper threads would each
    get a core of their own. On a machine whose cores are all busy, helper threads only compete with the encode: at
    load average 5 on 2 cores the text index's warm-up thread cost 15% more CPU and 15% more wall time on 10 MB than
    warming in line (docs/benchmarks.md).

    Threads running now are counted rather than the 1-minute load average, which still remembers a burst that has
    ended (such as the request that queued this job); the fewest of a few readings over ``RUNNABLE_SAMPLES *
    RUNNABLE_SAMPLE_GAP_S``, since one reading often catches a process that is about to sleep (the web process
    finishing that request, the worker's parent handing the job over). This process's own threads are not counted:
    the text index's warm-up thread, started just before the encode, made every 10 MB job here encode on one thread.
    """
    cores = available_cores()
    readings = []
    for sample in range(RUNNABLE_SAMPLES):
        if sample:
            time.sleep(RUNNABLE_SAMPLE_GAP_S)
        readings.append(running_elsewhere())
    known = [reading for reading in readings if reading is not None]
    others = min(known) if known else os.getloadavg()[0]
    return max(0, math.floor(cores - 1 - others))


def running_elsewhere() -> int | None:
    """Threads of other processes running or ready to run at this instant (Linux only, else None)."""
    total, own = running_threads(), running_threads_of_this_process()
    return None if total is None or own is None else max(0, total - own)


def running_threads() -> int | None:
    """Threads running or ready to run on the machine at this instant, the caller included (/proc/loadavg)."""
    try:
        with open("/proc/loadavg") as loadavg:
            return int(loadavg.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def running_threads_of_this_process() -> int | None:
    """This process's threads running or ready to run (state R in /proc/self/task/*/stat), the caller included."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    running = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat") as stat:
                running += stat.read().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):  # the thread ended meanwhile
            continue
    return running


def spare_core() -> bool:
    """Whether a helper thread would get a core of its own."""
    return spare_cores() >= 1


class _lazy(Generic[T]):  # noqa: N801 - used like functools.cached_property
    """Computed-once attribute that first waits for the background warm-up (see TextIndex.warm_in_background).

    Not functools.cached_property: on Python 3.11 that holds a lock while computing, and a property computed in the
    main thread while the warm-up thread waits for the same lock would deadlock with our join.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _lazy[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | _lazy[T]:
        if obj is None:
            return self
        obj._join()  # type: ignore[attr-defined]
        if self.name in obj.__dict__:  # the warm-up computed it while we waited
            return obj.__dict__[self.name]
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value


def check_text(text: str) -> bytes:
    """UTF-8 bytes of ``text``; unpaired surrogates (not valid Unicode) are refused with a clear message."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TokenizerError(
            f"The text contains an unpaired UTF-16 surrogate (U+{ord(text[exc.start]):04X} at character {exc.start}), "
            "which is not valid Unicode. Re-save the text as UTF-8 and try again."
        ) from exc


class TextIndex:
    """Byte/character maps, words and lines of one text.

    Words come from Unicode word segmentation (UAX #29, with dictionaries for Chinese, Japanese, Thai, Lao, Khmer and
    Burmese; see ``words.py``): "東京は日本の首都です" is five words, "can't" one, and "dog." is the word "dog".
    """

    BACKGROUND_MIN_BYTES = 1 << 18

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = check_text(text)
        self.n_chars = len(text)
        self.n_bytes = len(self.data)
        self.is_ascii = self.n_chars == self.n_bytes
        self.byte_array = np.frombuffer(self.data, dtype=np.uint8)
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------------ background preparation

    def warm(self) -> None:
        """Compute the text-level arrays the statistics need (numpy and hashlib release the GIL on large arrays)."""
        for name in ("word_spans", "words_starting_before", "words_ending_by", "sha256", "n_lines"):
            getattr(self, name)

    def warm_in_background(self) -> None:
        """Run ``warm`` in a thread so it overlaps the first encode (tokenizer libraries release the GIL) when a core
        is free for it; any later access from another thread waits for it. Small texts are not worth a thread."""
        if self.n_bytes >= self.BACKGROUND_MIN_BYTES and self._worker is None and spare_core():
            self._worker = threading.Thread(target=self.warm, name="textindex-warm", daemon=True)
            self._worker.start()

    def _join(self) -> None:
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()
            self._worker = None

    # ------------------------------------------------------------------ bytes <-> characters

    def is_continuation(self, positions: I64) -> Bools:
        """True where a byte offset (0..n_bytes) falls inside a character rather than between two."""
        if self.is_ascii:
            return np.zeros(positions.shape, dtype=np.bool_)
        return (self._padded_bytes[positions] & 0xC0) == 0x80

    @_lazy
    def _padded_bytes(self) -> npt.NDArray[np.uint8]:
        """The bytes plus a 0 at offset n_bytes, so the end offset can be looked up like any other."""
        return np.frombuffer(self.data + b"\0", dtype=np.uint8)

    def splits_word(self, positions: I64) -> Bools:
        """True where a byte offset lies strictly inside a word (a word starts before it and ends after it)."""
        inside: Bools = self.words_starting_before[positions] > self.words_ending_by[positions]
        return inside

    def chars_before(self, positions: I64) -> I64:
        """Number of characters that start before each byte offset: the character offset of a boundary, and for an
        offset inside a character the offset just after that character. Counts only over the bytes needed, in a
        transient int32 array (inputs are far below 2 GiB)."""
        if self.is_ascii or positions.size == 0:
            return positions.astype(np.int64, copy=True)
        upto = int(positions.max())
        prefix = np.zeros(upto + 1, dtype=np.int32)
        np.cumsum((self.byte_array[:upto] & 0xC0) != 0x80, dtype=np.int32, out=prefix[1:])
        return prefix[positions].astype(np.int64)

    def snap_down(self, positions: I64) -> I64:
        """Each byte offset moved back to the start of the character it falls in (UTF-8: at most 3 steps)."""
        for _ in range(3):
            inside = self.is_continuation(positions)
            if not inside.any():
                break
            positions = positions - inside
        return positions

    def snap_up(self, positions: I64) -> I64:
        """Each byte offset moved forward to the end of the character it falls in."""
        for _ in range(3):
            inside = self.is_continuation(positions)
            if not inside.any():
                break
            positions = positions + inside
        return positions

    def char_spans(self, starts: I64, ends: I64) -> tuple[I64, I64]:
        """Character spans of byte spans; a span that cuts a character covers every character it touches."""
        if self.is_ascii:
            return starts.astype(np.int64, copy=True), ends.astype(np.int64, copy=True)
        both = self.chars_before(np.concatenate([np.minimum(starts + 1, self.n_bytes), ends]))
        first = both[: starts.size] - (starts < self.n_bytes)
        last = both[starts.size :]
        return first, np.where(ends > starts, last, first)

    @_lazy
    def byte_of_char(self) -> I64:
        """Byte offset of each character start, plus ``n_bytes`` at the end (for library char offsets)."""
        if self.is_ascii:
            return np.arange(self.n_chars + 1, dtype=np.int64)
        out = np.empty(self.n_chars + 1, dtype=np.int64)
        out[:-1] = np.flatnonzero((self.byte_array & 0xC0) != 0x80)
        out[-1] = self.n_bytes
        return out

    # ------------------------------------------------------------------ words and lines

    @_lazy
    def space_mask(self) -> Bools:
        """True for every byte of a whitespace character (``str.isspace``)."""
        data = self.byte_array
        mask = data <= 0x20  # every ASCII whitespace byte is <= 0x20; a few control bytes below it are not spaces
        controls = (data < 0x09) | ((data - np.uint8(0x0E)) <= np.uint8(0x1B - 0x0E))
        if controls.any():
            mask &= ~controls
        if self.is_ascii:
            return mask
        lead = np.flatnonzero(_SPACE_LEADS[data])
        if lead.size == 0:
            return mask
        padded = np.concatenate([data, np.zeros(2, dtype=np.uint8)])
        first, second, third = padded[lead], padded[lead + 1], padded[lead + 2]
        two = (first == 0xC2) & ((second == 0x85) | (second == 0xA0))
        e2_80 = (first == 0xE2) & (second == 0x80)
        three = (
            ((first == 0xE1) & (second == 0x9A) & (third == 0x80))
            | (e2_80 & (((third >= 0x80) & (third <= 0x8A)) | (third == 0xA8) | (third == 0xA9) | (third == 0xAF)))
            | ((first == 0xE2) & (second == 0x81) & (third == 0x9F))
            | ((first == 0xE3) & (second == 0x80) & (third == 0x80))
        )
        for length, hits in ((2, lead[two]), (3, lead[three])):
            for k in range(length):
                mask[hits + k] = True
        return mask

    word_segmentation = SEGMENTER

    @_lazy
    def word_spans(self) -> tuple[I64, I64]:
        """(starts, ends) *byte* offsets of the words, ends exclusive."""
        starts, ends = word_char_spans(self.text)
        if self.is_ascii:
            return starts, ends
        byte_of_char = self.byte_of_char
        return byte_of_char[starts], byte_of_char[ends]

    @property
    def n_words(self) -> int:
        return int(self.word_spans[0].size)

    @_lazy
    def words_starting_before(self) -> npt.NDArray[np.int32]:
        """``[p]`` = number of words whose start byte is < p, for p in 0..n_bytes."""
        marks = np.zeros(self.n_bytes + 1, dtype=np.int32)
        marks[self.word_spans[0] + 1] = 1
        return np.cumsum(marks, dtype=np.int32, out=marks)

    @_lazy
    def words_ending_by(self) -> npt.NDArray[np.int32]:
        """``[p]`` = number of words whose (exclusive) end byte is <= p, for p in 0..n_bytes."""
        marks = np.zeros(self.n_bytes + 1, dtype=np.int32)
        marks[self.word_spans[1]] = 1
        return np.cumsum(marks, dtype=np.int32, out=marks)

    @_lazy
    def n_lines(self) -> int:
        """``len(text.splitlines())``, counted on the bytes."""
        if not self.text:
            return 0
        data = self.data
        # In valid UTF-8 these byte sequences only ever encode the break characters themselves, so counting bytes
        # is exact (and far cheaper than a per-byte whitespace mask). ``in`` on one byte is a fast memchr, so a
        # sequence whose last byte is absent is not counted at all.
        breaks = sum(data.count(b) for b in _LINE_BREAKS if b[-1:] in data)
        if b"\r" in data:
            breaks -= data.count(b"\r\n")
        return breaks + (self.text[-1] not in _LINE_BREAK_CHARS)

    @_lazy
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()
