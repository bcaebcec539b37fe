from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Role
from tests.factories import PASSWORD, add_member, make_team, make_user, token_client

pytestmark = pytest.mark.django_db


def test_login_me_logout_with_session() -> None:
    alice = make_user("alice")
    make_team("Lab A", alice)
    client = APIClient(enforce_csrf_checks=False)
    assert client.get("/api/v1/auth/me/").status_code == 401

    bad = client.post("/api/v1/auth/login/", {"username": "alice", "password": "nope"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["message"] == "Wrong username or password."

    ok = client.post("/api/v1/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")
    assert ok.status_code == 200
    me = client.get("/api/v1/auth/me/").json()
    assert me["user"]["username"] == "alice"
    assert me["teams"] == [{"id": me["teams"][0]["id"], "slug": "lab-a", "name": "Lab A", "role": "owner"}]
    assert me["current_team"] == "lab-a"

    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/auth/me/").status_code == 401


def test_api_token_lifecycle() -> None:
    bob = make_user("bob")
    make_team("Bob's team", bob)
    session = APIClient()
    session.force_authenticate(bob)
    created = session.post("/api/v1/auth/tokens/", {"name": "laptop"}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("tks_")

    listed = session.get("/api/v1/auth/tokens/").json()
    assert [t["name"] for t in listed] == ["laptop"]
    assert "key" not in listed[0]

    scripted = APIClient()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert scripted.get("/api/v1/auth/me/").json()["user"]["username"] == "bob"

    assert session.delete(f"/api/v1/auth/tokens/{created.json()['id']}/").status_code == 204
    revoked = scripted.get("/api/v1/auth/me/")
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]


def test_malformed_authorization_header_is_a_clear_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token")
    response = client.get("/api/v1/auth/me/")
    assert response.status_code == 401
    assert "Authorization: Token <key>" in response.json()["message"]


def test_only_owners_manage_members_and_unknown_teams_look_absent() -> None:
    owner, member, outsider = make_user("owner"), make_user("member"), make_user("outsider")
    team = make_team("Shared", owner)
    add_member(team, member, Role.MEMBER)
    make_team("Elsewhere", outsider)

    as_member = token_client(member, team)
    denied = as_member.post("/api/v1/teams/shared/members/", {"username": "outsider"}, format="json")
    assert denied.status_code == 403
    assert "needs owner" in denied.json()["message"]

    as_owner = token_client(owner, team)
    added = as_owner.post("/api/v1/teams/shared/members/", {"username": "outsider", "role": "viewer"}, format="json")
    assert added.status_code == 201
    roles = {m["username"]: m["role"] for m in as_owner.get("/api/v1/teams/shared/members/").json()}
    assert roles == {"member": "member", "outsider": "viewer", "owner": "owner"}

    # A team you are not in is reported as not found, whatever it is called.
    assert token_client(member).get("/api/v1/teams/elsewhere/members/").status_code == 404


def test_team_create_refuses_duplicates() -> None:
    carol = make_user("carol")
    client = token_client(carol)
    assert client.post("/api/v1/teams/", {"name": "Vision"}, format="json").status_code == 201
    duplicate = client.post("/api/v1/teams/", {"name": "Vision"}, format="json")
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.json()["message"]


def test_unknown_api_paths_answer_json() -> None:
    user = make_user("dora")
    client = token_client(user, make_team("Dora", user))
    for path in ("/api/v1/jobs/not-a-uuid/", "/api/v1/nothing-here/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["message"].startswith("No API endpoint at")


def test_a_deactivated_users_token_is_refused_on_the_next_request() -> None:
    """Catches a token check that trusts anything cached or stale: deactivating the user must end its API access at
    once, exactly as revoking the token does (test_api_token_lifecycle)."""
    carol = make_user("carol")
    client = token_client(carol, make_team("Carol lab", carol))
    assert client.get("/api/v1/auth/me/").status_code == 200
    carol.is_active = False
    carol.save(update_fields=["is_active"])
    assert client.get("/api/v1/auth/me/").status_code == 401


def test_token_last_use_is_recorded_at_minute_resolution() -> None:
    """Catches a broken "is the last use older than a minute" comparison in the token query (a write on every
    request, or never again after the first)."""
    dave = make_user("dave")
    client = token_client(dave, make_team("Dave lab", dave))
    token = ApiToken.objects.get(user=dave)
    assert token.last_used_at is None
    assert client.get("/api/v1/auth/me/").status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    assert client.get("/api/v1/auth/me/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first  # within the minute: not written again
    long_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    assert client.get("/api/v1/auth/me/").status_code == 200
    refreshed = ApiToken.objects.get(pk=token.pk).last_used_at
    assert refreshed is not None and refreshed > long_ago + timedelta(seconds=90)
