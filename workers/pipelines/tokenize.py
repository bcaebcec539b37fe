"""The tokenize pipeline: one text through 1-6 tokenizers, with tokens, statistics and boundary disagreements.

Framework-free (no Django, no torch): the web process calls ``run`` in-process for small texts and a Celery worker
runs it for large ones. The result follows docs/api.md ("The result").
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.text_tokenizers.adapters import TextTokenizer
from workers.text_tokenizers.catalog import load_tokenizer
from workers.text_tokenizers.encoding import KIND_NAMES, KIND_UNKNOWN, Encoding
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.stats import token_stats
from workers.text_tokenizers.textindex import TextIndex

Report = Callable[[float, str], None]

MAX_TOKENIZERS = 6
TOKEN_DISPLAY_LIMIT = 20_000  # tokens listed per tokenizer; statistics always cover the whole text
TEXT_DISPLAY_LIMIT = 200_000  # characters; a longer input is not echoed back (``text`` is null)
DISAGREE_LIMIT = 5_000  # disagreement ranges listed; ``disagree_count`` has the full number


def _noop(progress: float, message: str) -> None:
    return None


def _validate(inputs: dict[str, Any]) -> tuple[str, list[str], str | None, dict[str, dict[str, Any]]]:
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
    return text, ids, baseline or None, custom


def input_summary(index: TextIndex) -> dict[str, Any]:
    return {
        "chars": index.n_chars,
        "bytes": index.n_bytes,
        "words": index.n_words,
        "lines": index.n_lines,
        "sha256": index.sha256,
    }


def token_rows(tokenizer: TextTokenizer, encoding: Encoding, text: str, limit: int = TOKEN_DISPLAY_LIMIT) -> list[dict[str, Any]]:
    """The first ``limit`` tokens as JSON objects. ``text`` is the slice of the input the token covers; ``bytes`` is the
    token's own bytes (hex), except for unknown tokens, whose bytes are those of the text they replaced."""
    n = min(len(encoding), limit)
    head_starts, head_ends = encoding.head_char_spans(n)
    ids = encoding.ids[:n].tolist()
    kinds = encoding.kinds[:n]
    token_hex = tokenizer.token_hex
    names = KIND_NAMES
    rows = [
        {"id": i, "text": text[s:e], "bytes": token_hex(i), "start": s, "end": e, "kind": names[k]}
        for i, s, e, k in zip(ids, head_starts.tolist(), head_ends.tolist(), kinds.tolist(), strict=True)
    ]
    for position in np.flatnonzero(kinds == KIND_UNKNOWN).tolist():
        rows[position]["bytes"] = rows[position]["text"].encode("utf-8").hex()
    return rows


def boundary_positions(encoding: Encoding, n_chars: int) -> np.ndarray:
    """Character positions where the tokenizer puts a token edge (text start and end included)."""
    mask = np.zeros(n_chars + 1, dtype=np.bool_)
    mask[encoding.starts] = True
    mask[encoding.ends] = True
    mask[0] = mask[n_chars] = True
    return mask


def boundary_disagreements(encodings: list[Encoding], n_chars: int, limit: int = DISAGREE_LIMIT) -> dict[str, Any]:
    """Ranges where the tokenizers do not cut the text at the same places.

    A position where some but not all tokenizers have a token edge is a disagreement; each is reported as the range
    between the nearest edges that all tokenizers share on either side (merged), e.g. "Hello world" with
    ["Hello", " world"] vs ["hello", "world"] gives [[5, 11]]. ``agreement`` = shared edges / all edges.
    """
    if len(encodings) < 2:
        return {"disagree": [], "disagree_count": 0, "agreement": 1.0, "truncated": False}
    counts = np.zeros(n_chars + 1, dtype=np.int16)
    for encoding in encodings:
        counts += boundary_positions(encoding, n_chars)
    shared = np.flatnonzero(counts == len(encodings))
    differ = np.flatnonzero((counts > 0) & (counts < len(encodings)))
    union = int(np.count_nonzero(counts))
    if differ.size == 0:
        return {"disagree": [], "disagree_count": 0, "agreement": 1.0, "truncated": False}
    # Each differing position lies strictly between two shared edges (0 and n_chars are always shared).
    right = np.unique(np.searchsorted(shared, differ, side="right"))
    ranges = np.stack([shared[right - 1], shared[right]], axis=1)
    return {
        "disagree": ranges[:limit].tolist(),
        "disagree_count": int(ranges.shape[0]),
        "agreement": round(float(shared.size / union), 4),
        "truncated": bool(ranges.shape[0] > limit),
    }


def _encode_all(
    text: str, ids: list[str], custom: dict[str, dict[str, Any]], index: TextIndex, report: Report
) -> list[tuple[TextTokenizer, Encoding]]:
    out = []
    share = 0.9 / len(ids)
    for number, tokenizer_id in enumerate(ids):
        base = 0.05 + number * share
        report(base, f"loading {tokenizer_id}")
        tokenizer = load_tokenizer(tokenizer_id, custom)
        name = tokenizer.spec.name

        def progress(fraction: float, base: float = base, name: str = name) -> None:
            report(base + share * 0.8 * fraction, f"tokenizing with {name}")

        report(base, f"tokenizing with {name}")
        out.append((tokenizer, tokenizer.encode(text, index, progress)))
    return out


def _baseline_count(baseline: str | None, ids: list[str], encoded: list[tuple[TextTokenizer, Encoding]], text: str, custom: dict[str, dict[str, Any]]) -> int | None:
    if baseline is None:
        return None
    if baseline in ids:
        return len(encoded[ids.index(baseline)][1])
    return int(load_tokenizer(baseline, custom).encode_ids(text).size)


def run(inputs: dict[str, Any], report: Report | None = None) -> dict[str, Any]:
    """Tokenize ``inputs["text"]`` with each of ``inputs["tokenizers"]``; see docs/api.md for the result.

    ``inputs``: ``{"text", "tokenizers": [ids], "baseline": id | None, "custom": {id: {"path", "kind", "name"}}}``.
    ``report(progress, message)`` is called with progress in [0, 1] between tokenizers and between chunks of long
    texts. Raises TokenizerError (message fit for the user) for bad input or unavailable tokenizers.
    """
    report = report or _noop
    text, ids, baseline, custom = _validate(inputs)
    report(0.0, "reading the text")
    index = TextIndex(text)
    index.warm_in_background()  # overlaps the first encode, which releases the GIL
    encoded = _encode_all(text, ids, custom, index, report)
    baseline_tokens = _baseline_count(baseline, ids, encoded, text, custom)
    report(0.95, "computing statistics")
    results = []
    for tokenizer, encoding in encoded:
        results.append(
            {
                "tokenizer": tokenizer.spec.summary(),
                "tokens": token_rows(tokenizer, encoding, text),
                "tokens_truncated": len(encoding) > TOKEN_DISPLAY_LIMIT,
                "stats": token_stats(tokenizer, encoding, index, baseline_tokens),
            }
        )
    boundaries = boundary_disagreements([encoding for _, encoding in encoded], index.n_chars)
    shown = index.n_chars <= TEXT_DISPLAY_LIMIT
    result = {
        "text": text if shown else None,
        "text_truncated": not shown,
        "input": input_summary(index),
        "baseline": baseline,
        "results": results,
        "boundaries": boundaries,
    }
    report(1.0, "done")
    return result


def compute_stats(text: str, tokenizers: list[str], baseline: str | None = None, custom: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Statistics alone (no token lists, no boundaries): ``{tokenizer_id: stats}``, for comparisons and benchmarks."""
    custom = custom or {}
    index = TextIndex(text)
    index.warm_in_background()
    encoded = [(load_tokenizer(tid, custom), tid) for tid in tokenizers]
    encodings = {tid: tokenizer.encode(text, index) for tokenizer, tid in encoded}
    base_count = None
    if baseline is not None:
        base_count = len(encodings[baseline]) if baseline in encodings else int(load_tokenizer(baseline, custom).encode_ids(text).size)
    return {tid: token_stats(tokenizer, encodings[tid], index, base_count) for tokenizer, tid in encoded}


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
    writer = csv.writer(buffer, lineterminator="\n")
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
        for position, token in enumerate(entry["tokens"]):
            writer.writerow((tokenizer_id, position, token["id"], token["start"], token["end"], token["kind"], token["bytes"], token["text"]))
    return buffer.getvalue()


def timed_run(inputs: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """``run`` plus its wall time in seconds (for benchmarks)."""
    started = time.perf_counter()
    result = run(inputs)
    return result, time.perf_counter() - started
