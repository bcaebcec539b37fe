"""transformers' audio codecs behind the AudioTokenizer protocol. Every checkpoint here is a TINY configuration with
RANDOM weights built in a tmp folder (tests/workers/media/hf/tiny.py): the tests check plumbing (shapes, rates, axes,
the same codes as calling transformers directly, determinism, loading rules), never audio quality."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.workers.media.hf.tiny import MODEL_CLASSES, RATE, save_audio_codec
from workers.media.audio.io import resample
from workers.media.hf.audio_codecs import load_audio_codec
from workers.media.types import AudioTokenizer, MediaInputError, NotInstalledError

KINDS = ("encodec", "dac", "mimi", "xcodec")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {kind: save_audio_codec(tmp_path_factory.mktemp(kind), kind) for kind in KINDS}


def _speechlike(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.05, t.size)
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2 + noise).astype(np.float32)


def _direct_codes(folder: Path, kind: str, wave: np.ndarray, n_codebooks: int) -> np.ndarray:
    """What transformers' own feature extractor and model give, called as their documentation shows."""
    import torch
    import transformers as t

    model = getattr(t, MODEL_CLASSES[kind]).from_pretrained(folder).eval()
    extractor: Any
    if kind in ("dac", "xcodec"):
        extractor = t.DacFeatureExtractor(sampling_rate=RATE, hop_length=8)
    else:
        extractor = t.EncodecFeatureExtractor(feature_size=1, sampling_rate=RATE)
    values = extractor(wave, sampling_rate=RATE, return_tensors="pt")["input_values"]
    with torch.inference_mode():
        if kind == "encodec":
            codes = model.encode(values, bandwidth={1: 2.0, 2: 4.0, 4: 8.0}[n_codebooks]).audio_codes[0, 0]
        elif kind == "dac":
            codes = model.encode(values, n_quantizers=n_codebooks).audio_codes[0]
        elif kind == "mimi":
            codes = model.encode(values, num_quantizers=n_codebooks).audio_codes[0]
        else:
            codes = model.encode(values, bandwidth={1: 4.0, 2: 8.0}[n_codebooks]).audio_codes[0]
    return codes.numpy()


@pytest.mark.parametrize(("kind", "n_codebooks"), [("encodec", 2), ("dac", 2), ("mimi", 3), ("xcodec", 2)])
def test_codes_equal_transformers_called_directly(folders: dict[str, Path], kind: str, n_codebooks: int) -> None:
    """Catches a wrong preprocessing (no padding to whole frames for DAC/X-Codec, a wrong scale), a transposed
    [frames, codebooks] axis or a wrong quantizer depth: our codes must equal transformers' own call, value for
    value (random tiny weights)."""
    wave = _speechlike(0.3, RATE)
    codec = load_audio_codec(str(folders[kind]), n_codebooks=n_codebooks)
    assert isinstance(codec, AudioTokenizer)
    tokens = codec.encode(wave, RATE)
    expected = _direct_codes(folders[kind], kind, wave, n_codebooks)
    assert tokens.codes.dtype == np.int64
    assert tokens.codes.shape == expected.shape
    assert tokens.codes.shape[0] == n_codebooks
    np.testing.assert_array_equal(tokens.codes, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_rates_bitrate_and_frames(folders: dict[str, Path], kind: str) -> None:
    """Catches a frame rate taken from the wrong field (Mimi's frames are its encoder's downsampled twice), a bitrate
    off the formula frame rate x codebooks x log2 V, or a frame count that does not match the clip's length."""
    codec = load_audio_codec(str(folders[kind]))
    hop = {"encodec": 16, "dac": 8, "mimi": 32, "xcodec": 8}[kind]
    assert codec.info.sample_rate == RATE
    assert codec.info.frame_rate == pytest.approx(RATE / hop)
    assert codec.bitrate_bps == pytest.approx(RATE / hop * codec.n_codebooks * math.log2(16))
    assert codec.info.codebook_sizes == (16,) * codec.n_codebooks
    tokens = codec.encode(_speechlike(0.25, RATE), RATE)
    assert tokens.frame_rate == codec.info.frame_rate
    # 2000 samples: one frame per hop, a partial last one counted (Mimi: 62.5), plus the one frame X-Codec's
    # centred semantic features add
    assert tokens.codes.shape == (codec.n_codebooks, math.ceil(2000 / hop) + (1 if kind == "xcodec" else 0))
    assert tokens.extra["bitrate_bps"] == codec.bitrate_bps
    json.dumps(tokens.extra)  # the pipeline stores it in the job result


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_is_deterministic_and_as_long_as_the_input(folders: dict[str, Path], kind: str) -> None:
    """Catches a decode that returns the padded length (a clip that grows on every round trip), a non-mono or
    non-float32 output, or any randomness left in encode/decode (dropout, training mode)."""
    codec = load_audio_codec(str(folders[kind]))
    wave = _speechlike(0.2, RATE, seed=1)[:1597]  # not a whole number of frames
    first, second = codec.encode(wave, RATE), codec.encode(wave, RATE)
    np.testing.assert_array_equal(first.codes, second.codes)
    out = codec.decode(first)
    assert out.dtype == np.float32 and out.ndim == 1
    assert out.shape == (1597,)
    np.testing.assert_array_equal(out, codec.decode(second))


def test_input_is_resampled_to_the_codec_rate(folders: dict[str, Path]) -> None:
    """Catches a tokenizer that feeds a 16 kHz clip to an 8 kHz model as is (double-length, wrong-pitch codes): the
    codes of a 16 kHz clip equal those of the same clip resampled to 8 kHz first."""
    codec = load_audio_codec(str(folders["dac"]))
    wave16 = _speechlike(0.2, 16000, seed=2)
    tokens = codec.encode(wave16, 16000)
    np.testing.assert_array_equal(tokens.codes, codec.encode(resample(wave16, 16000, RATE), RATE).codes)
    assert tokens.extra["n_samples"] == 1600
    assert codec.decode(tokens).shape == (1600,)


def test_quantizer_depth_is_a_parameter_and_checked(folders: dict[str, Path]) -> None:
    """Catches an n_codebooks that is silently ignored or accepted beyond what the model has (EnCodec only offers
    the depths of its target bandwidths)."""
    assert (
        load_audio_codec(str(folders["encodec"]), n_codebooks=4).encode(_speechlike(0.1, RATE), RATE).codes.shape[0]
        == 4
    )
    assert load_audio_codec(str(folders["encodec"])).n_codebooks == 4  # the largest depth up to 8 (6 kbit/s at 24 kHz)
    with pytest.raises(MediaInputError, match="1, 2, 4"):
        load_audio_codec(str(folders["encodec"]), n_codebooks=3)
    with pytest.raises(MediaInputError):
        load_audio_codec(str(folders["dac"]), n_codebooks=4)


def test_bad_codes_and_inputs_are_refused(folders: dict[str, Path]) -> None:
    """Catches out-of-range codes reaching an embedding lookup (an IndexError, a 500) and stereo or empty input
    reaching the model."""
    codec = load_audio_codec(str(folders["dac"]))
    tokens = codec.encode(_speechlike(0.1, RATE), RATE)
    tokens.codes = tokens.codes + 16
    with pytest.raises(MediaInputError, match=r"\[0, 16\)"):
        codec.decode(tokens)
    with pytest.raises(MediaInputError):
        codec.encode(np.zeros((2, 800), np.float32), RATE)
    with pytest.raises(MediaInputError):
        codec.encode(np.zeros(0, np.float32), RATE)


def test_pickle_only_folder_is_refused(tmp_path: Path) -> None:
    """Catches a loader that falls back to pytorch_model.bin (pickle can run code when loaded)."""
    import torch
    import transformers as t

    from tests.workers.media.hf.tiny import audio_config

    model = t.DacModel(audio_config("dac"))
    model.config.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(MediaInputError, match="pickle"):
        load_audio_codec(str(tmp_path))


def test_unknown_model_type_is_refused(tmp_path: Path) -> None:
    """Catches a loader that builds whatever architecture a config names (AutoModel) instead of the allow-list."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(MediaInputError, match="loads only encodec, dac, mimi, xcodec"):
        load_audio_codec(str(tmp_path))


def test_remote_code_is_never_imported(folders: dict[str, Path], tmp_path: Path) -> None:
    """Catches a loader that honours ``auto_map`` (importing Python from the checkpoint): the folder's module would
    write a marker file when imported; the codec loads from transformers' own class and the marker never appears.
    A sub-config naming an unknown model type is refused."""
    import shutil

    folder = tmp_path / "evil"
    shutil.copytree(folders["dac"], folder)
    marker = tmp_path / "imported"
    (folder / "evil_codec.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil_codec.EvilModel", "AutoConfig": "evil_codec.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    codec = load_audio_codec(str(folder))
    assert type(codec.model).__name__ == "DacModel"
    assert not marker.exists()

    nested = tmp_path / "nested"
    shutil.copytree(folders["xcodec"], nested)
    config = json.loads((nested / "config.json").read_text())
    config["semantic_model_config"]["model_type"] = "evil_semantic"
    (nested / "config.json").write_text(json.dumps(config))
    with pytest.raises(MediaInputError, match="evil_semantic"):
        load_audio_codec(str(nested))


def test_chunked_stereo_encodec_is_refused_clearly(tmp_path: Path) -> None:
    """Catches the 48 kHz EnCodec (stereo, overlapping chunks with per-chunk scales) being run through the mono path,
    where its codes would not be [codebooks, frames] in time order."""
    config = {"model_type": "encodec", "audio_channels": 2, "chunk_length_s": 1.0, "overlap": 0.01}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(MediaInputError, match="48 kHz"):
        load_audio_codec(str(tmp_path))


def test_hub_id_without_a_hub_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Catches a loader that waits on the hub client's retries (tens of seconds) when the hub cannot be reached: an
    uncached hub id is 'not installed', with how to install it, at once."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(NotInstalledError) as caught:
        load_audio_codec("facebook/encodec_24khz")
    assert time.monotonic() - started < 5
    assert "TOKENSCOPE_ALLOWED_MODEL_ROOTS" in caught.value.install
    with pytest.raises(MediaInputError):
        load_audio_codec("not a ref")


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [
        ("encodec", {}, (24000, 75.0, 8, 6000.0)),  # facebook/encodec_24khz at 6 kbit/s
        ("dac", {"downsampling_ratios": [2, 4, 5, 8], "n_codebooks": 12}, (16000, 50.0, 12, 6000.0)),  # dac_16khz
        ("mimi", {}, (24000, 12.5, 8, 1100.0)),  # kyutai/mimi as Moshi uses it (8 of 32 codebooks)
        ("xcodec", {}, (16000, 50.0, 8, 4000.0)),  # X-Codec at its top bandwidth, 4 kbit/s
    ],
)
def test_published_shapes_give_the_published_rates(kind: str, config: dict[str, Any], expected: tuple) -> None:
    """Catches a frame rate, default depth or bitrate off the published numbers for the real models' shapes
    (transformers' default configs; the model is built on the meta device: no weights at all, only the shapes)."""
    import torch
    import transformers as t

    from workers.media.hf.audio_codecs import ARCHS, HFAudioCodec

    arch = ARCHS[kind]
    with torch.device("meta"):
        model = getattr(t, arch.model_class)(getattr(t, arch.config_class)(**config))
    codec = HFAudioCodec(model=model, arch=arch, ref="owner/name")
    assert (codec.sample_rate, codec.frame_rate, codec.n_codebooks, codec.bitrate_bps) == expected


@pytest.mark.parametrize("kind", ["encodec", "xcodec"])
def test_long_clips_are_encoded_in_windows_decode_cuts_them_back(
    folders: dict[str, Path], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a long clip sent to the model in one call (X-Codec's attention memory grows with the square of its
    frames) and a decode that does not cut the codes where encode did (X-Codec adds a frame per window): with
    10 ms windows, each window's codes equal that window encoded alone, and the round trip keeps the length."""
    monkeypatch.setattr("workers.media.hf.audio_codecs.WINDOW_SECONDS", 0.01)
    codec = load_audio_codec(str(folders[kind]))
    step = codec.window_samples()
    assert step == 80  # 10 ms at 8 kHz, a whole number of frames
    wave = _speechlike(0.05, RATE, seed=3)[:390]  # 4 whole windows and a 70-sample tail
    tokens = codec.encode(wave, RATE)
    windows = tokens.extra["windows"]
    assert [w["samples"] for w in windows] == [80, 80, 80, 80, 70]
    first = windows[0]["frames"]
    np.testing.assert_array_equal(tokens.codes[:, :first], codec.encode(wave[:80], RATE).codes)
    assert tokens.codes.shape[1] == sum(w["frames"] for w in windows)
    assert codec.decode(tokens).shape == (390,)
