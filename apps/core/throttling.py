"""Per-user rate limit on starting jobs (tokenize, speculative, distillation): 429 with Retry-After when exceeded.

The rate is ``JOB_CREATE_RATE`` ("60/minute" by default, empty to switch it off), read on every request so a test or
an operator can change it; counters live in the ``throttle`` cache (Redis on a hosted instance, so every web process
shares them). When that cache cannot be reached the limit is not applied (logged), rather than refusing every job.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class JobCreationThrottle(UserRateThrottle):
    scope = "job_create"

    def __init__(self) -> None:  # DRF reads the rate once per class; ours comes from the settings on every request
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self) -> str | None:
        return getattr(settings, "JOB_CREATE_RATE", "") or None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.cache = caches["throttle"]
        try:
            return super().allow_request(request, view)
        except RedisError:  # fail open: an unreachable counter store must not turn every new job into a 500
            logger.warning("Job rate limit not applied: the throttle cache is unreachable", exc_info=True)
            return True
