"""Per-user rate limit on starting jobs (tokenize, speculative, distillation): 429 with Retry-After when exceeded.

The rate is ``JOB_CREATE_RATE`` ("60/minute" by default, empty to switch it off), read on every request so a test or
an operator can change it; counters live in the Redis of the ``throttle`` cache setting (every web process shares
them). When that Redis cannot be reached the limit is not applied (logged), rather than refusing every job.

The check is one Redis round trip on a connection kept by the process: a Lua script keeps the user's sliding window
(a sorted set of request times), so counting and recording happen atomically. DRF's default (read the history, write
it back through Django's cache) cost two round trips, let two concurrent requests both take the last slot, and under
ASGI opened a new Redis connection per request (Django's cache objects live per request context there).
"""

from __future__ import annotations

import functools
import logging
import secrets
from typing import Any

import redis
from django.conf import settings
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)

# KEYS[1]: the user's window; ARGV: now (s), window length (s), limit, a unique member for this request.
# Returns {1} when the request is allowed (and recorded), else {0, time of the oldest request in the window}.
SLIDING_WINDOW = """
local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1}
"""


@functools.lru_cache(maxsize=4)
def _window_script(location: str, socket_timeout: float, connect_timeout: float) -> Script:
    """The script bound to a process-wide client (a connection pool) for the throttle's Redis."""
    client = redis.Redis.from_url(location, socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout)
    return client.register_script(SLIDING_WINDOW)


def window_script() -> Script:
    config = settings.CACHES["throttle"]
    options = config.get("OPTIONS", {})
    servers = config["LOCATION"]
    # Django's Redis cache takes one URL, a comma-separated string or a list; the first server takes the writes.
    primary = (servers.split(",") if isinstance(servers, str) else list(servers))[0].strip()
    return _window_script(primary, options.get("socket_timeout", 1), options.get("socket_connect_timeout", 1))


class JobCreationThrottle(UserRateThrottle):
    scope = "job_create"

    def __init__(self) -> None:  # DRF reads the rate once per class; ours comes from the settings on every request
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.oldest: float | None = None

    def get_rate(self) -> str | None:
        return getattr(settings, "JOB_CREATE_RATE", "") or None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS") or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        try:
            reply = window_script()(
                keys=[key], args=[repr(self.now), self.duration, self.num_requests, secrets.token_hex(8)]
            )
        except RedisError:  # fail open: an unreachable counter store must not turn every new job into a 500
            logger.warning("Job rate limit not applied: the throttle's Redis is unreachable", exc_info=True)
            return True
        if reply[0] == 1:
            return True
        self.oldest = float(reply[1])
        return False

    def wait(self) -> float | None:
        """Seconds until the oldest request in the window leaves it (one slot frees up)."""
        duration = self.duration or 0
        if self.oldest is None:
            return duration
        return max(0.0, duration - (self.now - self.oldest))
