"""Starting jobs is rate-limited per user (429 with Retry-After, JSON shape), with counters shared through Redis."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import redis
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.test import AsyncClient, override_settings

from apps.accounts.services import api_token_create
from apps.core.throttling import JobCreationThrottle
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


@pytest.fixture
def generous_limit(embedded_redis: str) -> Iterator[str]:
    """The limit on (100 a minute) with its counters in the session's Redis; yields that Redis's URL (database 0)."""
    base = embedded_redis.rsplit("/", 1)[0]
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"{base}/1"},
    }
    with override_settings(JOB_CREATE_RATE="100/minute", CACHES=caches_setting):
        yield f"{base}/0"


def _command_calls(inspector: redis.Redis) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in inspector.info("commandstats").items()}


@pytest.mark.django_db(transaction=True)
async def test_the_limit_is_one_round_trip_on_a_kept_connection(generous_limit: str) -> None:
    """Catches the check costing more than one Redis command per request (DRF's read-then-write through Django's cache
    was two) and a new Redis connection per request (Django's cache objects live per request context under ASGI, so
    the old throttle connected, said HELLO and CLIENT SETINFO, and selected its database on every request)."""
    alice = await sync_to_async(make_user)("alice")
    team = await sync_to_async(make_team)("Alice lab", alice)
    key = (await sync_to_async(api_token_create)(user=alice, name="script"))[1]
    client = AsyncClient()
    headers = {"Authorization": f"Token {key}", "X-Team": team.slug}
    body = {"text": "hello", "tokenizers": ["builtin:bytes"]}
    inspector = redis.Redis.from_url(generous_limit)

    def throttle_connections() -> set[int]:
        return {int(c["id"]) for c in inspector.client_list() if c["db"] == "1"}

    first = await client.post("/api/v1/tokenize/", body, content_type="application/json", headers=headers)
    assert first.status_code == 201, first.content
    connections, before = throttle_connections(), _command_calls(inspector)
    for _ in range(5):
        assert (
            await client.post("/api/v1/tokenize/", body, content_type="application/json", headers=headers)
        ).status_code == 201
    after = _command_calls(inspector)
    assert throttle_connections() == connections
    scripts = sum(after.get(f"cmdstat_{c}", 0) - before.get(f"cmdstat_{c}", 0) for c in ("evalsha", "eval"))
    assert scripts == 5
    # No GET/SET (the old two round trips) and no HELLO, which redis-py sends on every new connection.
    assert all(after.get(f"cmdstat_{c}", 0) == before.get(f"cmdstat_{c}", 0) for c in ("get", "set", "hello"))


@pytest.mark.usefixtures("generous_limit")
def test_concurrent_requests_never_take_more_than_the_limit() -> None:
    """Catches a check that reads the count and writes it back in two steps: requests arriving together all read
    the same count and all pass (the limit must be exact under concurrency, every web process sharing it)."""
    alice = make_user("alice")
    caches["throttle"].clear()
    request = SimpleNamespace(method="POST", user=alice)
    start = threading.Barrier(12)

    def attempt(_: int) -> bool:
        throttle = JobCreationThrottle()
        throttle.num_requests = 5
        start.wait()
        return throttle.allow_request(request, None)  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=12) as pool:
        allowed = list(pool.map(attempt, range(12)))
    assert allowed.count(True) == 5
    caches["throttle"].clear()
