"""The catalogue: stable ids, specs that match the loaded libraries, honest availability, no torch at run time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import workers.text_tokenizers.catalog as catalog
from tests.workers.text_tokenizers.conftest import BUILTIN_IDS, require
from tests.workers.text_tokenizers.reference import library_vocab_size, special_token_id
from workers.text_tokenizers import AssetMissingError, TokenizerError, builtin_specs, get_spec, load_tokenizer
from workers.text_tokenizers.encoding import KIND_SPECIAL, KIND_UNKNOWN

REPO = Path(__file__).resolve().parents[3]
EXPECTED_IDS = [
    "builtin:bytes",
    "builtin:chars",
    "tiktoken:gpt2",
    "tiktoken:p50k_base",
    "tiktoken:cl100k_base",
    "tiktoken:o200k_base",
    "tokenizers:llama-3",
    "mistral:v1",
    "mistral:v3",
    "mistral:tekken",
    "tokenizers:bert-base-uncased",
    "tokenizers:smollm2",
    "tokenizers:gemma-3",
    "tokenizers:qwen-2.5",
    "tokenizers:qwen-3",
    "tokenizers:deepseek-v3",
    "tokenizers:glm-4",
]


def test_ids_are_stable() -> None:
    """Ids are stored in saved results: renaming one breaks permalinks, so this list changes only on purpose."""
    assert BUILTIN_IDS == EXPECTED_IDS


def test_specs_are_complete() -> None:
    for spec in builtin_specs():
        entry = spec.to_dict()
        assert set(entry) == {
            "id",
            "name",
            "family",
            "algorithm",
            "library",
            "vocab_size",
            "special_tokens",
            "source",
            "licence",
            "available",
            "builtin",
            "description",
        }
        assert all(entry[k] for k in ("name", "family", "algorithm", "library", "source", "licence", "description")), (
            spec.id
        )
        assert isinstance(entry["special_tokens"], list) and entry["builtin"] is True
        assert spec.summary() == {k: entry[k] for k in ("id", "name", "family", "algorithm", "vocab_size")}


@pytest.mark.parametrize("spec_id", BUILTIN_IDS)
def test_vocab_size_and_special_tokens_match_the_library(spec_id: str) -> None:
    tokenizer = require(spec_id)
    assert tokenizer.spec.vocab_size == library_vocab_size(spec_id)
    for token in tokenizer.spec.special_tokens:
        token_id = special_token_id(spec_id, token)
        assert token_id is not None, f"{token!r} is not a special token of {spec_id}"
        # The unknown token is also a special token; what it means in a result is "unknown".
        expected = KIND_UNKNOWN if token in ("[UNK]", "<unk>") else KIND_SPECIAL
        assert tokenizer.kinds_table[token_id] == expected, token


def test_gpt2_and_r50k_are_the_same_tokenizer() -> None:
    import tiktoken

    gpt2 = require("tiktoken:gpt2")
    text = "GPT-2 and GPT-3 share r50k_base: 12345   spaces\n\tand 🙂"
    assert gpt2.encode(text).ids.tolist() == tiktoken.get_encoding("r50k_base").encode_ordinary(text)


def test_unknown_ids_are_refused_with_advice() -> None:
    with pytest.raises(TokenizerError, match="Unknown tokenizer"):
        load_tokenizer("tiktoken:nope")
    with pytest.raises(TokenizerError, match="catalogue"):
        get_spec("nope")


def test_loading_is_cached_per_process() -> None:
    assert load_tokenizer("builtin:bytes") is load_tokenizer("builtin:bytes")


def test_missing_store_makes_tokenizers_unavailable_with_setup_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path / "empty-store"))
    monkeypatch.setattr(catalog, "_CACHE", {})
    specs = {spec.id: spec for spec in builtin_specs()}
    for spec_id in ("tiktoken:cl100k_base", "tiktoken:gpt2", "tokenizers:smollm2", "tokenizers:gemma-3"):
        assert specs[spec_id].available is False
        with pytest.raises(AssetMissingError, match="set-up command"):
            load_tokenizer(spec_id)
    assert specs["builtin:bytes"].available and specs["mistral:v1"].available  # no store needed


def test_corrupt_tiktoken_cache_file_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with the wrong hash would make tiktoken try the network; we refuse first, with the fix."""
    from workers.model_store import tokenizer_assets

    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    monkeypatch.setattr(catalog, "_CACHE", {})
    tokenizer_assets.tiktoken_cache_file("encodings/cl100k_base.tiktoken").write_bytes(b"not the real file")
    with pytest.raises(AssetMissingError, match="set-up command"):
        load_tokenizer("tiktoken:cl100k_base")


def test_runtime_never_imports_torch_or_transformers() -> None:
    """Load every available built-in and run the pipeline in a fresh interpreter, then look at sys.modules."""
    code = (
        "import json, sys\n"
        "from workers.text_tokenizers import builtin_specs, load_tokenizer\n"
        "from workers.pipelines.tokenize import run\n"
        "ids = [s.id for s in builtin_specs() if s.available]\n"
        "for i in range(0, len(ids), 6): run({'text': 'Hello 🙂 world 123', 'tokenizers': ids[i:i + 6]})\n"
        "print(json.dumps([m for m in ('torch', 'transformers', 'django') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
