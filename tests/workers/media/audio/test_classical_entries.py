"""The catalogue entries of the out-of-the-box audio tokenizers: ids, cheap status, loading."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.workers.media.audio.speech import codec2_speech
from workers.media.audio import classical_entries, units
from workers.media.types import AudioTokenizer

REPO = Path(__file__).resolve().parents[4]
IDS = [
    "audio/mulaw-8bit",
    "audio/codec2-3200",
    "audio/codec2-1200",
    "audio/codec2-700",
    "audio/lpcnet-freedv2020",
    "audio/phones-pocketsphinx",
    "audio/kmeans-mel-64",
    "audio/kmeans-mel-256",
]


def test_ids_and_declared_bitrates() -> None:
    """Catches a missing or renamed entry, or an info whose rates disagree with the codec's published bit rate."""
    entries = {e.info.id: e for e in classical_entries.entries()}
    assert list(entries) == IDS
    bitrate = {
        i: e.info.frame_rate * sum(np.log2(e.info.codebook_sizes)) for i, e in entries.items() if e.info.frame_rate
    }
    assert bitrate["audio/codec2-3200"] == 3200 and bitrate["audio/codec2-1200"] == 1200
    assert bitrate["audio/codec2-700"] == 700 and bitrate["audio/mulaw-8bit"] == 128000
    assert bitrate["audio/lpcnet-freedv2020"] == pytest.approx(1733.33, abs=0.01)
    assert bitrate["audio/kmeans-mel-256"] == 800
    assert not entries["audio/phones-pocketsphinx"].info.has_decoder
    assert entries["audio/phones-pocketsphinx"].info.family == "units"


def test_status_is_cheap() -> None:
    """Catches a status() that loads the codec packages, the recogniser or scikit-learn into the web process."""
    script = (
        "import json, sys\nfrom workers.media.audio.classical_entries import entries\n"
        "states = {e.info.id: e.status().installed for e in entries()}\n"
        "heavy = [m for m in ('torch', 'pycodec2', 'pocketsphinx', 'sklearn', 'scipy') if m in sys.modules]\n"
        "print(json.dumps([states, heavy]))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    states, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert heavy == []
    assert all(states[i] for i in IDS[:6])  # the codecs and the recogniser are installed here


def test_units_entries_follow_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_codebooks: list[Path]
) -> None:
    """Catches a k-means entry that claims to be installed before make setup built its codebook, or loads another."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    entry = next(e for e in classical_entries.entries() if e.info.id == "audio/kmeans-mel-64")
    status = entry.status()
    assert not status.installed and "make setup" in status.install
    target = units.default_codebook_path(tmp_path / "media", 64)
    target.parent.mkdir(parents=True)
    shutil.copy(default_codebooks[0], target)
    assert entry.status().installed
    assert entry.load(None).info == entry.info


@pytest.mark.parametrize("tokenizer_id", IDS[:6])
def test_every_installed_entry_loads_and_encodes(tokenizer_id: str) -> None:
    """Catches an entry whose loader returns a tokenizer with another id, or one that cannot encode real speech."""
    entry = next(e for e in classical_entries.entries() if e.info.id == tokenizer_id)
    tokenizer = entry.load(None)
    assert isinstance(tokenizer, AudioTokenizer) and tokenizer.info == entry.info
    tokens = tokenizer.encode(codec2_speech()[:4000], 8000)
    assert tokens.codes.ndim == 2 and tokens.codes.shape[0] == len(entry.info.codebook_sizes)
    assert tokens.codes.dtype == np.int64 and tokens.codes.shape[1] > 0
