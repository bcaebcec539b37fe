"""Embedded default only: sign the visitor in as the local user so a newcomer lands in the app."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse

from apps.accounts.services import local_user_bootstrap


class LocalAutoLoginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.TOKENSCOPE_LOCAL_AUTOLOGIN
            and not request.user.is_authenticated
            and "HTTP_AUTHORIZATION" not in request.META
            and not request.path.startswith("/api/v1/auth/login")
        ):
            user = local_user_bootstrap(
                username=settings.TOKENSCOPE_LOCAL_USERNAME, team_slug=settings.TOKENSCOPE_LOCAL_TEAM
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.get_response(request)
