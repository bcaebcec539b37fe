"""The per-process model registry: LRU eviction by byte budget, load-once under threads, real loading from a folder.

Models here are test fixtures (tiny random-init configs from conftest), never real models.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.workers.models.conftest import tiny_llama, tiny_tokenizer
from workers.models.catalog import ModelSpec, ModelUnavailableError
from workers.models.device import Placement
from workers.models.registry import ModelRegistry, cache_budget_bytes, model_nbytes

LAYERS = {"small": 1, "medium": 2, "large": 4, "huge": 12}
SIZE = {name: model_nbytes(tiny_llama(layers=layers)) for name, layers in LAYERS.items()}


def fixture_spec(ref: str) -> ModelSpec:
    """Test fixture spec: a fake local model; params left unknown so eviction uses measured sizes."""
    return ModelSpec(id=ref, name=ref, family="llama", kind="local", source="test fixture", licence="n/a")


class CountingLoader:
    """Test fixture loader: builds tiny random-init models and records what was loaded when."""

    def __init__(self, registry_ref: list[ModelRegistry] | None = None, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, spec: ModelSpec, where: Placement) -> tuple[Any, Any]:
        with self.lock:
            self.calls.append(spec.id)
        time.sleep(self.delay)
        return tiny_llama(layers=LAYERS[spec.id.split("-")[0]]), tiny_tokenizer()


def make_registry(budget: int, loader: Any) -> ModelRegistry:
    return ModelRegistry(budget, loader=loader, resolver=fixture_spec)


def test_least_recently_used_is_evicted_first() -> None:
    loader = CountingLoader()
    registry = make_registry(2 * SIZE["large"], loader)
    first = registry.get("large-a")
    registry.get("large-b")
    assert registry.get("large-a") is first  # a hit, and now the most recently used
    registry.get("large-c")
    assert registry.cached_ids() == ["large-a", "large-c"]
    assert loader.calls == ["large-a", "large-b", "large-c"]
    assert registry.total_bytes() == 2 * SIZE["large"] <= registry.budget_bytes


def test_small_models_share_the_budget_that_one_large_model_needs() -> None:
    registry = make_registry(SIZE["large"], CountingLoader())
    registry.get("small-a")
    registry.get("small-b")
    assert registry.cached_ids() == ["small-a", "small-b"]
    registry.get("large-a")
    assert registry.cached_ids() == ["large-a"]


def test_a_model_over_budget_is_still_served_alone() -> None:
    registry = make_registry(SIZE["medium"], CountingLoader())
    registry.get("small-a")
    loaded = registry.get("huge-a")
    assert registry.cached_ids() == ["huge-a"] and loaded.nbytes == SIZE["huge"] > registry.budget_bytes


def test_known_sizes_evict_before_loading() -> None:
    """With a parameter count in the spec, room is made before the new model is built (bounded peak memory)."""
    seen_during_load: list[list[str]] = []
    registry: ModelRegistry

    def loader(spec: ModelSpec, where: Placement) -> tuple[Any, Any]:
        seen_during_load.append(registry.cached_ids())
        return tiny_llama(layers=4), tiny_tokenizer()

    def resolver(ref: str) -> ModelSpec:
        return ModelSpec(
            id=ref,
            name=ref,
            family="llama",
            kind="local",
            source="test fixture",
            licence="n/a",
            params=SIZE["large"] // 4,
        )

    registry = ModelRegistry(SIZE["large"], loader=loader, resolver=resolver)
    registry.get("a")
    registry.get("b")
    assert seen_during_load == [[], []]


def test_concurrent_requests_load_once_and_hits_do_not_wait_for_other_loads() -> None:
    release = threading.Event()
    calls: list[str] = []

    def loader(spec: ModelSpec, where: Placement) -> tuple[Any, Any]:
        calls.append(spec.id)
        if spec.id == "large-slow":
            assert release.wait(30)
        return tiny_llama(layers=LAYERS[spec.id.split("-")[0]]), tiny_tokenizer()

    registry = make_registry(10 * SIZE["huge"], loader)
    cached = registry.get("small-ready")
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(registry.get("large-slow"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    started = time.perf_counter()
    assert registry.get("small-ready") is cached  # not blocked by the load in progress
    assert time.perf_counter() - started < 1.0
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(results) == 6 and all(result is results[0] for result in results)
    assert calls == ["small-ready", "large-slow"]


def test_evict_and_clear() -> None:
    registry = make_registry(10 * SIZE["huge"], CountingLoader())
    registry.get("small-a")
    registry.get("small-b")
    assert registry.evict("small-a") and not registry.evict("small-a")
    registry.clear()
    assert registry.cached_ids() == [] and registry.total_bytes() == 0


@pytest.mark.parametrize(
    ("raw", "expected"), [("", 6 * 2**30), ("1000", 1000), ("512MiB", 512 * 2**20), ("1.5GiB", 3 * 2**29)]
)
def test_budget_from_environment(raw: str, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSCOPE_MODEL_CACHE_BYTES", raw)
    assert cache_budget_bytes() == expected


def test_tied_embeddings_are_counted_once() -> None:
    model = tiny_llama()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    untied = sum(p.numel() * p.element_size() for p in [*model.parameters(), model.lm_head.weight])
    assert model_nbytes(model) < untied


def test_real_loader_reads_a_local_folder(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENSCOPE_DEVICE", raising=False)
    monkeypatch.delenv("TOKENSCOPE_DTYPE", raising=False)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = ModelRegistry(2**30).get(str(tiny_model_dir))
    assert (loaded.spec.kind, loaded.device, loaded.dtype) == ("local", "cpu", "float32")
    assert not loaded.model.training and loaded.load_seconds > 0
    assert loaded.nbytes == model_nbytes(loaded.model)
    assert loaded.tokenizer("w1 w2").input_ids == [1, 2]


def test_unprepared_bundled_model_names_the_setup_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="workers.model_store prepare"):
        ModelRegistry(2**30).get("smollm2-135m-instruct")


def test_hub_model_without_a_hub_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Here the hub is unreachable (or, with a hub, the repo does not exist): a clear error, quickly."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="tokenscope-test/no-such-model"):
        ModelRegistry(2**30).get("tokenscope-test/no-such-model")
    assert time.perf_counter() - started < 15  # one probe, not transformers' per-file retries (47 s)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        ModelRegistry(2**30).get("tokenscope-test/no-such-model")


def test_a_folder_that_is_not_a_causal_lm_is_refused_clearly(tmp_path: Path) -> None:
    from transformers import ViTConfig

    ViTConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    tiny_tokenizer().save_pretrained(tmp_path)
    with pytest.raises(ModelUnavailableError, match="not a causal language model"):
        ModelRegistry(2**30).get(str(tmp_path))
