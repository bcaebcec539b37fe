"""The Hugging Face hub as a source of models and tokenizers: what a hub id looks like, and whether the hub can be
used right now, answered quickly.

A request must never wait on a hub that is not there: ``huggingface_hub`` retries a failed connection with back-off
(23 s measured on a machine whose hub name does not resolve), and a resolver that times out instead of failing can
take longer still. So before any download the caller asks ``hub_unavailable_reason``: ``HF_HUB_OFFLINE`` set means
no; otherwise one TCP connection to the hub endpoint, bounded by ``HUB_CONNECT_TIMEOUT_S`` (name resolution
included) and remembered for ``HUB_PROBE_TTL_S``. With a hub, every id goes on to the normal download.

Framework-free: imported by the web process and the workers (no torch, no Django).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from urllib.parse import urlsplit

HUB_CONNECT_TIMEOUT_S = 1.5
HUB_PROBE_TTL_S = 60.0

# org/name as the hub accepts it: letters, digits, '-', '_', '.'; no leading/trailing '.' or '-', no '..' or '--'.
# Such an id is never looked up as a folder (no path semantics), so 'var/media' is a hub id, not a directory.
_PART = r"[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9_])?"
_HUB_ID = re.compile(rf"^{_PART}/{_PART}$")
_REVISION = re.compile(r"^[\w.-]{1,100}$")

_probe_lock = threading.Lock()
_probe_results: dict[str, tuple[float, str | None]] = {}


def is_hub_id(ref: str) -> bool:
    """``org/name`` or ``org/name@revision`` in the hub's own syntax."""
    repo_id, at, revision = ref.partition("@")
    if at and not _REVISION.match(revision):
        return False
    return bool(_HUB_ID.match(repo_id)) and ".." not in repo_id and "--" not in repo_id


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_endpoint() -> str:
    """The hub's base URL (``HF_ENDPOINT``, as huggingface_hub reads it)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def hub_unavailable_reason() -> str | None:
    """None when the hub can be used now; otherwise why not, in words for the user. Takes at most
    ``HUB_CONNECT_TIMEOUT_S`` (once per ``HUB_PROBE_TTL_S`` per endpoint)."""
    if hub_offline():
        return "this server is set to work offline (HF_HUB_OFFLINE)"
    endpoint = hub_endpoint()
    now = time.monotonic()
    with _probe_lock:
        cached = _probe_results.get(endpoint)
    if cached is not None and now - cached[0] < HUB_PROBE_TTL_S:
        return cached[1]
    reason = _probe(endpoint)
    with _probe_lock:
        _probe_results[endpoint] = (time.monotonic(), reason)
    return reason


def _probe(endpoint: str) -> str | None:
    """One TCP connection to the endpoint. It runs in a daemon thread so that a slow resolver cannot hold the caller
    past the bound (``socket.create_connection``'s timeout does not cover name resolution)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=HUB_CONNECT_TIMEOUT_S):
                outcome.append(None)
        except OSError:
            outcome.append("this server cannot reach the Hugging Face hub")

    worker = threading.Thread(target=connect, name="hub-probe", daemon=True)
    worker.start()
    worker.join(HUB_CONNECT_TIMEOUT_S)
    if not outcome:
        return "the Hugging Face hub did not answer this server in time"
    return outcome[0]


def forget_probe() -> None:
    """Drop remembered probe answers (tests, or after the network came back)."""
    with _probe_lock:
        _probe_results.clear()
