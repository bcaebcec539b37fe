"""``/ws/jobs/<id>/``: authorise, send the current snapshot and replay the partial results streamed so far, then
forward the job's events.

Order on connect: subscribe to the job's group, read the row, read the partial-result backlog, send the snapshot and
the backlog. A partial is appended to the backlog before it is pushed to the group (``apps.jobs.events``), so every
partial is in the backlog read, or pushed after the subscription, or both — never neither. Those in both are dropped
here by their per-job ``seq``: the client gets each partial once, in order.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.core.errors import ApplicationError
from apps.jobs.events import job_group, job_stream_backlog
from apps.jobs.models import FINISHED_STATUSES
from apps.jobs.selectors import job_get_for_user
from apps.jobs.serializers import job_snapshot
from apps.jobs.services import job_reap_stale

CLOSE_UNAUTHORISED = 4403
CLOSE_NOT_FOUND = 4404


class JobConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    last_seq: int = 0
    """The highest ``seq`` of a ``job.partial`` sent on this connection (replayed or live)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.send_json({"type": "error", "message": "Sign in (or pass ?token=<api key>) to follow jobs."})
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        snapshot = await self._snapshot(user, job_id)
        if snapshot is None:
            await self.send_json({"type": "error", "message": "No such job in your teams."})
            await self.close(code=CLOSE_NOT_FOUND)
            return
        # Subscribe first, then read the row and the backlog: an event between the two is seen twice at worst (the
        # progress reducer is idempotent, partials are de-duplicated by seq), never missed.
        self.group = job_group(job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await self._snapshot(user, job_id)
        if snapshot is None:  # deleted meanwhile
            await self.send_json({"type": "error", "message": "No such job in your teams."})
            await self.close(code=CLOSE_NOT_FOUND)
            return
        # A finished job's result is the truth (and the client closes on this snapshot): nothing to replay.
        backlog = [] if snapshot.get("status") in FINISHED_STATUSES else await job_stream_backlog(job_id)
        await self.send_json({"type": "job.snapshot", "job": snapshot})
        for event in backlog:
            await self._send_partial(event)

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
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:
            await self.send_json({"type": "error", "message": "Messages must be JSON text frames."})

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
