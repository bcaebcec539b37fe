"""Shared helpers: skip a tokenizer whose assets are not installed here (with the reason), list the built-ins."""

from __future__ import annotations

import pytest

from workers.text_tokenizers import TextTokenizer, builtin_specs, load_tokenizer

BUILTIN_IDS = [spec.id for spec in builtin_specs()]


def require(spec_id: str) -> TextTokenizer:
    """The loaded tokenizer, or a skip saying the model store / asset package is missing on this machine."""
    spec = next(s for s in builtin_specs() if s.id == spec_id)
    if not spec.available:
        pytest.fail(f"{spec_id} is not installed here (run `python -m workers.model_store prepare --only tokenizers`)")
    return load_tokenizer(spec_id)
