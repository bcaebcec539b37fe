"""Opening a transformers checkpoint of an audio codec or an image VQ-VAE safely: a resolved reference (a hub id, or an
absolute folder the app already allowed through apps/catalog/references.py) becomes a local folder, its config.json
is parsed as data, and its ``model_type`` is looked up in an allow-list of transformers' own classes.

What is never done: importing or running code a checkpoint names (``auto_map`` is dropped at every level of the
config, ``trust_remote_code`` is never set), reading pickle weights (safetensors only), or waiting on a hub that is
not there (``workers.models.hub.hub_unavailable_reason`` answers in about a second before any download).

Framework-free at import: torch and transformers are imported by the callers, lazily.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workers.media.types import MediaInputError, NotInstalledError
from workers.models.hub import hub_unavailable_reason, is_hub_id

CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.ckpt", "*.pt", "*.pth", "*.pkl")
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a real config is a few kB; a huge one is refused before parsing

INSTALL_HINT = (
    "On a machine with access to the Hugging Face hub, give its hub id (for example {example}); or download the "
    "repository (config.json and its .safetensors files) into a folder this server's administrator allows "
    "(TOKENSCOPE_ALLOWED_MODEL_ROOTS) and give that folder."
)


def local_folder(ref: str, *, example: str, weight_filter: Callable[[dict[str, Any]], list[str]] | None = None) -> Path:
    """The local folder holding ``ref``'s config and safetensors weights; downloads from the hub only when it answers.

    ``weight_filter(index: dict) -> list[str]``: for a sharded checkpoint, the shard files actually needed (an image
    VQ-VAE inside a 7B multimodal model needs one or two shards, not all of them)."""
    ref = ref.strip()
    if not ref:
        raise MediaInputError("This tokenizer needs a checkpoint: a Hugging Face hub id (owner/name) or a folder.")
    folder = Path(ref)
    if folder.is_absolute():  # resolved and allowed by the app; anything relative is a hub id, never a path
        if not (folder / CONFIG_FILE).is_file():
            raise NotInstalledError(
                f"The folder {folder.name!r} has no {CONFIG_FILE}; it is not a transformers checkpoint.",
                install=INSTALL_HINT.format(example=example),
            )
        return folder
    if not is_hub_id(ref):
        raise MediaInputError(f"{ref[:100]!r} is neither a Hugging Face hub id (owner/name) nor an allowed folder.")
    return _hub_snapshot(ref, example=example, weight_filter=weight_filter)


def _hub_snapshot(ref: str, *, example: str, weight_filter: Callable[[dict[str, Any]], list[str]] | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    repo_id, _, revision = ref.partition("@")
    rev = revision or None
    small = [CONFIG_FILE, PREPROCESSOR_FILE, SAFETENSORS_INDEX]

    def fetch(patterns: list[str], complete: Callable[[Path], bool]) -> Path:
        try:  # already in the cache: no network call at all
            cached = Path(str(snapshot_download(repo_id, revision=rev, allow_patterns=patterns, local_files_only=True)))
            if complete(cached):
                return cached
        except LocalEntryNotFoundError:
            pass
        reason = hub_unavailable_reason()
        if reason is not None:  # fail in about a second, not after the client's retries
            raise NotInstalledError(
                f"{repo_id!r} is not in this server's Hugging Face cache and {reason}.",
                install=INSTALL_HINT.format(example=example),
            ) from None
        try:
            return Path(str(snapshot_download(repo_id, revision=rev, allow_patterns=patterns)))
        except GatedRepoError:
            raise NotInstalledError(
                f"{repo_id!r} is gated on the Hugging Face hub: accept its licence, then download it.",
                install=INSTALL_HINT.format(example=example),
            ) from None
        except RepositoryNotFoundError:
            raise MediaInputError(f"There is no Hugging Face repository {repo_id!r} (or it is private).") from None
        except (OSError, ValueError) as exc:
            raise NotInstalledError(
                f"Could not download {repo_id!r}: {exc}", install=INSTALL_HINT.format(example=example)
            ) from None

    folder = fetch(small, lambda found: (found / CONFIG_FILE).is_file())
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        data = read_json(index)
        shards = sorted(weight_filter(data) if weight_filter is not None else _all_shards(data))
        return fetch(small + shards, lambda found: all((found / shard).is_file() for shard in shards))
    return fetch([*small, "*.safetensors"], lambda found: any(found.glob("*.safetensors")))


def _all_shards(index: dict[str, Any]) -> list[str]:
    return sorted(set(index.get("weight_map", {}).values()))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a checkpoint file, as data: size-capped, never evaluated."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise MediaInputError(f"{path.name} is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB; not a config.")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, MediaInputError):
            raise
        raise MediaInputError(f"{path.name} is not a readable JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise MediaInputError(f"{path.name} is not a JSON object.")
    return data


def without_remote_code(data: Any) -> Any:
    """The config with every ``auto_map`` removed, at any depth: a checkpoint may name Python classes to import
    (custom code); we build only transformers' own classes from our allow-list, so those names are dropped unread."""
    if isinstance(data, dict):
        return {key: without_remote_code(value) for key, value in data.items() if key != "auto_map"}
    if isinstance(data, list):
        return [without_remote_code(value) for value in data]
    return data


def checked_config(folder: Path, *, allowed: Iterable[str], nested_allowed: Iterable[str] = ()) -> dict[str, Any]:
    """config.json as data, its ``model_type`` (and every nested sub-config's) in the allow-lists, remote code
    dropped. Raises MediaInputError naming what is supported."""
    allowed = tuple(allowed)
    config = without_remote_code(read_json(folder / CONFIG_FILE))
    model_type = config.get("model_type")
    if model_type not in allowed:
        raise MediaInputError(
            f"This checkpoint's model_type is {str(model_type)[:60]!r}; this tokenizer loads only {', '.join(allowed)}."
        )
    nested_ok = set(allowed) | set(nested_allowed)
    for sub_type in _nested_model_types(config):
        if sub_type not in nested_ok:
            raise MediaInputError(
                f"This checkpoint's config builds a sub-model of type {str(sub_type)[:60]!r}, which is not allowed "
                f"here (allowed: {', '.join(sorted(nested_ok))})."
            )
    return config


def _nested_model_types(data: Any, *, top: bool = True) -> list[Any]:
    found: list[Any] = []
    if isinstance(data, dict):
        if not top and "model_type" in data:
            found.append(data["model_type"])
        for value in data.values():
            found.extend(_nested_model_types(value, top=False))
    elif isinstance(data, list):
        for value in data:
            found.extend(_nested_model_types(value, top=False))
    return found


def safetensors_files(folder: Path) -> list[Path]:
    """The checkpoint's safetensors files; a folder with only pickle weights (or none) is refused."""
    found = sorted(folder.glob("*.safetensors"))
    if found:
        return found
    pickled = [p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern)]
    if pickled:
        raise MediaInputError(
            f"This checkpoint has only pickle weights ({', '.join(sorted(pickled)[:3])}); pickle can run code when "
            "loaded, so only .safetensors weights are accepted. Convert it with save_pretrained(safe_serialization=True)."
        )
    raise MediaInputError("This checkpoint folder has no .safetensors weights.")
