"""Django REST Framework and drf-spectacular (the OpenAPI contract)."""

from typing import Any

from webapp.settings.env import env
from webapp.settings.integrations.redis import redis_db_url

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "apps.core.fast_json.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.fast_json.FastJSONParser",  # depth-limited (1024 levels): deep nesting is a 400, not a 500
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",  # documents every error status in the error shape
    "EXCEPTION_HANDLER": "apps.core.exception_handler.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.StandardPagination",
    "PAGE_SIZE": 25,
    "URL_FORMAT_OVERRIDE": None,  # `?format=` is ours (exports), not content negotiation
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tokenscope API",
    "DESCRIPTION": "Tokenize text with real tokenizers, run model jobs on workers and follow them live.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}
SPECTACULAR_SETTINGS.update(
    {  # Swagger UI and Redoc served from the sidecar package: no CDN at run time.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }
)

# A CSRF failure outside DRF's views (Django's middleware) answers in the API's error shape under /api/.
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

# Per-user limit on starting jobs (apps/core/throttling.py; docs/limits.md); empty switches it off.
JOB_CREATE_RATE = env.str("JOB_CREATE_RATE", default="60/minute")
# Rate-limit counters are shared by every web process: they live in Redis (logical database 1).
CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_db_url(1),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},  # a dead Redis costs a request 1 s, not more
    },
}
