"""Teams add their own tokenizers by upload; bad files are refused with the loader's reason; others can't use them."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import sentencepiece as spm
from rest_framework.test import APIClient
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from apps.catalog.models import CustomTokenizer
from tests.factories import make_team, make_user, token_client
from workers.text_tokenizers.catalog import package_dir

pytestmark = pytest.mark.django_db
CORPUS = ["the cat sat on the mat", "the dog sat on the log", "tokenizers split text into tokens"] * 50


def tiny_tokenizer_json() -> bytes:
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=120, special_tokens=["[UNK]"]))
    return tokenizer.to_str().encode()


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture
def client() -> APIClient:
    user = make_user("uploader")
    return token_client(user, make_team("Upload lab", user))


def upload(client: APIClient, data: bytes, name: str) -> dict:
    response = client.post("/api/v1/tokenizers/", {"name": f"my {name}", "file": named(data, name)}, format="multipart")
    return {"status": response.status_code, **response.json()}


def test_tokenizer_json_upload_is_usable_and_matches_the_library(client: APIClient) -> None:
    data = tiny_tokenizer_json()
    created = upload(client, data, "tokenizer.json")
    assert created["status"] == 201, created
    assert created["id"].startswith("custom:") and created["builtin"] is False
    assert created["vocab_size"] == Tokenizer.from_str(data.decode()).get_vocab_size()

    listed = [t["id"] for t in client.get("/api/v1/tokenizers/").json()]
    assert created["id"] in listed and "tiktoken:cl100k_base" in listed

    text = "the cat sat on the log"
    result = client.post("/api/v1/tokenize/", {"text": text, "tokenizers": [created["id"]]}, format="json").json()
    expected = Tokenizer.from_str(data.decode()).encode(text).ids
    assert result["result"]["results"][0]["tokens"]["ids"] == expected


def test_sentencepiece_model_upload(client: APIClient) -> None:
    model_path = package_dir("mistral_common")
    assert model_path is not None
    data = (Path(model_path) / "data" / "tokenizer.model.v1").read_bytes()
    created = upload(client, data, "tokenizer.model")
    assert created["status"] == 201, created
    assert created["vocab_size"] == 32000
    text = "Hello wörld"
    result = client.post("/api/v1/tokenize/", {"text": text, "tokenizers": [created["id"]]}, format="json").json()
    processor = spm.SentencePieceProcessor(model_proto=data)
    assert result["result"]["results"][0]["tokens"]["ids"] == processor.encode(text)


def test_tiktoken_ranks_upload(client: APIClient) -> None:
    lines = [base64.b64encode(bytes([b])) + b" " + str(b).encode() for b in range(256)]
    lines.append(base64.b64encode(b"th") + b" 256")
    created = upload(client, b"\n".join(lines) + b"\n", "mine.tiktoken")
    assert created["status"] == 201, created
    assert created["vocab_size"] == 257


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"{not json", "tokenizer.json", "could not be loaded"),
        (json.dumps({"version": "1.0", "model": {"type": "Nope"}}).encode(), "tokenizer.json", "could not be loaded"),
        (b"\x00\x01garbage" * 10, "broken.model", "could not be loaded"),
        (b"not base64 at all\n", "bad.tiktoken", "could not be loaded"),
        (b"hello", "notes.txt", "Upload a Hugging Face tokenizer.json"),
    ],
)
def test_malformed_uploads_are_refused(client: APIClient, data: bytes, name: str, fragment: str) -> None:
    refused = upload(client, data, name)
    assert refused["status"] == 400, refused
    assert fragment in refused["message"]
    assert not CustomTokenizer.objects.exists()


def test_a_missing_local_folder_is_refused(client: APIClient) -> None:
    response = client.post("/api/v1/tokenizers/", {"name": "x", "hf_id": "/no/such/folder"}, format="json")
    assert response.status_code == 400
    assert "none of these" in response.json()["message"]


def test_custom_tokenizers_stay_in_their_team(client: APIClient) -> None:
    created = upload(client, tiny_tokenizer_json(), "tokenizer.json")
    outsider = make_user("outsider")
    other = token_client(outsider, make_team("Other", outsider))
    assert created["id"] not in [t["id"] for t in other.get("/api/v1/tokenizers/").json()]
    response = other.post("/api/v1/tokenize/", {"text": "the cat", "tokenizers": [created["id"]]}, format="json")
    assert response.status_code == 400
    assert "Unknown tokenizer" in response.json()["message"]
