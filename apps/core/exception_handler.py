"""One JSON error shape for every API error: ``{"message": str, "extra": {...}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.core.errors import ApplicationError, PayloadTooLarge
from apps.core.sizes import format_mib

logger = logging.getLogger(__name__)


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        text = _first_message(value)
        return text if key in ("non_field_errors", "detail") else f"{key}: {text}"
    return str(detail)


def _request_refusal(exc: Exception) -> ApplicationError | None:
    """Django's own request-size guards (raised while DRF reads the body) as the API's 4xx."""
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(
            f"The request body is larger than {format_mib(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, the most the API "
            "accepts. Send large text as a file upload (multipart), or split it.",
            extra={"limit_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return ApplicationError(f"The form has too many fields or files: {exc}")
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _request_refusal(exc) or exc
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status, headers=exc.headers)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response({"message": "Internal error; it has been logged.", "extra": {}}, status=500)

    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"message": _first_message(fields), "extra": {"fields": fields}}
    elif isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None) or 1  # seconds, rounded up by DRF
        response.data = {
            "message": f"Too many requests: try again in {wait} s (per-user limits are listed in docs/limits.md).",
            "extra": {"retry_after_s": wait},
        }
    else:
        detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        response.data = {"message": str(detail), "extra": {}}
    return response
