"""Hostile tokenizer uploads (issue 8, item 3 and 4): each gets a clear 400 in bounded time, leaves no file behind,
and the next ordinary request is served."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.catalog.models import CustomTokenizer
from tests.factories import make_team, make_user, token_client
from tests.workers.text_tokenizers.word_level import word_level_config

pytestmark = pytest.mark.django_db


def tokenizer_json(**sections: Any) -> bytes:
    return json.dumps(word_level_config("abc !?", **sections)).encode()


def split(pattern: str) -> dict[str, Any]:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


TENFOLD = {"type": "Replace", "pattern": {"String": "a"}, "content": "a" * 10}
HOSTILE = {
    "panicking regex": (tokenizer_json(pre_tokenizer=split("(a|aa)+$")), "backtracks exponentially"),
    # Python's parser cannot read `\R`, so the static check passes it on and the time-limited probe must catch it.
    "regex only a probe catches": (tokenizer_json(pre_tokenizer=split("(a|aa)+\\R?$")), "is refused: it "),
    "Replace chain x9": (
        tokenizer_json(normalizer={"type": "Sequence", "normalizers": [TENFOLD] * 9}),
        "up to 1,000,000,000 times longer",
    ),
    "added token id 2^32-1": (
        tokenizer_json(added_tokens=[{"id": 2**32 - 1, "content": "<x>", "special": True}]),
        "has id 4,294,967,295; ids must be between 0 and 1,048,575",
    ),
    "100k-deep JSON": (b"[" * 100_000 + b"]" * 100_000, "nests JSON 100000 levels deep"),
}


@pytest.fixture
def client() -> APIClient:
    user = make_user("uploader")
    return token_client(user, make_team("Upload lab", user))


def files_under_media() -> set[Path]:
    root = Path(settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_tokenizer_upload_gets_a_clear_400_quickly_and_leaves_no_file(client: APIClient, case: str) -> None:
    """Catches: a Rust panic or RecursionError as a 500, a request held for seconds by a slow regex, memory
    exhaustion from a Replace chain or a 2^32-1 id, and the refused file left orphaned in the uploads folder."""
    data, fragment = HOSTILE[case]
    before = files_under_media()
    handle = io.BytesIO(data)
    handle.name = "tokenizer.json"
    started = time.monotonic()
    response = client.post("/api/v1/tokenizers/", {"name": case, "file": handle}, format="multipart")
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.content[:500]
    message = response.json()["message"]
    assert fragment in message, message
    assert elapsed < 20, f"{case} took {elapsed:.1f} s"
    assert not CustomTokenizer.objects.exists()
    assert files_under_media() == before
    served = client.post("/api/v1/tokenize/", {"text": "still here", "tokenizers": ["builtin:bytes"]}, format="json")
    assert served.status_code == 201


def test_a_sane_upload_still_passes_every_check(client: APIClient) -> None:
    """Catches: the new checks refusing an ordinary tokenizer.json (a Split regex, a Replace, added tokens)."""
    data = tokenizer_json(
        pre_tokenizer=split("\\p{L}+|\\s+"),
        normalizer={"type": "Replace", "pattern": {"String": "c"}, "content": "cc"},
        added_tokens=[
            {"id": 6, "content": "<eos>", "special": True, "single_word": False}
            | {"lstrip": False, "rstrip": False, "normalized": False}
        ],
    )
    handle = io.BytesIO(data)
    handle.name = "tokenizer.json"
    created = client.post("/api/v1/tokenizers/", {"name": "sane", "file": handle}, format="multipart")
    assert created.status_code == 201, created.json()
    result = client.post("/api/v1/tokenize/", {"text": "ab ab", "tokenizers": [created.json()["id"]]}, format="json")
    assert result.status_code == 201, result.json()
