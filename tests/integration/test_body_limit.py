"""Request bodies over the limit are refused by the real server before they are stored (webapp/body_limit.py).

The HTTP bridge (webapp/sync_http.py) spools a whole body to a temporary file before any view or upload handler runs,
which the test client (it skips that step) cannot show: these tests talk HTTP to the product's own server.
"""

from __future__ import annotations

import select
import socket
import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MIB = 2**20


def _status(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def _request_head(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=B\r\n{extra}\r\n"
    ).encode()


def test_a_declared_length_over_the_limit_is_refused_at_once(web_address: tuple[str, int]) -> None:
    """Catches a server that waits for (and writes to disk) a 1 GiB body before refusing it: only 1 kB is sent."""
    with socket.create_connection(web_address, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(_request_head("/api/v1/media/tokenize/", f"Content-Length: {2**30}\r\n") + b"x" * 1024)
        assert _status(sock) == 413
        assert time.monotonic() - started < 5


@pytest.mark.parametrize(("path", "limit_mib"), [("/api/v1/media/tokenize/", 51), ("/api/v1/tokenize/", 60)])
def test_a_chunked_body_is_cut_off_at_the_limit(web_address: tuple[str, int], path: str, limit_mib: int) -> None:
    """Catches a chunked body (no declared length) that the server reads to the end: 300 MiB are offered, the
    413 must come once about the path's limit has been sent (socket buffers allow a few MiB more)."""
    chunk = b"\0" * MIB
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(web_address, timeout=30) as sock:
        sock.sendall(_request_head(path, "Transfer-Encoding: chunked\r\n"))
        status = None
        for _ in range(300):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                status = _status(sock)
                break
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError):
                status = _status(sock)
                break
            sent += len(chunk)
        if status is None:
            status = _status(sock)
    assert status == 413
    assert limit_mib * MIB <= sent <= (limit_mib + 40) * MIB, f"{sent / MIB:.0f} MiB were sent"
