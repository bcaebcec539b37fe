"""The catalogue entries of the out-of-the-box image tokenizers, and the default codebooks make setup builds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workers.media.codebook_file import read_codebook
from workers.media.image import classical_entries, kmeans, progressive
from workers.media.image.metrics import psnr
from workers.media.types import ImageTokenizer, NotInstalledError

REPO = Path(__file__).resolve().parents[4]
IDS = ["image/kmeans-patch-256", "image/kmeans-patch-1024", "image/progressive-1d"]


@pytest.fixture(scope="module")
def default_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real defaults (what make setup builds), once, into a scratch store."""
    store = tmp_path_factory.mktemp("media-store")
    kmeans.prepare_defaults(store)
    return store


def test_status_is_cheap_and_follows_the_store(tmp_path: Path) -> None:
    """Catches a status() that imports Pillow, scikit-image or torch into the web process, or that claims to be
    installed before make setup built the codebooks."""
    script = (
        "import json, sys\nfrom workers.media.image.classical_entries import entries\n"
        "states = {e.info.id: e.status().installed for e in entries()}\n"
        "heavy = [m for m in ('torch', 'PIL', 'skimage', 'sklearn') if m in sys.modules]\n"
        "print(json.dumps([states, heavy]))"
    )
    env = {"PATH": "/usr/bin:/bin", "TOKENSCOPE_MODEL_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True, env=env)
    states, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert heavy == []
    assert states == dict.fromkeys(IDS, False)


def test_not_built_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches an entry that loads something else (or crashes) when its codebook is missing."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    for entry in classical_entries.entries():
        with pytest.raises(NotInstalledError) as raised:
            entry.load(None)
        assert "make setup" in raised.value.install


def test_defaults_build_load_and_describe_images(
    default_store: Path, monkeypatch: pytest.MonkeyPatch, held_out: dict[str, np.ndarray]
) -> None:
    """Catches defaults that make setup does not build, that do not load through the catalogue, that lack the
    training images' hashes, or that reconstruct poorly (measured on held-out retina and camera: k-means 256
    23.5-25.7 dB, k-means 1024 24.2-26.5 dB, progressive at 256 tokens 18.6-21.2 dB)."""
    monkeypatch.setattr(classical_entries, "media_store_dir", lambda: default_store)
    entries = {entry.info.id: entry for entry in classical_entries.entries()}
    assert list(entries) == IDS
    image = held_out["retina.jpg"]
    for tokenizer_id, entry in entries.items():
        assert entry.status().installed, tokenizer_id
        tokenizer = entry.load(None)
        assert isinstance(tokenizer, ImageTokenizer) and tokenizer.info.id == tokenizer_id
        assert isinstance(tokenizer, kmeans.KMeansPatchTokenizer | progressive.ProgressiveTokenizer)
        header, _ = read_codebook(Path(entry.status().detail), kind_prefix="image/")
        names = [item["name"] for item in header["training"]["images"]]
        assert names == [name for name, _ in kmeans.SAMPLE_TRAINING_IMAGES]
        assert all(len(item["sha256"]) == 64 for item in header["training"]["images"])
        reference, _ = tokenizer.preprocess(image)
        quality = psnr(reference, tokenizer.decode(tokenizer.encode(image)))
        assert quality > (18.0 if tokenizer.info.layout == "strip" else 22.0), (tokenizer_id, quality)
