"""HTTP through Django's WSGI handler on a fixed pool of kept threads, under the ASGI server.

Every view here is synchronous (DRF). Django's ASGI handler runs each request's synchronous code in a thread of its
own, so nothing kept per thread survives a request: each request opened a new database connection (on SQLite, with
its pragmas) and crossed between the event loop and a thread at every layer. That cost about 4 ms of CPU on a request
that does nothing, more than tokenizing 1 kB (docs/benchmarks.md). Here the same Django application runs through its
WSGI handler on kept threads, so database connections live on between requests (``CONN_MAX_AGE``), and a request
crosses to a thread once: the response of an ordinary view comes back whole in that one hop. Only a streaming
response (a file download) sends its chunks from the thread, each waiting until the server has taken it.

The request body is read in the event loop before a thread is taken, as Django's ASGI handler does: a slow or stalled
client holds no thread, only its spooled bytes (in memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then on disk). The
body limit (``webapp.body_limit``) wraps this application, so an oversized body is refused while it is read.
Websockets do not come here: they go to Channels.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponseBase

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
    """What the handler's thread hands back: the status line and headers, and the body unless it streams."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    streamed: bool = False


def threaded_django_http(threads: int) -> ASGIApp:
    """The Django application as an ASGI app for HTTP scopes, run by ``threads`` kept threads."""
    handler = WSGIHandler()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    def run(environ: dict[str, Any], send: Send, loop: asyncio.AbstractEventLoop) -> _Started:
        started: list[_Started] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., None]:
            pairs = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            started[:] = [_Started(int(status.split(" ", 1)[0]), pairs)]
            return lambda data: None  # Django never uses the write() callable

        response: Iterable[bytes] = handler(environ, start_response)
        try:
            if isinstance(response, HttpResponseBase) and response.streaming:
                head = started[0]
                push = _pusher(send, loop)
                push({"type": "http.response.start", "status": head.status, "headers": head.headers})
                for chunk in response:
                    if chunk:
                        push({"type": "http.response.body", "body": chunk, "more_body": True})
                push({"type": "http.response.body", "body": b""})
                head.streamed = True
                return head
            started[0].body = b"".join(response)
            return started[0]
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()  # fires request_finished in this thread, which keeps or closes its database connection

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await spool_body(receive)
        if body is None:
            return
        try:
            length = body.seek(0, 2)
            body.seek(0)
            loop = asyncio.get_running_loop()
            head = await loop.run_in_executor(pool, run, wsgi_environ(scope, body, length), send, loop)
            if not head.streamed:
                await send({"type": "http.response.start", "status": head.status, "headers": head.headers})
                await send({"type": "http.response.body", "body": head.body})
        finally:
            body.close()

    return app


def _pusher(send: Send, loop: asyncio.AbstractEventLoop) -> Callable[[Message], None]:
    """Send from the handler's thread through the event loop, waiting until the server has taken each message (so a
    slow reader slows the download instead of filling memory)."""

    async def deliver(message: Message) -> None:
        await send(message)  # ASGI promises an awaitable, run_coroutine_threadsafe wants a coroutine

    def push(message: Message) -> None:
        asyncio.run_coroutine_threadsafe(deliver(message), loop).result()

    return push
