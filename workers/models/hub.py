"""The Hugging Face hub as a source of models and tokenizers: what a hub id looks like, and whether the hub can be
used right now, answered quickly.

A request must never wait on a hub that is not there: ``huggingface_hub`` retries a failed connection with back-off
(23 s measured on a machine whose hub name does not resolve), and a resolver that times out instead of failing can
take longer still. So before any download the caller asks ``hub_unavailable_reason``: ``HF_HUB_OFFLINE`` set means
no; otherwise one HEAD request to the hub endpoint, bounded by ``HUB_PROBE_TIMEOUT_S`` (name resolution
included) and remembered for ``HUB_PROBE_TTL_S``. With a hub, every id goes on to the normal download.

Framework-free: imported by the web process and the workers (no torch, no Django).
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.error
import urllib.request

HUB_PROBE_TIMEOUT_S = 1.5
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
    ``HUB_PROBE_TIMEOUT_S`` (once per ``HUB_PROBE_TTL_S`` per endpoint)."""
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
    """One HEAD request to the endpoint; any HTTP answer (even an error status) means the hub is there. It runs in a
    daemon thread so that nothing (a slow resolver, a proxy that accepts and never answers) holds the caller past
    the bound: a socket timeout alone does not cover name resolution."""
    outcome: list[str | None] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=HUB_PROBE_TIMEOUT_S):
                outcome.append(None)
        except urllib.error.HTTPError:
            outcome.append(None)
        except (OSError, ValueError):  # URLError, timeouts, refused connections; ValueError: a malformed HF_ENDPOINT
            outcome.append("this server cannot reach the Hugging Face hub")

    worker = threading.Thread(target=ask, name="hub-probe", daemon=True)
    worker.start()
    worker.join(HUB_PROBE_TIMEOUT_S)
    if not outcome:
        return "the Hugging Face hub did not answer this server in time"
    return outcome[0]


def forget_probe() -> None:
    """Drop remembered probe answers (tests, or after the network came back)."""
    with _probe_lock:
        _probe_results.clear()
