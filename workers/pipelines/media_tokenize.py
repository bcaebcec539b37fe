"""The ``media_tokenize`` pipeline: one image or audio clip through each chosen tokenizer, with reconstructions,
quality numbers, codebook usage and the artifacts (PNG/WAV) the page shows and plays.

The input is decoded once; each tokenizer is loaded, run and measured on its own, so one that fails or is not
installed gets an ``error`` and never fails the others. Artifacts go into ``inputs["artifact_dir"]`` under names
made here (never from the request). The result's shape is docs/media.md's ("The media job result").

Framework-free (no Django); torch is imported only by the neural families, lazily, when one is chosen.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.manifest import build_manifest, files_identity
from workers.media.types import MediaInputError, MediaTokenizerInfo, NotInstalledError

logger = logging.getLogger(__name__)
Report = Callable[..., None]

MEDIA_LIBRARIES = ("numpy", "pillow", "soundfile", "scipy", "scikit-image")
"""Distributions every media run uses (decoding, resampling, metrics), on top of each tokenizer's own."""
MAX_CODES_IN_RESULT = 100_000
"""Codes per tokenizer kept in the stored result (the page's strip); all of them are in ``codes.npz``."""
MAX_CONTRIBUTION_TOKENS = 256
"""Strips up to this length get a per-token PSNR gain (one decode per prefix: classical decoders only)."""
PREVIEW_MAX_SIDE = 2048
"""The ``original.png`` artifact is shown, not measured: larger images are downscaled for it."""
CODES_ARTIFACT = "codes.npz"
# A team codebook's training method -> the loader that opens its file (a fixed map: nothing from a request or a
# file names a module).
CODEBOOK_LOADERS = {
    "kmeans-patch": "workers.media.image.kmeans:load_kmeans_tokenizer",
    "progressive": "workers.media.image.progressive:load_progressive_tokenizer",
    "mel-units": "workers.media.audio.units:load_codebook_tokenizer",
}
_STOPS = ("SoftTimeLimitExceeded", "JobCancelled", "KeyboardInterrupt")
MAX_CACHED_TOKENIZERS = 8
CACHED_FAMILIES = ("classical", "codec", "units")
"""A worker keeps the last few loaded tokenizers of these families (small: codebooks, libraries, PocketSphinx's
model, whose load cost 0.17 s a job); neural checkpoints are loaded per job."""
_LOADED: OrderedDict[tuple[str, str | None], Any] = OrderedDict()


class MediaJobError(ValueError):
    """An input the job cannot take; the message is shown to the user."""

    user_facing = True


@dataclass(frozen=True)
class Selection:
    id: str
    ref: str | None = None  # a resolved hub id or allowed folder (needs_ref entries)
    codebook: Mapping[str, Any] | None = None  # a team codebook: {"path", "method"}


def artifact_slug(tokenizer_id: str) -> str:
    """A file-name-safe form of a tokenizer id (``image/kmeans-patch-256`` -> ``image-kmeans-patch-256``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", tokenizer_id).strip("-.") or "tokenizer"


def _selections(inputs: Mapping[str, Any]) -> list[Selection]:
    chosen = inputs.get("tokenizers") or []
    if not chosen:
        raise MediaJobError("Choose at least one tokenizer.")
    return [Selection(str(item["id"]), item.get("ref"), item.get("codebook")) for item in chosen]


def load_tokenizer(selection: Selection) -> Any:
    """The tokenizer a selection names: a team codebook through its method's loader, else the catalogue entry."""
    if selection.codebook is not None:
        import importlib

        method = str(selection.codebook.get("method"))
        if method not in CODEBOOK_LOADERS:
            raise NotInstalledError(f"Unknown codebook method {method!r}.")
        module, _, function = CODEBOOK_LOADERS[method].partition(":")
        return getattr(importlib.import_module(module), function)(Path(str(selection.codebook["path"])))
    from workers.media.catalog import media_entries

    key = (selection.id, selection.ref)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    entry = media_entries().get(selection.id)
    if entry is None:
        raise NotInstalledError(f"{selection.id} is not in this server's media catalogue.")
    tokenizer = entry.load(selection.ref)
    if entry.info.family in CACHED_FAMILIES and not entry.needs_ref:
        _LOADED[key] = tokenizer
        while len(_LOADED) > MAX_CACHED_TOKENIZERS:
            _LOADED.popitem(last=False)
    return tokenizer


def _is_stop(exc: BaseException) -> bool:
    """A cancel or a time limit passes through the per-tokenizer guard (they end the job, not one tokenizer)."""
    return type(exc).__name__ in _STOPS


def _error_text(exc: Exception) -> str:
    if isinstance(exc, NotInstalledError):
        return f"Not installed: {exc}" + (f" Install: {exc.install}" if exc.install else "")
    if isinstance(exc, MediaInputError | MediaJobError):
        return str(exc)
    logger.exception("media tokenizer failed")
    return f"Internal error in this tokenizer ({type(exc).__name__}: {exc})."


def _bits(codes: np.ndarray, sizes: Sequence[int], layout: str) -> float:
    """Bits the codes carry: frames x sum(log2 V) for audio frames (one token per codebook), n x log2 V otherwise."""
    logs = [math.log2(size) for size in sizes if size > 1]
    if not logs:
        return 0.0
    if layout == "frames" or (codes.ndim == 2 and len(sizes) == codes.shape[0] and len(sizes) > 1):
        return float(codes.shape[-1] * sum(logs))
    return float(codes.size * logs[0])


def _usage(codes: np.ndarray, sizes: Sequence[int]) -> dict[str, Any]:
    from workers.media.usage import codebook_usage

    if codes.ndim == 2 and len(sizes) == codes.shape[0] and len(sizes) > 1:
        per = [codebook_usage(codes[i], int(size)) for i, size in enumerate(sizes)]
        return {**per[0], "per_codebook": per}
    return dict(codebook_usage(codes.reshape(-1), int(sizes[0])))


def _codes_for_result(codes: np.ndarray) -> tuple[list[Any], bool]:
    if codes.size <= MAX_CODES_IN_RESULT:
        return codes.tolist(), False
    if codes.ndim == 1:
        return codes[:MAX_CODES_IN_RESULT].tolist(), True
    keep = max(1, MAX_CODES_IN_RESULT // max(1, int(np.prod(codes.shape[:-1]))))
    return codes[..., :keep].tolist(), True


def _info_fields(info: MediaTokenizerInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "label": info.label,
        "family": info.family,
        "layout": info.layout,
        "has_decoder": info.has_decoder,
        "description": info.description,
        "codebook_sizes": list(info.codebook_sizes),
    }


def _identity(selection: Selection, tokenizer: Any | None, info: MediaTokenizerInfo | None) -> dict[str, Any]:
    """The manifest's record of one tokenizer: what it is and the sha256 of every file it was loaded from."""
    files = [Path(p) for p in getattr(tokenizer, "source_files", ()) or ()]
    if selection.codebook is not None:
        files.append(Path(str(selection.codebook["path"])))
    identity: dict[str, Any] = {"id": selection.id, "ref": selection.ref}
    if info is not None:
        identity.update({"label": info.label, "family": info.family, "source": info.source, "licence": info.licence})
        identity["codebook_sizes"] = list(info.codebook_sizes)
    identity["files"] = files_identity(sorted({f for f in files if f.is_file()}))
    header = getattr(tokenizer, "header", None)
    if isinstance(header, dict):  # a codebook's own record: its kind, training parameters and training data hashes
        identity["codebook"] = {
            key: header.get(key) for key in ("kind", "params", "training", "label") if key in header
        }
    return identity


# ---------------------------------------------------------------------------------------------------------------
# images


def _image_reference(tokenizer: Any, image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """What a reconstruction is compared with: the tokenizer's own preprocessing when it offers it, the original when
    the sizes agree, else the original resized to the reconstruction's size."""
    preprocess = getattr(tokenizer, "preprocess", None)
    if callable(preprocess):
        fitted = preprocess(image)  # the image the codes describe, or (that image, what was done)
        return np.asarray(fitted[0] if isinstance(fitted, tuple) else fitted, dtype=np.float32)
    if image.shape[:2] == tuple(shape[:2]):
        return image
    from PIL import Image

    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    resized = pil.resize((int(shape[1]), int(shape[0])), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float32) / 255.0


def _prefix_ks(requested: Sequence[int] | None, n_tokens: int) -> list[int]:
    if requested:
        ks = {int(k) for k in requested if 1 <= int(k) <= n_tokens}
    else:
        ks = {1 << i for i in range(n_tokens.bit_length()) if (1 << i) <= n_tokens}
    return sorted(ks | {n_tokens})


def run_image_tokenizer(
    tokenizer: Any,
    image: np.ndarray,
    *,
    ks: Sequence[int] | None,
    seed: int,
    artifact_dir: Path,
    slug: str,
    contributions: bool = True,
) -> tuple[dict[str, Any], np.ndarray]:
    """One image tokenizer's part of the result, and all its codes; ``contributions``: the per-token PSNR gains
    (one decode per prefix) of short classical strips."""
    from workers.media.image.io import write_png
    from workers.media.image.metrics import psnr, ssim

    info: MediaTokenizerInfo = tokenizer.info
    started = time.perf_counter()
    tokens = tokenizer.encode(image)
    encode_s = time.perf_counter() - started
    codes = np.asarray(tokens.codes, dtype=np.int64)
    n_tokens = int(codes.size)
    out: dict[str, Any] = {
        "n_tokens": n_tokens,
        "bits": _bits(codes, info.codebook_sizes, info.layout),
        "grid": list(codes.shape) if codes.ndim == 2 else None,
        "input_size": list(tokens.input_size),
        "extra": tokens.extra,
        "reconstructions": [],
        "contributions": None,
        "usage": _usage(codes, info.codebook_sizes),
        "seed": seed if info.has_decoder else None,
    }
    out["codes"], out["codes_truncated"] = _codes_for_result(codes)
    decode_s = 0.0
    if info.has_decoder:
        ks_used = [n_tokens] if codes.ndim == 2 else _prefix_ks(ks, n_tokens)
        reference: np.ndarray | None = None
        for k in ks_used:
            started = time.perf_counter()
            recon = tokenizer.decode(tokens, k=None if codes.ndim == 2 else k, seed=seed)
            decode_s += time.perf_counter() - started
            if reference is None:
                reference = _image_reference(tokenizer, image, recon.shape)
            name = f"{slug}-k{k}.png"
            write_png(artifact_dir / name, recon)
            out["reconstructions"].append(
                {
                    "k": k,
                    "artifact": name,
                    "psnr": _finite(psnr(reference, recon)),
                    "ssim": _finite(ssim(reference, recon)),
                }
            )
        if (
            contributions
            and codes.ndim == 1
            and info.family == "classical"
            and n_tokens <= MAX_CONTRIBUTION_TOKENS
            and reference is not None
        ):
            out["contributions"] = _contributions(tokenizer, tokens, reference, n_tokens, seed, psnr)
    out["timing"] = {"encode_s": encode_s, "decode_s": decode_s}
    return out, codes


def _contributions(tokenizer: Any, tokens: Any, reference: np.ndarray, n: int, seed: int, psnr: Any) -> list[float]:
    """Each token's PSNR gain: psnr(first k) - psnr(first k-1); the first token's gain is its own PSNR."""
    gains, previous = [], 0.0
    for k in range(1, n + 1):
        value = _finite(psnr(reference, tokenizer.decode(tokens, k=k, seed=seed))) or 0.0
        gains.append(value - previous)
        previous = value
    return gains


def _finite(value: Any) -> float | None:
    """JSON has no NaN or infinity: a metric that is undefined (silence) or perfect (lossless) is stored as null."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------------------------------
# audio


def run_audio_tokenizer(
    tokenizer: Any, wave: np.ndarray, sample_rate: int, *, artifact_dir: Path, slug: str
) -> tuple[dict[str, Any], np.ndarray]:
    """One audio tokenizer's part of the result, and all its codes ([codebooks, frames])."""
    from workers.media.audio.io import write_wav
    from workers.media.audio.metrics import reconstruction_metrics

    info: MediaTokenizerInfo = tokenizer.info
    duration_s = len(wave) / float(sample_rate) if sample_rate else 0.0
    started = time.perf_counter()
    tokens = tokenizer.encode(wave, sample_rate)
    encode_s = time.perf_counter() - started
    codes = np.asarray(tokens.codes, dtype=np.int64)
    if codes.ndim == 1:
        codes = codes[None, :]
    n_tokens = int(codes.size)
    bits = _bits(codes, info.codebook_sizes, "frames")
    out: dict[str, Any] = {
        "n_tokens": n_tokens,
        "n_frames": int(codes.shape[-1]),
        "bits": bits,
        "grid": None,
        "sample_rate": int(tokens.sample_rate),
        "frame_rate": tokens.frame_rate,
        "tokens_per_second": n_tokens / duration_s if duration_s else None,
        "bitrate_bps": bits / duration_s if duration_s else None,
        "times": np.asarray(tokens.times).tolist() if tokens.times is not None else None,
        "labels": list(tokens.labels) if tokens.labels is not None else None,
        "extra": tokens.extra,
        "reconstruction": None,
        "usage": _usage(codes, info.codebook_sizes),
    }
    out["codes"], out["codes_truncated"] = _codes_for_result(codes)
    decode_s = 0.0
    if info.has_decoder:
        started = time.perf_counter()
        recon = np.asarray(tokenizer.decode(tokens), dtype=np.float32).reshape(-1)
        decode_s = time.perf_counter() - started
        rate = int(tokens.sample_rate)
        name = f"{slug}.wav"
        write_wav(artifact_dir / name, recon, rate)
        # Compared at the lower of the two rates (the codec's band), after aligning the codec's delay.
        out["reconstruction"] = {"artifact": name, **reconstruction_metrics(wave, sample_rate, recon, rate)}
    out["timing"] = {"encode_s": encode_s, "decode_s": decode_s}
    return out, codes


# ---------------------------------------------------------------------------------------------------------------
# the input


def _image_input(path: Path, artifact_dir: Path, max_pixels: int) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    from workers.media.image.io import load_image, probe_image, write_png

    probed = probe_image(path)
    image = np.asarray(load_image(path, max_pixels=max_pixels), dtype=np.float32)
    height, width = int(image.shape[0]), int(image.shape[1])
    processed = ["decoded to RGB in [0, 1]; each tokenizer resizes or crops to its own input size (input_size)"]
    preview = image
    if max(height, width) > PREVIEW_MAX_SIDE:
        from PIL import Image

        scale = PREVIEW_MAX_SIDE / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(
            size, Image.Resampling.LANCZOS
        )
        preview = np.asarray(pil, dtype=np.float32) / 255.0
        processed.append(f"original.png is a {size[0]}x{size[1]} preview")
    write_png(artifact_dir / "original.png", preview)
    facts = {"format": probed.get("format"), "width": width, "height": height, "processed": "; ".join(processed)}
    return image, facts, {"original": {"artifact": "original.png"}}


def _audio_input(path: Path, artifact_dir: Path, max_seconds: float) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from workers.media.audio.io import load_audio, spectrogram_png, waveform_peaks, write_wav

    loaded = load_audio(path, max_seconds=max_seconds)
    wave = np.asarray(loaded.wave, dtype=np.float32)
    processed = []
    if loaded.channels > 1:
        processed.append(f"mixed {loaded.channels} channels to mono")
    if loaded.cropped:
        processed.append(f"cropped to the first {max_seconds:g} s")
    if not processed:
        processed.append("decoded as is (mono)")
    write_wav(artifact_dir / "original.wav", wave, loaded.sample_rate)
    spectrogram = spectrogram_png(artifact_dir / "spectrogram.png", wave, loaded.sample_rate)
    analysed_s = len(wave) / float(loaded.sample_rate) if loaded.sample_rate else 0.0
    facts = {
        "format": loaded.format,
        "duration_s": float(loaded.duration_s),
        "analysed_s": analysed_s,
        "sample_rate": int(loaded.sample_rate),
        "channels": int(loaded.channels),
        "processed": "; ".join(processed),
    }
    views = {
        "original": {"artifact": "original.wav"},
        "waveform": {"peaks": np.asarray(waveform_peaks(wave, n=1000)).tolist(), "duration_s": analysed_s},
        "spectrogram": {"artifact": "spectrogram.png", "max_hz": float(spectrogram["max_hz"])},
    }
    return loaded, facts, views


# ---------------------------------------------------------------------------------------------------------------
# the run


def run(inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    """The job; a run that does not finish (cancelled, timed out, failed) removes the artifacts it wrote, which no
    result lists and nothing could serve or delete."""
    artifact_dir = Path(str(inputs["artifact_dir"]))
    try:
        return _run(inputs, report, artifact_dir)
    except BaseException:
        shutil.rmtree(artifact_dir, ignore_errors=True)
        raise


def _run(inputs: dict[str, Any], report: Report, artifact_dir: Path) -> dict[str, Any]:
    modality = str(inputs["modality"])
    if modality not in ("image", "audio"):
        raise MediaJobError(f"Unknown modality {modality!r}: image or audio.")
    selections = _selections(inputs)
    seed = int(inputs.get("seed") or 0)
    artifact_dir.mkdir(parents=True, exist_ok=True)
    path = Path(str(inputs["path"]))
    report(0.01, "decoding the input")
    try:
        if modality == "image":
            media, facts, views = _image_input(path, artifact_dir, int(inputs["max_pixels"]))
        else:
            media, facts, views = _audio_input(path, artifact_dir, float(inputs["max_seconds"]))
    except MediaInputError as exc:
        raise MediaJobError(f"{inputs.get('filename') or 'The file'}: {exc}") from exc
    described = {key: inputs.get(key) for key in ("filename", "sha256", "size_bytes")}
    results: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    all_codes: dict[str, np.ndarray] = {}
    for index, selection in enumerate(selections):
        report(0.05 + 0.9 * index / len(selections), f"{selection.id}: tokenizing ({index + 1}/{len(selections)})")
        entry, identity, codes = _run_one(selection, modality, media, inputs, seed, artifact_dir)
        results.append(entry)
        identities.append(identity)
        if codes is not None:
            all_codes[selection.id] = codes
    report(0.97, "writing the codes")
    manifest = build_manifest(
        kind="media_tokenize",
        parameters=manifest_parameters(inputs),
        libraries=[*MEDIA_LIBRARIES, *(lib for t in identities for lib in t.get("libraries", ()))],
        runtime={"device": "cpu"},
        seed=seed,
        tokenizers=identities,
        input=described,
    )
    _write_codes(artifact_dir / CODES_ARTIFACT, all_codes, manifest)
    report(1.0, "done")
    return {
        "modality": modality,
        "input": {**described, **facts},
        **views,
        "tokenizers": results,
        "codes_artifact": CODES_ARTIFACT,
        "manifest": manifest,
        "versions": manifest["libraries"],
    }


def manifest_parameters(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that decides the result, without server paths (a codebook is named by its id)."""
    tokenizers = [{"id": item["id"], "ref": item.get("ref")} for item in inputs["tokenizers"]]
    keys = ("modality", "ks", "max_seconds", "max_pixels", "seed", "contributions")
    return {"tokenizers": tokenizers, **{key: inputs.get(key) for key in keys if key in inputs}}


def _run_one(
    selection: Selection, modality: str, media: Any, inputs: Mapping[str, Any], seed: int, artifact_dir: Path
) -> tuple[dict[str, Any], dict[str, Any], np.ndarray | None]:
    """One tokenizer's entry; any failure becomes its ``error`` (a cancel or time limit still ends the job)."""
    tokenizer: Any = None
    info: MediaTokenizerInfo | None = None
    entry: dict[str, Any] = {"id": selection.id, "error": None}
    try:
        tokenizer = load_tokenizer(selection)
        info = tokenizer.info
        assert info is not None
        if info.modality != modality:
            raise MediaJobError(f"{selection.id} is an {info.modality} tokenizer; this input is an {modality}.")
        entry.update(_info_fields(info))
        entry["id"] = selection.id
        slug = artifact_slug(selection.id)
        if modality == "image":
            measured, codes = run_image_tokenizer(
                tokenizer,
                media,
                ks=inputs.get("ks"),
                seed=seed,
                artifact_dir=artifact_dir,
                slug=slug,
                contributions=bool(inputs.get("contributions", True)),
            )
        else:
            measured, codes = run_audio_tokenizer(
                tokenizer, media.wave, int(media.sample_rate), artifact_dir=artifact_dir, slug=slug
            )
        entry.update(measured)
    except Exception as exc:  # noqa: BLE001 - one tokenizer failing never fails the others
        if _is_stop(exc):
            raise
        entry["error"] = _error_text(exc)
        return entry, _identity(selection, tokenizer, info), None
    return entry, _identity(selection, tokenizer, info), codes


def _write_codes(path: Path, codes: Mapping[str, np.ndarray], manifest: Mapping[str, Any]) -> None:
    """All codes of every tokenizer (``codes/<id>``, the smallest signed integer type that holds them) and the
    manifest as a JSON string; no pickles. Uncompressed: zlib on a 60 s mu-law strip cost more than the tokenizer."""
    import json

    arrays = {f"codes/{key}": _compact(np.asarray(value)) for key, value in codes.items()}
    arrays["manifest"] = np.asarray(json.dumps(manifest, ensure_ascii=False))
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, **arrays)  # type: ignore[arg-type]
    partial.replace(path)


def _compact(codes: np.ndarray) -> np.ndarray:
    top = int(np.abs(codes).max()) if codes.size else 0
    for dtype in (np.int16, np.int32):
        if top <= np.iinfo(dtype).max:
            return codes.astype(dtype)
    return codes.astype(np.int64)
