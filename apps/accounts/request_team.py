"""Which team an API request acts for: the ``X-Team`` header or ``?team=``, else the user's first team."""

from __future__ import annotations

from rest_framework.request import Request

from apps.accounts.models import Membership, Role
from apps.accounts.selectors import team_resolve


def team_for_request(request: Request, *, min_role: Role = Role.VIEWER) -> Membership:
    slug = request.headers.get("X-Team") or request.query_params.get("team")
    return team_resolve(user=request.user, slug=slug, min_role=min_role)
