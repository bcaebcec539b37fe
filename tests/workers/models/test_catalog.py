"""The model catalogue: bundled specs, and resolving bundled ids, local folders and hub ids without loading weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.models.catalog import (
    ModelNotFoundError,
    ModelSpec,
    ModelUnavailableError,
    bundled_models,
    list_models,
    resolve_model,
)

BUNDLED_IDS = ("smollm2-135m-instruct", "gemma-3-270m", "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct")


def test_bundled_models_are_described_completely() -> None:
    specs = bundled_models()
    assert [spec.id for spec in specs] == [*BUNDLED_IDS]
    # The Qwen pair's GGUF tokenizer has no NFC normalizer, so it is not the catalogued tokenizers:qwen-2.5.
    assert [spec.tokenizer_id for spec in specs] == ["tokenizers:smollm2", "tokenizers:gemma-3", None, None]
    for spec in specs:
        assert spec.kind == "bundled" and spec.params and spec.context_length and spec.vocab_size
        assert spec.licence and spec.source and spec.sanity is not None
        assert spec.local_path is not None and spec.local_path.name == spec.id


@pytest.mark.parametrize("spec", bundled_models(), ids=lambda spec: spec.id)
def test_bundled_facts_match_the_converted_config(spec: ModelSpec) -> None:
    if not spec.available:
        pytest.fail("model store not prepared (python -m workers.model_store prepare)")
    assert spec.local_path is not None and spec.sanity is not None
    config = json.loads((spec.local_path / "config.json").read_text())
    manifest = json.loads((spec.local_path / "tokenscope_manifest.json").read_text())
    assert config["vocab_size"] == spec.vocab_size
    assert config["max_position_embeddings"] == spec.context_length
    assert manifest["sanity"]["prompt"] == spec.sanity.prompt
    assert manifest["sanity"]["top1_text"] == spec.sanity.expected_top1


def test_list_models_is_json_ready() -> None:
    listed = json.loads(json.dumps(list_models()))
    assert [item["id"] for item in listed] == [*BUNDLED_IDS]
    assert all(isinstance(item["available"], bool) for item in listed)


def test_resolve_bundled_id() -> None:
    assert resolve_model(" gemma-3-270m ").id == "gemma-3-270m"


def test_resolve_local_folder_reads_its_config(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": "llama", "vocab_size": 123, "max_position_embeddings": 64})
    )
    spec = resolve_model(str(folder))
    assert (spec.kind, spec.family, spec.vocab_size, spec.context_length) == ("local", "llama", 123, 64)
    assert spec.local_path == folder.resolve() and spec.available


def test_resolve_rejects_folders_without_config_and_missing_paths(tmp_path: Path) -> None:
    """Catches the message echoing the server path (or the OS error text that names it)."""
    with pytest.raises(ModelNotFoundError, match=r"config\.json") as no_config:
        resolve_model(str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="no model folder") as absent:
        resolve_model(str(tmp_path / "absent"))
    assert str(tmp_path) not in str(no_config.value) + str(absent.value)


def test_a_relative_path_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches resolve_model reading a folder relative to the worker's working directory (only the web process may
    turn a path into an allowed absolute folder)."""
    folder = tmp_path / "models" / "mine" / "v1"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    monkeypatch.chdir(tmp_path)
    for ref in ("./models/mine/v1", "models/mine/v1"):
        with pytest.raises(ModelNotFoundError, match="unknown model"):
            resolve_model(ref)


@pytest.mark.parametrize("ref", ["", "not a model", "smollm2", "org/name/extra", "a/b--c"])
def test_resolve_rejects_unknown_references(ref: str) -> None:
    with pytest.raises(ModelNotFoundError):
        resolve_model(ref)


@pytest.fixture
def empty_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_hub_id_offline_and_not_cached_fails_with_a_clear_error(
    empty_hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        resolve_model("HuggingFaceTB/SmolLM2-360M")


def test_hub_id_in_the_local_cache_resolves_offline(empty_hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = empty_hub_cache / "models--org--cached" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "gemma3_text", "vocab_size": 7}))
    refs = empty_hub_cache / "models--org--cached" / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = resolve_model("org/cached")
    assert (spec.kind, spec.family, spec.vocab_size, spec.local_path) == ("hub", "gemma3_text", 7, snapshot)
    assert spec.available
