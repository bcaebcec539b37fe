"""Words of a text for fertility: Unicode word segmentation (UAX #29) with dictionaries for scripts without spaces.

The segmenter is ICU's word break iterator (``icu4py``, which bundles ICU): the rules of Unicode Standard Annex #29,
plus ICU's dictionary-based break engines for Chinese and Japanese (one CJ dictionary), Thai, Lao, Khmer and Burmese,
where UAX #29 alone would make every ideograph or every Thai letter a word. A word is a segment that holds a letter or
a digit (``str.isalnum``): punctuation, spaces, symbols and emoji segments are not words.

Calling ICU for every segment of a 10 MB text costs seconds of Python, so it is called only where its answer is not
known in advance. The text is cut at whitespace and at ASCII punctuation that UAX #29 always breaks around (``-``,
``(``, ``/``...); a piece made of letters and digits of the alphabetic word classes (ALetter, Numeric), with at most
``.``, ``:``, ``'``, ``,``, ``;`` or ``"`` around them but not between, is exactly one word (rules WB5, WB8-WB10; the
mid-word rules WB6/7 and WB11/12 need letters or digits on both sides), and a piece without any letter or digit holds
no word. Every other piece goes to ICU, once per distinct piece (real text repeats its words), in one ICU call.
Texts up to ``DIRECT_MAX_CHARS`` go to ICU whole. Tests check both paths against ICU on the whole text.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from itertools import accumulate

import numpy as np
import numpy.typing as npt
import regex
from icu4py import _version as icu_version
from icu4py.breakers import WordBreaker

I64 = npt.NDArray[np.int64]

SEPARATOR, SIMPLE, EDGE, HARD, NO_WORD = 0, 1, 2, 3, 4  # NO_WORD: a HARD character that is no letter or digit
DIRECT_MAX_CHARS = 4096  # shorter texts go to ICU whole
_EDGE_PUNCTUATION = ".:',;\""  # Mid* and quote classes: they join letters/digits only when between them
# ASCII characters of Word_Break=Other: a break on both sides whatever surrounds them (WB999), so a cut there
# changes no word. ("_" is ExtendNumLet and joins words: it is not here.)
_BREAKING_ASCII = "!#$%&()*+-/<=>?@[\\]^`{|}~"  # each checked against Word_Break=Other in the tests
_ALWAYS_BREAKS = regex.compile(
    r"[\p{Word_Break=Other}\p{Word_Break=CR}\p{Word_Break=LF}\p{Word_Break=Newline}\p{Word_Break=WSegSpace}]"
)
_LETTERS_AND_DIGITS = regex.compile(r"[\p{L}\p{N}]+")  # str.isalnum()
_SIMPLE_CLASSES = regex.compile(r"[\p{Word_Break=ALetter}\p{Word_Break=Numeric}]+")

SEGMENTER = (
    f"Unicode word segmentation (UAX #29) by ICU {icu_version.icu_version} "
    "with its dictionaries for Chinese, Japanese, Thai, Lao, Khmer and Burmese; a word holds a letter or digit"
)
_TABLE_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _class_table() -> npt.NDArray[np.uint8]:
    """Class of every code point: SEPARATOR, SIMPLE (ALetter/Numeric), EDGE, HARD (another letter or digit) or
    NO_WORD (anything else: a piece made of these holds no word). Built once per process."""
    with _TABLE_LOCK:
        table = np.full(0x110000, NO_WORD, dtype=np.uint8)
        everything = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x110000)))
        for match in _LETTERS_AND_DIGITS.finditer(everything, concurrent=True):  # lets other threads run
            table[ord(match.group()[0]) : ord(match.group()[-1]) + 1] = HARD
        for match in _SIMPLE_CLASSES.finditer(everything, concurrent=True):
            first, last = ord(match.group()[0]), ord(match.group()[-1])
            table[first : last + 1] = SIMPLE
        for char in _EDGE_PUNCTUATION:
            table[ord(char)] = EDGE
        for char in _BREAKING_ASCII:
            table[ord(char)] = SEPARATOR
        # Whitespace that UAX #29 always breaks around (not U+202F, which is ExtendNumLet and joins words).
        spaces = [c for c in range(0x3001) if chr(c).isspace() and _ALWAYS_BREAKS.fullmatch(chr(c))]
        table[spaces] = SEPARATOR
        return table


def _icu_words(piece: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the words ICU finds in ``piece``."""
    return _icu_words_of_pieces([piece])[0]


def _icu_words_of_pieces(pieces: list[str]) -> list[list[tuple[int, int]]]:
    """Words of each piece, from one ICU call over the pieces joined by newlines (creating a break iterator costs
    about 0.1 ms; UAX #29 always breaks around a newline, WB3a/b, so the pieces do not affect each other)."""
    found: list[list[tuple[int, int]]] = [[] for _ in pieces]
    piece_ends = list(accumulate(len(piece) + 1 for piece in pieces))  # offset just past each piece's newline
    number = 0
    at = 0
    for segment in WordBreaker("\n".join(pieces), "root"):
        end = at + len(segment)
        while at >= piece_ends[number]:
            number += 1
        if any(map(str.isalnum, segment)):  # C-level loop: this runs once per segment of the text
            base = piece_ends[number] - len(pieces[number]) - 1
            found[number].append((at - base, end - base))
        at = end
    return found


def _hard_words(text: str, begins: I64, stops: I64) -> tuple[I64, I64]:
    """Words of the pieces ``text[begin:stop]`` by ICU, once per distinct piece, spread back with numpy."""
    # map() keeps the per-piece loops in C: a 10 MB text can have 100,000 such pieces.
    pieces = list(map(text.__getitem__, map(slice, begins.tolist(), stops.tolist())))
    distinct = {piece: number for number, piece in enumerate(dict.fromkeys(pieces))}
    piece_ids = np.fromiter(map(distinct.__getitem__, pieces), dtype=np.int64, count=len(pieces))
    found = _icu_words_of_pieces(list(distinct))
    counts = np.fromiter((len(words) for words in found), dtype=np.int64, count=len(found))
    flat = np.asarray([span for words in found for span in words], dtype=np.int64).reshape(-1, 2)
    first = np.cumsum(counts) - counts
    per_piece = counts[piece_ids]
    total = int(per_piece.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(per_piece) - per_piece, per_piece)
    gather = np.repeat(first[piece_ids], per_piece) + within
    shift = np.repeat(begins, per_piece)
    return flat[gather, 0] + shift, flat[gather, 1] + shift


def warm_up() -> None:
    """Build the class table now (half a second), so that the first request does not pay for it."""
    _class_table()


def word_char_spans(text: str) -> tuple[I64, I64]:
    """(starts, ends) character offsets of the words of ``text``, in order, ends exclusive."""
    if not text:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if len(text) <= DIRECT_MAX_CHARS:  # one ICU pass costs less than the numpy set-up below
        spans = np.asarray(_icu_words(text), dtype=np.int64).reshape(-1, 2)
        return spans[:, 0].copy(), spans[:, 1].copy()
    classes = _class_table()[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]
    solid = classes != SEPARATOR
    edges = np.diff(solid.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    piece_starts = np.flatnonzero(edges == 1)
    piece_ends = np.flatnonzero(edges == -1)
    simple = classes == SIMPLE
    simple_edges = np.diff(simple.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    run_starts = np.flatnonzero(simple_edges == 1)
    run_ends = np.flatnonzero(simple_edges == -1)
    # Number of the piece each character belongs to (a running count of piece starts; cheaper than searchsorted).
    piece_number = np.zeros(classes.size, dtype=np.int32)
    piece_number[piece_starts] = 1
    np.cumsum(piece_number, out=piece_number)
    piece_number -= 1
    piece_of_run = piece_number[run_starts]
    runs_per_piece = np.bincount(piece_of_run, minlength=piece_starts.size)
    hard_positions = np.flatnonzero(classes >= HARD)
    piece_of_hard = piece_number[hard_positions]
    hard_per_piece = np.bincount(piece_of_hard, minlength=piece_starts.size)
    letters_per_piece = runs_per_piece + np.bincount(
        piece_of_hard[classes[hard_positions] == HARD], minlength=piece_starts.size
    )
    # Known without ICU: one simple run and nothing hard (one word), or no letter or digit at all (no word).
    easy_piece = ((hard_per_piece == 0) & (runs_per_piece <= 1)) | (letters_per_piece == 0)
    keep = easy_piece[piece_of_run]
    starts = [run_starts[keep]]
    ends = [run_ends[keep]]
    hard = np.flatnonzero(~easy_piece)
    if hard.size:
        begins = piece_starts[hard]
        hard_starts, hard_ends = _hard_words(text, begins, piece_ends[hard])
        starts.append(hard_starts)
        ends.append(hard_ends)
    all_starts = np.concatenate(starts).astype(np.int64, copy=False)
    all_ends = np.concatenate(ends).astype(np.int64, copy=False)
    order = np.argsort(all_starts, kind="stable")
    return all_starts[order], all_ends[order]
