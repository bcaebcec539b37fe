"""One asyncio event loop per process, on a daemon thread, for synchronous code that must await the channel layer.

``async_to_sync`` called from a plain thread (a Celery job, a web request's thread) starts a new event loop for each
call, and the channel layer's Redis connections belong to a loop: every job event opened a new connection (HELLO,
SELECT, ...) on a new thread and closed it again, 4-7 ms of CPU per event (docs/benchmarks.md). Coroutines sent
here run on a loop that lives as long as the process, so its connections are kept. A forked child (Celery's prefork
pool) starts its own loop on first use: threads do not survive a fork.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

T = TypeVar("T")

# A coroutine that has not finished by then is cancelled and the caller gets TimeoutError: a stalled Redis must not
# hang a job or a request that only wanted to notify.
DEFAULT_TIMEOUT_S = 10.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0


def _process_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="process-event-loop", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def run_in_process_loop(make: Callable[[], Awaitable[T]], timeout: float = DEFAULT_TIMEOUT_S) -> T:
    """Run ``make()`` on the process's event loop and wait for its result (at most ``timeout`` seconds).

    Not for code already running on an event loop: await the coroutine there instead.
    """

    async def call() -> T:
        return await make()

    future = asyncio.run_coroutine_threadsafe(call(), _process_loop())
    try:
        return future.result(timeout)
    except FutureTimeout:
        future.cancel()
        raise TimeoutError(f"gave up after {timeout:g} s") from None
    except BaseException:
        future.cancel()  # e.g. the worker's time-limit signal landed while waiting: the coroutine is not awaited
        raise
