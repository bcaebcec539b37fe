"""The authorization matrix, generated from the committed OpenAPI schema: every operation x every persona x
{the persona's own team's object, another team's object}, plus the permalink page and every websocket route.

Personas on a hosted configuration (no auto-login): anonymous (no cookie, no token), team A's viewer, member and
owner, and team B's owner ("outsider" when the object is A's). Expected: anonymous 401/403; a member of the object's
team gets the operation's success status when the role suffices, else 403; anyone else 404 (never a hint that the
object exists). Besides the status, no response may contain a marker of a team the caller is not in (team names,
usernames, job titles and custom tokenizer names carry one), so a 200 that leaks data fails too. The slug the caller
itself sent (X-Team header or path) may be echoed in an error.

A new operation in docs/openapi.yaml without an entry in ``MATRIX`` fails ``test_every_schema_operation_has_a_matrix
_entry``; a new websocket route without one fails ``test_every_websocket_route_is_covered``.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import Role, Team
from apps.accounts.selectors import role_at_least
from apps.accounts.services import api_token_create
from apps.catalog.models import CustomTokenizer
from apps.jobs import services as job_services
from apps.jobs.models import Job
from tests.factories import PASSWORD, add_member, make_team, make_user

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
PERSONAS = ("anonymous", "viewer", "member", "owner", "outsider")
TARGETS = ("own", "other")
MARKERS = {"A": "zqxalpha", "B": "zqxbravo"}  # strings that appear only in that team's data
# The smallest valid tiktoken ranks file: one token per byte value.
TINY_TIKTOKEN = b"".join(base64.b64encode(bytes([byte])) + b" %d\n" % byte for byte in range(256))


def schema_operations() -> dict[str, tuple[str, str]]:
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in SCHEMA["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


@dataclass
class World:
    teams: dict[str, Team]
    users: dict[str, User]  # persona -> user (outsider owns team B)
    counter: Iterator[int] = field(default_factory=itertools.count)

    def persona_team(self, persona: str) -> str:
        return "B" if persona == "outsider" else "A"

    def target_team(self, persona: str, target: str) -> str:
        own = self.persona_team(persona)
        return own if target == "own" else ("A" if own == "B" else "B")

    def job(self, team: str, *, result: bool = False) -> Job:
        owner = self.users["owner" if team == "A" else "outsider"]
        job = job_services.job_create(
            team=self.teams[team],
            owner=owner,
            kind="tokenize",
            params={"note": MARKERS[team]},
            title=f"job of {MARKERS[team]} {next(self.counter)}",
            dispatch=False,
        )
        if result:
            tokens = [{"id": 0, "start": 0, "end": 1, "kind": "normal", "bytes": "61", "text": MARKERS[team]}]
            job_services.job_succeed(
                job_id=job.id, result={"results": [{"tokenizer": {"id": "builtin:bytes"}, "tokens": tokens}]}
            )
        return job


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    data: Any = None
    format: str | None = "json"


@dataclass(frozen=True)
class Entry:
    """How to call an operation on a team's object, who may, and what success looks like.

    scope: "team" (the object, or the X-Team header, belongs to a team: membership and ``min_role`` decide),
    "user" (signed-in users only; the operation names no team object), "public" (anyone; ``ok`` for everyone).
    """

    build: Callable[[World, User, str], Call]
    ok: frozenset[int]
    scope: str = "team"
    min_role: Role = Role.VIEWER


def team_scoped(method: str, path: str, data: Any = None, fmt: str | None = "json") -> Callable[..., Call]:
    return lambda world, user, team: Call(method, path, data, fmt)


def _token_path(world: World, user: User, team: str) -> Call:
    # "own": the caller's own token; "other": a token of the other team's owner (tokens are personal)
    holder = user if world.persona_team(_persona_of(world, user)) == team else world.users[_owner_of(team)]
    token, _ = api_token_create(user=holder, name=f"matrix {next(world.counter)}")
    return Call("DELETE", f"/api/v1/auth/tokens/{token.id}/")


def _persona_of(world: World, user: User) -> str:
    return next(persona for persona, candidate in world.users.items() if candidate == user)


def _owner_of(team: str) -> str:
    return "owner" if team == "A" else "outsider"


def _member_set(world: World, user: User, team: str) -> Call:
    newcomer = make_user(f"newcomer-{next(world.counter)}")
    return Call("POST", f"/api/v1/teams/{world.teams[team].slug}/members/", {"username": newcomer.username})


def _tokenizer_upload(world: World, user: User, team: str) -> Call:
    upload = io.BytesIO(TINY_TIKTOKEN)
    upload.name = "tiny.tiktoken"
    return Call("POST", "/api/v1/tokenizers/", {"name": f"tiny {next(world.counter)}", "file": upload}, "multipart")


def _rerun(world: World, user: User, team: str) -> Call:
    """A finished tokenization of the team (with its manifest) to re-run, made through the API by its owner."""
    owner = world.users[_owner_of(team)]
    made = client_for(world, _persona_of(world, owner), team).post(
        "/api/v1/tokenize/", {"text": f"rerun {next(world.counter)}", "tokenizers": ["builtin:bytes"]}, format="json"
    )
    assert made.status_code == 201, made.content[:300]
    return Call("POST", f"/api/v1/jobs/{made.json()['id']}/rerun/")


SPECULATIVE = {"target": "smollm2-135m-instruct", "drafter": {"kind": "prompt_lookup"}, "prompt": "a b a b a b"}
DETECT = {"models": ["smollm2-135m-instruct"], "scores": ["loss"], "texts": ["The quick brown fox jumps."]}


def _detection_dataset(world: World, user: User, team: str) -> Call:
    upload = io.BytesIO(b'{"text": "A first labelled text.", "label": 1}\n{"text": "A second one here.", "label": 0}\n')
    upload.name = "rows.jsonl"
    data = {"models": ["smollm2-135m-instruct"], "scores": ["loss"], "file": upload}
    return Call("POST", "/api/v1/detection/datasets/", data, "multipart")


def _tone_wav() -> io.BytesIO:
    """Half a second of a 440 Hz tone as a 16-bit WAV (a real, decodable clip)."""
    import numpy as np
    import soundfile

    handle = io.BytesIO()
    wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)
    soundfile.write(handle, wave, 8000, format="WAV", subtype="PCM_16")
    handle.seek(0)
    handle.name = "tone.wav"
    return handle


def _media_tokenize(world: World, user: User, team: str) -> Call:
    data = {"file": _tone_wav(), "tokenizers": '[{"id": "audio/mulaw-8bit"}]'}
    return Call("POST", "/api/v1/media/tokenize/", data, "multipart")


def _media_artifact(world: World, user: User, team: str) -> Call:
    """A finished media job of the team whose result lists one stored PNG."""
    from apps.media.selectors import artifact_dir

    job = job_services.job_create(
        team=world.teams[team],
        owner=world.users[_owner_of(team)],
        kind="media_tokenize",
        params={"note": MARKERS[team]},
        title=f"media of {MARKERS[team]} {next(world.counter)}",
        dispatch=False,
    )
    folder = artifact_dir(team_id=world.teams[team].id, job_id=job.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "original.png").write_bytes(b"\x89PNG\r\n\x1a\n" + MARKERS[team].encode())
    job_services.job_succeed(job_id=job.id, result={"modality": "image", "original": {"artifact": "original.png"}})
    return Call("GET", f"/api/v1/media/jobs/{job.id}/artifacts/original.png/")


MATRIX: dict[str, Entry] = {
    "auth_login": Entry(
        team_scoped("POST", "/api/v1/auth/login/", {"username": "nobody", "password": "wrong"}),
        frozenset({400}),
        scope="public",
    ),
    "auth_logout": Entry(team_scoped("POST", "/api/v1/auth/logout/"), frozenset({204}), scope="user"),
    "auth_me": Entry(team_scoped("GET", "/api/v1/auth/me/"), frozenset({200}), scope="user"),
    "auth_tokens_list": Entry(team_scoped("GET", "/api/v1/auth/tokens/"), frozenset({200}), scope="user"),
    "auth_tokens_create": Entry(
        team_scoped("POST", "/api/v1/auth/tokens/", {"name": "matrix"}), frozenset({201}), scope="user"
    ),
    "auth_tokens_revoke": Entry(_token_path, frozenset({204})),
    "teams_create": Entry(
        lambda world, user, team: Call("POST", "/api/v1/teams/", {"name": f"matrix team {next(world.counter)}"}),
        frozenset({201}),
        scope="user",
    ),
    "teams_members_list": Entry(
        lambda world, user, team: Call("GET", f"/api/v1/teams/{world.teams[team].slug}/members/"), frozenset({200})
    ),
    "teams_members_set": Entry(_member_set, frozenset({201}), min_role=Role.OWNER),
    "tokenizers_list": Entry(team_scoped("GET", "/api/v1/tokenizers/"), frozenset({200})),
    "tokenizers_create": Entry(_tokenizer_upload, frozenset({201}), min_role=Role.MEMBER),
    "models_list": Entry(team_scoped("GET", "/api/v1/models/"), frozenset({200})),
    "tokenize": Entry(
        team_scoped("POST", "/api/v1/tokenize/", {"text": "hello", "tokenizers": ["builtin:bytes"]}),
        frozenset({201}),
        min_role=Role.MEMBER,
    ),
    "speculative_run": Entry(
        team_scoped("POST", "/api/v1/speculative/", SPECULATIVE), frozenset({202}), min_role=Role.MEMBER
    ),
    "drafts_distill": Entry(
        team_scoped("POST", "/api/v1/drafts/", {"target": "smollm2-135m-instruct", "max_steps": 1}),
        frozenset({202}),
        min_role=Role.MEMBER,
    ),
    "detection_text": Entry(
        team_scoped("POST", "/api/v1/detection/text/", DETECT), frozenset({202}), min_role=Role.MEMBER
    ),
    "detection_dataset": Entry(_detection_dataset, frozenset({202}), min_role=Role.MEMBER),
    "detection_frequency_tables_list": Entry(
        team_scoped("GET", "/api/v1/detection/frequency-tables/"), frozenset({200})
    ),
    "detection_frequency_tables_create": Entry(
        team_scoped(
            "POST", "/api/v1/detection/frequency-tables/", {"model": "smollm2-135m-instruct", "corpus": "shakespeare"}
        ),
        frozenset({202}),
        min_role=Role.MEMBER,
    ),
    "detection_corpora_list": Entry(team_scoped("GET", "/api/v1/detection/corpora/"), frozenset({200})),
    "detection_scores_list": Entry(team_scoped("GET", "/api/v1/detection/scores/"), frozenset({200})),
    "media_tokenizers_list": Entry(team_scoped("GET", "/api/v1/media/tokenizers/"), frozenset({200})),
    "media_tokenize": Entry(_media_tokenize, frozenset({202}), min_role=Role.MEMBER),
    "media_codebooks_list": Entry(team_scoped("GET", "/api/v1/media/codebooks/"), frozenset({200})),
    "media_codebooks_create": Entry(
        team_scoped(
            "POST", "/api/v1/media/codebooks/", {"modality": "image", "method": "kmeans-patch", "codebook_size": 16}
        ),
        frozenset({202}),
        min_role=Role.MEMBER,
    ),
    "media_budget": Entry(team_scoped("GET", "/api/v1/media/budget/"), frozenset({200})),
    "media_artifact": Entry(_media_artifact, frozenset({200})),
    "jobs_list": Entry(team_scoped("GET", "/api/v1/jobs/"), frozenset({200})),
    "jobs_retrieve": Entry(
        lambda world, user, team: Call("GET", f"/api/v1/jobs/{world.job(team).id}/"), frozenset({200})
    ),
    "jobs_cancel": Entry(
        lambda world, user, team: Call("POST", f"/api/v1/jobs/{world.job(team).id}/cancel/"),
        frozenset({200}),
        min_role=Role.MEMBER,
    ),
    "jobs_rerun": Entry(_rerun, frozenset({201}), min_role=Role.MEMBER),
    "jobs_export": Entry(
        lambda world, user, team: Call("GET", f"/api/v1/jobs/{world.job(team, result=True).id}/export/?format=csv"),
        frozenset({200}),
    ),
    "ws_tickets_create": Entry(  # a ticket bound to the team's job: a viewer may follow it, nobody else may get one
        lambda world, user, team: Call("POST", "/api/v1/ws-tickets/", {"job_id": str(world.job(team).id)}),
        frozenset({201}),
    ),
}


def expected_statuses(entry: Entry, persona: str, target: str) -> frozenset[int]:
    if entry.scope == "public":
        return entry.ok
    if persona == "anonymous":
        return frozenset({401, 403})
    if entry.scope == "user":
        return entry.ok
    if target == "other":
        return frozenset({404})
    role = Role.OWNER if persona == "outsider" else Role(persona)
    return entry.ok if role_at_least(role, entry.min_role) else frozenset({403})


@pytest.fixture
def world(embedded_redis: str) -> World:  # a real Redis: job events (cancel, finish) are pushed to it
    assert not settings.TOKENSCOPE_LOCAL_AUTOLOGIN, "the matrix describes a hosted configuration"
    owner = make_user(f"owner-{MARKERS['A']}")
    outsider = make_user(f"owner-{MARKERS['B']}")
    teams = {"A": make_team(f"Alpha {MARKERS['A']}", owner), "B": make_team(f"Bravo {MARKERS['B']}", outsider)}
    users = {"owner": owner, "outsider": outsider}
    for role in (Role.VIEWER, Role.MEMBER):
        users[role.value] = make_user(f"{role.value}-{MARKERS['A']}")
        add_member(teams["A"], users[role.value], role)
    for name, team in teams.items():
        CustomTokenizer.objects.create(
            team=team, created_by=users[_owner_of(name)], name=f"tok {MARKERS[name]}", kind="hf", reference="x/y"
        )
        for _ in range(2):
            World(teams, users).job(name)
    return World(teams, users)


def client_for(world: World, persona: str, team: str) -> APIClient:
    client = APIClient()
    if persona != "anonymous":
        _, key = api_token_create(user=world.users[persona], name="matrix client")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_TEAM=world.teams[team].slug)
    return client


def send(client: APIClient, call: Call) -> Any:
    method = getattr(client, call.method.lower())
    if call.format is None or call.data is None:
        return method(call.path)
    return method(call.path, call.data, format=call.format)


@pytest.mark.django_db
@pytest.mark.parametrize("operation_id", sorted(schema_operations()))
def test_no_operation_leaks_across_teams(world: World, operation_id: str) -> None:
    """Catches any operation that answers another team's object with data, confirms it exists, lets a role do
    more than it may, or serves anonymous callers."""
    entry = MATRIX[operation_id]
    failures = []
    for persona, target in itertools.product(PERSONAS, TARGETS):
        team = world.target_team(persona, target)
        user = world.users.get(persona) or world.users["owner"]
        call = entry.build(world, user, team)
        response = send(client_for(world, persona, team), call)
        wanted = expected_statuses(entry, persona, target)
        # The caller named the target team's slug (X-Team or the path): an error echoing it reveals nothing.
        raw = b"".join(response.streaming_content) if response.streaming else response.content  # files stream
        body = raw.decode("utf-8", "replace")
        unechoed = body.replace(world.teams[team].slug, "")
        outside = [name for name in MARKERS if persona == "anonymous" or name != world.persona_team(persona)]
        leaked = [MARKERS[name] for name in outside if MARKERS[name] in unechoed]
        if response.status_code not in wanted or leaked:
            failures.append(
                f"{persona} on {target} ({call.method} {call.path}): {response.status_code}, wanted "
                f"{sorted(wanted)}; leaked {leaked}; {body[:200]}"
            )
        if response.status_code >= 400 and response.status_code != 405:
            assert set(response.json()) == {"message", "extra"}, (persona, target, body[:200])
    assert not failures, "\n".join(failures)


def test_every_schema_operation_has_a_matrix_entry() -> None:
    """Catches a new endpoint added to the API (and the schema) without an authorization entry."""
    operations = set(schema_operations())
    assert operations - set(MATRIX) == set(), "add these operations to MATRIX"
    assert set(MATRIX) - operations == set(), "these MATRIX entries are not in docs/openapi.yaml any more"


@pytest.mark.django_db
def test_permalink_page_shows_nothing_of_another_teams_job(world: World) -> None:
    """Catches a permalink (/results/<id>) that renders another team's job, or whose data call answers it."""
    secret_job = world.job("B", result=True)
    browser = Client()
    assert browser.login(username=world.users["viewer"].username, password=PASSWORD)
    page = browser.get(f"/results/{secret_job.id}")
    assert page.status_code in (200, 503)  # the front end's shell (503 when it is not built); data comes from the API
    assert MARKERS["B"] not in page.content.decode() and str(secret_job.params) not in page.content.decode()
    data = browser.get(f"/api/v1/jobs/{secret_job.id}/")
    assert data.status_code == 404 and MARKERS["B"] not in data.content.decode()
    own = browser.get(f"/api/v1/jobs/{world.job('A').id}/")
    assert own.status_code == 200  # the same session does reach its own team's permalink data


# ---------------------------------------------------------------------------------------------------------------
# websockets: the real ASGI application, a real session cookie, a real Redis channel layer

WS_MATRIX: dict[str, Callable[[World, str], str]] = {
    # route pattern (as Channels prints it) -> the path to open for an object of a team
    "ws/jobs/<str:job_id>/": lambda world, team: f"/ws/jobs/{world.job(team, result=True).id}/",
    "": lambda world, team: f"/ws/no-such-route/{world.job(team).id}/",  # the catch-all refusal
}


def test_every_websocket_route_is_covered() -> None:
    """Catches a websocket route added without an authorization entry."""
    from webapp.routing import websocket_urlpatterns

    routes = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    assert routes == set(WS_MATRIX), "add the new websocket routes to WS_MATRIX"


async def websocket_frames(path: str, cookie: str | None) -> tuple[list[dict], int | None]:
    """Everything the server sends on ``path`` within a short wait, and the close code (None if left open)."""
    from channels.testing import WebsocketCommunicator

    from webapp.asgi import application

    headers = [(b"origin", b"http://localhost")] + ([(b"cookie", f"sessionid={cookie}".encode())] if cookie else [])
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if not connected:
        return [], code
    frames: list[dict] = []
    while not await communicator.receive_nothing(timeout=1):
        message = await communicator.receive_output()
        if message["type"] == "websocket.close":
            return frames, message.get("code")
        frames.append(message)
    await communicator.disconnect()
    return frames, None


def session_cookie(world: World, persona: str) -> str | None:
    if persona == "anonymous":
        return None
    browser = Client()
    assert browser.login(username=world.users[persona].username, password=PASSWORD)
    return browser.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(WS_MATRIX))
async def test_websockets_refuse_other_teams_objects(world: World, route: str) -> None:
    """Catches a websocket that streams another team's job to a signed-in user, or anything to an anonymous one."""
    from asgiref.sync import sync_to_async

    failures = []
    for persona, target in itertools.product(("anonymous", "viewer", "owner", "outsider"), TARGETS):
        team = world.target_team(persona, target)
        path = await sync_to_async(WS_MATRIX[route])(world, team)
        cookie = await sync_to_async(session_cookie)(world, persona)
        frames, code = await websocket_frames(path, cookie)
        text = " ".join(str(frame.get("text", "")) for frame in frames)
        allowed = route != "" and persona != "anonymous" and target == "own"
        if allowed:
            ok = code is None and '"job.snapshot"' in text and MARKERS[team] in text
        else:
            ok = code in (4401, 4403, 4404) and all(marker not in text for marker in MARKERS.values())
        if not ok:
            failures.append(f"{persona} on {target} {path}: close {code}, frames {text[:300]}")
    assert not failures, "\n".join(failures)
