"""The one error type services raise. The API renders it as ``{"message": ..., "extra": {...}}``."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A failure the user can act on. ``status`` is the HTTP status the API answers with (a 4xx)."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """``headers``: response headers the status requires (e.g. ``Content-Range`` on a 416)."""
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status


class NotFound(ApplicationError):
    status = 404


class PermissionDenied(ApplicationError):
    status = 403


class Conflict(ApplicationError):
    status = 409


class PayloadTooLarge(ApplicationError):
    status = 413
