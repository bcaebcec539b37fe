"""Refuse an HTTP request body over its limit before Django reads it.

The HTTP bridge (``webapp.sync_http``, like Django's ``ASGIHandler`` before it) spools the whole body to a temporary
file before any view, upload handler or size check runs, so without this a stranger could make the server write any
amount to disk (a chunked body has no declared length at all). This wrapper answers 413 at once when the declared
``Content-Length`` is over the limit, and otherwise counts the bytes as they are received and stops at the limit.
"""

from __future__ import annotations

import json

from webapp.asgi_types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


def body_limit_for(path: str) -> int:
    """The largest body a path accepts: media uploads have their own (smaller) limit, every other path the global
    cap (``DATA_UPLOAD_MAX_MEMORY_SIZE``, above the largest text or dataset upload)."""
    from django.conf import settings

    if path.startswith("/api/v1/media/"):
        from apps.media.uploads import FORM_OVERHEAD_BYTES, MAX_UPLOAD_BYTES

        return MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "message": f"The request body is larger than {limit // 2**20} MiB, the most this endpoint accepts "
            "(docs/limits.md). Send a smaller file.",
            "extra": {"limit_bytes": limit},
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def limit_request_bodies(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limit = body_limit_for(str(scope.get("path", "")))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _send_413(send, limit)  # nothing of the body is read
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge
            return message

        try:
            await app(scope, counted, send)
        except _BodyTooLarge:
            await _send_413(send, limit)

    return guarded
