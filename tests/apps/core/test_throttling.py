"""Starting jobs is rate-limited per user (429 with Retry-After, JSON shape), with counters shared through Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import override_settings

from tests.factories import make_team, make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_jobs_a_minute(embedded_redis: str) -> Iterator[None]:
    throttle_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": embedded_redis.rsplit("/", 1)[0] + "/1",
    }
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": throttle_cache,
    }
    with override_settings(JOB_CREATE_RATE="2/minute", CACHES=caches_setting):
        caches["throttle"].clear()
        yield
        caches["throttle"].clear()


@pytest.mark.usefixtures("two_jobs_a_minute")
def test_job_creation_is_limited_per_user() -> None:
    """Catches unlimited job creation, a 429 without Retry-After or the JSON shape, a limit shared between users,
    and reads being counted against it."""
    alice = make_user("alice")
    client = token_client(alice, make_team("Alice lab", alice))
    body = {"text": "hello", "tokenizers": ["builtin:bytes"]}
    assert [client.post("/api/v1/tokenize/", body, format="json").status_code for _ in range(2)] == [201, 201]
    refused = client.post("/api/v1/tokenize/", body, format="json")
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 0 < retry_after <= 60
    payload = json.loads(refused.content)
    assert payload == {
        "message": f"Too many requests: try again in {retry_after} s (per-user limits are listed in docs/limits.md).",
        "extra": {"retry_after_s": retry_after},
    }
    speculative = client.post("/api/v1/speculative/", {"target": "x", "prompt": "y"}, format="json")
    assert speculative.status_code == 429  # one budget for every kind of job
    assert client.get("/api/v1/jobs/").status_code == 200  # reading is not limited

    bob = make_user("bob")
    other = token_client(bob, make_team("Bob lab", bob))
    assert other.post("/api/v1/tokenize/", body, format="json").status_code == 201


def test_production_has_a_rate_and_tests_switch_it_off() -> None:
    """Catches the limit being off by default (it is off only in the test settings, on purpose)."""
    from webapp.settings.integrations import rest

    assert rest.JOB_CREATE_RATE == "60/minute"
    assert rest.CACHES["throttle"]["BACKEND"].endswith("RedisCache")


def test_an_unreachable_counter_store_does_not_refuse_jobs() -> None:
    """Catches a 500 on every job creation while Redis is down (the limit fails open, and says so in the log)."""
    from webapp.embedded_redis import free_port

    dead = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/1"}
    caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "throttle": dead}
    alice = make_user("alice")
    client = token_client(alice, make_team("Alice lab", alice))
    with override_settings(JOB_CREATE_RATE="1/minute", CACHES=caches_setting):
        for _ in range(2):
            response = client.post("/api/v1/tokenize/", {"text": "hi", "tokenizers": ["builtin:bytes"]}, format="json")
            assert response.status_code == 201, response.content
