"""The tokenize API: results equal the libraries', saved and shared within the team only; bad input gets a 4xx."""

from __future__ import annotations

import io
import json

import pytest
import tiktoken
from django.test import override_settings
from rest_framework.test import APIClient

from apps.accounts.models import Role, Team
from apps.jobs.models import Job
from tests.factories import add_member, make_team, make_user, token_client
from workers.text_tokenizers.catalog import load_tokenizer

pytestmark = pytest.mark.django_db

HARD_TEXT = "Hello  world!\n\tTabs, 1234567 digits, naïve café, 東京, مرحبا, 👩‍👩‍👧 family, e\u0301 combining."


@pytest.fixture
def alice() -> tuple[APIClient, Team]:
    user = make_user("alice")
    team = make_team("Alice lab", user)
    return token_client(user, team), team


def tokenize(client: APIClient, **body: object) -> dict:
    response = client.post("/api/v1/tokenize/", body, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def test_sync_result_matches_the_library_and_is_saved(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    job = tokenize(client, text=HARD_TEXT, tokenizers=["tiktoken:cl100k_base", "tokenizers:llama-3"])
    assert job["status"] == "succeeded" and job["kind"] == "tokenize"
    cl100k, llama = job["result"]["results"]
    load_tokenizer("tiktoken:cl100k_base")  # seeds tiktoken's offline cache
    assert cl100k["tokens"]["ids"] == tiktoken.get_encoding("cl100k_base").encode_ordinary(HARD_TEXT)
    assert cl100k["stats"]["roundtrip"] is True
    assert cl100k["stats"]["relative_cost"] == 1.0
    assert llama["stats"]["relative_cost"] == pytest.approx(
        llama["stats"]["tokens"] / cl100k["stats"]["tokens"], rel=1e-3
    )
    assert job["permalink"] == f"/results/{job['id']}"
    assert client.get(f"/api/v1/jobs/{job['id']}/").json()["result"] == job["result"]


def test_permalink_is_for_the_team_only(alice: tuple[APIClient, Team]) -> None:
    client, team = alice
    job = tokenize(client, text="shared result", tokenizers=["tiktoken:o200k_base"])
    teammate = make_user("bob")
    add_member(team, teammate, Role.VIEWER)
    assert token_client(teammate, team).get(f"/api/v1/jobs/{job['id']}/").status_code == 200

    outsider = make_user("mallory")
    make_team("Other lab", outsider)
    as_outsider = token_client(outsider)
    for path in (f"/api/v1/jobs/{job['id']}/", f"/api/v1/jobs/{job['id']}/export/?format=csv"):
        response = as_outsider.get(path)
        assert response.status_code == 404
        assert response.json()["message"] == "No such job in your teams."
    assert as_outsider.post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 404
    assert as_outsider.get("/api/v1/jobs/").json()["count"] == 0


def test_viewers_read_but_cannot_create(alice: tuple[APIClient, Team]) -> None:
    _, team = alice
    viewer = make_user("victor")
    add_member(team, viewer, Role.VIEWER)
    response = token_client(viewer, team).post(
        "/api/v1/tokenize/", {"text": "x", "tokenizers": ["builtin:bytes"]}, format="json"
    )
    assert response.status_code == 403
    assert "viewer" in response.json()["message"]


def test_history_lists_the_teams_results_newest_first(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    first = tokenize(client, text="first", tokenizers=["builtin:chars"])
    second = tokenize(client, text="second", tokenizers=["builtin:chars"])
    page = client.get("/api/v1/jobs/?kind=tokenize").json()
    assert [row["id"] for row in page["results"]] == [second["id"], first["id"]]
    assert "result" not in page["results"][0]
    assert page["results"][0]["title"] == "second"


def test_exports(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    job = tokenize(client, text='a,b "quoted"\nnext', tokenizers=["tiktoken:gpt2"])
    exported = client.get(f"/api/v1/jobs/{job['id']}/export/?format=json")
    assert exported.status_code == 200
    assert json.loads(exported.content)["result"] == job["result"]
    csv_response = client.get(f"/api/v1/jobs/{job['id']}/export/?format=csv")
    assert csv_response["Content-Type"].startswith("text/csv")
    import csv

    rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
    assert rows[0][0] == "# manifest" and json.loads(rows[0][1]) == job["result"]["manifest"]
    assert len(rows) == 2 + len(job["result"]["results"][0]["tokens"]["ids"])
    assert client.get(f"/api/v1/jobs/{job['id']}/export/?format=xml").status_code == 400


def test_upload_a_text_file(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    data = "Привет, мир! Это тест.".encode("cp1251") * 20
    upload = io.BytesIO(data)
    upload.name = "russian.txt"
    response = client.post("/api/v1/tokenize/", {"file": upload, "tokenizers": ["builtin:chars"]}, format="multipart")
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["params"]["encoding"] == "cp1251"
    assert job["title"] == "russian.txt"
    assert job["result"]["input"]["chars"] == len("Привет, мир! Это тест.") * 20


@override_settings(TOKENIZE_SYNC_MAX_BYTES=100)
def test_large_text_becomes_a_queued_job(alice: tuple[APIClient, Team], django_capture_on_commit_callbacks) -> None:
    client, _ = alice
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/v1/tokenize/", {"text": "x" * 500, "tokenizers": ["builtin:bytes"]}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert len(callbacks) == 1  # dispatched only once the transaction commits
    job = Job.objects.get(pk=response.json()["id"])
    assert job.input_upload is not None and job.input_upload.size_bytes == 500


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"text": "", "tokenizers": ["builtin:bytes"]}, 400, "no text"),
        ({"text": "x", "tokenizers": []}, 400, "tokenizers"),
        ({"text": "x", "tokenizers": ["builtin:bytes"] * 7}, 400, "tokenizers"),
        ({"text": "x", "tokenizers": ["builtin:bytes", "builtin:bytes"]}, 400, "only once"),
        ({"text": "x", "tokenizers": ["nope:missing"]}, 400, "Unknown tokenizer 'nope:missing'"),
        ({"text": "x", "tokenizers": ["custom:not-a-uuid"]}, 400, "Unknown tokenizer"),
        ({"text": "x", "tokenizers": ["builtin:bytes"], "baseline": "builtin:chars"}, 400, "baseline"),
        ({"tokenizers": ["builtin:bytes"]}, 400, "either `text` or `file`"),
        ({"text": 12, "tokenizers": "builtin:bytes"}, 400, "tokenizers"),
    ],
)
def test_bad_input_gets_a_clear_4xx(alice: tuple[APIClient, Team], body: dict, status: int, fragment: str) -> None:
    client, _ = alice
    response = client.post("/api/v1/tokenize/", body, format="json")
    assert response.status_code == status, response.json()
    assert fragment in response.json()["message"] or fragment in json.dumps(response.json()["extra"])


def test_unpaired_surrogate_is_a_400(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    body = '{"text": "bad \\ud800 surrogate", "tokenizers": ["builtin:bytes"]}'
    response = client.post("/api/v1/tokenize/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert (
        "unpaired surrogate escape such as \\ud800 (invalid Unicode) at line 1 column 15" in response.json()["message"]
    )


def test_malformed_json_body_is_a_400(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    response = client.post("/api/v1/tokenize/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]


@override_settings(TOKENIZE_MAX_BYTES=1000)
def test_over_the_size_limit_is_a_413(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    response = client.post("/api/v1/tokenize/", {"text": "x" * 1001, "tokenizers": ["builtin:bytes"]}, format="json")
    assert response.status_code == 413
    assert "limit is" in response.json()["message"]


def test_binary_upload_is_refused(alice: tuple[APIClient, Team]) -> None:
    client, _ = alice
    upload = io.BytesIO(b"\x7fELF\x02\x01\x01\x00" + bytes(200))
    upload.name = "program.bin"
    response = client.post("/api/v1/tokenize/", {"file": upload, "tokenizers": ["builtin:bytes"]}, format="multipart")
    assert response.status_code == 400
    assert "binary" in response.json()["message"]


def test_nul_and_control_characters_are_accepted_stored_and_read_back(alice: tuple[APIClient, Team]) -> None:
    """Catches DRF's "Null characters are not allowed", and NUL stored raw (Postgres refuses \\u0000 in jsonb)."""
    client, _ = alice
    text = "nul\x00 bell\x07 esc\x1b[0m del\x7f \x01\x010 end"
    job = tokenize(client, text=text, tokenizers=["tiktoken:cl100k_base", "builtin:chars"])
    assert job["result"]["text"] == text
    assert job["result"]["results"][1]["tokens"]["ids"] == [ord(c) for c in text]
    stored = Job.objects.get(pk=job["id"]).result
    assert stored is not None
    from django.db import connection

    with connection.cursor() as cursor:  # the column's raw text: what Postgres would have been sent
        cursor.execute("SELECT result, title FROM jobs_job WHERE id = %s", [job["id"].replace("-", "")])
        row = cursor.fetchone()
    assert row is not None
    raw, title = row
    assert "\\u0000" not in raw and "\x00" not in raw and "\x00" not in title
    assert stored["text"] == text  # decoded on read
    assert client.get(f"/api/v1/jobs/{job['id']}/").json()["result"]["text"] == text
    exported = client.get(f"/api/v1/jobs/{job['id']}/export/?format=json")
    assert json.loads(exported.content)["result"]["text"] == text


def test_a_text_file_with_a_few_nul_bytes_is_text(alice: tuple[APIClient, Team]) -> None:
    """Catches the binary-file check refusing UTF-8 text because it holds a NUL."""
    client, _ = alice
    upload = io.BytesIO(("a line of text\x00 with a NUL in it\n" * 10).encode())
    upload.name = "nul.txt"
    response = client.post("/api/v1/tokenize/", {"file": upload, "tokenizers": ["builtin:chars"]}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["result"]["text"].count("\x00") == 10


def test_special_tokens_are_a_per_request_choice(alice: tuple[APIClient, Team]) -> None:
    """Catches the API dropping special_tokens (the result would always be read as plain text)."""
    client, _ = alice
    text = "Hi<|endoftext|>"
    body = {"text": text, "tokenizers": ["tiktoken:cl100k_base"]}
    plain = tokenize(client, **body)
    special = tokenize(client, **body, special_tokens="special")
    load_tokenizer("tiktoken:cl100k_base")
    encoding = tiktoken.get_encoding("cl100k_base")
    assert plain["result"]["results"][0]["tokens"]["ids"] == encoding.encode_ordinary(text)
    assert special["result"]["results"][0]["tokens"]["ids"] == encoding.encode(text, allowed_special="all")
    assert special["result"]["special_tokens"] == special["params"]["special_tokens"] == "special"
    response = client.post("/api/v1/tokenize/", {**body, "special_tokens": "all"}, format="json")
    assert response.status_code == 400 and "special_tokens" in json.dumps(response.json())


@override_settings(TOKENIZE_SYNC_MAX_BYTES=100, FILE_UPLOAD_MAX_MEMORY_SIZE=0)
def test_a_utf8_upload_is_stored_as_it_came(alice: tuple[APIClient, Team], django_capture_on_commit_callbacks) -> None:
    """Catches the job's input differing from the uploaded bytes (re-encoded, BOM added or dropped, truncated)."""
    client, _ = alice
    payload = ("línea de texto 東京 🙂\r\n" * 50).encode()
    upload = io.BytesIO(payload)
    upload.name = "big.txt"
    with django_capture_on_commit_callbacks():
        response = client.post(
            "/api/v1/tokenize/", {"file": upload, "tokenizers": ["builtin:bytes"]}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert job.input_upload is not None and job.params["encoding"] == "utf-8"
    with job.input_upload.file.open("rb") as handle:
        assert handle.read() == payload
    assert job.input_upload.size_bytes == len(payload) == job.params["bytes"]
