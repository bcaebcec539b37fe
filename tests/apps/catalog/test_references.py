"""Custom tokenizers by reference (hf_id) and by upload: uploads in per-team folders, no other team's folder usable
by any path, one message for every refused path, hub ids refused at once without a hub."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from tokenizers import Tokenizer, models, pre_tokenizers

from apps.accounts.models import Team
from apps.catalog.models import CustomTokenizer
from apps.uploads.paths import move_rows_into_team_folders
from apps.uploads.services import upload_create_text
from tests.factories import make_team, make_user, token_client
from workers.models import hub

pytestmark = pytest.mark.django_db


def tiktoken_bytes() -> bytes:
    lines = [base64.b64encode(bytes([b])) + b" " + str(b).encode() for b in range(256)]
    return b"\n".join([*lines, base64.b64encode(b"th") + b" 256"]) + b"\n"


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def token_ids(response: Any) -> list[int]:
    """The first result's token ids (rows of objects, or the columnar {"ids": [...]} form)."""
    tokens = response.json()["result"]["results"][0]["tokens"]
    return list(tokens["ids"]) if isinstance(tokens, dict) else [t["id"] for t in tokens]


def tokenizer_folder(path: Path) -> Path:
    tokenizer = Tokenizer(models.WordLevel(vocab={"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path.mkdir(parents=True)
    (path / "tokenizer.json").write_text(tokenizer.to_str())
    return path


@dataclass
class TwoTeams:
    owner: APIClient
    owner_team: Team
    other: APIClient
    other_team: Team
    upload: CustomTokenizer  # the owner team's private .tiktoken


@pytest.fixture
def teams() -> TwoTeams:
    alice, bob = make_user(f"alice-{uuid.uuid4().hex[:6]}"), make_user(f"bob-{uuid.uuid4().hex[:6]}")
    team_a, team_b = make_team("Team A", alice), make_team("Team B", bob)
    owner = token_client(alice, team_a)
    response = owner.post(
        "/api/v1/tokenizers/", {"name": "private", "file": named(tiktoken_bytes(), "secret.tiktoken")}, "multipart"
    )
    assert response.status_code == 201, response.json()
    upload = CustomTokenizer.objects.get(team=team_a)
    return TwoTeams(owner, team_a, token_client(bob, team_b), team_b, upload)


def add_by_reference(client: APIClient, ref: str) -> Any:
    return client.post("/api/v1/tokenizers/", {"name": "by ref", "hf_id": ref}, format="json")


def refused(client: APIClient, ref: str) -> str:
    response = add_by_reference(client, ref)
    assert response.status_code == 400, (ref, response.json())
    return str(response.json()["message"])


def test_uploads_are_stored_in_their_teams_folder(teams: TwoTeams) -> None:
    """Catches uploads landing in a folder that every team shares."""
    team_folder = Path(settings.MEDIA_ROOT) / str(teams.owner_team.id)
    assert str(teams.upload.file.name).startswith(f"{teams.owner_team.id}/tokenizers/")
    assert Path(teams.upload.file.path).is_relative_to(team_folder) and Path(teams.upload.file.path).is_file()
    text = upload_create_text(team=teams.other_team, owner=teams.other_team.memberships.get().user, text="hello")
    assert str(text.file.name).startswith(f"{teams.other_team.id}/uploads/")


def test_another_teams_upload_folder_is_refused_however_it_is_named(
    teams: TwoTeams, tmp_path: Path, settings: Any
) -> None:
    """Catches team B tokenizing with team A's private upload by absolute or relative path, '..' or a symlink, even
    when an administrator allows a folder that contains the uploads."""
    expected = refused(teams.other, "/etc")
    a_folder = Path(teams.upload.file.path).parent
    b_folder = Path(settings.MEDIA_ROOT) / str(teams.other_team.id) / "tokenizers"
    b_folder.mkdir(parents=True, exist_ok=True)
    (tmp_path / "allowed").mkdir()
    (tmp_path / "allowed" / "link").symlink_to(a_folder, target_is_directory=True)
    refs = [
        str(a_folder),
        teams.upload.file.path,
        os.path.relpath(a_folder, settings.BASE_DIR),
        f"{b_folder}/../../{teams.owner_team.id}/tokenizers",
        str(tmp_path / "allowed" / "link"),
        f"{tmp_path}/allowed/../../../../../..{a_folder}",
    ]
    for allowed in ([str(tmp_path / "allowed")], [str(Path(settings.MEDIA_ROOT).parent), str(tmp_path)]):
        settings.TOKENSCOPE_ALLOWED_MODEL_ROOTS = allowed
        for ref in refs:
            assert refused(teams.other, ref) == expected, (allowed, ref)
    assert not CustomTokenizer.objects.filter(team=teams.other_team).exists()


@pytest.mark.parametrize("ref", ["/root", "/etc", "/no/such/folder", "/root/.ssh", "~/", "../../../../etc"])
def test_server_paths_all_get_the_same_message(teams: TwoTeams, ref: str) -> None:
    """Catches messages that reveal which server paths exist."""
    message = refused(teams.other, ref)
    assert message == refused(teams.other, str(Path(teams.upload.file.path).parent))
    assert "none of these" in message  # identical for every path, so it cannot echo or describe any of them


def test_a_row_made_before_the_check_is_refused_when_used(teams: TwoTeams) -> None:
    """Catches an old hf_id row pointing into another team's uploads still working at tokenize time."""
    stale = CustomTokenizer.objects.create(
        team=teams.other_team, name="old", kind=CustomTokenizer.Kind.HF, reference=str(Path(teams.upload.file.path))
    )
    response = teams.other.post("/api/v1/tokenize/", {"text": "th", "tokenizers": [stale.catalog_id]}, format="json")
    assert response.status_code == 400 and "none of these" in response.json()["message"]
    assert str(settings.MEDIA_ROOT) not in response.json()["message"]


def test_a_folder_under_an_allowed_root_works(teams: TwoTeams, tmp_path: Path, settings: Any) -> None:
    """Catches allowed roots not being honoured (absolute or relative path), or the listing showing a server path."""
    settings.TOKENSCOPE_ALLOWED_MODEL_ROOTS = [str(tmp_path / "allowed")]
    folder = tokenizer_folder(tmp_path / "allowed" / "word-level")
    for ref in (str(folder), os.path.relpath(folder, settings.BASE_DIR)):
        response = add_by_reference(teams.other, ref)
        assert response.status_code == 201, response.json()
        assert response.json()["source"] == "server folder word-level"
        body = {"text": "hello world", "tokenizers": [response.json()["id"]]}
        assert token_ids(teams.other.post("/api/v1/tokenize/", body, format="json")) == [1, 2]
    settings.TOKENSCOPE_ALLOWED_MODEL_ROOTS = []
    assert refused(teams.other, str(folder)) == refused(teams.other, "/etc")


def test_hub_ids_are_refused_at_once_without_a_hub(teams: TwoTeams, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches 'hf_id: gpt2'-style requests hanging (23 s measured) where the hub cannot be reached."""
    for offline in (False, True):
        if offline:
            monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        else:
            monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        hub.forget_probe()
        started = time.perf_counter()
        message = refused(teams.other, "openai-community/gpt2")
        assert time.perf_counter() - started < 2.0
        assert "openai-community/gpt2" in message and "upload" in message
    assert "owner/name" in refused(teams.other, "gpt2")


def test_a_refused_upload_names_the_users_file_and_leaves_nothing_behind(teams: TwoTeams) -> None:
    """Catches messages naming the server's stored file (<uuid>.json, MEDIA_ROOT) and orphan files after refusal."""
    team_folder = Path(settings.MEDIA_ROOT) / str(teams.other_team.id) / "tokenizers"
    for data, name in ((b"{not json", "my-vocab.json"), (b"no base64\n", "ranks.tiktoken"), (b"\x00junk", "a.model")):
        response = teams.other.post("/api/v1/tokenizers/", {"name": "x", "file": named(data, name)}, "multipart")
        assert response.status_code == 400, response.json()
        message = response.json()["message"]
        assert str(settings.MEDIA_ROOT) not in message
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", message) and name in message, message
        assert not [p for p in team_folder.rglob("*") if p.is_file()], name


def test_neither_file_nor_hf_id_gets_its_own_message(teams: TwoTeams) -> None:
    """Catches 'send neither' being answered with '...not both'."""
    response = teams.other.post("/api/v1/tokenizers/", {"name": "x"}, format="json")
    assert response.status_code == 400 and "not both" not in response.json()["message"]


def test_files_stored_before_per_team_folders_still_open_and_move(teams: TwoTeams) -> None:
    """Catches rows with the old shared-folder names breaking, and the migration step not moving them."""
    from django.core.files.storage import default_storage

    legacy_name = f"tokenizers/{uuid.uuid4()}.tiktoken"  # the shared folder every team used before
    Path(default_storage.path("tokenizers")).mkdir(parents=True, exist_ok=True)
    shutil.copy(teams.upload.file.path, default_storage.path(legacy_name))
    row = CustomTokenizer.objects.create(
        team=teams.owner_team, name="legacy", kind=CustomTokenizer.Kind.TIKTOKEN, file=legacy_name
    )

    def tokenize() -> list[int]:
        body = {"text": "the", "tokenizers": [row.catalog_id]}
        return token_ids(teams.owner.post("/api/v1/tokenize/", body, format="json"))

    before = tokenize()
    assert move_rows_into_team_folders(CustomTokenizer.objects.filter(pk=row.pk), default_storage) == 1
    row.refresh_from_db()
    assert row.file.name == f"{teams.owner_team.id}/{legacy_name}" and Path(row.file.path).is_file()
    assert not default_storage.exists(legacy_name)
    assert tokenize() == before == [256, 101]
