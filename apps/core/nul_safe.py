"""JSON values that a Postgres ``jsonb`` (or ``text``) column can hold although their strings contain NUL.

Postgres refuses U+0000 in text and in jsonb ("unsupported Unicode escape sequence"), while the text lab accepts any
Unicode text and echoes it in its results. A value whose JSON holds ``\\u0000`` is stored wrapped as
``{"$nul_escaped": <value>}`` with, in every string (keys too), U+0001 doubled and U+0000 written as U+0001 "0";
reading reverses it. Values without NUL (nearly all) are stored as they are. The same code runs on every database,
so the SQLite tests exercise the path Postgres needs.
"""

from __future__ import annotations

import re
from typing import Any

MARK = "$nul_escaped"
_ESCAPED = re.compile("\x01(.)", re.S)
_UNESCAPE = {"\x01": "\x01", "0": "\x00"}


def needs_escaping(encoded_json: bytes) -> bool:
    """Whether the JSON text may hold a NUL (a rare false positive only costs an unneeded escape)."""
    return b"\\u0000" in encoded_json


def escape(value: Any) -> dict[str, Any]:
    return {MARK: _walk(value, _escape_str)}


def unescape(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and MARK in value:
        return _walk(value[MARK], _unescape_str)
    return value


def _escape_str(text: str) -> str:
    return text.replace("\x01", "\x01\x01").replace("\x00", "\x010") if "\x00" in text or "\x01" in text else text


def _unescape_str(text: str) -> str:
    return _ESCAPED.sub(lambda match: _UNESCAPE[match.group(1)], text) if "\x01" in text else text


def _walk(value: Any, convert: Any) -> Any:
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, dict):
        return {convert(k) if isinstance(k, str) else k: _walk(v, convert) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, convert) for item in value]
    return value
