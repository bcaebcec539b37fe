"""Websocket authentication: the session cookie (browser) or ``?token=<api key>`` (scripts)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from apps.accounts.services import api_token_authenticate


class ApiTokenQueryMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]
        if token:
            user = await database_sync_to_async(api_token_authenticate)(key=token)
            if user is not None:
                scope["user"] = user
        return await super().__call__(scope, receive, send)


def WebsocketAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 (mirrors channels' AuthMiddlewareStack)
    return AuthMiddlewareStack(ApiTokenQueryMiddleware(inner))
