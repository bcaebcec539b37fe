"""Who may open a websocket, and a clear refusal (a JSON error frame, then a close code and reason) for the rest.

Credentials: the session cookie (browsers), ``Authorization: Token <api key>`` (scripts, the same header as the
REST API), or, for clients that cannot set headers on a websocket, a ``Sec-WebSocket-Protocol`` value: a single-use
ticket from ``POST /api/v1/ws-tickets/`` (``tokenscope.ticket.<ticket>``) or the API key itself
(``tokenscope.token.<key>``). The server then selects the plain ``tokenscope`` subprotocol, never the secret one.
Never a query string: URLs end up in proxy and server logs.

Origin: a browser always sends one, and a page on another site must not ride its visitor's cookie, so a foreign
``Origin`` is refused. A script sends none and is let through; it still has to authenticate.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from apps.accounts.services import api_token_authenticate
from apps.accounts.ws_tickets import ws_ticket_redeem
from apps.core.errors import ApplicationError

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_REASON_MAX_BYTES = 123  # a close frame carries at most 125 bytes, two of them the code

AUTH_ERROR_KEY = "auth_error"
"""Set in the scope when credentials were sent but rejected, so the refusal can say why."""
TICKET_JOB_KEY = "ws_ticket_job_id"
"""Set in the scope when a ticket bound to one job signed the socket in: the consumer refuses any other job."""

SUBPROTOCOL = "tokenscope"
TICKET_SUBPROTOCOL_PREFIX = "tokenscope.ticket."
TOKEN_SUBPROTOCOL_PREFIX = "tokenscope.token."
TOKEN_REFUSED = "This API token is unknown or was revoked."
TICKET_REFUSED = (
    "This websocket ticket is unknown, expired or already used; get a new one from POST /api/v1/ws-tickets/."
)


def accepted_subprotocol(scope: dict[str, Any]) -> str | None:
    """``tokenscope`` when the client offered it (a browser fails a handshake whose answer names no offered value)."""
    return SUBPROTOCOL if SUBPROTOCOL in (scope.get("subprotocols") or []) else None


def close_reason(message: str) -> str:
    """The message, cut to what fits in a close frame (whole characters only)."""
    return message.encode()[:CLOSE_REASON_MAX_BYTES].decode(errors="ignore")


def error_frame(message: str) -> dict[str, Any]:
    return {"type": "websocket.send", "text": json.dumps({"type": "error", "message": message})}


def websocket_refusal(code: int, message: str) -> Any:
    """An ASGI app that accepts the handshake only to say no: the error frame, then the close code and reason.

    Closing before the accept would make the server answer a bare HTTP 403, which tells a script nothing."""

    async def refuse(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": accepted_subprotocol(scope)})
        await send(error_frame(message))
        await send({"type": "websocket.close", "code": code, "reason": close_reason(message)})

    return refuse


class BrowserOriginValidator(OriginValidator):
    """A present ``Origin`` must be one of ``ALLOWED_HOSTS``; an absent one (not a browser) passes."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is None:
            return await self.application(scope, receive, send)
        if self.valid_origin(urlparse(origin.decode("latin-1"))):
            return await self.application(scope, receive, send)
        refusal = websocket_refusal(
            CLOSE_FORBIDDEN, "This page's origin may not open Tokenscope websockets (not in ALLOWED_HOSTS)."
        )
        return await refusal(scope, receive, send)


class ApiTokenHeaderMiddleware(BaseMiddleware):
    """``Authorization: Token <key>`` signs the socket in as the key's owner; the header, when sent, wins over a cookie."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        header = dict(scope.get("headers", [])).get(b"authorization")
        if header is not None:
            scope = dict(scope)
            parts = header.decode("latin-1").split()
            user = None
            if len(parts) != 2 or parts[0] != "Token":
                scope[AUTH_ERROR_KEY] = "Send the header as 'Authorization: Token <api key>'."
            else:
                user = await database_sync_to_async(api_token_authenticate)(key=parts[1])
                if user is None:
                    scope[AUTH_ERROR_KEY] = TOKEN_REFUSED
            # A rejected header is a refusal even next to a valid cookie: the caller asked to be that token's owner.
            scope["user"] = user or AnonymousUser()
        return await super().__call__(scope, receive, send)


class SubprotocolCredentialMiddleware(BaseMiddleware):
    """A ticket or API key offered as a ``Sec-WebSocket-Protocol`` value signs the socket in (it wins over a cookie).

    The first ``tokenscope.ticket.`` / ``tokenscope.token.`` value counts; a rejected one is a refusal, like a
    rejected header. Messages never echo the value."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        offered = [
            value
            for value in scope.get("subprotocols") or []
            if value.startswith((TICKET_SUBPROTOCOL_PREFIX, TOKEN_SUBPROTOCOL_PREFIX))
        ]
        if offered and AUTH_ERROR_KEY not in scope:
            scope = dict(scope)
            user = None
            if offered[0].startswith(TICKET_SUBPROTOCOL_PREFIX):
                try:
                    grant = await ws_ticket_redeem(ticket=offered[0][len(TICKET_SUBPROTOCOL_PREFIX) :])
                except ApplicationError as error:  # Redis unreachable: retry later, the ticket is not spent
                    grant, scope[AUTH_ERROR_KEY] = None, error.message
                if grant is None:
                    scope.setdefault(AUTH_ERROR_KEY, TICKET_REFUSED)
                else:
                    user = grant.user
                    scope[TICKET_JOB_KEY] = grant.job_id
            else:
                key = offered[0][len(TOKEN_SUBPROTOCOL_PREFIX) :]
                user = await database_sync_to_async(api_token_authenticate)(key=key)
                if user is None:
                    scope[AUTH_ERROR_KEY] = TOKEN_REFUSED
            scope["user"] = user or AnonymousUser()
        return await super().__call__(scope, receive, send)


def WebsocketAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 (mirrors channels' AuthMiddlewareStack)
    allowed = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    credentials = ApiTokenHeaderMiddleware(SubprotocolCredentialMiddleware(inner))
    return BrowserOriginValidator(AuthMiddlewareStack(credentials), allowed)
