"""A minimal word-level tokenizer.json for tests of uploaded-tokenizer validation and the sandbox."""

from __future__ import annotations

from typing import Any


def word_level_config(chars: str, **sections: Any) -> dict[str, Any]:
    """A tokenizer.json whose vocabulary is ``chars`` (ids in order, "?" the unknown token); ``sections`` override."""
    config: dict[str, Any] = {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": {c: i for i, c in enumerate(chars)}, "unk_token": "?"},
    }
    config.update(sections)
    return config
