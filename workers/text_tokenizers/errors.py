"""Errors raised by the tokenizer engine; their messages are shown to users as they are."""

from __future__ import annotations


class TokenizerError(Exception):
    """A tokenizer cannot be loaded or used; ``message`` says what went wrong and what to do about it."""

    user_facing = True  # the job runner shows the message as it is

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AssetMissingError(TokenizerError):
    """A built-in tokenizer's files are not in the model store (the set-up command has not been run)."""


SETUP_ADVICE = "run the set-up command `python -m workers.model_store prepare --only tokenizers`"
