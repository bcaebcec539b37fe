"""Requests that used to end in a 500 or an HTML page get a 4xx in the API's JSON error shape."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.core.fast_json import JSON_MAX_DEPTH
from tests.factories import PASSWORD, make_team, make_user, token_client

pytestmark = pytest.mark.django_db

OVER_THE_BODY_LIMIT = 61 * 1024 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE is 60 MiB


@pytest.fixture
def alice() -> tuple[APIClient, Team]:
    user = make_user("alice")
    team = make_team("Alice lab", user)
    return token_client(user, team), team


def assert_error_shape(response: object, status: int, fragment: str) -> None:
    assert response.status_code == status, response.content[:300]  # type: ignore[attr-defined]
    assert response["Content-Type"].startswith("application/json")  # type: ignore[index]
    body = json.loads(response.content)  # type: ignore[attr-defined]
    assert set(body) == {"message", "extra"}
    assert fragment in body["message"], body["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_limit_is_a_413(alice: tuple[APIClient, Team], content_type: str) -> None:
    """Catches the 500 a 61 MB JSON or form body got (Django's RequestDataTooBig was unhandled)."""
    client, _ = alice
    body = b'{"text": "' + b"x" * OVER_THE_BODY_LIMIT + b'", "tokenizers": ["builtin:bytes"]}'
    if content_type != "application/json":
        body = b"tokenizers=builtin:bytes&text=" + b"x" * OVER_THE_BODY_LIMIT
    response = client.post("/api/v1/tokenize/", data=body, content_type=content_type)
    assert_error_shape(response, 413, "larger than 60 MiB")
    assert json.loads(response.content)["extra"] == {"limit_bytes": 60 * 1024 * 1024}


def test_a_session_form_post_over_the_limit_is_a_413() -> None:
    """Catches the 500 when the CSRF check of a signed-in browser reads an oversized form body first."""
    make_user("carol")
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username="carol", password=PASSWORD)
    assert browser.get("/api/v1/auth/me/").status_code == 200  # sets the csrftoken cookie; the form lacks the token
    body = b"name=x&pad=" + b"x" * OVER_THE_BODY_LIMIT
    response = browser.post("/api/v1/teams/", data=body, content_type="application/x-www-form-urlencoded")
    assert_error_shape(response, 413, "larger than 60 MiB")


@pytest.mark.parametrize("depth", [JSON_MAX_DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_a_400(alice: tuple[APIClient, Team], depth: int) -> None:
    """Catches the RecursionError (500) of JSON nested 100,000 deep."""
    client, _ = alice
    body = '{"text": ' + "[" * depth + "]" * depth + ', "tokenizers": ["builtin:bytes"]}'
    response = client.post("/api/v1/tokenize/", data=body, content_type="application/json")
    assert_error_shape(response, 400, f"nested more than {JSON_MAX_DEPTH} levels")


def test_json_within_the_depth_limit_still_parses(alice: tuple[APIClient, Team]) -> None:
    """Catches a depth guard that refuses ordinary nesting (the field error proves the body was parsed)."""
    client, _ = alice
    depth = 100
    body = '{"text": ' + "[" * depth + "]" * depth + ', "tokenizers": ["builtin:bytes"]}'
    response = client.post("/api/v1/tokenize/", data=body, content_type="application/json")
    assert_error_shape(response, 400, "text: Not a valid string.")


def test_post_to_an_unknown_api_path_is_a_json_404() -> None:
    """Catches Django's HTML CSRF page (403) answering a POST to an unknown /api path."""
    response = Client(enforce_csrf_checks=True).post("/api/v1/no-such-thing/", data={"a": 1})
    assert_error_shape(response, 404, "No API endpoint at /api/v1/no-such-thing/")


def test_csrf_failure_under_api_is_json_with_a_message() -> None:
    """Catches an HTML CSRF page (or a bare 403) for a signed-in session without its CSRF token."""
    make_user("dave")
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username="dave", password=PASSWORD)
    response = browser.post("/api/v1/teams/", data={"name": "x"}, content_type="application/json")
    assert_error_shape(response, 403, "CSRF")


def test_csrf_failure_view_answers_json_under_api_and_html_elsewhere() -> None:
    """Catches CSRF_FAILURE_VIEW not set (Django's HTML page under /api/) or JSON leaking onto other pages."""
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/admin/login/", data={"username": "x", "password": "y"})
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")
    from django.test import RequestFactory

    from apps.core.views import csrf_failure

    request = RequestFactory().post("/api/v1/anything/")
    assert_error_shape(csrf_failure(request, reason="CSRF cookie not set."), 403, "CSRF cookie not set.")


def test_an_upload_over_the_text_limit_names_the_file_and_uses_mib(alice: tuple[APIClient, Team]) -> None:
    """Catches "52.4 MB; the limit is 52 MB" (decimal MB against a binary limit) and messages naming no file."""
    client, _ = alice
    upload = io.BytesIO(b"a" * 54_945_382)  # 52.4 MiB (54.9 MB) against the 50 MiB limit
    upload.name = "big notes.txt"
    response = client.post("/api/v1/tokenize/", {"file": upload, "tokenizers": ["builtin:bytes"]}, format="multipart")
    assert_error_shape(response, 413, "The file 'big notes.txt' is 52.4 MiB; the limit is 50 MiB.")


def test_public_login_with_a_revoked_token_is_a_documented_401() -> None:
    """Catches a 401 the schema does not list for the one public operation (a bad token is still checked there)."""
    import yaml

    from tests.test_openapi import REPO

    response = APIClient().post(
        "/api/v1/auth/login/", {"username": "x", "password": "y"}, format="json", HTTP_AUTHORIZATION="Token nope"
    )
    assert_error_shape(response, 401, "unknown or was revoked")
    schema = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    assert "401" in schema["paths"]["/api/v1/auth/login/"]["post"]["responses"]


def test_a_form_with_too_many_fields_is_a_400(alice: tuple[APIClient, Team]) -> None:
    """Catches the 500 of Django's TooManyFieldsSent (more than DATA_UPLOAD_MAX_NUMBER_FIELDS form fields)."""
    client, _ = alice
    body = "&".join(f"f{i}=x" for i in range(1001)) + "&tokenizers=builtin:bytes&text=hi"
    response = client.post("/api/v1/tokenize/", data=body, content_type="application/x-www-form-urlencoded")
    assert_error_shape(response, 400, "too many fields")
