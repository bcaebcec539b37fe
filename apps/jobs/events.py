"""Push job events to websocket subscribers. The Job row stays the truth; events are notifications.

Partial results (``job.partial``) are also kept while the job runs, so that a subscriber who connects mid-run (a page
reload, a permalink opened during the run, a second viewer) can replay what it missed: each one is stamped with a
per-job sequence number ``seq`` (1, 2, 3 … in the order they were produced) and appended to a per-job Redis list, in
the channel layer's Redis (the shard that holds the job's group), before it is pushed to the group. The list is
capped (``JOB_STREAM_BACKLOG_MAX_EVENTS``), expires ``JOB_STREAM_BACKLOG_TTL_S`` after its last write, and is left to
expire ``JOB_STREAM_BACKLOG_FINISHED_TTL_S`` after the job finishes: from then on the stored result is the truth.

Why Redis and not the Job row: a row would be rewritten with the whole growing list at every batch (quadratic in
the run's length, on the database the web process reads), and the partials are only a live view of what the result
stores anyway once the job finishes. The consumer reads the list on connect, after subscribing to the group; see
``apps.jobs.consumers`` for how that ordering makes the replay gap-free, and ``seq`` duplicate-free.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from celery.exceptions import SoftTimeLimitExceeded
from channels.layers import get_channel_layer
from django.conf import settings

from apps.core.fast_json import dumps
from apps.core.process_loop import run_in_process_loop

logger = logging.getLogger(__name__)

# KEYS: the sequence counter, the list. ARGV: the event as JSON without "seq", the cap, the TTL in seconds.
# The event is stored as '{"seq":N,' + its JSON without the opening brace: exact, with no JSON re-encoding in Lua.
_APPEND_SCRIPT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2))
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return seq
"""


def job_group(job_id: Any) -> str:
    return f"job.{job_id}"


def job_stream_keys(job_id: Any) -> tuple[str, str]:
    """The Redis keys of a job's partial-event backlog: its sequence counter and its list (one hash slot)."""
    tag = f"tokenscope:{{job:{job_id}}}"
    return f"{tag}:seq", f"{tag}:partials"


def _redis(layer: Any, job_id: Any) -> Any | None:
    """The channel layer's asyncio Redis client for this job's group (None for a layer without Redis)."""
    connection = getattr(layer, "connection", None)
    consistent_hash = getattr(layer, "consistent_hash", None)
    if connection is None or consistent_hash is None:
        return None
    return connection(consistent_hash(job_group(job_id)))


@contextmanager
def _best_effort(message: str, job_id: Any) -> Iterator[None]:
    """Events are notifications (clients re-read the row on reconnect): a Redis error is logged, never fails the job.
    The worker's time-limit signal passes through: it is raised in the job's thread wherever it is, an event push
    included (the coroutines run on the process's event loop thread, so only these synchronous call sites can
    receive it)."""
    try:
        yield
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # noqa: BLE001 - best effort by design
        logger.warning(message, job_id, exc_info=True)


def job_event_send(job_id: Any, payload: dict[str, Any]) -> None:
    """Best effort: a Redis hiccup must not fail the job, since clients re-read the row on reconnect."""
    layer = get_channel_layer()
    if layer is None:
        return
    with _best_effort("Could not push event for job %s", job_id):  # notification only
        run_in_process_loop(lambda: layer.group_send(job_group(job_id), {"type": "job.event", "payload": payload}))


def job_partial_send(job_id: Any, partial: Any) -> int | None:
    """Append a ``job.partial`` event to the job's backlog with the next ``seq``, then push it; returns the ``seq``.

    Best effort like every event: without a backlog (Redis error, a layer without Redis) the event is pushed
    without ``seq``, and clients simply append it.
    """
    layer = get_channel_layer()
    if layer is None:
        return None
    event: dict[str, Any] = {"type": "job.partial", "job_id": str(job_id), "partial": partial}

    async def append_and_push() -> int | None:
        seq: int | None = None
        client = _redis(layer, job_id)
        if client is not None:
            try:
                seq = int(
                    await client.eval(
                        _APPEND_SCRIPT,
                        2,
                        *job_stream_keys(job_id),
                        dumps(event),
                        max(1, int(settings.JOB_STREAM_BACKLOG_MAX_EVENTS)),
                        max(1, int(settings.JOB_STREAM_BACKLOG_TTL_S)),
                    )
                )
            except Exception:  # noqa: BLE001 - late subscribers lose the replay, live ones still get the event
                logger.warning("Could not keep a partial result of job %s for late subscribers", job_id, exc_info=True)
        payload = event if seq is None else {**event, "seq": seq}
        await layer.group_send(job_group(job_id), {"type": "job.event", "payload": payload})
        return seq

    with _best_effort("Could not push a partial result of job %s", job_id):  # notification only
        return run_in_process_loop(append_and_push)
    return None


async def job_stream_backlog(job_id: Any) -> list[dict[str, Any]]:
    """The job's ``job.partial`` events kept so far, in ``seq`` order (empty when there is none or Redis fails)."""
    layer = get_channel_layer()
    client = _redis(layer, job_id) if layer is not None else None
    if client is None:
        return []
    try:
        raw = await client.lrange(job_stream_keys(job_id)[1], 0, -1)
    except Exception:  # noqa: BLE001 - the live view then starts where the subscriber joined
        logger.warning("Could not read the partial results of job %s", job_id, exc_info=True)
        return []
    events = [orjson.loads(item) for item in raw]
    return sorted((e for e in events if isinstance(e, dict) and isinstance(e.get("seq"), int)), key=lambda e: e["seq"])


def job_stream_expire(job_id: Any) -> None:
    """A finished job's result is the truth: let its backlog expire soon (not at once, see the consumer)."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def expire() -> None:
        client = _redis(layer, job_id)
        if client is not None:
            ttl = max(1, int(settings.JOB_STREAM_BACKLOG_FINISHED_TTL_S))
            for key in job_stream_keys(job_id):
                await client.expire(key, ttl)

    with _best_effort("Could not expire the partial results of job %s", job_id):  # it expires on its own TTL
        run_in_process_loop(expire)
