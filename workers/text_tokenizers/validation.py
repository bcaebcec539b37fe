"""Bounds an uploaded tokenizer must respect before any library sees it (see docs/limits.md, "Custom tokenizers").

An uploaded tokenizer is untrusted code-like data: its JSON can nest deeper than any parser's stack, its regexes can
backtrack exponentially, a chain of ``Replace`` normalizers can multiply the text, and one huge token id makes every
per-id table (ours and the library's) allocate gigabytes. Each check raises a ``TokenizerError`` that names the part
of the file at fault and what to change.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.regex_safety import find_problem, min_match_length

MAX_JSON_DEPTH = 64  # real tokenizer.json files nest about 6 deep
MAX_VOCAB = 1 << 20  # 1,048,576 ids: the largest real vocabularies have about 262k
MAX_MERGES = 2_000_000
MAX_TOKEN_CHARS = 1024  # one added token's text
MAX_PATTERN_CHARS = 10_000
MAX_EXPANSION = 16  # worst-case factor by which the normalizers (or decoders) may lengthen a text


def json_depth(raw: bytes) -> int:
    """Deepest nesting of ``[`` / ``{`` in a JSON document, without parsing it (so without recursion).

    Vectorised: a quote is escaped when an odd run of backslashes ends right before it; a bracket is inside a string
    when an odd number of unescaped quotes precede it.
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    slashes = np.flatnonzero(data == ord("\\"))
    if slashes.size:
        breaks = np.flatnonzero(np.diff(slashes) != 1)
        run_ends = np.append(slashes[breaks], slashes[-1])
        run_lengths = run_ends - np.insert(slashes[breaks + 1], 0, slashes[0]) + 1
        at = np.minimum(np.searchsorted(run_ends, quotes - 1), run_ends.size - 1)
        escaped = (run_ends[at] == quotes - 1) & (run_lengths[at] % 2 == 1)
        quotes = quotes[~escaped]
    brackets = np.flatnonzero((data == ord("[")) | (data == ord("{")) | (data == ord("]")) | (data == ord("}")))
    brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]
    if brackets.size == 0:
        return 0
    opening = (data[brackets] == ord("[")) | (data[brackets] == ord("{"))
    return int(np.cumsum(np.where(opening, 1, -1).astype(np.int32)).max())


def parse_tokenizer_json(raw: bytes, filename: str) -> dict[str, Any]:
    """The parsed tokenizer.json after checking its nesting depth, or a TokenizerError saying what is wrong."""
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise TokenizerError(
            f"{filename!r} nests JSON {depth} levels deep; a tokenizer.json needs fewer than 10 and at most "
            f"{MAX_JSON_DEPTH} are accepted. Upload the file written by `tokenizer.save_pretrained()`."
        )
    try:
        config = json.loads(raw)
    except UnicodeDecodeError:
        raise TokenizerError(f"{filename!r} is not a text file, so it cannot be a tokenizer.json.") from None
    except json.JSONDecodeError as exc:
        raise TokenizerError(
            f"{filename!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise TokenizerError(
            f'{filename!r} is JSON but not a Hugging Face tokenizer.json (it has no "model" section). '
            "Upload the tokenizer.json saved by `tokenizer.save_pretrained()`, not tokenizer_config.json or vocab.json."
        )
    check_tokenizer_config(config, filename)
    return config


def check_tokenizer_config(config: dict[str, Any], filename: str) -> None:
    """Vocabulary and id bounds, regex safety and normalizer/decoder expansion of a parsed tokenizer.json."""
    _check_model(config["model"], filename)
    _check_added_tokens(config.get("added_tokens"), filename)
    for section in ("normalizer", "pre_tokenizer", "decoder"):
        for node in _nodes(config.get(section)):
            _check_pattern(node, section, filename)
    for section in ("normalizer", "decoder"):
        factor = expansion_factor(config.get(section))
        if factor > MAX_EXPANSION:
            raise TokenizerError(
                f"{filename!r}: the {section}'s Replace steps can make a text up to {_big(factor)} times longer "
                f"(each step multiplies the previous one's output); at most {MAX_EXPANSION}x is accepted. "
                "Remove the chained Replace steps, or replace with shorter text."
            )


def check_vocab_size(size: int, filename: str) -> None:
    if size > MAX_VOCAB:
        raise TokenizerError(
            f"{filename!r} has {size:,} tokens; at most {MAX_VOCAB:,} are accepted (the largest real vocabularies "
            "have about 262,000)."
        )


def check_token_id(token_id: Any, what: str, filename: str) -> int:
    """``token_id`` as an int in [0, MAX_VOCAB), or a TokenizerError naming the token."""
    if isinstance(token_id, bool) or not isinstance(token_id, int):
        raise TokenizerError(f"{filename!r}: {what} has id {token_id!r}; ids must be whole numbers.")
    if not 0 <= token_id < MAX_VOCAB:
        raise TokenizerError(
            f"{filename!r}: {what} has id {token_id:,}; ids must be between 0 and {MAX_VOCAB - 1:,}. "
            "Number the tokens consecutively from 0."
        )
    return token_id


def expansion_factor(component: Any) -> float:
    """Worst-case length factor of a normalizer or decoder: the product over its Replace steps of
    ``len(content) / shortest match`` (a pattern that can match nothing inserts the content at every position)."""
    factor = 1.0
    for node in _nodes(component):
        if node.get("type") != "Replace":
            continue
        content = node.get("content")
        width = _pattern_min_width(node.get("pattern"))
        size = len(content) if isinstance(content, str) else 0
        factor *= max(1.0, size / width) if width > 0 else 1.0 + size
    return factor


def _big(value: float) -> str:
    return f"{value:,.0f}" if value < 1e15 else f"{value:.1e}"


def _nodes(component: Any) -> list[dict[str, Any]]:
    """Every step of a normalizer / pre-tokenizer / decoder, flattening ``Sequence`` steps (iteratively)."""
    found: list[dict[str, Any]] = []
    pending = [component]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            found.append(node)
            for key in ("normalizers", "pretokenizers", "decoders"):
                pending.append(node.get(key))
    return found


def _pattern_text(pattern: Any) -> tuple[str, bool] | None:
    """(text, is_regex) of a ``{"Regex": ...}`` or ``{"String": ...}`` pattern."""
    if isinstance(pattern, dict):
        if isinstance(pattern.get("Regex"), str):
            return pattern["Regex"], True
        if isinstance(pattern.get("String"), str):
            return pattern["String"], False
    return None


def _pattern_min_width(pattern: Any) -> int:
    found = _pattern_text(pattern)
    if found is None:
        return 0
    text, is_regex = found
    return min_match_length(text) if is_regex else len(text)


def _check_pattern(node: dict[str, Any], section: str, filename: str) -> None:
    found = _pattern_text(node.get("pattern"))
    if found is None:
        return
    text, is_regex = found
    step = f"the {section}'s {node.get('type', 'step')} pattern {text[:80]!r}"
    if len(text) > MAX_PATTERN_CHARS:
        raise TokenizerError(f"{filename!r}: {step} is {len(text):,} characters; at most {MAX_PATTERN_CHARS:,}.")
    if not is_regex:
        return
    problem = find_problem(text)
    if problem is not None:
        raise TokenizerError(
            f"{filename!r}: {step} is refused because {problem.reason}. Use a possessive quantifier (`++`, `*+`) "
            "or an atomic group `(?>...)`, or make the alternatives start with different characters."
        )


def _check_model(model: dict[str, Any], filename: str) -> None:
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        check_vocab_size(len(vocab), filename)
        ids = list(vocab.values())
        if ids and not (all(type(i) is int for i in ids) and min(ids) >= 0 and max(ids) < MAX_VOCAB):
            for piece, token_id in vocab.items():  # find the culprit for the message
                check_token_id(token_id, f"the vocabulary entry {str(piece)[:40]!r}", filename)
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...], ids are positions
        check_vocab_size(len(vocab), filename)
        unk_id = model.get("unk_id")
        if unk_id is not None and (check_token_id(unk_id, "the model's unk_id", filename) >= len(vocab)):
            raise TokenizerError(
                f"{filename!r}: the model's unk_id {unk_id} is past the end of its {len(vocab):,}-entry vocabulary."
            )
    merges = model.get("merges")
    if isinstance(merges, list) and len(merges) > MAX_MERGES:
        raise TokenizerError(f"{filename!r} has {len(merges):,} merges; at most {MAX_MERGES:,} are accepted.")


def _check_added_tokens(added: Any, filename: str) -> None:
    if added is None:
        return
    if not isinstance(added, list):
        raise TokenizerError(f'{filename!r}: "added_tokens" must be a list.')
    check_vocab_size(len(added), filename)
    for entry in added:
        if not isinstance(entry, dict):
            raise TokenizerError(
                f'{filename!r}: every entry of "added_tokens" must be an object with "id" and "content".'
            )
        content = entry.get("content")
        label = f"the added token {str(content)[:40]!r}"
        check_token_id(entry.get("id"), label, filename)
        if not isinstance(content, str) or not content:
            raise TokenizerError(f'{filename!r}: {label} has no text ("content").')
        if len(content) > MAX_TOKEN_CHARS:
            raise TokenizerError(
                f"{filename!r}: {label} is {len(content):,} characters long; at most {MAX_TOKEN_CHARS:,}."
            )


def probe_texts(config: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(description, text) pairs that make badly backtracking patterns slow: long runs of one character (taken
    from the file's own patterns and from common text) followed by a character that breaks the match."""
    chars = ["a", " ", "0", "\n", "é", "中", "!"]
    if config is not None:
        for section in ("normalizer", "pre_tokenizer"):
            for node in _nodes(config.get(section)):
                found = _pattern_text(node.get("pattern"))
                if found is not None:
                    chars.extend(c for c in found[0] if c.isprintable() and c not in "\\()[]{}|*+?^$.")
    unique = list(dict.fromkeys(chars))[:24]
    runs = [(f"{PROBE_CHARS} × {c!r} then '\\x01'", c * PROBE_CHARS + "\x01") for c in unique]
    # Short runs: each stays under Oniguruma's backtracking cap (no panic) but together they take seconds.
    repeats = PROBE_CHARS // (PROBE_RUN + 1)
    runs += [(f"{repeats} runs of {PROBE_RUN} × {c!r}", (c * PROBE_RUN + "\x01") * repeats) for c in unique]
    return runs


PROBE_CHARS = 400  # a few hundred characters: enough for exponential patterns to show, cheap for sane ones
PROBE_RUN = 24
PROBE_SECONDS = 1.0  # one probe text may take at most this long (sane tokenizers take about a millisecond)
