"""Websocket tickets and ``Sec-WebSocket-Protocol`` credentials through the real stack: tickets from the real REST
endpoint, the real ASGI application (origin check, auth middleware, routing, consumer) and a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import override_settings

from apps.accounts.services import api_token_create
from apps.accounts.websocket_auth import TICKET_REFUSED, TOKEN_REFUSED
from apps.jobs import services
from apps.jobs.consumers import TICKET_FOR_ANOTHER_JOB_MESSAGE
from apps.jobs.models import Job
from tests.apps.jobs.test_consumer import app, refusal
from tests.factories import make_user, token_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_redis")]


@sync_to_async
def make_job(username: str) -> Job:
    from tests.factories import make_team

    user = get_user_model().objects.filter(username=username).first() or make_user(username)
    return services.job_create(
        team=make_team(f"team-{username}-{Job.objects.count()}", user),
        owner=user,
        kind="tokenize",
        params={},
        dispatch=False,
    )


@sync_to_async
def ticket_response(username: str, body: dict[str, Any] | None = None) -> Any:
    """``POST /api/v1/ws-tickets/`` through the real view, signed in with an API token."""
    client = token_client(get_user_model().objects.get(username=username))
    return client.post("/api/v1/ws-tickets/", body or {}, format="json")


async def ticket(username: str, body: dict[str, Any] | None = None) -> str:
    response = await ticket_response(username, body)
    assert response.status_code == 201, response.content
    return str(response.json()["ticket"])


def socket_with(path: str, *subprotocols: str) -> WebsocketCommunicator:
    """A client that can set no header (a browser's ``WebSocket``): credentials only as subprotocols, no Origin."""
    return WebsocketCommunicator(app(), path, subprotocols=list(subprotocols))


async def test_a_ticket_signs_in_once_and_the_server_echoes_only_the_plain_subprotocol() -> None:
    """Catches: a ticket that can be replayed, one that is not accepted at all, or the secret echoed back as the
    selected subprotocol (or no subprotocol selected, which makes browsers fail the handshake)."""
    job = await make_job("ticket-owner")
    value = await ticket("ticket-owner")
    socket = socket_with(f"/ws/jobs/{job.id}/", "tokenscope", f"tokenscope.ticket.{value}")
    connected, subprotocol = await socket.connect(timeout=5)
    assert connected and subprotocol == "tokenscope"
    assert (await socket.receive_json_from(timeout=5))["job"]["id"] == str(job.id)
    await socket.disconnect()

    again = socket_with(f"/ws/jobs/{job.id}/", "tokenscope", f"tokenscope.ticket.{value}")
    message, code, reason = await refusal(again)
    assert (message, code, reason) == (TICKET_REFUSED, 4401, TICKET_REFUSED)
    assert value not in message


async def test_an_expired_ticket_is_refused() -> None:
    """Catches: tickets that never expire in Redis (a leaked one would stay usable)."""
    job = await make_job("ticket-late")
    with override_settings(WS_TICKET_TTL_S=1):
        response = await ticket_response("ticket-late")
    assert response.status_code == 201
    await asyncio.sleep(1.6)
    message, code, _ = await refusal(
        socket_with(f"/ws/jobs/{job.id}/", "tokenscope", f"tokenscope.ticket.{response.json()['ticket']}")
    )
    assert (message, code) == (TICKET_REFUSED, 4401)


async def test_a_valid_ticket_does_not_open_another_teams_job() -> None:
    """Catches: a ticket that opens any job id (it signs in its user; the job must still be in that user's teams),
    or a ticket for another team's job issued at all."""
    victim_job = await make_job("ticket-victim")
    await sync_to_async(make_user)("ticket-intruder")
    value = await ticket("ticket-intruder")
    message, code, _ = await refusal(socket_with(f"/ws/jobs/{victim_job.id}/", f"tokenscope.ticket.{value}"))
    assert (message, code) == ("No such job in your teams.", 4404)
    refused = await ticket_response("ticket-intruder", {"job_id": str(victim_job.id)})
    assert refused.status_code == 404 and set(refused.json()) == {"message", "extra"}


async def test_a_ticket_bound_to_a_job_opens_that_job_only() -> None:
    """Catches: the ``job_id`` binding ignored, so a ticket leaked from one job's page follows every job of the user."""
    first, second = await make_job("ticket-bound"), await make_job("ticket-bound")
    value = await ticket("ticket-bound", {"job_id": str(first.id)})
    message, code, _ = await refusal(socket_with(f"/ws/jobs/{second.id}/", f"tokenscope.ticket.{value}"))
    assert (message, code) == (TICKET_FOR_ANOTHER_JOB_MESSAGE, 4401)
    value = await ticket("ticket-bound", {"job_id": str(first.id)})
    socket = socket_with(f"/ws/jobs/{first.id}/", f"tokenscope.ticket.{value}")
    connected, subprotocol = await socket.connect(timeout=5)
    assert connected and subprotocol is None  # "tokenscope" was not offered: nothing may be selected
    assert (await socket.receive_json_from(timeout=5))["job"]["id"] == str(first.id)
    await socket.disconnect()


async def test_an_inactive_users_ticket_is_refused() -> None:
    """Catches: a ticket still signing in a user who was deactivated after it was issued."""
    job = await make_job("ticket-gone")
    value = await ticket("ticket-gone")
    await sync_to_async(get_user_model().objects.filter(username="ticket-gone").update)(is_active=False)
    _, code, _ = await refusal(socket_with(f"/ws/jobs/{job.id}/", f"tokenscope.ticket.{value}"))
    assert code == 4401


async def test_an_api_token_as_a_subprotocol_signs_in_and_a_wrong_one_is_refused() -> None:
    """Catches: scripts that can only set subprotocols locked out, or an unknown key accepted as a subprotocol."""
    job = await make_job("ticket-script")
    assert job.owner is not None
    _, key = await sync_to_async(api_token_create)(user=job.owner, name="subprotocol")
    socket = socket_with(f"/ws/jobs/{job.id}/", "tokenscope", f"tokenscope.token.{key}")
    connected, subprotocol = await socket.connect(timeout=5)
    assert connected and subprotocol == "tokenscope"
    assert (await socket.receive_json_from(timeout=5))["type"] == "job.snapshot"
    await socket.disconnect()
    message, code, _ = await refusal(socket_with(f"/ws/jobs/{job.id}/", "tokenscope", "tokenscope.token.tks_wrong"))
    assert (message, code) == (TOKEN_REFUSED, 4401)


async def test_a_ticket_in_the_query_string_is_not_a_credential() -> None:
    """Catches: a ``?ticket=`` route (the ticket would then be written into every URL log)."""
    job = await make_job("ticket-query")
    value = await ticket("ticket-query")
    _, code, _ = await refusal(WebsocketCommunicator(app(), f"/ws/jobs/{job.id}/?ticket={value}"))
    assert code == 4401


async def test_tickets_are_random_and_stored_only_as_a_hash() -> None:
    """Catches: predictable tickets, or tickets kept in clear in Redis (a dump or a MONITOR would hand them out)."""
    from channels.layers import get_channel_layer

    await make_job("ticket-store")
    values = {await ticket("ticket-store") for _ in range(3)}
    assert len(values) == 3 and all(len(value) >= 40 for value in values)
    layer: Any = get_channel_layer()
    client = layer.connection(0)
    keys = [key.decode() for key in await client.keys("tokenscope:ws-ticket:*")]
    stored = " ".join(keys) + " ".join([(await client.get(key)).decode() for key in keys])
    assert keys and not any(value in stored or value[4:] in stored for value in values)


@pytest.fixture
def redis_unreachable() -> Any:
    """The channel layer (where tickets live) pointed at a port nothing listens on."""
    from channels.layers import channel_layers

    from webapp.embedded_redis import free_port

    dead = {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/2"]},
    }
    with override_settings(CHANNEL_LAYERS={"default": dead}):
        channel_layers.backends.clear()
        yield
    channel_layers.backends.clear()


@pytest.mark.usefixtures("redis_unreachable")
async def test_redis_unreachable_gives_a_503_to_issue_and_a_clear_refusal_to_redeem() -> None:
    """Catches: a 500 (or a hung request) when Redis is down, or a redeem that blames the ticket instead of the store."""
    from apps.accounts.ws_tickets import ws_ticket_redeem
    from apps.core.errors import ApplicationError

    await sync_to_async(make_user)("ticket-down")
    response = await ticket_response("ticket-down")
    assert response.status_code == 503 and "Redis" in response.json()["message"]
    with pytest.raises(ApplicationError) as refused:
        await ws_ticket_redeem(ticket="wst_" + "x" * 43)
    assert refused.value.status == 503 and "try again" in refused.value.message
