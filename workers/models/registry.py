"""Load a model and its tokenizer once per worker process and keep them, within a memory budget.

Why a byte budget rather than a count: the bundled models differ fourfold in size (0.5 vs 1.1 GB in float32) and a
hub model may be far larger. ``TOKENSCOPE_MODEL_CACHE_BYTES`` (default 6 GiB) bounds the estimated weight bytes held;
the least recently used model is evicted first, before a new one loads, so peak memory stays near the budget. A
single model larger than the budget is still served (alone). Thread-safe: concurrent requests for the same model
load it once; a cache hit never waits for another model's load.

torch and transformers are imported inside the functions: the web process may import this module's names, never torch.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.models.catalog import ModelSpec, ModelUnavailableError, hub_offline, resolve_model
from workers.models.device import Placement, configure_threads, placement

logger = logging.getLogger(__name__)

DEFAULT_CACHE_BYTES = 6 * 2**30
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference (eval mode, on ``device``) with its tokenizer."""

    model: Any
    tokenizer: Any
    spec: ModelSpec
    device: str
    dtype: str
    load_seconds: float
    nbytes: int
    """Bytes of the unique parameter and buffer storages (tied weights counted once)."""


Loader = Callable[[ModelSpec, Placement], tuple[Any, Any]]
"""Builds ``(model, tokenizer)`` for a spec; the registry's seam for tests."""


def cache_budget_bytes() -> int:
    """The budget from ``TOKENSCOPE_MODEL_CACHE_BYTES`` (plain bytes, or with a KiB/MiB/GiB suffix)."""
    raw = os.environ.get("TOKENSCOPE_MODEL_CACHE_BYTES", "").strip()
    if not raw:
        return DEFAULT_CACHE_BYTES
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30}
    lowered = raw.lower()
    for suffix, factor in units.items():
        if lowered.endswith(suffix):
            return int(float(lowered[: -len(suffix)]) * factor)
    return int(raw)


def model_nbytes(model: Any) -> int:
    """Bytes held by a module's parameters and buffers, each storage once (tied embeddings share one)."""
    seen: dict[int, int] = {}
    for tensor in [*model.parameters(), *model.buffers()]:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


def estimate_nbytes(spec: ModelSpec, where: Placement) -> int:
    """Bytes a spec will take once loaded, before loading it (0 when the parameter count is unknown)."""
    return (spec.params or 0) * _DTYPE_BYTES.get(where.dtype, 4)


def load_transformers(spec: ModelSpec, where: Placement) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer with transformers from a folder, or from the hub by id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec.local_path is not None:
        if not spec.available:
            hint = spec.status if spec.kind == "bundled" else "the folder is incomplete"
            raise ModelUnavailableError(f"{spec.id}: no converted model at {spec.local_path} ({hint})")
        source = str(spec.local_path)
        kwargs: dict[str, Any] = {"local_files_only": True}
    else:
        assert spec.hub_id is not None
        source = spec.hub_id
        kwargs = {"revision": spec.revision, "local_files_only": hub_offline()}
        if not hub_offline():
            _probe_hub(spec.hub_id, spec.revision)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model: Any = AutoModelForCausalLM.from_pretrained(source, dtype=where.torch_dtype(), **kwargs)
    except OSError as exc:  # huggingface_hub's offline/connection/not-found errors are OSErrors
        raise ModelUnavailableError(f"{spec.id}: could not load from {source}: {exc}") from exc
    except ValueError as exc:  # e.g. an encoder-only or vision model: no causal-LM class for its config
        raise ModelUnavailableError(f"{spec.id}: not a causal language model transformers can load: {exc}") from exc
    return model.to(where.device).eval(), tokenizer


def _probe_hub(repo_id: str, revision: str | None) -> None:
    """One short request before ``from_pretrained``, which retries every file with back-off (47 s measured on this
    machine, where the hub's name does not resolve): an unreachable hub or a missing repo is reported at once."""
    from huggingface_hub import model_info
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    timeout = float(os.environ.get("TOKENSCOPE_HUB_TIMEOUT", "10"))
    try:
        model_info(repo_id, revision=revision, timeout=timeout)
    except GatedRepoError as exc:
        raise ModelUnavailableError(f"{repo_id}: gated on the hub; set HF_TOKEN for an account with access") from exc
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise ModelUnavailableError(f"{repo_id}: no such model (or revision) on the Hugging Face hub") from exc
    except Exception as exc:  # connection errors come from the HTTP client huggingface_hub happens to use
        raise ModelUnavailableError(
            f"{repo_id}: the Hugging Face hub is unreachable from this machine ({exc}); "
            "use a bundled model or a local folder, or set HF_HUB_OFFLINE=1 to use only cached hub models"
        ) from exc


def _describe_loaded(spec: ModelSpec, model: Any) -> ModelSpec:
    """Fill what a hub spec could not know before the download (sizes, family)."""
    config = model.config
    return dataclasses.replace(
        spec,
        family=spec.family if spec.family != "unknown" else str(getattr(config, "model_type", "unknown")),
        params=spec.params or sum(p.numel() for p in model.parameters()),
        context_length=spec.context_length or getattr(config, "max_position_embeddings", None),
        vocab_size=spec.vocab_size or getattr(config, "vocab_size", None),
    )


class ModelRegistry:
    """An LRU cache of loaded models bounded by an estimated byte budget."""

    def __init__(
        self,
        budget_bytes: int | None = None,
        *,
        loader: Loader = load_transformers,
        resolver: Callable[[str], ModelSpec] = resolve_model,
    ) -> None:
        self.budget_bytes = cache_budget_bytes() if budget_bytes is None else budget_bytes
        self._loader = loader
        self._resolver = resolver
        self._cache: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get(self, ref: str) -> LoadedModel:
        """The loaded model for a reference, loading it (and evicting others) when needed."""
        spec = self._resolver(ref)
        with self._lock:
            hit = self._touch(spec.id)
            if hit is not None:
                return hit
            key_lock = self._key_locks.setdefault(spec.id, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._touch(spec.id)  # another thread may have loaded it while we waited
                if hit is not None:
                    return hit
            where = placement(spec.family)
            with self._lock:
                self._evict_to_fit(estimate_nbytes(spec, where))
            loaded = self._load(spec, where)
            with self._lock:
                self._cache[spec.id] = loaded
                self._evict_to_fit(0, keep=spec.id)
            return loaded

    def cached_ids(self) -> list[str]:
        """Model ids held now, least recently used first."""
        with self._lock:
            return list(self._cache)

    def total_bytes(self) -> int:
        with self._lock:
            return sum(item.nbytes for item in self._cache.values())

    def evict(self, model_id: str) -> bool:
        """Drop one model (memory is freed once callers drop their references too)."""
        with self._lock:
            return self._cache.pop(model_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _touch(self, model_id: str) -> LoadedModel | None:
        hit = self._cache.get(model_id)
        if hit is not None:
            self._cache.move_to_end(model_id)
        return hit

    def _evict_to_fit(self, incoming: int, keep: str | None = None) -> None:
        """Evict least recently used models until held + incoming fits the budget (caller holds the lock)."""
        held = sum(item.nbytes for item in self._cache.values())
        for model_id in list(self._cache):
            if held + incoming <= self.budget_bytes:
                break
            if model_id == keep:
                continue
            held -= self._cache.pop(model_id).nbytes
            logger.info("evicted model %s to stay within %d bytes", model_id, self.budget_bytes)
        if held + incoming > self.budget_bytes and keep is not None:
            logger.warning("model %s alone exceeds the model cache budget (%d bytes)", keep, self.budget_bytes)
        self._release_device_memory()

    @staticmethod
    def _release_device_memory() -> None:
        import sys

        torch = sys.modules.get("torch")  # only when already in use: never import torch just to free nothing
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _load(self, spec: ModelSpec, where: Placement) -> LoadedModel:
        configure_threads()
        started = time.perf_counter()
        model, tokenizer = self._loader(spec, where)
        seconds = time.perf_counter() - started
        spec = _describe_loaded(spec, model) if spec.kind == "hub" else spec
        logger.info("loaded model %s on %s/%s in %.2fs", spec.id, where.device, where.dtype, seconds)
        return LoadedModel(
            model=model,
            tokenizer=tokenizer,
            spec=spec,
            device=where.device,
            dtype=where.dtype,
            load_seconds=seconds,
            nbytes=model_nbytes(model),
        )

    def _after_fork_in_child(self) -> None:
        """A lock held by another thread at fork time would stay locked forever in the child."""
        self._lock = threading.Lock()
        self._key_locks = {}


_default: ModelRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> ModelRegistry:
    """The process-wide registry (created on first use, so the budget is read from the worker's environment)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelRegistry()
        return _default


def get_model(ref: str) -> LoadedModel:
    """Load (once per process) and return the model for a bundled id, a local folder or a hub id."""
    return default_registry().get(ref)


def _reset_after_fork() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    if _default is not None:
        _default._after_fork_in_child()


os.register_at_fork(after_in_child=_reset_after_fork)
