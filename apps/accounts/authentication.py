"""``Authorization: Token <key>`` for the REST API."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.accounts.services import api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Token <key>'.")
        user = api_token_authenticate(key=header[1])
        if user is None:
            raise exceptions.AuthenticationFailed("This API token is unknown or was revoked.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
