"""The process-wide event loop that synchronous code uses to reach the channel layer (apps/core/process_loop.py)."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import uuid

import pytest
import redis

from apps.core.process_loop import run_in_process_loop
from apps.jobs.events import job_event_send

pytestmark = pytest.mark.usefixtures("embedded_redis")


def _running_loop() -> asyncio.AbstractEventLoop:
    async def which() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    return run_in_process_loop(which)


def test_calls_share_one_loop_and_its_redis_connections(embedded_redis: str) -> None:
    """Bug caught: a new event loop per call (as ``async_to_sync`` from a plain thread), which opened a new Redis
    connection for every job event."""
    assert _running_loop() is _running_loop()
    server = redis.Redis.from_url(embedded_redis)
    job_event_send(uuid.uuid4(), {"type": "job.progress"})  # the layer's pool for this loop exists from here on
    before = int(server.info("stats")["total_connections_received"])
    for _ in range(20):
        job_event_send(uuid.uuid4(), {"type": "job.progress"})
    assert int(server.info("stats")["total_connections_received"]) - before <= 1


def test_errors_reach_the_caller_and_a_stalled_coroutine_is_given_up_and_cancelled() -> None:
    """Bug caught: an exception swallowed on the loop thread, or a stalled Redis call hanging the job forever."""

    async def fail() -> None:
        raise ValueError("from the loop")

    with pytest.raises(ValueError, match="from the loop"):
        run_in_process_loop(fail)
    cancelled = threading.Event()

    async def stall() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        run_in_process_loop(stall, timeout=0.2)
    assert cancelled.wait(5)
    assert _running_loop().is_running()  # the loop still serves later calls


def _in_child(results: multiprocessing.Queue) -> None:
    results.put(run_in_process_loop(lambda: asyncio.sleep(0, result="child"), timeout=5))


def test_a_forked_child_starts_its_own_loop() -> None:
    """Bug caught: a child of Celery's prefork pool handed the parent's loop, whose thread did not survive the fork
    (every event would wait for a loop that never runs)."""
    _running_loop()  # the parent's loop exists before the fork
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_in_child, args=(results,))
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert results.get(timeout=1) == "child"
