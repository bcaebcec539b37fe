"""Websocket tickets: short-lived, single-use credentials for clients that cannot set headers on a websocket.

A browser's ``WebSocket`` and many notebook clients can send neither ``Authorization`` nor (cross-site) a cookie, and a
credential in the URL ends up in logs. So a signed-in client asks the REST API for a ticket and offers it as a
``Sec-WebSocket-Protocol`` value; the server redeems it once (atomic ``GETDEL``) within ``WS_TICKET_TTL_S``.

Tickets live in the channel layer's Redis (the one every web process shares, and the one the websocket side already
talks to), under the SHA-256 of the ticket, so a Redis dump holds no usable ticket.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.process_loop import run_in_process_loop

logger = logging.getLogger(__name__)

TICKET_PREFIX = "wst_"


@dataclass(frozen=True)
class WsTicket:
    ticket: str
    expires_at: datetime


@dataclass(frozen=True)
class WsTicketGrant:
    """What a redeemed ticket signs the socket in as: a user, and the one job it may follow (None: any of theirs)."""

    user: User
    job_id: uuid.UUID | None


def _key(ticket: str) -> str:
    return "tokenscope:ws-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def _redis(key: str) -> Any | None:
    """The channel layer's asyncio Redis client for ``key`` (None for a layer without Redis)."""
    layer = get_channel_layer()
    connection = getattr(layer, "connection", None)
    consistent_hash = getattr(layer, "consistent_hash", None)
    if connection is None or consistent_hash is None:
        return None
    return connection(consistent_hash(key))


def ws_ticket_issue(*, user: User, job_id: uuid.UUID | None = None) -> WsTicket:
    """A new ticket for ``user`` (bound to ``job_id`` when given; the caller has checked the user may see it)."""
    ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
    ttl_s = max(1, int(settings.WS_TICKET_TTL_S))
    grant = json.dumps({"user_id": user.pk, "job_id": str(job_id) if job_id else None})

    async def store() -> None:
        client = _redis(_key(ticket))
        if client is None:
            raise ApplicationError(
                "Websocket tickets need the Redis channel layer, which is not configured.", status=503
            )
        await client.set(_key(ticket), grant, ex=ttl_s, nx=True)

    try:
        run_in_process_loop(store)
    except ApplicationError:
        raise
    except Exception as error:  # noqa: BLE001 - Redis unreachable: a clear 503, not a 500
        logger.warning("Could not store a websocket ticket: %s", type(error).__name__)
        raise ApplicationError(
            "Websocket tickets are unavailable right now (Redis cannot be reached); try again shortly.", status=503
        ) from None
    return WsTicket(ticket=ticket, expires_at=timezone.now() + timedelta(seconds=ttl_s))


async def ws_ticket_redeem(*, ticket: str) -> WsTicketGrant | None:
    """The ticket's grant, exactly once; None when it is unknown, expired, already used, or its user is inactive.

    Raises ``ApplicationError`` (503) when Redis cannot be reached: the client should retry, not fetch a new ticket."""
    client = _redis(_key(ticket))
    if client is None or not ticket.startswith(TICKET_PREFIX):
        return None
    try:
        raw = await client.getdel(_key(ticket))
    except Exception as error:  # noqa: BLE001 - a refusal the client can act on, never a crash at the handshake
        logger.warning("Could not redeem a websocket ticket: %s", type(error).__name__)
        raise ApplicationError(
            "Websocket tickets cannot be checked right now (Redis cannot be reached); try again shortly.", status=503
        ) from None
    if raw is None:
        return None
    stored = json.loads(raw)
    user = await database_sync_to_async(_active_user)(user_id=stored["user_id"])
    if user is None:
        return None
    return WsTicketGrant(user=user, job_id=uuid.UUID(stored["job_id"]) if stored["job_id"] else None)


def _active_user(*, user_id: int) -> User | None:
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()
