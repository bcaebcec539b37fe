"""Tests: a file-backed test database (so the real worker and web subprocesses share it), fast hashing.

Redis, the Celery worker and the ASGI server are real processes started by fixtures in tests/conftest.py.
"""

import os

from webapp.settings.base import *  # noqa: F403
from webapp.settings.base import DATABASES
from webapp.settings.env import VAR_DIR, env

SECRET_KEY = "test-only-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TOKENSCOPE_LOCAL_AUTOLOGIN = False
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "test-media" / str(os.getpid())))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file per test session: subprocesses (worker, web server) open it by path; parallel sessions don't collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
JOB_HEARTBEAT_TIMEOUT_S = env.int("JOB_HEARTBEAT_TIMEOUT_S", default=120)
# Tests start jobs far faster than a person; tests/apps/core/test_throttling.py turns the limit on where it is tested.
JOB_CREATE_RATE = ""
