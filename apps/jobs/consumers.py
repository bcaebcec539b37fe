"""``/ws/jobs/<id>/``: authorise, send the current snapshot and replay the partial results streamed so far, then
forward the job's events.

Order on connect: subscribe to the job's group, read the row, read the partial-result backlog, send the snapshot and
the backlog. A partial is appended to the backlog before it is pushed to the group (``apps.jobs.events``), so every
partial is in the backlog read, or pushed after the subscription, or both — never neither. Those in both are dropped
here by their per-job ``seq``: the client gets each partial once, in order.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.websocket_auth import (
    AUTH_ERROR_KEY,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    TICKET_JOB_KEY,
    accepted_subprotocol,
    close_reason,
)
from apps.core.errors import ApplicationError
from apps.jobs.events import job_group, job_stream_backlog
from apps.jobs.models import FINISHED_STATUSES
from apps.jobs.selectors import job_get_for_user
from apps.jobs.serializers import job_snapshot
from apps.jobs.services import job_reap_stale

MAX_MESSAGE_CHARS = 1024
"""A client only ever sends ``{"type": "ping"}``: anything longer is refused before it is parsed. (The server also
caps a frame at ``WS_MAX_FRAME_BYTES``, see ``webapp.devstack``, and closes with 1009 above it.)"""

SIGN_IN_MESSAGE = (
    "Sign in: send the header 'Authorization: Token <api key>' or the subprotocol 'tokenscope.ticket.<ticket>'."
)
NO_SUCH_JOB_MESSAGE = "No such job in your teams."
TICKET_FOR_ANOTHER_JOB_MESSAGE = "This websocket ticket was issued for another job; get one for this job."


class JobConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    last_seq: int = 0
    """The highest ``seq`` of a ``job.partial`` sent on this connection (replayed or live)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept(subprotocol=accepted_subprotocol(self.scope))
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED, self.scope.get(AUTH_ERROR_KEY) or SIGN_IN_MESSAGE)
            return
        try:
            job_id = uuid.UUID(self.scope["url_route"]["kwargs"]["job_id"])
        except ValueError:
            await self._refuse(CLOSE_NOT_FOUND, NO_SUCH_JOB_MESSAGE)
            return
        ticket_job = self.scope.get(TICKET_JOB_KEY)
        if ticket_job is not None and ticket_job != job_id:  # checked before the lookup: says nothing about job_id
            await self._refuse(CLOSE_UNAUTHENTICATED, TICKET_FOR_ANOTHER_JOB_MESSAGE)
            return
        snapshot = await self._snapshot(user, job_id)
        if snapshot is None:
            await self._refuse(CLOSE_NOT_FOUND, NO_SUCH_JOB_MESSAGE)
            return
        # Subscribe first, then read the row and the backlog: an event between the two is seen twice at worst (the
        # progress reducer is idempotent, partials are de-duplicated by seq), never missed.
        self.group = job_group(job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await self._snapshot(user, job_id)
        if snapshot is None:  # deleted meanwhile
            await self._refuse(CLOSE_NOT_FOUND, NO_SUCH_JOB_MESSAGE)
            return
        # A finished job's result is the truth (and the client closes on this snapshot): nothing to replay.
        backlog = [] if snapshot.get("status") in FINISHED_STATUSES else await job_stream_backlog(job_id)
        await self.send_json({"type": "job.snapshot", "job": snapshot})
        for event in backlog:
            await self._send_partial(event)

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "message": message})
        await self.close(code=code, reason=close_reason(message))

    @database_sync_to_async
    def _snapshot(self, user: Any, job_id: Any) -> dict[str, Any] | None:
        job_reap_stale()
        try:
            return job_snapshot(job_get_for_user(user=user, job_id=job_id))
        except ApplicationError:
            return None

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
            return
        await self.send_json(
            {"type": "error", "message": 'Unknown message; the only message accepted is {"type": "ping"}.'}
        )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self.send_json({"type": "error", "message": "Messages must be JSON text frames."})
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self.send_json(
                {
                    "type": "error",
                    "message": f'Messages are at most {MAX_MESSAGE_CHARS} characters; send {{"type": "ping"}}.',
                }
            )
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: brackets nested deeper than the parser's stack
            await self.send_json({"type": "error", "message": "Messages must be JSON text frames."})
            return
        await self.receive_json(content)

    async def job_event(self, event: dict[str, Any]) -> None:
        payload = event["payload"]
        if isinstance(payload, dict) and payload.get("type") == "job.partial":
            await self._send_partial(payload)
        else:
            await self.send_json(payload)

    async def _send_partial(self, payload: dict[str, Any]) -> None:
        seq = payload.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:  # already replayed from the backlog
                return
            self.last_seq = seq
        await self.send_json(payload)
