"""Embedded default only: sign a visitor on this machine in as the local user, so a newcomer lands in the app.

Only a peer on the loopback interface (the TCP peer, ``REMOTE_ADDR``; never the ``Host`` header, which the client
writes), and only under ``/api/``, the one place that needs a user: ``/healthz``, static files and the page shell get
no session row. The single-page app's first call (``/api/v1/auth/me/``) signs it in; its cookie covers the rest, the
websocket included. ``python -m webapp.devstack`` also refuses to listen on a non-loopback ``HOST`` with this on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse

from apps.accounts.services import local_user_bootstrap

SIGNED_IN_PATHS = "/api/"
NEVER_AUTO_SIGNED_IN = ("/api/v1/auth/login/",)


def is_loopback_peer(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:  # a unix socket or no address at all: not provably local
        return False


def wants_auto_login(request: HttpRequest) -> bool:
    return (
        request.path.startswith(SIGNED_IN_PATHS)
        and not request.path.startswith(NEVER_AUTO_SIGNED_IN)
        and "HTTP_AUTHORIZATION" not in request.META
        and is_loopback_peer(request.META.get("REMOTE_ADDR"))
        and not request.user.is_authenticated
    )


class LocalAutoLoginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TOKENSCOPE_LOCAL_AUTOLOGIN and wants_auto_login(request):
            user = local_user_bootstrap(
                username=settings.TOKENSCOPE_LOCAL_USERNAME, team_slug=settings.TOKENSCOPE_LOCAL_TEAM
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.get_response(request)
