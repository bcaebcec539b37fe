"""Pieces of the websocket admission that the end-to-end tests (tests/apps/jobs/test_consumer.py,
tests/integration/test_websocket_server.py) cannot pin down exactly."""

from __future__ import annotations

from apps.accounts.websocket_auth import CLOSE_REASON_MAX_BYTES, close_reason


def test_a_close_reason_fits_a_close_frame_and_stays_valid_utf8() -> None:
    """Catches: a long or non-ASCII reason overflowing the 125-byte close frame (the server then drops the
    connection with 1006 and no reason at all) or cut through a multi-byte character."""
    reason = close_reason("é" * 100)
    assert len(reason.encode()) <= CLOSE_REASON_MAX_BYTES
    assert reason == "é" * (CLOSE_REASON_MAX_BYTES // 2)
    assert close_reason("No such job in your teams.") == "No such job in your teams."
