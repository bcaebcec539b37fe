"""The media_tokenize pipeline called directly with the real tokenizers: the result's shape and numbers against the
tokenizers and metrics called by hand, per-tokenizer errors, cancel, crop and silence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.apps.media import files
from workers.media.catalog import media_entries
from workers.pipelines.media_tokenize import MediaJobError, run


class JobCancelled(Exception):
    """Named like the runner's: the pipeline must let it through its per-tokenizer guard."""


def _inputs(tmp_path: Path, data: bytes, name: str, ids: list[str], **extra: Any) -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(data)
    inputs = {"path": str(path), "filename": name, "tokenizers": [{"id": i} for i in ids], "seed": 3}
    inputs["artifact_dir"] = str(tmp_path / "artifacts")
    if name.endswith(".png"):
        return {**inputs, "modality": "image", "max_pixels": 40_000_000, **extra}
    return {**inputs, "modality": "audio", "max_seconds": 60.0, **extra}


def _quiet(*_: Any, **__: Any) -> None:
    return None


def test_image_results_match_the_tokenizers_called_directly(tmp_path: Path) -> None:
    """Catches a grid or strip whose codes, PSNR or prefixes differ from the tokenizer's own, contributions that do
    not add up to the full PSNR, or artifacts missing from the folder."""
    from workers.media.image.io import load_image
    from workers.media.image.metrics import psnr

    inputs = _inputs(tmp_path, files.png(96, 64), "g.png", ["image/kmeans-patch-256", "image/progressive-1d"])
    result = run(inputs, _quiet)
    assert result["modality"] == "image" and result["input"]["width"] == 96
    grid, strip = result["tokenizers"]
    assert grid["error"] is None and strip["error"] is None, (grid["error"], strip["error"])
    image = load_image(Path(inputs["path"]))
    entries = media_entries()
    tokenizer = entries["image/kmeans-patch-256"].load(None)
    tokens = tokenizer.encode(image)
    assert grid["codes"] == tokens.codes.tolist() and grid["grid"] == list(tokens.codes.shape)
    assert [r["k"] for r in grid["reconstructions"]] == [tokens.codes.size]
    reference = tokenizer.preprocess(image)[0]
    assert grid["reconstructions"][0]["psnr"] == pytest.approx(psnr(reference, tokenizer.decode(tokens)))
    assert grid["bits"] == pytest.approx(tokens.codes.size * 8)  # log2(256) bits per token
    assert [r["k"] for r in strip["reconstructions"]] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    psnrs = [r["psnr"] for r in strip["reconstructions"]]
    assert psnrs[-1] > psnrs[0]  # more tokens, a better picture
    assert len(strip["contributions"]) == 256
    assert sum(strip["contributions"]) == pytest.approx(psnrs[-1], abs=1e-6)  # the gains add up to the full PSNR
    folder = Path(inputs["artifact_dir"])
    listed = {"original.png", "codes.npz"} | {r["artifact"] for t in (grid, strip) for r in t["reconstructions"]}
    assert listed == {path.name for path in folder.iterdir()}
    assert result["manifest"]["seed"] == 3 and [t["id"] for t in result["manifest"]["tokenizers"]] == [
        "image/kmeans-patch-256",
        "image/progressive-1d",
    ]
    # Catches a shipped codebook recorded without the file it was loaded from (the manifest's identity is its hash).
    import hashlib

    for identity, loaded in zip(
        result["manifest"]["tokenizers"], (tokenizer, entries["image/progressive-1d"].load(None)), strict=True
    ):
        (path,) = loaded.source_files
        assert identity["files"] == [
            {"name": path.name, "bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        ]


def test_audio_results_rates_and_the_codes_file(tmp_path: Path) -> None:
    """Catches a bitrate that is not frame rate x bits per frame (Codec 2 3200 is 3200 bit/s), token rates off the
    analysed duration, codes in the result that differ from codes.npz, or a failing tokenizer that fails the rest."""
    ids = ["audio/codec2-3200", "audio/phones-pocketsphinx", "image/progressive-1d", "audio/hf-codec"]
    inputs = _inputs(tmp_path, files.speech(), "speech.wav", ids)
    inputs["tokenizers"][3]["ref"] = "facebook/encodec_24khz"  # a hub id: no hub here, so "not installed"
    result = run(inputs, _quiet)
    codec2, phones, wrong, missing = result["tokenizers"]
    assert codec2["error"] is None and phones["error"] is None
    assert codec2["bitrate_bps"] == pytest.approx(3200, rel=0.02)
    assert codec2["tokens_per_second"] == pytest.approx(codec2["n_tokens"] / result["input"]["analysed_s"])
    assert codec2["reconstruction"]["artifact"] == "audio-codec2-3200.wav" and codec2["reconstruction"]["pesq"] > 2
    assert phones["reconstruction"] is None and phones["labels"] and len(phones["times"]) == phones["n_frames"]
    assert "image tokenizer" in wrong["error"]
    assert missing["error"] and "Not installed" in missing["error"]
    assert len(result["waveform"]["peaks"]) > 0 and result["spectrogram"]["max_hz"] == 4000
    with np.load(Path(inputs["artifact_dir"]) / "codes.npz", allow_pickle=False) as saved:
        assert saved["codes/audio/codec2-3200"].tolist() == codec2["codes"]
        assert json.loads(str(saved["manifest"]))["input"]["filename"] == "speech.wav"
        assert "codes/audio/hf-codec" not in saved.files


def test_a_cancel_ends_the_job_at_the_next_tokenizer(tmp_path: Path) -> None:
    """Catches a per-tokenizer guard that swallows the cancel signal and runs every remaining tokenizer."""
    seen: list[str] = []

    def report(progress: float, message: str = "", partial: Any = None) -> None:
        seen.append(message)
        if "(2/3)" in message:
            raise JobCancelled()

    ids = ["audio/mulaw-8bit", "audio/codec2-700", "audio/codec2-1200"]
    with pytest.raises(JobCancelled):
        run(_inputs(tmp_path, files.tone(), "tone.wav", ids), report)
    assert not any("(3/3)" in message for message in seen)
    # Catches a cancelled job leaving its half-written artifacts (the original, the first reconstruction) on disk.
    assert not (tmp_path / "artifacts").exists()


def test_a_ten_minute_clip_is_cropped_to_max_seconds(tmp_path: Path) -> None:
    """Catches a long clip analysed whole (minutes of work) or cropped without saying so."""
    result = run(_inputs(tmp_path, files.long_clip(600), "long.wav", ["audio/codec2-3200"], max_seconds=5.0), _quiet)
    assert result["input"]["duration_s"] == pytest.approx(600)
    assert result["input"]["analysed_s"] == pytest.approx(5.0)
    assert "cropped to the first 5 s" in result["input"]["processed"]
    assert result["tokenizers"][0]["n_tokens"] == pytest.approx(5 * 50 * len(result["tokenizers"][0]["codebook_sizes"]))


def test_silence_and_a_one_pixel_image(tmp_path: Path) -> None:
    """Catches silence that crashes or yields meaningless numbers instead of the clear message, and a one-pixel
    image that crashes the job instead of a result (or a per-tokenizer error) for each tokenizer."""
    with pytest.raises(MediaJobError, match="silent"):
        run(_inputs(tmp_path, files.silence(), "quiet.wav", ["audio/mulaw-8bit"]), _quiet)
    ids = ["image/kmeans-patch-256", "image/progressive-1d"]
    result = run(_inputs(tmp_path, files.png(1, 1), "dot.png", ids), _quiet)
    for entry in result["tokenizers"]:
        assert entry["error"] is None or entry["error"].strip(), entry
        assert entry["error"] is not None or entry["reconstructions"], entry


@pytest.mark.parametrize(("modality", "method", "size"), [("image", "kmeans-patch", 8), ("audio", "mel-units", 8)])
def test_a_codebook_job_trains_a_loadable_tokenizer(tmp_path: Path, modality: str, method: str, size: int) -> None:
    """Catches a codebook job that leaves its file under a temporary name, records an info the catalogue cannot
    list (wrong id or size), or a manifest without the file's hash."""
    from workers.pipelines.media_codebook import run as train
    from workers.pipelines.media_tokenize import Selection, load_tokenizer

    output = tmp_path / "codebook.npz"
    tokenizer_id = f"{modality}/codebook-00000000-0000-0000-0000-000000000001"
    inputs = {"modality": modality, "method": method, "codebook_size": size, "seed": 1, "uploads": []}
    result = train({**inputs, "output_path": str(output), "tokenizer_id": tokenizer_id, "name": ""}, _quiet)
    assert [path.name for path in tmp_path.iterdir()] == ["codebook.npz"]
    assert result["info"]["id"] == tokenizer_id and result["info"]["codebook_sizes"] == [size]
    assert result["manifest"]["output"]["files"][0]["name"] == "codebook.npz"
    loaded = load_tokenizer(Selection(tokenizer_id, codebook={"path": str(output), "method": method}))
    assert loaded.info.modality == modality and list(loaded.info.codebook_sizes) == [size]
