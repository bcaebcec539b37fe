"""Byte ranges of a finished media job's artifacts (apps/core/ranges.py): each single-range form answers exactly the
file's bytes (206), a range past the end is a 416 naming the size, anything else gets the whole file, another team
still gets a 404, and a range streams in blocks. One test goes through the real server (HEAD, a range on a socket)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.media.selectors import artifact_dir
from tests.apps.media import files
from tests.conftest import start_web
from tests.factories import make_team, make_user, session_cookie, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

CLIP = files.long_clip(60)  # a real WAV of 240 kB: several 64 KiB blocks
SIZE = len(CLIP)
CODES = bytes(range(256)) * 40


@pytest.fixture
def job(team: Team) -> Job:
    """A finished media job whose result lists original.wav and codes.npz, both stored."""
    owner = team.memberships.get().user
    job = job_services.job_create(team=team, owner=owner, kind="media_tokenize", params={}, dispatch=False)
    folder = artifact_dir(team_id=team.id, job_id=job.id)
    folder.mkdir(parents=True)
    (folder / "original.wav").write_bytes(CLIP)
    (folder / "codes.npz").write_bytes(CODES)
    result = {"original": {"artifact": "original.wav"}, "tokenizers": [{"codes_artifact": "codes.npz"}]}
    job_services.job_succeed(job_id=job.id, result=result)
    return job


def _url(job: Job, name: str = "original.wav") -> str:
    return f"/api/v1/media/jobs/{job.id}/artifacts/{name}/"


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=10-99", 10, 99),
        ("bytes=0-0", 0, 0),
        ("bytes=1000-", 1000, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        ("bytes=100-99999999999", 100, SIZE - 1),  # a last position past the end is clipped
        ("bytes=-99999999999", 0, SIZE - 1),  # a suffix longer than the file is the whole file
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        ("Bytes=70000-140000", 70_000, 140_000),  # the unit is case-insensitive; spans block boundaries
    ],
)
def test_each_single_range_form_answers_exactly_those_bytes(
    client: APIClient, job: Job, header: str, first: int, last: int
) -> None:
    """Catches an off-by-one in a range (inclusive end), a suffix or open range counted wrongly, an unclipped last
    position, or a 206 whose Content-Range / Content-Length does not describe the bytes sent."""
    response = client.get(_url(job), HTTP_RANGE=header)
    assert response.status_code == 206, response
    body = _body(response)
    assert body == CLIP[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1) == str(len(body))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/wav"
    assert response["Cache-Control"] == "private, max-age=3600"


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=99999999-", "bytes=-0"])
def test_a_range_past_the_end_is_416_with_the_size(client: APIClient, job: Job, header: str) -> None:
    """Catches a range past the end answered with an empty 206 or the whole file (or a 500), or a 416 without the
    `Content-Range: bytes */size` a client needs to ask again."""
    response = client.get(_url(job), HTTP_RANGE=header)
    assert response.status_code == 416, response
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response["Accept-Ranges"] == "bytes"
    assert response.json()["extra"] == {"size_bytes": SIZE} and "range" in response.json()["message"].lower()


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-9",  # several ranges: not served as multipart
        "bytes=9-5",  # last before first
        "bytes=-",
        "bytes=abc-def",
        "bytes=0x10-20",
        "items=0-9",
        "bytes 0-9",
        "bytes=" + "9" * 40 + "-",  # a position longer than any file
    ],
)
def test_malformed_or_multi_range_headers_get_the_whole_file(client: APIClient, job: Job, header: str) -> None:
    """Catches a Range header the server does not serve exactly answered with a wrong part, a 416 or a 500 instead of
    being ignored (RFC 9110: the whole file, 200)."""
    response = client.get(_url(job), HTTP_RANGE=header)
    assert response.status_code == 200, response
    assert _body(response) == CLIP and response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes" and "Content-Range" not in response


def test_if_range_gets_the_whole_file(client: APIClient, job: Job) -> None:
    """Catches a range served under an If-Range the server cannot check (the artifacts carry no validators): the
    client would splice a part of a changed file into its copy."""
    response = client.get(_url(job), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"some-etag"')
    assert response.status_code == 200 and _body(response) == CLIP


def test_the_whole_file_advertises_ranges_and_the_npz_stays_an_attachment(client: APIClient, job: Job) -> None:
    """Catches a whole-file answer without `Accept-Ranges: bytes` (browsers then never try to seek by range), or a
    ranged codes.npz that loses its attachment disposition or content type."""
    whole = client.get(_url(job))
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes" and _body(whole) == CLIP
    assert whole["Content-Length"] == str(SIZE)
    part = client.get(_url(job, "codes.npz"), HTTP_RANGE="bytes=256-511")
    assert part.status_code == 206 and _body(part) == CODES[256:512]
    assert part["Content-Type"] == "application/octet-stream"
    assert part["Content-Disposition"] == 'attachment; filename="codes.npz"'


def test_another_team_gets_404_even_with_a_range(job: Job) -> None:
    """Catches the range handling answering (a 206 or 416) before the job's team is checked: another team's user must
    not learn that the artifact exists, nor its size."""
    stranger = make_user("stranger")
    other = token_client(stranger, make_team("Other lab", stranger))
    for header in ("bytes=0-9", f"bytes={SIZE}-"):
        response = other.get(_url(job), HTTP_RANGE=header)
        assert response.status_code == 404 and "Content-Range" not in response, header


def test_a_range_streams_in_blocks(client: APIClient, job: Job) -> None:
    """Catches a range read into memory whole (one chunk of the range's size) instead of streamed from the file."""
    response = client.get(_url(job), HTTP_RANGE="bytes=1-")
    assert response.status_code == 206 and response.streaming
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]  # the test client's response type
    assert len(chunks) > 2 and max(len(chunk) for chunk in chunks) <= 2**16
    assert b"".join(chunks) == CLIP[1:]


def test_head_answers_the_headers_of_the_whole_file(client: APIClient, job: Job) -> None:
    """Catches HEAD refused (405) or answering other headers than GET; a Range on HEAD is ignored (RFC 9110 defines
    ranges for GET only)."""
    for range_header in (None, "bytes=0-9"):
        response = client.head(_url(job)) if range_header is None else client.head(_url(job), HTTP_RANGE=range_header)
        assert response.status_code == 200
        assert response["Content-Length"] == str(SIZE) and response["Accept-Ranges"] == "bytes"
        assert response["Content-Type"] == "audio/wav"


@pytest.fixture
def web_url(transactional_db: None, embedded_redis: str, tmp_path: Path) -> Iterator[str]:
    server, url = start_web(embedded_redis, tmp_path)
    yield url
    server.stop()


@pytest.mark.integration
def test_ranges_and_head_through_the_real_server(web_url: str, job: Job, team: Team) -> None:
    """Catches the ASGI server or the threaded bridge (webapp/sync_http.py) losing a 206's status or headers, sending
    more or fewer bytes than Content-Length, or a HEAD that sends the file's body."""
    parsed = urlparse(web_url)
    cookie = session_cookie(team.memberships.get().user)

    def request(method: str, headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
        connection = http.client.HTTPConnection(str(parsed.hostname), parsed.port, timeout=30)
        connection.request(method, _url(job), headers={"Cookie": cookie, **headers})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body

    part, body = request("GET", {"Range": "bytes=70000-"})
    assert part.status == 206 and body == CLIP[70_000:]
    assert part.headers["Content-Range"] == f"bytes 70000-{SIZE - 1}/{SIZE}"
    assert part.headers["Content-Length"] == str(SIZE - 70_000)
    head, body = request("HEAD", {})
    assert head.status == 200 and body == b"" and head.headers["Content-Length"] == str(SIZE)
    assert head.headers["Accept-Ranges"] == "bytes"
    refused, _ = request("GET", {"Range": f"bytes={SIZE}-"})
    assert refused.status == 416 and refused.headers["Content-Range"] == f"bytes */{SIZE}"
