"""The one error type of the detection science: bad input the caller can fix (the app answers it with a 400)."""

from __future__ import annotations


class DetectionInputError(ValueError):
    """Input that cannot be scored: an empty or one-token text, a missing second model or frequency table, a pair of
    models with different tokenizers, a frequency table for another tokenizer, labels that are not binary..."""
