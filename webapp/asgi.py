"""ASGI entry point: HTTP through Django, websockets through Channels (origin-checked, session or API-token
authenticated: ``apps.accounts.websocket_auth``)."""

import os

from webapp.server_logging import install_query_string_redaction

install_query_string_redaction()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")

import django  # noqa: E402

django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.accounts.websocket_auth import WebsocketAuthMiddlewareStack  # noqa: E402
from webapp.body_limit import limit_request_bodies  # noqa: E402
from webapp.routing import websocket_urlpatterns  # noqa: E402
from webapp.sync_http import threaded_django_http  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": limit_request_bodies(threaded_django_http(settings.WEB_THREADS)),
        "websocket": WebsocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
