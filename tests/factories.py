"""Small builders for users, teams and authenticated API clients."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.accounts.models import Role, Team
from apps.accounts.services import api_token_create, membership_set, team_create

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str) -> User:
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


def make_team(name: str, owner: User) -> Team:
    return team_create(name=name, owner=owner)


def add_member(team: Team, user: User, role: Role = Role.MEMBER) -> None:
    membership_set(team=team, user=user, role=role)


def session_cookie(user: User) -> str:
    """A signed-in browser's ``Cookie`` header value (a real session row, as the login view would create)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def token_client(user: User, team: Team | None = None) -> APIClient:
    """An API client authenticated the way scripts are: with a personal API token."""
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", **({"HTTP_X_TEAM": team.slug} if team else {}))
    return client
