"""Writes for accounts: teams, memberships, API tokens, the local bootstrap user."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import ApiToken, Membership, Role, Team
from apps.core.errors import ApplicationError, NotFound

TOKEN_PREFIX = "tks_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def team_create(*, name: str, owner: User, slug: str | None = None) -> Team:
    slug = slug or slugify(name)[:64]
    if not slug:
        raise ApplicationError("A team needs a name with at least one letter or digit.")
    if Team.objects.filter(slug=slug).exists():
        raise ApplicationError(f"A team called '{slug}' already exists; choose another name.", status=409)
    team = Team.objects.create(slug=slug, name=name)
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def membership_set(*, team: Team, user: User, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError(f"Unknown role '{role}'; use one of {', '.join(Role.values)}.")
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return membership


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its key, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise ApplicationError("Give the token a name (for example the script or machine that will use it).")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[:12], key_hash=hash_token_key(key))
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> None:
    deleted, _ = ApiToken.objects.filter(user=user, id=token_id).delete()
    if not deleted:
        raise NotFound("No such API token.")


def api_token_authenticate(*, key: str) -> User | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # Recorded at minute resolution: a write on every request would cost more than the request itself.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def local_user_bootstrap(*, username: str, team_slug: str) -> User:
    """The embedded default's user and team, created on first use so a newcomer lands in the app."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save()
    team = Team.objects.filter(slug=team_slug).first()
    if team is None:
        team_create(name="Local team", owner=user, slug=team_slug)
    return user
