"""The uniform result of encoding a text: parallel numpy arrays of ids, byte spans, kinds (character spans on demand)."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from workers.text_tokenizers.textindex import I64, TextIndex

KIND_NORMAL: Final = 0
KIND_SPECIAL: Final = 1
KIND_UNKNOWN: Final = 2
KIND_BYTE_FALLBACK: Final = 3
KIND_PARTIAL: Final = 4
KIND_NAMES: Final = ("normal", "special", "unknown", "byte_fallback", "partial")

Kinds = npt.NDArray[np.int8]
Ids = npt.NDArray[np.integer[Any]]  # int64, or uint32 straight from tiktoken (no copy)


class Encoding:
    """Token ids of one text with their spans and kinds.

    ``byte_starts``/``byte_ends`` are UTF-8 byte offsets into the text; ``starts``/``ends`` are character (code point)
    offsets, derived on first use. ``byte_exact`` says the tokens' own bytes concatenate to the text's bytes (after a
    SentencePiece dummy-prefix space), so spans come from those bytes; otherwise they are the library's offsets
    (normalising tokenizers such as WordPiece) and tokens may skip text (whitespace) or overlap.
    """

    def __init__(
        self,
        index: TextIndex,
        ids: Ids,
        kinds: Kinds,
        byte_lengths: npt.NDArray[np.int32],
        *,
        byte_spans: tuple[I64, I64] | None = None,
        char_spans: tuple[I64, I64] | None = None,
        byte_exact: bool,
        encode_seconds: float,
    ) -> None:
        if byte_spans is None and char_spans is None:
            raise ValueError("an Encoding needs byte or character spans")
        self.index = index
        self.ids = ids
        self.kinds = kinds
        self.byte_lengths = byte_lengths
        self.byte_exact = byte_exact
        self.encode_seconds = encode_seconds
        self.roundtrip: bool | None = None  # set when the adapter verified decode(ids) == text while encoding
        self._byte_spans = byte_spans
        self._char_spans = char_spans

    def __len__(self) -> int:
        return int(self.ids.size)

    @property
    def byte_spans(self) -> tuple[I64, I64]:
        if self._byte_spans is None:
            assert self._char_spans is not None
            byte_of_char = self.index.byte_of_char
            self._byte_spans = (byte_of_char[self._char_spans[0]], byte_of_char[self._char_spans[1]])
        return self._byte_spans

    @property
    def char_spans(self) -> tuple[I64, I64]:
        if self._char_spans is None:
            assert self._byte_spans is not None
            self._char_spans = self.index.char_spans(*self._byte_spans)
        return self._char_spans

    @property
    def starts(self) -> I64:
        return self.char_spans[0]

    @property
    def ends(self) -> I64:
        return self.char_spans[1]

    def head_char_spans(self, limit: int) -> tuple[I64, I64]:
        """Character spans of the first ``limit`` tokens only (cheap on huge texts: maps just the bytes they cover)."""
        if self._char_spans is not None:
            return self._char_spans[0][:limit], self._char_spans[1][:limit]
        assert self._byte_spans is not None
        return self.index.char_spans(self._byte_spans[0][:limit], self._byte_spans[1][:limit])

    def kind_names(self) -> list[str]:
        return [KIND_NAMES[k] for k in self.kinds.tolist()]


def byte_spans_from_lengths(lens: npt.NDArray[np.int32], prefix: int = 0) -> tuple[I64, I64]:
    """Byte spans of consecutive tokens of lengths ``lens``; the first ``prefix`` bytes of the token stream are not in
    the text (SentencePiece's dummy ``▁``) and are clipped away."""
    ends = np.cumsum(lens, dtype=np.int64)
    starts = ends - lens
    if prefix:
        np.maximum(ends - prefix, 0, out=ends)
        np.maximum(starts - prefix, 0, out=starts)
    return starts, ends


def partial_mask(index: TextIndex, starts: I64, ends: I64) -> npt.NDArray[np.bool_] | None:
    """Tokens whose byte span starts or ends inside a character (None when there are none, the common case)."""
    if index.is_ascii:
        return None
    at_end = index.is_continuation(ends)
    if starts.size > 1 and np.array_equal(starts[1:], ends[:-1]):  # contiguous: a start is the previous end
        mask = at_end.copy()
        mask[1:] |= at_end[:-1]
        mask[0] |= bool(index.is_continuation(starts[:1])[0])
    else:
        mask = index.is_continuation(starts) | at_end
    return mask if mask.any() else None
