"""The OpenAPI contract documents every error an operation can answer, in the one error shape.

Each operation gets, besides what its view declares:

* 400 when it reads a request body or query parameters (invalid input; ``extra.fields`` names the field);
* 401, 403 and 404 when it needs a signed-in user (no credentials; a role too low or a missing CSRF token; an object
  or team that is not the caller's: another team's objects are reported as not found);
* for an operation open to anyone: 401 (an API token that is sent is still checked) and, for an unsafe method, 403 (a
  session request without its CSRF token);
* 413 when it reads a body (over the size limits in docs/limits.md);
* 429 with ``Retry-After`` when a rate limit applies to it (apps/core/throttling.py).

Conflicts (409) depend on the operation; its view declares them with ``error_response``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from apps.core.throttling import JobCreationThrottle


class ErrorSerializer(serializers.Serializer):
    """Every API error: what happened and what to change, and details for programs."""

    message = serializers.CharField(help_text="A sentence for a person: what went wrong and what to do.")
    extra = serializers.DictField(help_text="Details, e.g. `fields` (per-field messages) or `retry_after_s`.")


def error_response(description: str) -> OpenApiResponse:
    """An error status documented by a view (e.g. 409) with the error shape."""
    return OpenApiResponse(ErrorSerializer, description=description)


_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, description in self.error_statuses().items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    error_response(description), str(code), direction=direction
                )
        if "429" in responses:
            responses["429"].setdefault("headers", _RETRY_AFTER)
        return dict(sorted(responses.items()))

    def error_statuses(self) -> dict[int, str]:
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        has_query = any(parameter.get("in") == "query" for parameter in self._get_parameters())
        public = any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        statuses: dict[int, str] = {}
        if has_body or has_query:
            statuses[400] = "Invalid input: `message` says what to change; `extra.fields` lists the fields."
        if not public:
            statuses[401] = "Not signed in: send the session cookie or `Authorization: Token <key>`."
            statuses[403] = "Not allowed: your role in the team is too low, or a session request lacks its CSRF token."
            statuses[404] = "Not found: no such object or team among yours (other teams' objects are not confirmed)."
        else:  # open to anyone, but credentials that are sent are still checked
            statuses[401] = "An API token was sent but is unknown or revoked."
            if self.method in _UNSAFE:
                statuses[403] = "A session request without its CSRF token."
        if has_body:
            statuses[413] = "The request body or an uploaded file is over its size limit (docs/limits.md)."
        if self.method in _UNSAFE and any(isinstance(t, JobCreationThrottle) for t in self.view.get_throttles()):
            statuses[429] = "Too many jobs started by this user: wait `Retry-After` seconds (docs/limits.md)."
        return statuses
