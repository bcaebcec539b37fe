"""ASGI entry point: HTTP through Django, websockets through Channels (origin-checked, session or API-token
authenticated: ``apps.accounts.websocket_auth``)."""

import os

from webapp.server_logging import install_query_string_redaction

install_query_string_redaction()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.accounts.websocket_auth import WebsocketAuthMiddlewareStack  # noqa: E402
from webapp.body_limit import limit_request_bodies  # noqa: E402
from webapp.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": limit_request_bodies(django_asgi_app),
        "websocket": WebsocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
