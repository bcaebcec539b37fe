"""orjson where results are big: a JSONField, a DRF renderer and parser several times faster than json.

A 100 kB tokenization result is about 2 MB of JSON; with the standard library, encoding it for the database and
again for the response cost more than the tokenization itself (measured in bench/tokenize_bench.py).

The parser is also the depth guard: orjson refuses documents nested deeper than ``JSON_MAX_DEPTH`` levels with an
ordinary decode error, where the standard library's recursive parser raised RecursionError (a 500).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.db import models
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]  # not in the stubs
from rest_framework.renderers import JSONRenderer

from apps.core import nul_safe

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
JSON_MAX_DEPTH = 1024  # orjson's fixed limit on nested arrays/objects when parsing (docs/limits.md)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_fallback, option=_OPTIONS)


def _fallback(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "hex") and hasattr(value, "int"):  # UUID
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class FastJSONField(models.JSONField):
    """A JSONField encoded and decoded with orjson (same column type and stored text as JSONField). Strings with NUL
    are stored escaped on every database (``nul_safe``), since Postgres cannot hold them."""

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return super().get_db_prep_value(value, connection, prepared)
        encoded = dumps(value)
        if nul_safe.needs_escaping(encoded):
            value = nul_safe.escape(value)
            encoded = dumps(value)
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        return encoded.decode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or connection.vendor != "sqlite" or not isinstance(value, str | bytes):
            return nul_safe.unescape(super().from_db_value(value, expression, connection))
        return nul_safe.unescape(orjson.loads(value))


class FastJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return dumps(data)


class FastJSONParser(JSONParser):
    """Request bodies parsed with orjson: strict RFC 8259 (no NaN, no unpaired surrogates), at most 1024 levels deep."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        body = stream.read()
        try:
            return orjson.loads(
                body if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else body.decode(encoding)
            )
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding} (byte {exc.start}).") from exc
        except orjson.JSONDecodeError as exc:
            if "depth" in str(exc) or "recursion" in str(exc).lower():
                raise ParseError(
                    f"JSON parse error - the body is nested more than {JSON_MAX_DEPTH} levels deep; flatten it."
                ) from exc
            if "surrogate" in str(exc):
                raise ParseError(
                    f"JSON parse error - an unpaired surrogate escape such as \\ud800 (invalid Unicode) at "
                    f"line {exc.lineno} column {exc.colno}; remove it."
                ) from exc
            raise ParseError(f"JSON parse error - {exc}") from exc
