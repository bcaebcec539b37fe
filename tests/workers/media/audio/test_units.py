"""k-means mel units: the shipped codebooks, training, the no-pickle file format and the approximate decoder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tests.workers.media.audio.speech import codec2_speech
from workers.media.audio import units
from workers.media.audio.features import log_mel
from workers.media.audio.io import resample
from workers.media.audio.metrics import reconstruction_metrics
from workers.media.codebook_file import read_codebook, save_codebook
from workers.media.types import AudioTokenizer, AudioTokens, MediaInputError


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_codebooks_are_deterministic(default_codebooks: list[Path], tmp_path: Path) -> None:
    """Catches an unseeded build: make setup on two machines must give byte-identical codebooks."""
    assert [p.name for p in default_codebooks] == [f"kmeans-mel-{k}.npz" for k in units.DEFAULT_KS]
    again = units.train_mel_units(
        [units.read_codec2_speech(n) for n in units.DEFAULT_SPEECH],
        k=units.DEFAULT_KS[0],
        seed=units.DEFAULT_SEED,
        out_path=tmp_path / "again.npz",
        sample_rate=units.DEFAULT_SPEECH_RATE,
        training_summary=units.DEFAULT_TRAINING_SUMMARY,
    )
    assert sha(again) == sha(default_codebooks[0])


def test_codebook_file_loads_without_pickle_and_names_its_data(default_codebooks: list[Path]) -> None:
    """Catches a codebook that needs pickle to load, or a header missing the training data's hashes."""
    with np.load(default_codebooks[1], allow_pickle=False) as data:
        assert data["centroids"].shape == (256, units.N_MELS)
        header = json.loads(data["header"].tobytes())
    assert header["kind"] == units.KIND and header["params"]["k"] == 256
    first = units.read_codec2_speech(units.DEFAULT_SPEECH[0])
    clip = {"name": first.name, "sha256": units.clip_sha256(first), "sample_rate": 8000}
    assert header["training"]["clips"][0] == clip


def test_tokens_are_the_nearest_centroid_per_10_ms(default_codebooks: list[Path]) -> None:
    """Catches a frame rate other than 100/s or an assignment that is not the nearest standardised centroid."""
    tokenizer = units.load_codebook_tokenizer(default_codebooks[0])
    assert isinstance(tokenizer, AudioTokenizer) and tokenizer.info.id == "audio/kmeans-mel-64"
    speech = codec2_speech("kristoff.raw")  # 5.0 s
    tokens = tokenizer.encode(speech, 8000)
    assert tokens.codes.shape == (1, 499) and tokens.frame_rate == 100.0
    z = (log_mel(speech, 8000) - tokenizer.mean) / tokenizer.std
    brute = np.argmin(((z[:, None, :] - tokenizer.centroids[None]) ** 2).sum(-1), axis=1)
    assert np.array_equal(tokens.codes[0], brute)


def test_decoder_follows_the_units(default_codebooks: list[Path]) -> None:
    """Catches a decoder that ignores the codes: the true sequence must reconstruct closer (mel distance) than the
    same codes reversed, and keep the clip's length."""
    tokenizer = units.load_codebook_tokenizer(default_codebooks[1])
    speech = codec2_speech("hts2a.raw")
    tokens = tokenizer.encode(speech, 8000)
    decoded = tokenizer.decode(tokens)
    assert decoded.size == speech.size and np.all(np.isfinite(decoded))
    reversed_tokens = AudioTokens(codes=tokens.codes[:, ::-1].copy(), sample_rate=8000, frame_rate=100.0)
    true = reconstruction_metrics(speech, 8000, decoded, 8000)["mel_distance"]
    wrong = reconstruction_metrics(speech, 8000, tokenizer.decode(reversed_tokens), 8000)["mel_distance"]
    assert true < wrong - 2.0


def test_decoder_renders_the_centroids_at_their_level(default_codebooks: list[Path]) -> None:
    """Catches a Griffin-Lim or mel-inversion that loses level or shape: the decoded clip's log-mel frames must be
    within 1.5 dB (mean absolute, all bands) of the centroid frames it was asked to render."""
    tokenizer = units.load_codebook_tokenizer(default_codebooks[1])
    tokens = tokenizer.encode(codec2_speech("kristoff.raw"), 8000)
    wanted = tokenizer.centroids[tokens.codes[0]] * tokenizer.std + tokenizer.mean
    rendered = log_mel(tokenizer.decode(tokens), 8000).astype(np.float64)[: len(wanted)]
    assert np.mean(np.abs(rendered - wanted)) * 10 / np.log(10) < 1.5


def test_training_rate_is_the_clips_lowest_at_most_16k(tmp_path: Path) -> None:
    """Catches training 8 kHz speech at 16 kHz: the empty 4-8 kHz bands would then decide every wideband token."""
    speech8 = units.TrainingClip(name="a", wave=codec2_speech(), sample_rate=8000)
    speech44 = units.TrainingClip(name="b", wave=resample(codec2_speech("hts2a.raw"), 8000, 44100), sample_rate=44100)
    for clips, rate in (([speech8, speech44], 8000), ([speech44], 16000)):
        path = units.train_mel_units(clips, k=8, seed=0, out_path=tmp_path / f"{rate}.npz")
        assert units.load_codebook_tokenizer(path).sample_rate == rate


def test_training_on_too_little_audio_is_refused(tmp_path: Path) -> None:
    """Catches k-means crashing (or silently shrinking k) when there are fewer frames than units."""
    clip = units.TrainingClip(name="short", wave=codec2_speech()[:800], sample_rate=8000)
    with pytest.raises(MediaInputError, match="cannot train 64 units"):
        units.train_mel_units([clip], k=64, seed=0, out_path=tmp_path / "x.npz")


def test_a_codebook_of_another_kind_or_shape_is_refused(tmp_path: Path, default_codebooks: list[Path]) -> None:
    """Catches loading any codebook file as mel units (an image codebook, or one whose arrays disagree with its
    params, would give nonsense tokens or crash), and an id outside the audio namespace."""
    centroids = np.zeros((4, 192), np.float32)
    save_codebook(tmp_path / "image.npz", kind="image-kmeans-patch", params={}, training={}, arrays={"c": centroids})
    with pytest.raises(MediaInputError, match="not a audio-kmeans-mel codebook"):
        units.load_codebook_tokenizer(tmp_path / "image.npz")
    header, arrays = read_codebook(default_codebooks[0], kind_prefix=units.KIND)
    arrays["centroids"] = arrays["centroids"][:10]
    save_codebook(tmp_path / "cut.npz", kind=units.KIND, params=header["params"], training={}, arrays=arrays)
    with pytest.raises(MediaInputError, match="shape"):
        units.load_codebook_tokenizer(tmp_path / "cut.npz")
    with pytest.raises(MediaInputError, match="not an audio tokenizer id"):
        units.load_codebook_tokenizer(default_codebooks[0], tokenizer_id="image/kmeans-patch-256")
    team = units.load_codebook_tokenizer(default_codebooks[0], tokenizer_id="audio/codebook-1234")
    assert team.info.id == "audio/codebook-1234"
