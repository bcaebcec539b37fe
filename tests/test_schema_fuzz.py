"""Schema-driven fuzzing: schemathesis generates requests from the committed contract (docs/openapi.yaml) and sends
them to the real Django application (in process, through WSGI: every middleware, parser and view), signed in with an
API token as a team owner.

Schemathesis sends both valid and schema-violating data. Every response must be: no 5xx; a status the operation
documents; the documented content type, headers and body schema. Not asked: that valid data is accepted (a schema
cannot say that a tokenizer id must exist) and that every violation is refused (DRF coerces on purpose: a JSON 0 where
a string is expected is read as "0", "5" where an integer is expected as 5). Examples per operation are bounded, fewer for the operations that start jobs or load a
tokenizer, so the whole run stays within about three minutes on two cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import Team
from apps.accounts.services import api_token_create, team_create
from tests.factories import make_user

REPO = Path(__file__).resolve().parents[1]
SCHEMA = schemathesis.openapi.from_path(REPO / "docs" / "openapi.yaml")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Each example of these starts a job, runs a tokenization or loads an uploaded tokenizer in a sandbox.
EXPENSIVE = [
    "tokenize",
    "speculative_run",
    "drafts_distill",
    "tokenizers_create",
    "jobs_rerun",
    "detection_text",
    "detection_dataset",
    "detection_frequency_tables_create",
    "media_tokenize",
    "media_codebooks_create",
]
FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces, the run time is stable
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
    database=None,
)
APP = get_wsgi_application()


def signed_in_headers() -> dict[str, str]:
    """A fresh token for the fuzzing user each time: a fuzzed DELETE /auth/tokens/{id}/ may revoke the previous one."""
    user = make_user("fuzzer") if not Team.objects.filter(slug="fuzz-lab").exists() else None
    team = team_create(name="Fuzz lab", owner=user) if user else Team.objects.get(slug="fuzz-lab")
    owner = team.memberships.get(role="owner").user
    _, key = api_token_create(user=owner, name="fuzz")
    return {"Authorization": f"Token {key}", "X-Team": team.slug}


def call_and_validate(case: Any) -> None:
    # As Django's test client does: the request must not close the test's database connection when it finishes.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        case.call_and_validate(app=APP, headers=signed_in_headers(), checks=CHECKS)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded_redis")  # the real Redis: websocket tickets and job queueing need it
@SCHEMA.exclude(operation_id=EXPENSIVE).parametrize()
@settings(FUZZ_SETTINGS, max_examples=25)
def test_cheap_operations(case: Any) -> None:
    """Catches a 5xx or a response the schema contradicts (status, content type, headers, body) on any operation."""
    call_and_validate(case)


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded_redis")
@SCHEMA.include(operation_id=EXPENSIVE).parametrize()
@settings(FUZZ_SETTINGS, max_examples=6)
def test_job_starting_operations(case: Any) -> None:
    """Catches a 5xx or a schema-contradicting response where a request starts a job or loads a tokenizer."""
    call_and_validate(case)
