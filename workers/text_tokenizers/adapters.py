"""One small adapter per tokenizer library, all behind the same ``TextTokenizer`` protocol.

Special-token strings in the input are ordinary text by default (``special=False``): tiktoken is called like
``encode_ordinary``, Hugging Face tokenizers get ``encode_special_tokens = True`` (added tokens that are *not*
special, such as Qwen's ``<tool_call>``, still match, as they do in normal use), SentencePiece never parses control
symbols, and Tekken's specials live outside its BPE. With ``special=True`` the adapters that can (``parses_specials``)
call the library the way chat templates do: tiktoken ``encode(allowed_special="all")``, Hugging Face with special-token
splitting on (``AutoTokenizer``'s default). SentencePiece and mistral-common have no such call (their control symbols
never come from text), so for them both modes are the same. No BOS/EOS is added in either mode.

Offsets are computed from a per-id byte-length table built once per tokenizer (cumsum + byte→char map) whenever
the tokens' bytes concatenate to the text; otherwise (normalising tokenizers) the library's own offsets are used.
"""

from __future__ import annotations

import json
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from workers.text_tokenizers.encoding import (
    KIND_BYTE_FALLBACK,
    KIND_NORMAL,
    KIND_PARTIAL,
    KIND_SPECIAL,
    KIND_UNKNOWN,
    Encoding,
    Ids,
    byte_spans_from_lengths,
    partial_mask,
)
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.spec import TokenizerSpec
from workers.text_tokenizers.textindex import I64, TextIndex, spare_cores

Progress = Callable[[float], None]
IdsLike = Sequence[int] | npt.NDArray[np.integer[Any]]

# Texts longer than this are encoded in pieces (for progress reports) by tokenizers for which that is exact.
CHUNK_CHARS = 1 << 20
# At most this many threads encode one long text's pieces, when that many cores are free. The tokenizer sandbox sets
# 1: its address-space cap counts every thread's stack and malloc arena.
MAX_ENCODE_THREADS = int(os.environ.get("TOKENSCOPE_ENCODE_THREADS", "4"))
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@runtime_checkable
class TextTokenizer(Protocol):
    """What the pipeline needs from any tokenizer."""

    spec: TokenizerSpec

    def encode(
        self, text: str, index: TextIndex | None = None, progress: Progress | None = None, *, special: bool = False
    ) -> Encoding: ...

    def encode_ids(self, text: str, progress: Progress | None = None, *, special: bool = False) -> Ids: ...

    @property
    def parses_specials(self) -> bool:
        """``special=True`` can give other ids than plain text (the library parses special-token strings)."""
        ...

    def decode(self, ids: IdsLike) -> str: ...

    def token_bytes(self, token_id: int) -> bytes: ...

    def token_hex(self, token_id: int) -> str: ...

    @property
    def kinds_table(self) -> npt.NDArray[np.int8]: ...


def split_for_chunks(text: str, size: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """(char offset, piece) pieces of about ``size`` characters, cut only at safe points (``_next_safe_cut``)."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > 2 * size:
        cut = _next_safe_cut(text, start + size)
        if cut is None:
            break
        pieces.append((start, text[start:cut]))
        start = cut
    pieces.append((start, text[start:]))
    return pieces


def _next_safe_cut(text: str, position: int) -> int | None:
    """First offset after ``position`` that lies after a newline which follows a non-space and precedes an ASCII letter.

    Such a cut is a pre-token boundary for every tokenizer marked ``chunk_safe`` (the GPT-2, cl100k and o200k regexes,
    Llama 3, Qwen, DeepSeek, GLM and Tekken regexes, BERT's whitespace split, Gemma's newline-run added tokens): no
    pattern lets a piece run from a newline into a letter, and the newline cannot join a preceding run of spaces
    (GPT-2's ``\\s+(?!\\S)`` would). Tests check chunked == whole on hard text for each of them.
    """
    while True:
        newline = text.find("\n", position)
        if newline < 0 or newline + 1 >= len(text):
            return None
        following = text[newline + 1]
        if following.isascii() and following.isalpha() and newline > 0 and not text[newline - 1].isspace():
            return newline + 1
        position = newline + 1


def _as_id_array(ids: Any) -> Ids:
    return np.asarray(ids, dtype=np.int64)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map used by byte-level BPE vocabularies."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


BYTE_LEVEL_DECODE = str.maketrans({char: chr(byte) for byte, char in _bytes_to_unicode().items()})


class TableTokenizer(ABC):
    """Shared machinery: per-id byte table, kinds table, chunked encoding and offset computation.

    Subclasses fill ``_token_bytes`` (list indexed by id) and ``_kinds`` and implement ``_encode_piece`` and
    ``decode``; those whose
    tokens may not concatenate to the text implement ``_library_offsets``.
    """

    spec: TokenizerSpec
    chunk_safe: bool = False  # encoding pieces cut by split_for_chunks gives exactly the ids of the whole text
    # The library lets other threads run while it encodes, so pieces can be encoded on several cores (measured: tiktoken
    # does; the tokenizers library's single-text encode holds the GIL, and two threads were slower than one).
    encodes_without_gil: bool = False
    trust_bytes: bool = False  # the library guarantees concatenated token bytes == text (checked by roundtrip)
    source_files: tuple[str, ...] = ()  # the files it was loaded from (their sha256 goes into result manifests)

    def __init__(self, spec: TokenizerSpec, token_bytes: list[bytes], kinds: npt.NDArray[np.int8]) -> None:
        self.spec = spec
        self._token_bytes = token_bytes
        self._kinds = kinds
        self._lens = np.fromiter((len(b) for b in token_bytes), dtype=np.int32, count=len(token_bytes))

    # ------------------------------------------------------------------ library hooks

    @abstractmethod
    def _encode_piece(self, text: str, special: bool) -> tuple[Ids, Any]:
        """Ids of ``text`` from the library (special-token strings parsed when ``special``), plus whatever object
        ``_library_offsets`` can use later."""

    @property
    def parses_specials(self) -> bool:
        return False

    def _special_strings(self) -> list[str]:
        """The strings ``special=True`` turns into special ids (used to decide whether chunking stays exact)."""
        return []

    def _library_offsets(self, text: str, raws: list[tuple[int, Any]], ids: Ids) -> tuple[I64, I64]:
        """Character offsets as the library reports them (used when token bytes do not rebuild the text)."""
        raise TokenizerError(f"{self.spec.name}: the tokens do not reproduce the text and the library gives no offsets")

    @abstractmethod
    def decode(self, ids: IdsLike) -> str:
        """The library's own decoding of ``ids``."""

    def decode_bytes(self, ids: IdsLike) -> bytes | None:
        """Raw bytes of the tokens where the library has such a call (cheaper than ``decode`` for roundtrips)."""
        return None

    # ------------------------------------------------------------------ public API

    def token_bytes(self, token_id: int) -> bytes:
        try:
            return self._token_bytes[token_id]
        except IndexError:
            raise TokenizerError(f"{self.spec.name}: no token with id {token_id}") from None

    def token_hex(self, token_id: int) -> str:
        """``token_bytes(id).hex()``, memoised: result listings ask for the same ids over and over."""
        cache = self._hex_cache
        found = cache.get(token_id)
        if found is None:
            found = cache[token_id] = self.token_bytes(token_id).hex()
        return found

    @cached_property
    def _hex_cache(self) -> dict[int, str]:
        return {}

    @property
    def kinds_table(self) -> npt.NDArray[np.int8]:
        return self._kinds

    def encode_ids(self, text: str, progress: Progress | None = None, *, special: bool = False) -> Ids:
        return self._encode_chunked(text, progress, special=special)[0]

    def encode(
        self, text: str, index: TextIndex | None = None, progress: Progress | None = None, *, special: bool = False
    ) -> Encoding:
        index = index if index is not None else TextIndex(text)
        started = time.perf_counter()
        ids, raws, verified = self._encode_chunked(text, progress, verify=True, special=special)
        seconds = time.perf_counter() - started
        lens = self._lens[ids]
        prefix = self._byte_prefix(ids, lens, index)
        kinds = self._kinds[ids]
        if prefix is None:
            char_spans = self._library_offsets(text, raws, ids)
            partial: npt.NDArray[np.bool_] | None = self._incomplete_utf8[ids]
            encoding = Encoding(
                index, ids, kinds, lens, char_spans=char_spans, byte_exact=False, encode_seconds=seconds
            )
        else:
            byte_spans = byte_spans_from_lengths(lens, prefix)
            partial = partial_mask(index, *byte_spans)
            encoding = Encoding(index, ids, kinds, lens, byte_spans=byte_spans, byte_exact=True, encode_seconds=seconds)
        if partial is not None and partial.any():
            encoding.kinds = kinds = kinds.copy()
            kinds[partial & (kinds == KIND_NORMAL)] = KIND_PARTIAL
        encoding.roundtrip = verified
        return encoding

    # ------------------------------------------------------------------ internals

    def _encode_chunked(
        self, text: str, progress: Progress | None, *, verify: bool = False, special: bool = False
    ) -> tuple[Ids, list[tuple[int, Any]], bool | None]:
        """Ids of ``text``, cut into safe pieces (for progress reports and cores) when long and ``chunk_safe``.

        Where the library encodes without the GIL, the pieces are encoded on this thread's core and the free ones (up
        to ``MAX_ENCODE_THREADS``), and their ids are joined in order, so the result is the whole text's ids (tests
        check chunked == whole). With ``verify`` and a byte-level
        ``decode_bytes``, each piece's roundtrip is checked in a helper thread while later pieces are encoded.
        Returns (ids, [(char offset, library object)], roundtrip or None when not checked).
        """
        special = special and self.parses_specials
        if not self._chunkable(special) or len(text) <= 2 * CHUNK_CHARS:
            ids, raw = self._encode_piece(text, special)
            if progress:
                progress(1.0)
            return ids, [(0, raw)], None
        pieces = split_for_chunks(text, CHUNK_CHARS)
        parts: list[Ids] = []
        raws: list[tuple[int, Any]] = []
        checks: list[Future[bool]] = []
        can_verify = verify and type(self).decode_bytes is not TableTokenizer.decode_bytes
        threads = min(MAX_ENCODE_THREADS, 1 + spare_cores()) if self.encodes_without_gil else 1  # + the free cores
        checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roundtrip")
        encoders = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="encode") if threads > 1 else None
        try:
            encoded = [encoders.submit(self._encode_piece, piece, special) for _, piece in pieces] if encoders else []
            for number, (offset, piece) in enumerate(pieces, start=1):
                ids, raw = encoded[number - 1].result() if encoders else self._encode_piece(piece, special)
                parts.append(ids)
                raws.append((offset, raw))
                if can_verify:
                    checks.append(checker.submit(self._piece_roundtrips, piece, ids))
                if progress:
                    progress(number / len(pieces))
            # Pieces that all round-trip make the whole text round-trip (decode_bytes concatenates); if one does not,
            # the caller decodes the whole text to be exact.
            verified = True if checks and all(check.result() for check in checks) else None
        finally:  # on an error (or the job's time limit) pieces not started are dropped, not encoded
            if encoders:
                encoders.shutdown(cancel_futures=True)
            checker.shutdown(cancel_futures=True)
        return np.concatenate(parts), raws, verified

    def _chunkable(self, special: bool) -> bool:
        """Cutting at ``_next_safe_cut`` (after a newline, before a letter) cannot split a special-token string that
        has no newline in it."""
        return self.chunk_safe and not (special and any("\n" in s for s in self._special_strings()))

    def _piece_roundtrips(self, piece: str, ids: Ids) -> bool:
        return self.decode_bytes(ids) == piece.encode("utf-8")

    @cached_property
    def _flat_bytes(self) -> tuple[npt.NDArray[np.uint8], I64]:
        flat = np.frombuffer(b"".join(self._token_bytes), dtype=np.uint8)
        sizes = np.fromiter((len(b) for b in self._token_bytes), dtype=np.int64, count=len(self._token_bytes))
        offsets = np.zeros(len(self._token_bytes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=offsets[1:])
        return flat, offsets

    @cached_property
    def _incomplete_utf8(self) -> npt.NDArray[np.bool_]:
        """Per id: the token's bytes are not valid UTF-8 on their own (it holds part of a character)."""
        out = np.zeros(len(self._token_bytes), dtype=np.bool_)
        for token_id, data in enumerate(self._token_bytes):
            if data and not data.isascii():
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    out[token_id] = True
        return out

    def _byte_prefix(self, ids: Ids, lens: npt.NDArray[np.int32], index: TextIndex) -> int | None:
        """0 or 1 (a dummy-prefix space) when the tokens' bytes rebuild the text; None otherwise."""
        extra = int(lens.sum(dtype=np.int64)) - index.n_bytes
        if extra == 0 and self.trust_bytes:
            return 0
        if extra not in (0, 1) or ids.size == 0:
            return 0 if extra == 0 else None
        flat, offsets = self._flat_bytes
        out_starts = np.cumsum(lens, dtype=np.int64) - lens
        gather = np.repeat(offsets[ids] - out_starts, lens) + np.arange(out_starts[-1] + lens[-1], dtype=np.int64)
        joined = flat[gather]
        if extra == 1 and joined[0] != 0x20:
            return None
        return extra if np.array_equal(joined[extra:], index.byte_array) else None


# ---------------------------------------------------------------------------- tiktoken (and Tekken)


class TiktokenTokenizer(TableTokenizer):
    """A ``tiktoken.Encoding``; ``id_offset`` shifts ids for wrappers that put specials first (Tekken)."""

    chunk_safe = True
    encodes_without_gil = True
    trust_bytes = True

    def __init__(
        self,
        spec: TokenizerSpec,
        encoding: Any,
        *,
        id_offset: int = 0,
        specials: dict[int, str] | None = None,
        unk_id: int | None = None,
    ) -> None:
        self.encoding = encoding
        self.id_offset = id_offset
        n_vocab = int(encoding.n_vocab) + id_offset
        specials = dict(specials or {})
        if id_offset == 0:
            specials.update({encoding.encode_single_token(s): s for s in encoding.special_tokens_set})
        token_bytes: list[bytes] = []
        kinds = np.zeros(n_vocab, dtype=np.int8)
        for token_id in range(n_vocab):
            if token_id in specials:
                token_bytes.append(specials[token_id].encode())
                kinds[token_id] = KIND_SPECIAL
                continue
            try:
                token_bytes.append(encoding.decode_single_token_bytes(token_id - id_offset))
            except KeyError:  # holes in the id space (cl100k has one before its specials)
                token_bytes.append(b"")
        if unk_id is not None:
            kinds[unk_id] = KIND_UNKNOWN
        super().__init__(spec, token_bytes, kinds)

    @property
    def parses_specials(self) -> bool:
        return self.id_offset == 0 and bool(self.encoding.special_tokens_set)

    def _special_strings(self) -> list[str]:
        return sorted(self.encoding.special_tokens_set) if self.id_offset == 0 else []

    def _encode_piece(self, text: str, special: bool) -> tuple[Ids, Any]:
        # encode_to_numpy with nothing allowed or disallowed is encode_ordinary without the list round-trip;
        # allowed_special="all" is encode(text, allowed_special="all").
        allowed: Any = "all" if special else set()
        ids = self.encoding.encode_to_numpy(text, allowed_special=allowed, disallowed_special=())
        if self.id_offset:
            return ids.astype(np.int64) + self.id_offset, None
        return ids, None

    def decode_bytes(self, ids: IdsLike) -> bytes:
        arr = _as_id_array(ids)
        if self.id_offset:
            arr = arr[arr >= self.id_offset] - self.id_offset
        return bytes(self.encoding.decode_bytes(arr.tolist()))

    def decode(self, ids: IdsLike) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------- Hugging Face tokenizers


def _decoder_style(config: dict[str, Any]) -> str:
    """How vocabulary strings map to text bytes: bytelevel, metaspace, wordpiece or plain."""
    model_type = (config.get("model") or {}).get("type")
    if model_type == "WordPiece":
        return "wordpiece"
    decoder = json.dumps(config.get("decoder"))
    if '"ByteLevel"' in decoder:
        return "bytelevel"
    if '"Metaspace"' in decoder or "\\u2581" in decoder or "▁" in decoder:
        return "metaspace"
    return "plain"


class HFTokenizer(TableTokenizer):
    """A ``tokenizers.Tokenizer`` (tokenizer.json): BPE, Unigram or WordPiece."""

    def __init__(self, spec: TokenizerSpec, tokenizer: Any, *, chunk_safe: bool = False) -> None:
        tokenizer.no_padding()  # some tokenizer.json files ship padding/truncation (MiniLM: 128 tokens)
        tokenizer.no_truncation()
        tokenizer.encode_special_tokens = True
        self.tokenizer = tokenizer
        self.chunk_safe = chunk_safe
        config = json.loads(tokenizer.to_str())
        model = config.get("model") or {}
        self.style = _decoder_style(config)
        byte_fallback = bool(model.get("byte_fallback"))
        vocab: dict[str, int] = tokenizer.get_vocab(with_added_tokens=True)
        size = max(vocab.values(), default=-1) + 1
        added = {int(a["id"]): a for a in config.get("added_tokens") or []}
        token_bytes = [b""] * size
        kinds = np.zeros(size, dtype=np.int8)
        for piece, token_id in vocab.items():
            token_bytes[token_id] = self._piece_bytes(piece, token_id in added, byte_fallback)
            if byte_fallback and _BYTE_PIECE.fullmatch(piece) and token_id not in added:
                kinds[token_id] = KIND_BYTE_FALLBACK
        for token_id, entry in added.items():
            if entry.get("special") and token_id < size:
                kinds[token_id] = KIND_SPECIAL
        unk = model.get("unk_token")
        unk_id = model.get("unk_id")
        if isinstance(unk, str) and tokenizer.token_to_id(unk) is not None:
            unk_id = tokenizer.token_to_id(unk)
        if isinstance(unk_id, int) and 0 <= unk_id < size:
            kinds[unk_id] = KIND_UNKNOWN
        super().__init__(spec, token_bytes, kinds)

    def _piece_bytes(self, piece: str, is_added: bool, byte_fallback: bool) -> bytes:
        if is_added:
            return piece.encode()
        if self.style == "bytelevel":
            try:
                return piece.translate(BYTE_LEVEL_DECODE).encode("latin-1")
            except UnicodeEncodeError:
                return piece.encode()
        if self.style == "metaspace":
            match = _BYTE_PIECE.fullmatch(piece) if byte_fallback else None
            return bytes([int(match.group(1), 16)]) if match else piece.replace("▁", " ").encode()
        return piece.encode()

    @property
    def parses_specials(self) -> bool:
        return bool((self._kinds == KIND_SPECIAL).any())

    def _special_strings(self) -> list[str]:
        return [self._token_bytes[i].decode("utf-8", "replace") for i in np.flatnonzero(self._kinds == KIND_SPECIAL)]

    @cached_property
    def _special_tokenizer(self) -> Any:
        """A second instance that splits special tokens (``encode_special_tokens`` is per instance, and the plain one
        is shared by concurrent requests, so it is never toggled)."""
        from tokenizers import Tokenizer

        parsing = Tokenizer.from_str(self.tokenizer.to_str())
        parsing.no_padding()
        parsing.no_truncation()
        parsing.encode_special_tokens = False
        return parsing

    def _encode_piece(self, text: str, special: bool) -> tuple[Ids, Any]:
        tokenizer = self._special_tokenizer if special else self.tokenizer
        enc = tokenizer.encode(text, add_special_tokens=False)
        return np.asarray(enc.ids, dtype=np.int64), enc

    def encode(
        self, text: str, index: TextIndex | None = None, progress: Progress | None = None, *, special: bool = False
    ) -> Encoding:
        if self.style != "wordpiece":
            return super().encode(text, index, progress, special=special)
        # WordPiece lowercases, strips accents and drops whitespace: only the library knows the offsets.
        index = index if index is not None else TextIndex(text)
        started = time.perf_counter()
        ids, raws, _ = self._encode_chunked(text, progress, special=special)
        seconds = time.perf_counter() - started
        spans = self._library_offsets(text, raws, ids)
        return Encoding(
            index, ids, self._kinds[ids], self._lens[ids], char_spans=spans, byte_exact=False, encode_seconds=seconds
        )

    def _library_offsets(self, text: str, raws: list[tuple[int, Any]], ids: Ids) -> tuple[I64, I64]:
        parts = []
        for offset, enc in raws:
            spans = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
            parts.append(spans + offset)
        spans = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
        return spans[:, 0].copy(), spans[:, 1].copy()

    def decode(self, ids: IdsLike) -> str:
        return str(self.tokenizer.decode(_as_id_array(ids).tolist(), skip_special_tokens=False))


# ---------------------------------------------------------------------------- SentencePiece


class SentencePieceTokenizer(TableTokenizer):
    """A ``sentencepiece.SentencePieceProcessor`` (also the engine inside mistral-common's v1/v3 tokenizers)."""

    def __init__(self, spec: TokenizerSpec, processor: Any) -> None:
        self.processor = processor
        size = int(processor.get_piece_size())
        token_bytes: list[bytes] = []
        kinds = np.zeros(size, dtype=np.int8)
        for token_id in range(size):
            piece = processor.id_to_piece(token_id)
            if processor.is_byte(token_id):
                match = _BYTE_PIECE.fullmatch(piece)
                token_bytes.append(bytes([int(match.group(1), 16)]) if match else b"")
                kinds[token_id] = KIND_BYTE_FALLBACK
            elif processor.is_unknown(token_id):
                token_bytes.append(piece.encode())
                kinds[token_id] = KIND_UNKNOWN
            elif processor.is_control(token_id):
                token_bytes.append(piece.encode())
                kinds[token_id] = KIND_SPECIAL
            else:
                token_bytes.append(piece.replace("▁", " ").encode())
        super().__init__(spec, token_bytes, kinds)
        # Control pieces never come out of encode(); an unknown piece covers text we cannot know from its id.
        self._lens[kinds == KIND_SPECIAL] = 0

    def _encode_piece(self, text: str, special: bool) -> tuple[Ids, Any]:
        return self.processor.encode(text, return_type="numpy").astype(np.int64), None

    def _library_offsets(self, text: str, raws: list[tuple[int, Any]], ids: Ids) -> tuple[I64, I64]:
        mapping = self.processor.encode(text, return_type="offset_mapping")
        if mapping["ids"] != ids.tolist():
            raise TokenizerError(f"{self.spec.name}: SentencePiece returned different ids when asked for offsets")
        spans = np.asarray(mapping["offsets"], dtype=np.int64).reshape(-1, 2)
        return spans[:, 0].copy(), spans[:, 1].copy()

    def decode(self, ids: IdsLike) -> str:
        return str(self.processor.decode(_as_id_array(ids).tolist()))


# ---------------------------------------------------------------------------- built-in byte and character levels


class ByteLevelTokenizer(TableTokenizer):
    """Every UTF-8 byte is a token (id = byte value): the longest possible byte-level sequence, a baseline."""

    trust_bytes = True

    def __init__(self, spec: TokenizerSpec) -> None:
        super().__init__(spec, [bytes([b]) for b in range(256)], np.zeros(256, dtype=np.int8))

    def _encode_piece(self, text: str, special: bool) -> tuple[Ids, Any]:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64), None

    def decode_bytes(self, ids: IdsLike) -> bytes:
        return _as_id_array(ids).astype(np.uint8).tobytes()

    def decode(self, ids: IdsLike) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")


class CharLevelTokenizer(TableTokenizer):
    """Every Unicode code point is a token (id = ord(char)): the character-level baseline."""

    trust_bytes = True
    SIZE = 0x110000

    def __init__(self, spec: TokenizerSpec) -> None:
        self.spec = spec
        self._kinds = np.zeros(self.SIZE, dtype=np.int8)
        cps = np.arange(self.SIZE)
        self._lens = (1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)).astype(np.int32)
        self._token_bytes = []  # computed on demand: a 1.1M-entry bytes table is not worth building

    def token_bytes(self, token_id: int) -> bytes:
        if not 0 <= token_id < self.SIZE:
            raise TokenizerError(f"{self.spec.name}: no token with id {token_id}")
        return chr(token_id).encode("utf-8", errors="surrogatepass")

    def _encode_piece(self, text: str, special: bool) -> tuple[Ids, Any]:
        return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64), None

    def decode(self, ids: IdsLike) -> str:
        return _as_id_array(ids).astype("<u4").tobytes().decode("utf-32-le", errors="replace")

    def decode_bytes(self, ids: IdsLike) -> bytes:
        return self.decode(ids).encode("utf-8")
