"""HTTP through Django's WSGI handler on a fixed pool of kept threads, under the ASGI server.

Every view here is synchronous (DRF). Django's ASGI handler runs each request's synchronous code in a thread of its
own, so nothing kept per thread survives a request: each request opened a new database connection (on SQLite, with
its pragmas) and crossed between the event loop and a thread at every layer. That cost about 4 ms of CPU on a request
that does nothing, more than tokenizing 1 kB (docs/benchmarks.md). Here the same Django application runs through its
WSGI handler on kept threads, so database connections live on between requests (``CONN_MAX_AGE``), and a request
crosses to a thread once: the response of an ordinary view comes back whole in that one hop. A streaming response
(a file download) is read chunk by chunk on the pool and sent from the event loop, each chunk once the server has
taken the previous one, so a client that stops reading holds no thread (it did in a first version: 8 such clients
would have stopped the server).

The request body is read in the event loop before a thread is taken, as Django's ASGI handler does: a slow or stalled
client holds no thread, only its spooled bytes (in memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then on disk). The
body limit (``webapp.body_limit``) wraps this application, so an oversized body is refused while it is read.
Websockets do not come here: they go to Channels.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponseBase

from webapp.asgi_types import ASGIApp, Message, Receive, Scope, Send


async def spool_body(receive: Receive) -> IO[bytes] | None:
    """The whole request body in a spooled file positioned at 0, or None when the client disconnected first."""
    body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115 - the caller closes it
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return None
        body.write(message.get("body", b""))
        if not message.get("more_body", False):
            body.seek(0)
            return body


def wsgi_environ(scope: Scope, body: IO[bytes], length: int) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP scope. ``CONTENT_LENGTH`` is the length actually received, so a chunked
    body (which declares none) reaches Django whole."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(length),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the received length above
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        if key in environ:  # a repeated header: joined as one (cookies with "; ", as browsers send them)
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


@dataclass
class _Started:
    """What the handler's thread hands back: the status line and headers, and the body, or the response to stream."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    stream: HttpResponseBase | None = None


_END = object()


def threaded_django_http(threads: int) -> ASGIApp:
    """The Django application as an ASGI app for HTTP scopes, run by ``threads`` kept threads."""
    handler = WSGIHandler()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    def run(environ: dict[str, Any]) -> _Started:
        started: list[_Started] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., None]:
            pairs = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            started[:] = [_Started(int(status.split(" ", 1)[0]), pairs)]
            return lambda data: None  # Django never uses the write() callable

        response: Iterable[bytes] = handler(environ, start_response)
        if isinstance(response, HttpResponseBase) and response.streaming:
            started[0].stream = response  # read chunk by chunk by the event loop, closed after the last one
            return started[0]
        try:
            started[0].body = b"".join(response)
        finally:
            _close(response)
        return started[0]

    async def stream(response: HttpResponseBase, send: Send, disconnected: asyncio.Task[Message]) -> None:
        """Each chunk is read on a pool thread and sent from the event loop, the next one only once the server has
        taken it: a client that reads slowly, or stops reading, holds no thread, and one that has gone stops the
        reading."""
        loop = asyncio.get_running_loop()
        chunks = iter(response)
        while not disconnected.done():
            chunk = await loop.run_in_executor(pool, next, chunks, _END)
            if chunk is _END:
                await send({"type": "http.response.body", "body": b""})
                return
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await spool_body(receive)
        if body is None:
            return
        try:
            length = body.seek(0, 2)
            body.seek(0)
            loop = asyncio.get_running_loop()
            head = await loop.run_in_executor(pool, run, wsgi_environ(scope, body, length))
        finally:
            body.close()
        start = {"type": "http.response.start", "status": head.status, "headers": head.headers}
        if head.stream is None:
            await send(start)
            await send({"type": "http.response.body", "body": head.body})
            return
        disconnected = asyncio.ensure_future(receive())  # the body is read: the next message is the disconnect
        try:
            await send(start)
            await stream(head.stream, send, disconnected)
        finally:
            disconnected.cancel()
            await loop.run_in_executor(pool, _close, head.stream)

    return app


def _close(response: object) -> None:
    """Close a response in a pool thread: fires request_finished, which keeps or closes that thread's connection."""
    close = getattr(response, "close", None)
    if close is not None:
        close()
