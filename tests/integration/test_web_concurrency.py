"""The production server configuration (``web_command``) keeps serving while one request is slow.

A cold load of a large built-in tokenizer runs in native code that holds the GIL for seconds: every request the same
process has accepted waits for it. Several processes share the listening socket, and an idle one accepts nearly every
new connection; the rare one the busy process accepted still waits, hence a share rather than a maximum below.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.accounts.services import api_token_create
from tests.conftest import start_web
from tests.factories import make_team, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Tokenizers whose first load and whose encoding run in native code holding the GIL (seconds on a cold process).
HEAVY_TOKENIZERS = [
    "tokenizers:gemma-3",
    "tokenizers:deepseek-v3",
    "tokenizers:glm-4",
    "tokenizers:qwen-3",
    "mistral:v3",
    "tokenizers:llama-3",
]
HEALTHZ_BUDGET_S = 1.0
ANSWERED_IN_BUDGET = 0.9  # measured: about 97 % on two processes; 79 % on one, with stalls up to 7 s


@pytest.fixture
def web(embedded_redis: str, tmp_path: Path) -> Iterator[str]:
    server, url = start_web(embedded_redis, tmp_path)
    yield url
    server.stop()


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - started


def test_healthz_answers_quickly_while_a_slow_request_is_in_flight(web: str) -> None:
    """Catches: one web process serving one request at a time (a slow synchronous tokenization held /healthz for
    seconds: up to 3.3 s on one process)."""
    user = make_user("slow-requester")
    make_team("Slow team", user)
    _, key = api_token_create(user=user, name="slow")
    text = ("Hello world, 12345 tokens and some more words here. " * 2000)[:99_000]  # the synchronous limit
    request = urllib.request.Request(
        f"{web}/api/v1/tokenize/",
        data=json.dumps({"text": text, "tokenizers": HEAVY_TOKENIZERS}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {key}"},
    )
    slow: dict[str, Any] = {}

    def send_slow_request() -> None:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                slow["status"] = response.status
        except urllib.error.HTTPError as error:
            slow["status"], slow["error"] = error.code, error.read().decode()
        except OSError as error:
            slow["error"] = repr(error)
        slow["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=send_slow_request)
    worker.start()
    time.sleep(0.3)
    latencies = []
    while worker.is_alive():
        latencies.append(timed_get(f"{web}/healthz"))
        time.sleep(0.2)
    worker.join()

    assert slow.get("status") == 201 and slow["seconds"] > 2, f"the slow request was not slow: {slow}"
    assert len(latencies) >= 5, "too few health checks overlapped the slow request to tell"
    in_budget = sum(latency < HEALTHZ_BUDGET_S for latency in latencies) / len(latencies)
    assert in_budget >= ANSWERED_IN_BUDGET, f"/healthz stalled behind the slow request: {latencies}"
    assert statistics.median(latencies) < 0.2, latencies
