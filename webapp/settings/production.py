"""A hosted instance: Postgres and Redis from the environment, a real secret, secure cookies, no auto sign-in."""

from django.core.exceptions import ImproperlyConfigured

from webapp.settings.base import *  # noqa: F403
from webapp.settings.env import env

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY.startswith("insecure") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("Set SECRET_KEY to a random string of at least 32 characters for a hosted instance.")
DEBUG = False
TOKENSCOPE_LOCAL_AUTOLOGIN = False
# Only folders the administrator lists may be named as models or tokenizers (none by default).
TOKENSCOPE_ALLOWED_MODEL_ROOTS = env.list("TOKENSCOPE_ALLOWED_MODEL_ROOTS", default=[])
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
