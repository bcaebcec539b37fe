"""The ASGI server's log lines never carry a query string (a URL may hold a secret: an old client's ``?token=``) nor
a credential header's value (``Authorization``, ``Cookie``, ``Sec-WebSocket-Protocol``, which may carry a websocket
ticket or an API key).

uvicorn logs every websocket handshake (``"WebSocket /ws/jobs/<id>/?..." [accepted]``) on ``uvicorn.error`` and, when
enabled, every request on ``uvicorn.access``. At ``--log-level debug`` the websockets library also logs each request
header on ``uvicorn.error`` (``"< %s: %s"``), and at ``trace`` uvicorn logs each ASGI scope (its ``query_string`` and
``subprotocols`` included) on ``uvicorn.asgi``. These loggers get this filter when the ASGI application is imported,
so it holds whatever command line started the server.
"""

from __future__ import annotations

import logging

SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access", "uvicorn.asgi")
REDACTED = "?[query redacted]"
REDACTED_VALUE = "[redacted]"
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "sec-websocket-protocol"})
SECRET_SCOPE_KEYS = ("query_string", "subprotocols")


def redact_query(value: object) -> object:
    """``/path?secret`` -> ``/path?[query redacted]``; anything that is not a path is returned as is."""
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0] + REDACTED
    return value


def redact_arg(value: object) -> object:
    """A path loses its query string; an ASGI scope (a dict) loses its query string and offered subprotocols."""
    if isinstance(value, dict) and any(key in value for key in SECRET_SCOPE_KEYS):
        return {key: REDACTED_VALUE if key in SECRET_SCOPE_KEYS else item for key, item in value.items()}
    return redact_query(value)


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):  # uvicorn passes the path as an argument of a %-format message
            args = tuple(redact_arg(arg) for arg in record.args)
            # a header line ("< %s: %s", name, value): a credential's value is dropped
            if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in CREDENTIAL_HEADERS:
                args = (args[0], REDACTED_VALUE)
            record.args = args
        return True


def install_query_string_redaction() -> None:
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactQueryStrings) for existing in logger.filters):
            logger.addFilter(RedactQueryStrings())
