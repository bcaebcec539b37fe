"""Reads for accounts, and the one place that decides which team a request acts for."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from apps.accounts.models import ROLE_RANK, ApiToken, Membership, Role, Team
from apps.core.errors import NotFound, PermissionDenied


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team").order_by("team__slug")


def membership_get(*, user: User | AnonymousUser, team_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team_id=team_id).first()


def team_member_list(*, team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("user__username")


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def role_at_least(role: str, minimum: Role) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[minimum]


def team_resolve(*, user: User, slug: str | None, min_role: Role = Role.VIEWER) -> Membership:
    """The membership the request acts through: the named team, or the user's first team.

    A team the user does not belong to is reported as not found, so team names do not leak.
    """
    memberships = membership_list_for_user(user=user)
    membership = memberships.filter(team__slug=slug).first() if slug else memberships.first()
    if membership is None:
        raise NotFound(f"You are not a member of team '{slug}'." if slug else "You are not a member of any team yet.")
    if not role_at_least(membership.role, min_role):
        raise PermissionDenied(f"Your role in '{membership.team.slug}' is {membership.role}; this needs {min_role}.")
    return membership
