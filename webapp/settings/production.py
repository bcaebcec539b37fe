"""A hosted instance: Postgres and Redis from the environment, a real secret, HTTPS only, no auto sign-in.

`manage.py check --deploy --settings=webapp.settings.production` is clean with the defaults (tests/test_production
_settings.py). TLS usually ends at a reverse proxy: it must set ``X-Forwarded-Proto`` (trusted while
``TRUST_X_FORWARDED_PROTO`` is on) so that Django knows a request came over HTTPS. Each switch below can be turned
off from the environment, e.g. ``SECURE_SSL_REDIRECT=false`` when the proxy already redirects HTTP to HTTPS.
"""

from django.core.exceptions import ImproperlyConfigured

from webapp.settings.base import *  # noqa: F403
from webapp.settings.env import env

SECRET_KEY = env.str("SECRET_KEY", default="")
# Django's deployment check wants at least 50 characters, 5 of them distinct; a shorter key refuses to start.
if SECRET_KEY.startswith("insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "Set SECRET_KEY to a random string of at least 50 characters for a hosted instance, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
DEBUG = False
TOKENSCOPE_LOCAL_AUTOLOGIN = False

# Cookies only over HTTPS; the session cookie is never readable by scripts (the CSRF cookie must be: the SPA sends it).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SESSION_COOKIE_HTTPONLY = True

if env.bool("TRUST_X_FORWARDED_PROTO", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The container healthcheck and the load balancer probe /healthz over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)  # consent only; submitting is separate
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
