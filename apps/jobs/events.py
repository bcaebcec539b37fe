"""Push job events to websocket subscribers. The Job row stays the truth; events are notifications."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def job_group(job_id: Any) -> str:
    return f"job.{job_id}"


def job_event_send(job_id: Any, payload: dict[str, Any]) -> None:
    """Best effort: a Redis hiccup must not fail the job, since clients re-read the row on reconnect."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(job_group(job_id), {"type": "job.event", "payload": payload})
    except Exception:  # noqa: BLE001 - notification only
        logger.warning("Could not push event for job %s", job_id, exc_info=True)
