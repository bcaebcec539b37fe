"""Result manifests: what computed a stored result, precisely enough to compute it again.

Every pipeline calls one builder here where it assembles its result (``result["manifest"]``): the product's version
and commit, the library versions that did the work, each tokenizer's and model's identity (catalogue id, source,
revision and the sha256 of the files actually loaded), the device, dtype, torch threads, seed and every parameter.
``request_from_manifest`` turns a manifest back into the pipeline's inputs (docs/api.md, "Manifests and re-runs").

Framework-free and torch-free at import (the web process builds tokenize manifests in-process). Costs: the product
identity is read once per process; a file is hashed once per process per (path, mtime, size), so a request pays for
a dictionary lookup and one ``stat`` per file.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[1]

TOKENIZE_LIBRARIES = ("numpy", "icu4py", "regex")  # icu4py and regex: the word segmentation behind fertility
"""Distributions every tokenize run uses, on top of each tokenizer's own library."""
MODEL_LIBRARIES = ("torch", "transformers", "tokenizers", "safetensors", "numpy")
"""Distributions every model run uses (the tokenizer of a model is a transformers fast tokenizer)."""
_ADAPTER_LIBRARIES = {
    "TiktokenTokenizer": ("tiktoken",),
    "HFTokenizer": ("tokenizers",),
    "SentencePieceTokenizer": ("sentencepiece",),
}
MODEL_FILE_PATTERNS = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "pytorch_model*.bin",
    "pytorch_model.bin.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
)
"""The files ``from_pretrained`` reads from a model folder (a bundled model's own conversion record is not one)."""
RERUNNABLE_KINDS = ("tokenize", "speculative")


class ManifestError(ValueError):
    """A manifest that cannot be turned back into a request; the message says what is wrong."""

    user_facing = True


# ---------------------------------------------------------------------------------------------------------------
# the product and the libraries


@functools.cache
def product() -> dict[str, Any]:
    """Name, version and commit of the running code, read once per process.

    The commit comes from ``TOKENSCOPE_COMMIT`` (set at image build: ``--build-arg TOKENSCOPE_COMMIT=$(git rev-parse
    HEAD)``), else from git in the checkout (with ``dirty`` when tracked files differ from it), else it is null.
    """
    version = os.environ.get("TOKENSCOPE_VERSION", "").strip() or _pyproject_version()
    commit = os.environ.get("TOKENSCOPE_COMMIT", "").strip()
    if commit:
        return {"name": "tokenscope", "version": version, "commit": commit, "commit_source": "env", "dirty": None}
    head = _git("rev-parse", "HEAD")
    if head is None:
        return {"name": "tokenscope", "version": version, "commit": None, "commit_source": None, "dirty": None}
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "name": "tokenscope",
        "version": version,
        "commit": head,
        "commit_source": "git",
        "dirty": bool(changes) if changes is not None else None,
    }


def _pyproject_version() -> str | None:
    import tomllib

    try:
        data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    except (OSError, ValueError):
        return None
    version = data.get("project", {}).get("version")
    return str(version) if version else None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


@functools.cache
def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions(names: Iterable[str]) -> dict[str, str | None]:
    """``{distribution: version}`` (null for one that is not installed), sorted by name, with Python itself."""
    versions: dict[str, str | None] = {name: _distribution_version(name) for name in set(names)}
    versions["python"] = platform.python_version()
    return dict(sorted(versions.items()))


# ---------------------------------------------------------------------------------------------------------------
# files


_hash_lock = threading.Lock()
_hashes: dict[str, tuple[tuple[int, int, int], str]] = {}


def _stat_and_sha256(path: str | os.PathLike[str]) -> tuple[int, str]:
    """``(size, sha256)``; the hash is kept per path with the file's (mtime, size, inode) and recomputed when any of
    them changes (a rewritten or replaced file), so a request costs one ``stat`` per file."""
    key = os.fspath(path)
    stat = os.stat(key)
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    found = _hashes.get(key)
    if found is not None and found[0] == stamp:
        return stat.st_size, found[1]
    digest = hashlib.sha256()
    with open(key, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    with _hash_lock:
        _hashes[key] = (stamp, digest.hexdigest())
    return stat.st_size, digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's sha256 (cached per path while its mtime, size and inode stay the same)."""
    return _stat_and_sha256(path)[1]


def files_identity(paths: Iterable[str | os.PathLike[str]], root: Path | None = None) -> list[dict[str, Any]]:
    """``[{name, bytes, sha256}]``: names relative to ``root`` (else the file name), never a server path."""
    out = []
    for path in paths:
        file = Path(path)
        size, sha256 = _stat_and_sha256(file)
        out.append(
            {
                "name": file.relative_to(root).as_posix() if root is not None else file.name,
                "bytes": size,
                "sha256": sha256,
            }
        )
    return sorted(out, key=lambda item: item["name"])


@functools.cache
def _site_distributions() -> dict[str, list[str]]:
    return {module: list(dists) for module, dists in importlib.metadata.packages_distributions().items()}


@functools.lru_cache(maxsize=1024)
def file_revision(path: str) -> str | None:
    """Where a file's version comes from: a hub snapshot's commit, or the installed package that ships it."""
    parts = Path(path).resolve().parts
    if len(parts) > 2 and parts[-3] == "snapshots":
        return f"hub commit {parts[-2]}"
    for marker in ("site-packages", "dist-packages"):
        if marker in parts[:-1]:
            top = parts[parts.index(marker) + 1]
            for dist in _site_distributions().get(top, []):
                return f"{dist} {_distribution_version(dist)}"
    return None


# ---------------------------------------------------------------------------------------------------------------
# tokenizers and models


def tokenizer_libraries(tokenizer: Any) -> tuple[str, ...]:
    """The distributions a loaded text tokenizer runs on (by adapter class, or the class a sandboxed tokenizer reports
    from its child process; Mistral's via mistral-common too)."""
    names: list[str] = []
    for cls in type(tokenizer).__mro__:
        names += _ADAPTER_LIBRARIES.get(cls.__name__, ())
    names += _ADAPTER_LIBRARIES.get(getattr(tokenizer, "adapter_class", ""), ())  # a sandboxed one's, in its child
    if "mistral-common" in str(getattr(tokenizer.spec, "library", "")):
        names.append("mistral-common")
    return tuple(dict.fromkeys(names))


def tokenizer_identity(tokenizer: Any, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A loaded text tokenizer: catalogue id, name, library, source, revision, the files it was loaded from."""
    spec = tokenizer.spec
    paths = list(getattr(tokenizer, "source_files", ()))
    revisions = sorted({revision for revision in (file_revision(str(path)) for path in paths) if revision})
    identity = {
        "id": spec.id,
        "name": spec.name,
        "library": spec.library,
        "source": spec.source,
        "revision": "; ".join(revisions) or None,
        "vocab_size": spec.vocab_size,
        "files": files_identity(paths),
    }
    if options:
        identity["options"] = {key: value for key, value in options.items() if key != "path"}
    return identity


def model_folder(spec: Any) -> Path | None:
    """The folder a model was loaded from: its local path, or the hub cache snapshot it was downloaded into."""
    if getattr(spec, "local_path", None) is not None:
        return Path(spec.local_path)
    hub_id = getattr(spec, "hub_id", None)
    if not hub_id:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - ships with transformers
        return None
    found = try_to_load_from_cache(hub_id, "config.json", revision=getattr(spec, "revision", None))
    return Path(found).parent if isinstance(found, str) else None


def model_files(folder: Path) -> list[Path]:
    return sorted({path for pattern in MODEL_FILE_PATTERNS for path in folder.glob(pattern) if path.is_file()})


def _model_revision(spec: Any, folder: Path | None) -> str | None:
    if folder is not None and folder.parent.name == "snapshots":
        return f"hub commit {folder.name}"
    if getattr(spec, "kind", None) == "bundled" and folder is not None:
        import json

        from workers.model_store.lm_assets import MANIFEST_NAME

        try:
            record = json.loads((folder / MANIFEST_NAME).read_text())
            return f"converted from {record['source_file']} (sha256 {record['source_sha256']})"
        except (OSError, ValueError, KeyError):
            return None
    return getattr(spec, "revision", None)


def model_identity(role: str, ref: str, loaded: Any) -> dict[str, Any]:
    """A loaded causal LM (``workers.models.registry.LoadedModel`` or any object with ``spec``/``device``/``dtype``)."""
    spec = loaded.spec
    folder = model_folder(spec)
    return {
        "role": role,
        "ref": ref,
        "id": getattr(spec, "id", ref),
        "name": getattr(spec, "name", ref),
        "kind": getattr(spec, "kind", None),
        "source": getattr(spec, "source", None),
        "revision": _model_revision(spec, folder),
        "device": _device_of(loaded),
        "dtype": _dtype_of(loaded),
        "files": files_identity(model_files(folder), folder) if folder is not None and folder.is_dir() else [],
    }


def _device_of(loaded: Any) -> str | None:
    device = getattr(loaded, "device", None) or getattr(getattr(loaded, "model", None), "device", None)
    return str(device) if device is not None else None


def _dtype_of(loaded: Any) -> str | None:
    dtype = getattr(loaded, "dtype", None) or getattr(getattr(loaded, "model", None), "dtype", None)
    return str(dtype).removeprefix("torch.") if dtype is not None else None


def torch_runtime(device: str | None) -> dict[str, Any]:
    """Where model work ran: device (and GPU name), torch's intra-op threads, deterministic-algorithms mode."""
    import torch

    runtime: dict[str, Any] = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }
    if device and device.startswith("cuda") and torch.cuda.is_available():
        runtime["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return runtime


# ---------------------------------------------------------------------------------------------------------------
# the manifest


def build_manifest(
    *,
    kind: str,
    parameters: Mapping[str, Any],
    libraries: Iterable[str],
    runtime: Mapping[str, Any],
    seed: int | None = None,
    tokenizers: Sequence[Mapping[str, Any]] = (),
    models: Sequence[Mapping[str, Any]] = (),
    **sections: Any,
) -> dict[str, Any]:
    """The one shape of every manifest (docs/api.md); a new kind of job calls this with its own parts.

    ``parameters`` must be everything the pipeline was given (defaults filled in where it fills them), such that
    ``request_from_manifest`` re-creates the run; ``sections`` adds kind-specific parts (e.g. ``input``).
    """
    return {
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "product": product(),
        "libraries": library_versions(libraries),
        "runtime": {"platform": f"{sys.platform}-{platform.machine()}", **runtime},
        "seed": seed,
        "parameters": dict(parameters),
        "tokenizers": [dict(t) for t in tokenizers],
        "models": [dict(m) for m in models],
        **sections,
    }


def tokenize_manifest(inputs: Mapping[str, Any], text_sha256: str) -> dict[str, Any]:
    """The tokenize pipeline's manifest. Its tokenizers are already loaded (a per-process cache hit here)."""
    from workers.text_tokenizers.catalog import load_tokenizer

    custom = inputs.get("custom") or {}
    ids = list(dict.fromkeys(inputs["tokenizers"]))
    baseline = inputs.get("baseline")
    if baseline and baseline not in ids:
        ids.append(baseline)
    loaded = [load_tokenizer(tokenizer_id, custom) for tokenizer_id in ids]
    return build_manifest(
        kind="tokenize",
        parameters={key: value for key, value in inputs.items() if key not in ("text", "custom")},
        libraries=[*TOKENIZE_LIBRARIES, *(name for t in loaded for name in tokenizer_libraries(t))],
        runtime={"device": "cpu"},
        tokenizers=[tokenizer_identity(t, custom.get(t.spec.id)) for t in loaded],
        input={"sha256": text_sha256},
    )


def speculative_manifest(
    parameters: Mapping[str, Any], target: Any, draft: Any | None, engine: Any | None = None
) -> dict[str, Any]:
    """The speculative pipeline's manifest: ``parameters`` is its parsed ``Params`` as a dict; ``engine`` the decoding
    engine's config dataclass (``MethodConfig`` or ``TreeMethodConfig``: the effective settings, defaults included,
    such as the EOS ids and a tree method's budget)."""
    models = [model_identity("target", str(parameters["target"]), target)]
    if draft is not None:
        models.append(model_identity("draft", str((parameters.get("drafter") or {}).get("model")), draft))
    return build_manifest(
        kind="speculative",
        parameters=parameters,
        libraries=MODEL_LIBRARIES,
        runtime={**torch_runtime(models[0]["device"]), "dtype": models[0]["dtype"]},
        seed=int(parameters["seed"]),
        models=models,
        engine=dataclasses.asdict(engine)
        if dataclasses.is_dataclass(engine) and not isinstance(engine, type)
        else None,
    )


def distill_manifest(parameters: Mapping[str, Any], target: Any, output_dir: Path) -> dict[str, Any]:
    """The distillation pipeline's manifest, with the sha256 of the draft it saved (``output``)."""
    target_identity = model_identity("target", str(parameters["target"]), target)
    return build_manifest(
        kind="distill_draft",
        parameters={key: os.fspath(value) if isinstance(value, Path) else value for key, value in parameters.items()},
        libraries=MODEL_LIBRARIES,
        runtime={**torch_runtime(target_identity["device"]), "dtype": target_identity["dtype"]},
        seed=int(parameters["seed"]),
        models=[target_identity],
        output={"files": files_identity(model_files(output_dir), output_dir)},
    )


def request_from_manifest(manifest: Any, *, text: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(kind, inputs)`` that re-create the run a manifest describes, for that kind's pipeline ``run``.

    A tokenize manifest does not hold the text (it can be 50 MB): pass it as ``text``; it must have the sha256 the
    manifest recorded. Raises ManifestError for anything else.
    """
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        raise ManifestError(f"This is not a version-{MANIFEST_VERSION} Tokenscope manifest.")
    kind, parameters = manifest.get("kind"), manifest.get("parameters")
    if kind not in RERUNNABLE_KINDS or not isinstance(parameters, dict):
        raise ManifestError(
            f"Results of kind {kind!r} cannot be re-run from their manifest; tokenize and speculative can."
        )
    if kind != "tokenize":
        return kind, dict(parameters)
    if text is None:
        raise ManifestError("A tokenize manifest does not hold the text: give the text it was computed from.")
    expected = (manifest.get("input") or {}).get("sha256")
    if hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != expected:
        raise ManifestError("The text is not the one this result was computed from (its sha256 differs).")
    return kind, {**parameters, "text": text}
