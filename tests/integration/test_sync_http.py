"""HTTP through Django's WSGI handler on kept threads (webapp/sync_http.py), driven as the ASGI server drives it.

Most tests call the ASGI application in-process with hand-built scopes and ``receive``/``send`` callables, so they
can split a body into messages, disconnect half-way, hold a ``send`` or stall a client at will. One test goes through
the real server, where only a real socket shows that a chunked request reaches a view whole.

This module is also the URLconf of the tests that need views of their own (``settings.ROOT_URLCONF = __name__``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.signals import request_started
from django.db.backends.signals import connection_created
from django.http import FileResponse, HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests.factories import PASSWORD, make_team, make_user, session_cookie
from webapp.asgi import application
from webapp.asgi_types import ASGIApp, Message
from webapp.sync_http import threaded_django_http

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MIB = 2**20
ANSWER_WITHIN_S = 10  # a request that is not answered by then is stuck (deadlock, no free thread)

# --- Views of this module's URLconf --------------------------------------------------------------------------------

echo_calls: list[str] = []  # the path of every call of the echo view
downloads: dict[str, Path] = {}  # name -> file the download view serves
stream_produced: list[int] = []  # every chunk the streaming view has produced, by index
stream_closed: list[bool] = []  # one entry once the streaming view's generator has been closed
STREAM_CHUNKS = 10


@csrf_exempt
def echo(request: HttpRequest, rest: str) -> JsonResponse:
    echo_calls.append(request.path)
    body = request.body
    return JsonResponse(
        {
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "path": request.path,
            "query": {key: request.GET.getlist(key) for key in request.GET},
            "accept": request.headers.get("Accept"),
            "cookies": request.COOKIES,
        }
    )


def download(request: HttpRequest, name: str) -> FileResponse:
    return FileResponse(downloads[name].open("rb"), as_attachment=True, filename=name)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        try:
            for index in range(STREAM_CHUNKS):
                stream_produced.append(index)
                yield f"chunk {index};".encode()
        finally:
            stream_closed.append(True)

    return StreamingHttpResponse(chunks(), content_type="text/plain")


urlpatterns = [
    path("echo/<path:rest>", echo),
    path("download/<str:name>", download),
    path("stream/", stream),
]


@pytest.fixture
def own_views(settings: Any) -> Iterator[None]:
    """Requests resolve against this module's views (read per request, so the kept threads see it too)."""
    settings.ROOT_URLCONF = __name__
    echo_calls.clear()
    downloads.clear()
    stream_produced.clear()
    stream_closed.clear()
    yield


# --- Driving an ASGI app in-process --------------------------------------------------------------------------------


def http_scope(
    method: str, url_path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> dict:
    """An HTTP scope as uvicorn builds it: ``path`` percent-decoded, ``query_string`` raw bytes."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": url_path,
        "raw_path": quote(url_path).encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


@dataclass
class Exchange:
    """What the app sent for one request."""

    sent: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    def header(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.sent[0]["headers"] if key == name]

    @property
    def bodies(self) -> list[Message]:
        return [message for message in self.sent if message["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(message.get("body", b"") for message in self.bodies)

    def json(self) -> Any:
        return json.loads(self.body)


def body_messages(parts: list[bytes]) -> list[Message]:
    """The body as the server hands it over: one message per part, ``more_body`` on all but the last."""
    return [
        {"type": "http.request", "body": part, "more_body": index < len(parts) - 1} for index, part in enumerate(parts)
    ]


async def exchange(
    app: ASGIApp,
    scope: dict,
    messages: list[Message] | None = None,
    *,
    on_send: Callable[[Message], Any] | None = None,
) -> Exchange:
    """Run one request; ``receive`` hands out ``messages`` (default: an empty body), then waits forever like an open
    connection that sends nothing more. ``on_send`` (a coroutine function) runs inside each ``send``."""
    incoming = list(messages if messages is not None else body_messages([b""]))
    result = Exchange()

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if on_send is not None:
            await on_send(message)
        result.sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), ANSWER_WITHIN_S)
    return result


def run(coroutine: Any) -> Any:
    """Tests stay synchronous (the ORM refuses to run in an event loop) and run each exchange in a fresh loop."""
    return asyncio.run(coroutine)


# --- Tests ---------------------------------------------------------------------------------------------------------


def test_database_connections_are_kept_between_requests(settings: Any) -> None:
    """Catches a database connection opened per request (threads not kept, or the connection closed after each
    request): three times ``WEB_THREADS`` sequential requests open at most ``WEB_THREADS`` connections."""
    app = threaded_django_http(settings.WEB_THREADS)
    count_of_requests = 3 * settings.WEB_THREADS
    opened: list[str] = []

    def count(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(threading.current_thread().name)

    connection_created.connect(count, weak=False)
    try:

        async def requests() -> list[int]:
            return [(await exchange(app, http_scope("GET", "/healthz"))).status for _ in range(count_of_requests)]

        statuses = run(requests())
    finally:
        connection_created.disconnect(count)
    assert statuses == [200] * count_of_requests
    assert 1 <= len(opened) <= settings.WEB_THREADS, opened
    assert all(name.startswith("http") for name in opened), opened


def test_a_chunked_body_reaches_the_view_whole() -> None:
    """Catches ``CONTENT_LENGTH`` taken from the header: a body in several messages and with no Content-Length
    would be read as empty (or cut at the first message), and the sign-in refused."""
    user = make_user("chunked-signer")
    make_team("Chunked team", user)
    body = json.dumps({"username": user.username, "password": PASSWORD}).encode()
    parts = [body[:7], body[7:20], b"", body[20:]]  # the password is split between messages
    scope = http_scope("POST", "/api/v1/auth/login/", headers=[(b"content-type", b"application/json")])

    signed_in = run(exchange(application, scope, body_messages(parts)))

    assert signed_in.status == 200, signed_in.body
    assert signed_in.json()["user"]["username"] == user.username
    cookies = b" ".join(signed_in.header(b"set-cookie"))
    assert b"sessionid=" in cookies and b"csrftoken=" in cookies, signed_in.sent[0]["headers"]


def test_a_large_body_spilled_to_disk_arrives_intact(own_views: None) -> None:
    """Catches a body spooled wrongly once it is larger than ``FILE_UPLOAD_MAX_MEMORY_SIZE`` (on disk, not in memory):
    lost parts, a file not rewound, or a length other than what was received."""
    parts = [bytes([index]) * MIB for index in range(7)]  # 7 MiB, above the 5 MiB kept in memory
    whole = b"".join(parts)
    scope = http_scope("POST", "/echo/big", headers=[(b"content-length", b"1")])  # a lying declared length

    echoed = run(exchange(application, scope, body_messages(parts))).json()

    assert echoed["length"] == len(whole)
    assert echoed["sha256"] == hashlib.sha256(whole).hexdigest()


def test_a_client_that_disconnects_mid_body_reaches_no_view(own_views: None) -> None:
    """Catches a half body handed to Django: on a disconnect before the last body message, no request may start,
    no view may run and nothing may be sent."""
    started: list[object] = []

    def count(sender: Any, **kwargs: Any) -> None:
        started.append(sender)

    messages = [*body_messages([b'{"half": ', b"[1, 2"])[:1], {"type": "http.disconnect"}]
    scope = http_scope("POST", "/echo/half", headers=[(b"content-type", b"application/json")])
    request_started.connect(count, weak=False)
    try:
        gone = run(exchange(application, scope, messages))
    finally:
        request_started.disconnect(count)
    assert gone.sent == []
    assert echo_calls == [] and started == []


def test_query_path_and_repeated_headers_arrive_as_django_expects() -> None:
    """Catches a lost query string (the second team would not be chosen), repeated Cookie headers joined with ','
    or only one of them kept (the session cookie is in the middle one, so the user would be signed out)."""
    user = make_user("cookie-holder")
    make_team("First team", user)
    second = make_team("Second team", user)
    headers = [(b"cookie", b"theme=dark"), (b"cookie", session_cookie(user).encode()), (b"cookie", b"lang=fr")]

    me = run(exchange(application, http_scope("GET", "/api/v1/auth/me/", f"team={second.slug}".encode(), headers)))

    assert me.status == 200, me.body
    assert me.json()["user"]["username"] == user.username
    assert me.json()["current_team"] == second.slug


def test_a_non_ascii_path_reaches_django_decoded() -> None:
    """Catches the percent-decoded path passed on as text instead of UTF-8 bytes in latin-1 (PEP 3333): Django would
    see mojibake ('Ã¼') or fail on the path."""
    missing = run(exchange(application, http_scope("GET", "/api/v1/grüße/😀/")))
    assert missing.status == 404
    assert "/api/v1/grüße/😀/" in missing.json()["message"]


def test_echo_sees_every_query_value_and_joined_headers(own_views: None) -> None:
    """Catches a query string decoded or split wrongly (repeated keys, '+', UTF-8 escapes) and a repeated header
    other than Cookie joined with anything but ',' (RFC 9110)."""
    scope = http_scope(
        "GET",
        "/echo/é",
        b"q=a+b&q=%C3%BC&empty=",
        [(b"accept", b"text/plain"), (b"accept", b"application/json"), (b"cookie", b"a=1"), (b"cookie", b"b=2")],
    )
    echoed = run(exchange(application, scope)).json()
    assert echoed["path"] == "/echo/é"
    assert echoed["query"] == {"q": ["a b", "ü"], "empty": [""]}
    assert echoed["accept"] == "text/plain,application/json"
    assert echoed["cookies"] == {"a": "1", "b": "2"}


def test_a_file_download_streams_whole_in_several_messages(own_views: None, tmp_path: Path) -> None:
    """Catches a streaming response buffered whole (one body message: a large artifact would sit in memory), lost or
    reordered chunks, missing headers or a missing final message; ``send`` is slow, as a slow reader makes it."""
    content = bytes(range(256)) * 1000  # 256 kB, many FileResponse blocks
    downloads["trace.bin"] = tmp_path / "trace.bin"
    downloads["trace.bin"].write_bytes(content)

    async def slow_send(message: Message) -> None:
        await asyncio.sleep(0.001)

    got = run(exchange(application, http_scope("GET", "/download/trace.bin"), on_send=slow_send))

    assert got.status == 200
    assert got.header(b"content-length") == [str(len(content)).encode()]
    assert got.header(b"content-disposition") == [b'attachment; filename="trace.bin"']
    assert len(got.bodies) > 2
    assert got.body == content
    assert all(message.get("more_body") for message in got.bodies[:-1])
    assert not got.bodies[-1].get("more_body", False)


def test_a_stream_is_read_no_faster_than_the_server_takes_it(own_views: None) -> None:
    """Catches chunks read ahead without waiting for ``send`` to finish (a slow reader would then fill memory): while
    the server holds the second chunk, the view must not have produced a third, and sends must never overlap."""

    async def scenario() -> tuple[list[int], Exchange]:
        release = asyncio.Event()
        in_flight = 0
        overlapped = False
        held_at: list[int] = []

        async def on_send(message: Message) -> None:
            nonlocal in_flight, overlapped
            in_flight += 1
            overlapped = overlapped or in_flight > 1
            if message.get("body") == b"chunk 1;":
                await asyncio.sleep(0.3)  # plenty of time for a thread that does not wait to run ahead
                held_at.extend(stream_produced)
                release.set()
            await asyncio.sleep(0)
            in_flight -= 1

        result = await exchange(application, http_scope("GET", "/stream/"), on_send=on_send)
        assert release.is_set() and not overlapped
        return held_at, result

    held_at, result = run(scenario())
    assert held_at == [0, 1]
    assert result.body == b"".join(f"chunk {index};".encode() for index in range(STREAM_CHUNKS))
    assert stream_closed == [True]


def test_a_client_that_stops_reading_a_download_holds_no_thread(own_views: None) -> None:
    """Catches a download sent from a pool thread that waits for the client (the bridge's first version): with one
    thread, a client that never reads would leave every other request waiting, and 8 such clients would stop a web
    process."""
    app = threaded_django_http(1)

    async def scenario() -> Exchange:
        never = asyncio.Event()

        async def stuck(message: Message) -> None:
            if message["type"] == "http.response.body":
                await never.wait()  # the client's window stays full

        stalled = asyncio.create_task(exchange(app, http_scope("GET", "/stream/"), on_send=stuck))
        await asyncio.sleep(0.1)
        answered = await exchange(app, http_scope("GET", "/echo/while-stalled"))
        assert not stalled.done()
        stalled.cancel()
        await asyncio.gather(stalled, return_exceptions=True)
        return answered

    answered = run(scenario())
    assert answered.status == 200
    assert stream_produced == [0]  # nothing read ahead for the stuck client
    assert stream_closed == [True]  # and its response was closed when the request ended


def test_a_download_stops_once_its_client_has_gone(own_views: None) -> None:
    """Catches a stream read to its end after the client disconnected (a thread and the disk busy for nothing):
    the view's generator must be closed after at most the chunk in flight."""
    gone = [*body_messages([b""]), {"type": "http.disconnect"}]

    result = run(exchange(application, http_scope("GET", "/stream/"), gone))

    assert result.status == 200
    assert len(stream_produced) < STREAM_CHUNKS
    assert stream_closed == [True]


def test_more_requests_than_threads_all_complete(own_views: None, tmp_path: Path) -> None:
    """Catches a request dropped or deadlocked when all threads are busy, including threads blocked on a slow
    download's ``send``: 4 slow downloads and 12 health checks at once on 2 threads."""
    app = threaded_django_http(2)
    content = b"x" * 64_000
    downloads["blob"] = tmp_path / "blob"
    downloads["blob"].write_bytes(content)

    async def slow_send(message: Message) -> None:
        await asyncio.sleep(0.002)

    async def everything() -> list[Exchange]:
        slow = [exchange(app, http_scope("GET", "/download/blob"), on_send=slow_send) for _ in range(4)]
        quick = [exchange(app, http_scope("GET", "/echo/health")) for _ in range(12)]
        return list(await asyncio.gather(*slow, *quick))

    results = run(everything())
    assert [result.status for result in results] == [200] * 16
    assert all(result.body == content for result in results[:4])
    assert len(echo_calls) == 12


def test_a_stalled_client_holds_no_thread() -> None:
    """Catches a body read on a worker thread: with one thread, a client that never finishes its body would leave
    every other request waiting."""
    app = threaded_django_http(1)

    async def scenario() -> tuple[Exchange, list[Message]]:
        stalled_sent: list[Message] = []
        messages = body_messages([b'{"never": ', b"}"])[:1]  # the last body message never comes

        async def record(message: Message) -> None:
            stalled_sent.append(message)

        stalled = asyncio.create_task(
            exchange(app, http_scope("POST", "/api/v1/auth/login/"), messages, on_send=record)
        )
        await asyncio.sleep(0.1)
        answered = await exchange(app, http_scope("GET", "/healthz"))
        assert not stalled.done()
        stalled.cancel()
        return answered, stalled_sent

    answered, stalled_sent = run(scenario())
    assert answered.status == 200
    assert stalled_sent == []  # the stalled request got no answer of any kind


def test_a_chunked_sign_in_over_a_real_socket(web_address: tuple[str, int]) -> None:
    """Catches a bridge that only works with a declared length: uvicorn hands a ``Transfer-Encoding: chunked`` body
    over in several messages and with no Content-Length header, and the sign-in must still see all of it."""
    user = make_user("socket-signer")
    body = json.dumps({"username": user.username, "password": PASSWORD}).encode()
    head = b"POST /api/v1/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    with socket.create_connection(web_address, timeout=10) as sock:
        sock.sendall(head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for part in (body[:10], body[10:25], body[25:]):
            sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            time.sleep(0.05)  # separate packets, so separate body messages
        sock.sendall(b"0\r\n\r\n")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.split(b" ")[1] == b"200", response
    assert f'"username":"{user.username}"'.encode() in rest, response
