"""The tokenize pipeline: one text through 1-6 tokenizers, with tokens, statistics and boundary disagreements.

Framework-free (no Django, no torch): the web process calls ``run`` in-process for small texts and a Celery worker
runs it for large ones. The result follows docs/api.md ("The result").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.manifest import tokenize_manifest
from workers.text_tokenizers.adapters import TextTokenizer
from workers.text_tokenizers.catalog import load_tokenizer
from workers.text_tokenizers.encoding import KIND_NAMES, KIND_NORMAL, Encoding
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.stats import token_stats
from workers.text_tokenizers.textindex import TextIndex

Report = Callable[[float, str], None]

MAX_TOKENIZERS = 6
TOKEN_DISPLAY_LIMIT = 20_000  # tokens listed per tokenizer; statistics always cover the whole text
TEXT_DISPLAY_LIMIT = 200_000  # characters; a longer input is echoed only as far as the listed tokens reach
SPECIAL_MODES = ("plain", "special")  # special-token strings in the text: plain text, or parsed (docs/api.md)
DISAGREE_LIMIT = 5_000  # disagreement ranges listed; ``disagree_count`` has the full number


def _noop(progress: float, message: str) -> None:
    return None


def _validate(inputs: dict[str, Any]) -> tuple[str, list[str], str | None, dict[str, dict[str, Any]], str]:
    text = inputs.get("text")
    if not isinstance(text, str):
        raise TokenizerError("Give the text to tokenize as a string.")
    ids = inputs.get("tokenizers")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise TokenizerError("Choose at least one tokenizer.")
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_TOKENIZERS:
        raise TokenizerError(f"Choose at most {MAX_TOKENIZERS} tokenizers at a time.")
    baseline = inputs.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise TokenizerError("The baseline must be a tokenizer id.")
    custom = inputs.get("custom") or {}
    special_tokens = inputs.get("special_tokens") or "plain"
    if special_tokens not in SPECIAL_MODES:
        raise TokenizerError('special_tokens must be "plain" (special-token strings are text) or "special" (parsed).')
    return text, ids, baseline or None, custom, special_tokens


def input_summary(index: TextIndex) -> dict[str, Any]:
    return {
        "chars": index.n_chars,
        "bytes": index.n_bytes,
        "words": index.n_words,
        "lines": index.n_lines,
        "sha256": index.sha256,
        "word_segmentation": index.word_segmentation,
    }


def token_columns(tokenizer: TextTokenizer, encoding: Encoding, limit: int | None = None) -> dict[str, Any]:
    """The first ``limit`` tokens as parallel arrays (docs/api.md, "tokens"): ``ids``, character ``starts``/``ends``,
    ``kinds`` (positions of the tokens that are not normal, by kind) and ``bytes`` (hex of each listed id's own bytes).
    A token's text is ``text[start:end]``, derived by the reader; so are an unknown token's bytes (those of the text
    it replaced). Columns instead of one object per token: a fraction of the size to build, store and send."""
    n = min(len(encoding), TOKEN_DISPLAY_LIMIT if limit is None else limit)
    starts, ends = encoding.head_char_spans(n)
    ids = encoding.ids[:n]
    kinds = encoding.kinds[:n]
    present = np.bincount(kinds, minlength=len(KIND_NAMES)) if n else np.zeros(len(KIND_NAMES), dtype=np.int64)
    return {
        "ids": ids.tolist(),
        "starts": starts.tolist(),
        "ends": ends.tolist(),
        "kinds": {
            KIND_NAMES[kind]: np.flatnonzero(kinds == kind).tolist()
            for kind in np.flatnonzero(present).tolist()
            if kind != KIND_NORMAL
        },
        "bytes": {str(i): tokenizer.token_hex(i) for i in np.unique(ids).tolist()},
    }


def token_rows(entry: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """One ``{id, text, bytes, start, end, kind}`` object per listed token of a result entry (for exports and tests);
    results stored before the columnar payload already hold such a list."""
    columns = entry["tokens"]
    if isinstance(columns, list):
        return columns
    kind_of = ["normal"] * len(columns["ids"])
    for name, positions in columns["kinds"].items():
        for position in positions:
            kind_of[position] = name
    hexes = columns["bytes"]
    rows = []
    for token_id, start, end, kind in zip(columns["ids"], columns["starts"], columns["ends"], kind_of, strict=True):
        piece = text[start:end]
        raw = piece.encode("utf-8", "surrogatepass").hex() if kind == "unknown" else hexes[str(token_id)]
        rows.append({"id": token_id, "text": piece, "bytes": raw, "start": start, "end": end, "kind": kind})
    return rows


class BoundaryTally:
    """Counts, per byte offset, how many tokenizers put a token edge there; one tokenizer at a time, so the full
    encodings need not be kept. Edges of tokens that cut a character are moved to that character's edges, which
    makes the comparison the same as on character offsets."""

    def __init__(self, index: TextIndex) -> None:
        self.index = index
        self.counts = np.zeros(index.n_bytes + 1, dtype=np.uint8)
        self.tokenizers = 0

    def add(self, encoding: Encoding) -> None:
        starts, ends = encoding.byte_spans
        edges = np.zeros(self.index.n_bytes + 1, dtype=np.bool_)
        edges[self.index.snap_down(starts)] = True
        edges[self.index.snap_up(ends)] = True
        edges[0] = edges[-1] = True
        self.counts += edges
        self.tokenizers += 1

    def result(self, limit: int | None = None) -> dict[str, Any]:
        """``boundaries`` of the result: disagreement ranges in characters (see docs/api.md)."""
        nothing = {"disagree": [], "disagree_count": 0, "agreement": 1.0, "truncated": False}
        if self.tokenizers < 2:
            return nothing
        shared = np.flatnonzero(self.counts == self.tokenizers)
        differ = np.flatnonzero((self.counts > 0) & (self.counts < self.tokenizers))
        if differ.size == 0:
            return nothing
        # Each differing edge lies strictly between two shared ones (text start and end are always shared).
        right = np.unique(np.searchsorted(shared, differ, side="right"))
        limit = DISAGREE_LIMIT if limit is None else limit
        listed = np.stack([shared[right[:limit] - 1], shared[right[:limit]]], axis=1)
        ranges = self.index.chars_before(listed.ravel()).reshape(-1, 2)
        union = int(np.count_nonzero(self.counts))
        return {
            "disagree": ranges.tolist(),
            "disagree_count": int(right.size),
            "agreement": round(float(shared.size / union), 4),
            "truncated": bool(right.size > limit),
        }


def _entry(tokenizer: TextTokenizer, encoding: Encoding, index: TextIndex, special: bool) -> dict[str, Any]:
    return {
        "tokenizer": tokenizer.spec.summary(),
        "special_tokens": "special" if special else "plain",
        "tokens": token_columns(tokenizer, encoding),
        "tokens_truncated": len(encoding) > TOKEN_DISPLAY_LIMIT,
        "stats": token_stats(tokenizer, encoding, index),
    }


def _parses_specials(tokenizer: TextTokenizer, mode: str) -> bool:
    """Whether this tokenizer runs in special mode: asked for, and its library can parse special-token strings."""
    return mode == "special" and bool(getattr(tokenizer, "parses_specials", False))


def _encode(tokenizer: TextTokenizer, text: str, index: TextIndex, progress: Any, special: bool) -> Encoding:
    # Plain mode calls encode() without the keyword, so adapters written before special mode keep working.
    if special:
        return tokenizer.encode(text, index, progress, special=True)
    return tokenizer.encode(text, index, progress)


def _count(tokenizer: TextTokenizer, text: str, mode: str) -> int:
    if _parses_specials(tokenizer, mode):
        return int(tokenizer.encode_ids(text, special=True).size)
    return int(tokenizer.encode_ids(text).size)


def _shown_text(index: TextIndex, results: list[dict[str, Any]]) -> str:
    """The whole input up to TEXT_DISPLAY_LIMIT characters; beyond it, as far as the listed tokens reach (their
    texts are slices of it)."""
    if index.n_chars <= TEXT_DISPLAY_LIMIT:
        return index.text
    reach = max((max(entry["tokens"]["ends"], default=0) for entry in results), default=0)
    return index.text[:reach]


def run(inputs: dict[str, Any], report: Report | None = None) -> dict[str, Any]:
    """Tokenize ``inputs["text"]`` with each of ``inputs["tokenizers"]``; see docs/api.md for the result.

    ``inputs``: ``{"text", "tokenizers": [ids], "baseline": id | None, "custom": {id: {"path", "kind", "name"}},
    "special_tokens": "plain" | "special"}``.
    ``report(progress, message)`` is called with progress in [0, 1] between tokenizers and between chunks of long
    texts. Raises TokenizerError (message fit for the user) for bad input or unavailable tokenizers.
    Tokenizers are processed one after the other and each encoding is dropped once summarised, so memory stays at
    one encoding plus the per-text arrays even for 50 MB inputs.
    """
    report = report or _noop
    text, ids, baseline, custom, special_tokens = _validate(inputs)
    report(0.0, "reading the text")
    index = TextIndex(text)
    index.warm_in_background()  # overlaps the first encode where a core is free
    tally = BoundaryTally(index) if len(ids) > 1 else None
    share = 0.95 / len(ids)
    results = []
    for number, tokenizer_id in enumerate(ids):
        base = number * share
        report(base, f"loading {tokenizer_id}")
        tokenizer = load_tokenizer(tokenizer_id, custom)
        name = tokenizer.spec.name

        def progress(fraction: float, base: float = base, name: str = name) -> None:
            report(base + share * 0.8 * fraction, f"tokenizing with {name}")

        progress(0.0)
        special = _parses_specials(tokenizer, special_tokens)
        encoding = _encode(tokenizer, text, index, progress, special)
        report(base + share * 0.8, f"statistics for {name}")
        results.append(_entry(tokenizer, encoding, index, special))
        if tally is not None:
            tally.add(encoding)
        del encoding
    report(0.95, "comparing boundaries")
    baseline_tokens = _baseline_tokens(baseline, ids, results, text, custom, special_tokens)
    for entry in results:
        entry["stats"]["relative_cost"] = _relative(entry["stats"]["tokens"], baseline_tokens)
    result = {
        "text": _shown_text(index, results),
        "text_truncated": index.n_chars > TEXT_DISPLAY_LIMIT,
        "input": input_summary(index),
        "special_tokens": special_tokens,
        "baseline": baseline,
        "results": results,
        "boundaries": tally.result() if tally is not None else BoundaryTally(index).result(),
        "manifest": (manifest := tokenize_manifest({**inputs, "special_tokens": special_tokens}, index.sha256)),
        "versions": manifest["libraries"],  # the job's ``versions`` (the runner moves it out of the result)
    }
    report(1.0, "done")
    return result


def _relative(tokens: int, baseline_tokens: int | None) -> float | None:
    return round(tokens / baseline_tokens, 4) if baseline_tokens else None


def _baseline_tokens(
    baseline: str | None,
    ids: list[str],
    results: list[dict[str, Any]],
    text: str,
    custom: dict[str, dict[str, Any]],
    special_tokens: str,
) -> int | None:
    if baseline is None:
        return None
    if baseline in ids:
        return int(results[ids.index(baseline)]["stats"]["tokens"])
    return _count(load_tokenizer(baseline, custom), text, special_tokens)


def compute_stats(
    text: str,
    tokenizers: list[str],
    baseline: str | None = None,
    custom: dict[str, dict[str, Any]] | None = None,
    special_tokens: str = "plain",
) -> dict[str, dict[str, Any]]:
    """Statistics alone (no token lists, no boundaries): ``{tokenizer_id: stats}``, for comparisons and benchmarks."""
    custom = custom or {}
    index = TextIndex(text)
    index.warm_in_background()
    out: dict[str, dict[str, Any]] = {}
    for tokenizer_id in dict.fromkeys(tokenizers):
        tokenizer = load_tokenizer(tokenizer_id, custom)
        encoding = _encode(tokenizer, text, index, None, _parses_specials(tokenizer, special_tokens))
        out[tokenizer_id] = token_stats(tokenizer, encoding, index)
    base = out[baseline]["tokens"] if baseline in out else None
    if baseline is not None and baseline not in out:
        base = _count(load_tokenizer(baseline, custom), text, special_tokens)
    for stats in out.values():
        stats["relative_cost"] = _relative(stats["tokens"], base)
    return out


CSV_COLUMNS = ("tokenizer", "position", "token_id", "start", "end", "kind", "bytes_hex", "text")
STATS_COLUMNS = (
    "tokens",
    "chars",
    "bytes",
    "words",
    "chars_per_token",
    "bytes_per_token",
    "fertility",
    "continued_word_ratio",
    "unknown",
    "byte_fallback",
    "special",
    "roundtrip",
    "relative_cost",
    "distinct_tokens",
    "encode_ms",
    "number_chunks",
)


def to_csv(result: dict[str, Any], what: str = "tokens") -> str:
    """CSV export of a result: ``what="tokens"`` (one row per listed token) or ``"stats"`` (one row per tokenizer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; also makes the writer quote cells with CR
    if what == "stats":
        writer.writerow(("tokenizer", *STATS_COLUMNS))
        for entry in result["results"]:
            stats = entry["stats"]
            chunks = stats.get("number_chunks") or {}
            values = [stats.get(column) for column in STATS_COLUMNS[:-1]] + [chunks.get("pattern") or ""]
            writer.writerow((entry["tokenizer"]["id"], *("" if v is None else v for v in values)))
        return buffer.getvalue()
    if what != "tokens":
        raise ValueError(f"what must be 'tokens' or 'stats', not {what!r}")
    writer.writerow(CSV_COLUMNS)
    for entry in result["results"]:
        tokenizer_id = entry["tokenizer"]["id"]
        for position, token in enumerate(token_rows(entry, result.get("text") or "")):
            writer.writerow(
                (
                    tokenizer_id,
                    position,
                    token["id"],
                    token["start"],
                    token["end"],
                    token["kind"],
                    token["bytes"],
                    token["text"],
                )
            )
    return buffer.getvalue()
