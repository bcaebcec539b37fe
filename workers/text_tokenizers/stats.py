"""Per-tokenizer statistics, normalised so different tokenizers can be compared on the same text.

Definitions (shared reference/tokenization.md, feature catalogue A3-A9):

* ``chars_per_token`` = n_chars / n_tokens, ``bytes_per_token`` = n_utf8_bytes / n_tokens (compression).
* ``fertility`` = n_tokens / n_words, words being Unicode word segments (UAX #29 with dictionaries for Chinese,
  Japanese, Thai, Lao, Khmer and Burmese; see words.py) that hold a letter or digit.
* ``continued_word_ratio`` = share of words touched by two or more tokens ("proportion of continued words"). A token
  touches a word when their character spans overlap, so " world" (with its space) counts for "world".
* ``roundtrip``: ``decode(encode(text)) == text`` exactly.
* ``number_chunks``: how runs of ASCII digits are grouped into tokens, read off the actual tokens.
* ``relative_cost`` = n_tokens / n_tokens(baseline tokenizer) (> 1 means more tokens than the baseline).
* ``distinct_tokens``: number of different ids used (types).
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Any

import numpy as np

from workers.text_tokenizers.adapters import TextTokenizer
from workers.text_tokenizers.encoding import KIND_BYTE_FALLBACK, KIND_SPECIAL, KIND_UNKNOWN, Encoding
from workers.text_tokenizers.textindex import I64, TextIndex

_DIGIT_RUN = re.compile(rb"[0-9]{2,}")
MAX_DIGIT_RUNS = 100  # the first runs are enough to classify the grouping; keeps the work bounded
MAX_EXAMPLES = 3
MAX_EXAMPLE_DIGITS = 24


def _ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def tokens_per_word(index: TextIndex, starts: I64, ends: I64) -> np.ndarray:
    """Number of tokens whose byte span overlaps each word (general: spans may skip text or overlap)."""
    n_words = index.n_words
    if n_words == 0 or starts.size == 0:
        return np.zeros(n_words, dtype=np.int64)
    first = index.words_ending_by[starts]  # words entirely before the token
    last = index.words_starting_before[ends].astype(np.int64) - 1  # last word starting before the token ends
    valid = (ends > starts) & (last >= first)
    diff = np.bincount(first[valid], minlength=n_words + 1) - np.bincount(last[valid] + 1, minlength=n_words + 1)
    return np.cumsum(diff[:n_words])


def continued_words(index: TextIndex, starts: I64, ends: I64, *, contiguous: bool) -> int:
    """Number of words overlapped by two or more tokens.

    ``contiguous`` (byte-exact encodings: spans tile the text): a word is split exactly when some token starts
    strictly inside it, i.e. between two non-space bytes, so only token starts are looked at (no per-byte arrays).
    """
    if index.n_words == 0 or starts.size == 0:
        return 0
    if not contiguous:
        return int(np.count_nonzero(tokens_per_word(index, starts, ends) >= 2))
    inside = starts[index.splits_word(starts)]
    if inside.size == 0:
        return 0
    word = index.words_starting_before[inside]  # word number (+1) of each position; sorted, so count the changes
    return int(np.count_nonzero(word[1:] != word[:-1])) + 1


def digit_groups(starts: I64, ends: I64, run_starts: I64, run_ends: I64) -> list[list[int] | None]:
    """For each digit run, the lengths of the pieces the tokens (sorted byte spans) cut it into; None when the tokens
    overlap there (library offsets that do not tile the run), so the grouping cannot be read off."""
    first = np.searchsorted(ends, run_starts, side="right")
    stop = np.maximum(np.searchsorted(starts, run_ends, side="left"), first)
    counts = stop - first
    run_of = np.repeat(np.arange(run_starts.size), counts)
    token = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(first, counts)
    lo = np.maximum(starts[token], run_starts[run_of])
    hi = np.minimum(ends[token], run_ends[run_of])
    groups: list[list[int] | None] = [[] for _ in range(run_starts.size)]
    previous_end = [-1] * run_starts.size
    for run, low, high in zip(run_of.tolist(), lo.tolist(), hi.tolist(), strict=True):
        pieces = groups[run]
        if pieces is None or high <= low:
            continue
        if previous_end[run] not in (-1, low):
            groups[run] = None
            continue
        pieces.append(high - low)
        previous_end[run] = high
    for run, pieces in enumerate(groups):
        if pieces is not None and sum(pieces) != int(run_ends[run] - run_starts[run]):
            groups[run] = None
    return groups


def _grouping(lengths: list[int]) -> tuple[bool, int, bool, bool]:
    """(all single digits, largest group, consistent with left-to-right k-groups, with right-to-left k-groups)."""
    k = max(lengths)
    l2r = all(n == k for n in lengths[:-1]) and lengths[-1] <= k
    r2l = all(n == k for n in lengths[1:]) and lengths[0] <= k
    return k == 1, k, l2r, r2l


def _split(run: str, lengths: list[int]) -> list[str]:
    out, at = [], 0
    for n in lengths:
        out.append(run[at : at + n])
        at += n
    return out


def number_chunks(data: bytes, starts: I64, ends: I64) -> dict[str, Any]:
    """Classify how digit runs (2+ ASCII digits) are split, from the tokens themselves (byte spans).

    Patterns: "single digits"; "1-k digits, left to right" / "right to left" (every group has k digits except the
    last / first); "whole runs (up to k digits seen)" when no run was split; otherwise "irregular (learned merges,
    up to k digits)". Examples show up to three of the longest runs with their pieces.
    """
    matches = list(islice(_DIGIT_RUN.finditer(data), MAX_DIGIT_RUNS))
    if not matches or starts.size == 0:
        return {"pattern": None, "examples": []}
    run_starts = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    run_ends = np.fromiter((m.end() for m in matches), dtype=np.int64, count=len(matches))
    runs = [
        (m.group().decode("ascii"), g)
        for m, g in zip(matches, digit_groups(starts, ends, run_starts, run_ends), strict=True)
        if g
    ]
    if not runs:
        return {"pattern": None, "examples": []}
    shapes = [_grouping(lengths) for _, lengths in runs]
    k = max(shape[1] for shape in shapes)
    split_runs = [shape for shape, (_, lengths) in zip(shapes, runs, strict=True) if len(lengths) > 1]
    if all(shape[0] for shape in shapes):
        pattern = "single digits"
    elif not split_runs:
        pattern = f"whole runs (up to {k} digits seen)"
    elif all(shape[1] == k and shape[2] for shape in split_runs):
        pattern = f"1-{k} digits, left to right"
    elif all(shape[1] == k and shape[3] for shape in split_runs):
        pattern = f"1-{k} digits, right to left"
    else:
        pattern = f"irregular (learned merges, up to {k} digits)"
    informative = sorted(runs, key=lambda item: (-min(len(item[0]), MAX_EXAMPLE_DIGITS), -len(item[1])))
    examples: list[list[Any]] = []
    for run, lengths in informative:
        example = [run, _split(run, lengths)]
        if len(run) <= MAX_EXAMPLE_DIGITS and example not in examples:
            examples.append(example)
        if len(examples) >= MAX_EXAMPLES:
            break
    return {"pattern": pattern, "examples": examples}


def roundtrip(tokenizer: TextTokenizer, encoding: Encoding, index: TextIndex) -> bool:
    """decode(encode(text)) == text, using the library's byte-level decode where it has one (same result, faster).

    The adapter may already have checked it chunk by chunk while encoding (``encoding.roundtrip``).
    """
    if encoding.roundtrip is not None:
        return encoding.roundtrip
    decode_bytes = getattr(tokenizer, "decode_bytes", None)
    raw = decode_bytes(encoding.ids) if decode_bytes is not None else None
    if raw is not None:
        return bool(raw == index.data)
    try:
        return tokenizer.decode(encoding.ids) == index.text
    except Exception:  # a decoder that cannot decode its own ids does not round-trip
        return False


def token_stats(
    tokenizer: TextTokenizer,
    encoding: Encoding,
    index: TextIndex,
    baseline_tokens: int | None = None,
    *,
    check_roundtrip: bool = True,
) -> dict[str, Any]:
    """The ``stats`` object of one tokenizer's result (docs/api.md)."""
    n_tokens = len(encoding)
    byte_starts, byte_ends = encoding.byte_spans
    continued = continued_words(index, byte_starts, byte_ends, contiguous=encoding.byte_exact)
    kinds = np.bincount(encoding.kinds, minlength=5) if n_tokens else np.zeros(5, dtype=np.int64)
    distinct = int(np.count_nonzero(np.bincount(encoding.ids))) if n_tokens else 0
    return {
        "tokens": n_tokens,
        "chars": index.n_chars,
        "bytes": index.n_bytes,
        "words": index.n_words,
        "chars_per_token": _ratio(index.n_chars, n_tokens),
        "bytes_per_token": _ratio(index.n_bytes, n_tokens),
        "fertility": _ratio(n_tokens, index.n_words),
        "continued_word_ratio": _ratio(continued, index.n_words),
        "unknown": int(kinds[KIND_UNKNOWN]),
        "byte_fallback": int(kinds[KIND_BYTE_FALLBACK]),
        "special": int(kinds[KIND_SPECIAL]),
        "roundtrip": roundtrip(tokenizer, encoding, index) if check_roundtrip else None,
        "number_chunks": number_chunks(index.data, byte_starts, byte_ends),
        "relative_cost": _ratio(n_tokens, baseline_tokens) if baseline_tokens is not None else None,
        "distinct_tokens": distinct,
        "encode_ms": round(encoding.encode_seconds * 1000, 3),
    }
