from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@override_settings(TOKENSCOPE_LOCAL_AUTOLOGIN=True)
def test_embedded_default_signs_the_first_visitor_in_as_the_local_user() -> None:
    client = Client()
    me = client.get("/api/v1/auth/me/").json()
    assert me["user"]["username"] == "local"
    assert me["teams"][0]["slug"] == "local"
    assert me["teams"][0]["role"] == "owner"


def test_hosted_instance_requires_sign_in() -> None:
    assert Client().get("/api/v1/auth/me/").status_code == 401
