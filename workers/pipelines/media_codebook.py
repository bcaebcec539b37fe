"""The ``media_codebook`` pipeline: train a team codebook (image k-means patches, the coarse-to-fine 1D tokenizer's
stages, or audio k-means mel units) from the shipped samples or the team's uploads, with the families' own training
functions, and save it where the app lists it as a tokenizer (``<modality>/codebook-<job id>``).

Framework-free (no Django, no torch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workers.manifest import build_manifest, files_identity
from workers.media.types import MediaInputError

Report = Callable[..., None]
LIBRARIES = ("numpy", "scikit-learn", "scikit-image", "pillow", "soundfile", "scipy")
MAX_TRAINING_SECONDS = 600.0
"""Seconds read from each uploaded clip for training."""


class CodebookJobError(ValueError):
    user_facing = True


def _image_training(inputs: Mapping[str, Any]) -> list[Any]:
    from workers.media.image.kmeans import sample_images, training_image_from_file

    uploads = inputs.get("uploads") or []
    if not uploads:
        return sample_images()
    return [training_image_from_file(Path(item["path"]), name=item.get("filename")) for item in uploads]


def _audio_training(inputs: Mapping[str, Any]) -> list[Any]:
    from workers.media.audio.io import load_audio
    from workers.media.audio.units import DEFAULT_SPEECH, TrainingClip, read_codec2_speech

    uploads = inputs.get("uploads") or []
    if not uploads:
        return [read_codec2_speech(name) for name in DEFAULT_SPEECH]
    clips = []
    for item in uploads:
        loaded = load_audio(Path(item["path"]), max_seconds=MAX_TRAINING_SECONDS)
        clips.append(
            TrainingClip(name=str(item.get("filename") or "upload"), wave=loaded.wave, sample_rate=loaded.sample_rate)
        )
    return clips


def _train(inputs: Mapping[str, Any], out: Path, report: Report) -> Any:
    """Trains and saves to ``out``; returns the loaded tokenizer (which checks the file it reads)."""
    method, size, seed = str(inputs["method"]), int(inputs["codebook_size"]), int(inputs.get("seed") or 0)
    label = str(inputs.get("name") or "").strip()
    if method == "kmeans-patch":
        from workers.media.image.kmeans import load_kmeans_tokenizer, train_patch_codebook

        images = _image_training(inputs)
        label = label or f"k-means patches k={size} (team)"
        train_patch_codebook(images, codebook_size=size, seed=seed, out=out, report=report, label=label)
        return load_kmeans_tokenizer(out)
    if method == "progressive":
        from workers.media.image.progressive import load_progressive_tokenizer, train_progressive_codebook

        images = _image_training(inputs)
        label = label or f"coarse-to-fine 1D k={size} (team)"
        train_progressive_codebook(images, codebook_size=size, seed=seed, out=out, report=report, label=label)
        return load_progressive_tokenizer(out)
    if method == "mel-units":
        from workers.media.audio.units import load_codebook_tokenizer, train_mel_units

        clips = _audio_training(inputs)
        train_mel_units(clips, k=size, seed=seed, out_path=out, tokenizer_id=str(inputs["tokenizer_id"]), report=report)
        return load_codebook_tokenizer(out)
    raise CodebookJobError(f"Unknown codebook method {method!r}.")


def run(inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    output = Path(str(inputs["output_path"]))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.stem + ".training.npz")

    def scaled(progress: float, message: str = "") -> None:
        report(0.05 + 0.9 * float(progress), message)

    report(0.01, "reading the training data")
    try:
        tokenizer = _train(inputs, partial, scaled)
    except MediaInputError as exc:
        partial.unlink(missing_ok=True)
        raise CodebookJobError(str(exc)) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)  # listed only once whole
    info = dataclasses.asdict(tokenizer.info)
    info["id"] = str(inputs["tokenizer_id"])
    if inputs.get("name"):
        info["label"] = str(inputs["name"])
    info["codebook_sizes"] = list(info["codebook_sizes"])
    header = getattr(tokenizer, "header", None) or {}
    training = header.get("training") if isinstance(header, dict) else None
    manifest = build_manifest(
        kind="media_codebook",
        parameters={key: inputs.get(key) for key in ("modality", "method", "codebook_size", "seed", "name")},
        libraries=LIBRARIES,
        runtime={"device": "cpu"},
        seed=int(inputs.get("seed") or 0),
        input={
            "uploads": [{"filename": u.get("filename"), "sha256": u.get("sha256")} for u in inputs.get("uploads") or []]
        },
        output={"files": files_identity([output])},
    )
    report(1.0, "done")
    return {"info": info, "training": training, "manifest": manifest, "versions": manifest["libraries"]}
