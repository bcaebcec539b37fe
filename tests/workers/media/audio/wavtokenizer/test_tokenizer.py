"""WavTokenizer through the product's AudioTokenizer API and catalogue entry, on small locally built checkpoints
(random weights in the official layout; agreement with the official code is bench/official_wavtokenizer.py's job)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.workers.media.audio.wavtokenizer.checkpoints import official_config, write_config, write_official_ckpt
from workers.media.audio.wavtokenizer import entries, tokenizer
from workers.media.audio.wavtokenizer.convert import convert
from workers.media.audio.wavtokenizer.loader import load_model
from workers.media.audio.wavtokenizer.tokenizer import WavTokenizer
from workers.media.types import AudioTokenizer, AudioTokens, MediaInputError, NotInstalledError


def converted(folder: Path, rate: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder / "official.yaml", official_config(rate))
    write_official_ckpt(folder / "official.ckpt", official_config(rate), seed=seed)
    return convert(folder / "official.ckpt", folder / "converted", config=config)


@pytest.fixture(scope="module", params=[40, 75])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> WavTokenizer:
    folder = converted(tmp_path_factory.mktemp(f"wavtok{request.param}"), request.param)
    return WavTokenizer(load_model(folder), folder=folder)


def chirp(seconds: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * (200 + 600 * t) * t)).astype(np.float32)


def test_tokens_per_second_and_shapes_follow_the_hop(loaded: WavTokenizer) -> None:
    """Catches a wrong frame rate (40 for hop 600, 75 for hop 320), a codes layout other than [1, frames], or a
    reconstruction that is not the clip's length at 24 kHz."""
    assert isinstance(loaded, AudioTokenizer)
    rate = 24000 / loaded.config.hop_length
    assert loaded.info.frame_rate == rate and rate in (40, 75)
    wave = chirp(1.5, 24000)
    tokens = loaded.encode(wave, 24000)
    assert tokens.codes.shape == (1, math.ceil(wave.size / loaded.config.hop_length))
    assert tokens.codes.dtype == np.int64 and tokens.sample_rate == 24000 and tokens.frame_rate == rate
    assert tokens.codes.min() >= 0 and tokens.codes.max() < loaded.config.codebook_size
    assert len(np.unique(tokens.codes)) > 1  # a real encoding, not one constant code
    audio = loaded.decode(tokens)
    assert audio.dtype == np.float32 and audio.shape == wave.shape and np.isfinite(audio).all()


def test_other_sample_rates_are_resampled_to_24k(loaded: WavTokenizer) -> None:
    """Catches encoding a 16 kHz clip as if it were 24 kHz (frames would then be too few for its duration)."""
    tokens = loaded.encode(chirp(1.0, 16000), 16000)
    assert tokens.codes.shape[1] == math.ceil(24000 / loaded.config.hop_length)
    assert loaded.decode(tokens).size == 24000


def test_encode_and_decode_are_deterministic(loaded: WavTokenizer) -> None:
    """Catches hidden randomness (dropout left on, k-means run at inference) that would change codes per run."""
    wave = chirp(0.7, 24000)
    first, second = loaded.encode(wave, 24000), loaded.encode(wave, 24000)
    assert np.array_equal(first.codes, second.codes)
    assert np.array_equal(loaded.decode(first), loaded.decode(second))


def test_long_clips_are_windowed_on_frame_boundaries(loaded: WavTokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches windows that do not start on a frame boundary (codes would drift off the waveform) and a decoder
    that drops or repeats frames between windows."""
    monkeypatch.setattr(tokenizer, "WINDOW_SECONDS", 1)
    wave = chirp(2.5, 24000)
    tokens = loaded.encode(wave, 24000)
    assert tokens.codes.shape[1] == math.ceil(wave.size / loaded.config.hop_length)
    first_window = loaded.encode(wave[:24000], 24000)
    assert np.array_equal(tokens.codes[:, : first_window.codes.shape[1]], first_window.codes)
    assert loaded.decode(tokens).shape == wave.shape


def test_codes_the_model_cannot_decode_are_input_errors(loaded: WavTokenizer) -> None:
    """Catches out-of-range or wrongly shaped codes reaching the embedding lookup (an IndexError, a 500)."""
    size = loaded.config.codebook_size
    for codes in (np.array([[size]]), np.array([[-1]]), np.zeros((2, 3), dtype=np.int64), np.zeros((1, 0))):
        with pytest.raises(MediaInputError):
            loaded.decode(AudioTokens(codes=codes, sample_rate=24000, frame_rate=loaded.info.frame_rate))
    with pytest.raises(MediaInputError):
        loaded.encode(np.zeros((2, 100), dtype=np.float32), 24000)
    with pytest.raises(MediaInputError):
        loaded.encode(np.full(100, np.nan, dtype=np.float32), 24000)


def test_silence_and_a_few_samples_encode(loaded: WavTokenizer) -> None:
    """Catches a crash on inputs shorter than the encoder's padding or on digital silence."""
    for wave in (np.zeros(24000, dtype=np.float32), chirp(0.002, 24000)):
        tokens = loaded.encode(wave, 24000)
        assert tokens.codes.shape[1] == math.ceil(wave.size / loaded.config.hop_length)
        assert loaded.decode(tokens).shape == wave.shape


def test_entry_is_not_installed_and_never_loads_without_converted_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches an entry that reports itself installed, or loads anything (random weights), with no checkpoint."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path / "store"))
    [entry] = entries.entries()
    assert entry.needs_ref and "novateur/WavTokenizer-large-speech-75token" in entry.example_refs
    status = entry.status()
    assert not status.installed and "convert" in status.install
    with pytest.raises(NotInstalledError) as refused:
        entry.load("novateur/WavTokenizer-large-unify-40token")
    assert "novateur--WavTokenizer-large-unify-40token" in refused.value.install


def test_entry_loads_an_installed_hub_id_and_an_allowed_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches an entry that looks for a hub id's converted folder somewhere else than the install steps say, or
    that cannot take a folder reference."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path / "store"))
    hub_id = "novateur/WavTokenizer-large-unify-40token"
    folder = converted(tmp_path / "build", 40)
    target = entries.installed_folder(hub_id)
    target.parent.mkdir(parents=True)
    folder.rename(target)
    [entry] = entries.entries()
    assert entry.status().installed and hub_id in entry.status().detail
    by_id = entry.load(hub_id)
    by_folder = entry.load(str(target))
    wave = chirp(0.5, 24000)
    assert by_id.info.frame_rate == 40
    assert np.array_equal(by_id.encode(wave, 24000).codes, by_folder.encode(wave, 24000).codes)
