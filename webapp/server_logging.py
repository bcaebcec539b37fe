"""The ASGI server's log lines never carry a query string: a URL may hold a secret (an old client's ``?token=``).

uvicorn logs every websocket handshake (``"WebSocket /ws/jobs/<id>/?..." [accepted]``) on ``uvicorn.error`` and, when
enabled, every request on ``uvicorn.access``; both get this filter when the ASGI application is imported, so it holds
whatever command line started the server.
"""

from __future__ import annotations

import logging

SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access")
REDACTED = "?[query redacted]"


def redact_query(value: object) -> object:
    """``/path?secret`` -> ``/path?[query redacted]``; anything that is not a path is returned as is."""
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0] + REDACTED
    return value


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):  # uvicorn passes the path as an argument of a %-format message
            record.args = tuple(redact_query(arg) for arg in record.args)
        return True


def install_query_string_redaction() -> None:
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactQueryStrings) for existing in logger.filters):
            logger.addFilter(RedactQueryStrings())
