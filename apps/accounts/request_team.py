"""Which team an API request acts for: the ``X-Team`` header or ``?team=``, else the user's first team."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework.request import Request

from apps.accounts.models import Membership, Role
from apps.accounts.selectors import team_resolve


def team_for_request(request: Request, *, min_role: Role = Role.VIEWER) -> Membership:
    slug = request.headers.get("X-Team") or request.query_params.get("team")
    return team_resolve(user=request_user(request), slug=slug, min_role=min_role)


def request_user(request: Request) -> User:
    """The signed-in user of an API request (views require authentication, so it is never anonymous here)."""
    user = request.user
    assert isinstance(user, User), "view must require authentication"
    return user
