"""Which team a request acts for (``team_resolve``): one SQL query per request, read fresh every time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Membership, Role
from apps.accounts.selectors import team_resolve
from apps.core.errors import NotFound, PermissionDenied
from tests.factories import add_member, make_team, make_user

pytestmark = pytest.mark.django_db


def test_without_a_slug_the_first_team_by_slug_is_chosen_with_its_columns() -> None:
    """Bug caught: the ORDER BY lost (the newest or lowest-id team chosen) or a column read into the wrong field."""
    user = make_user("ada")
    later = make_team("Zeta lab", owner=user)  # created first, sorts last
    first = make_team("Alpha lab", owner=user)
    membership = team_resolve(user=user, slug=None)
    assert (membership.team_id, membership.user_id, membership.role) == (first.pk, user.pk, Role.OWNER)
    assert (membership.team.pk, membership.team.slug, membership.team.name) == (first.pk, first.slug, "Alpha lab")
    assert membership.team.created_at == first.created_at  # deferred, loaded on access
    assert membership.created_at == Membership.objects.get(pk=membership.pk).created_at
    assert team_resolve(user=user, slug=later.slug).team.name == "Zeta lab"


def test_a_team_of_someone_else_is_not_found_and_a_removed_member_is_refused_at_once() -> None:
    """Bug caught: a membership looked up without the user condition, or cached between requests."""
    owner, stranger = make_user("owner"), make_user("stranger")
    team = make_team("Private", owner=owner)
    with pytest.raises(NotFound):
        team_resolve(user=stranger, slug=team.slug)
    with pytest.raises(NotFound):
        team_resolve(user=stranger, slug=None)
    add_member(team, stranger, Role.VIEWER)
    assert team_resolve(user=stranger, slug=team.slug).role == Role.VIEWER
    with pytest.raises(PermissionDenied):
        team_resolve(user=stranger, slug=team.slug, min_role=Role.MEMBER)
    Membership.objects.filter(team=team, user=stranger).delete()
    with pytest.raises(NotFound):
        team_resolve(user=stranger, slug=team.slug)


def test_one_query() -> None:
    """Bug caught: the team read lazily in a second query (every API request pays for it)."""
    user = make_user("grace")
    make_team("Lab", owner=user)
    with CaptureQueriesContext(connection) as queries:
        membership = team_resolve(user=user, slug="lab")
        assert membership.team.slug == "lab"
    assert len(queries) == 1
