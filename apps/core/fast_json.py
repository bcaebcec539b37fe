"""orjson where results are big: a JSONField and a DRF renderer that serialise several times faster than json.

A 100 kB tokenization result is about 2 MB of JSON; with the standard library, encoding it for the database and
again for the response cost more than the tokenization itself (measured in bench/tokenize_bench.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.db import models
from rest_framework.renderers import JSONRenderer

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_fallback, option=_OPTIONS)


def _fallback(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "hex") and hasattr(value, "int"):  # UUID
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class FastJSONField(models.JSONField):
    """A JSONField encoded and decoded with orjson (same column type and stored text as JSONField)."""

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        return dumps(value).decode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or connection.vendor != "sqlite" or not isinstance(value, str | bytes):
            return super().from_db_value(value, expression, connection)
        return orjson.loads(value)


class FastJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return dumps(data)
