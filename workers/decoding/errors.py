"""Errors raised for bad user-supplied decoding parameters."""

from __future__ import annotations


class DecodingInputError(ValueError):
    """A request the engine refuses; the message is written for the end user and is safe to show as-is."""

    user_facing = True  # the job runner shows the message as it is
