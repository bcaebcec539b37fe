"""Audio I/O: format sniffing, decoding of every allowed format, limits and hostile files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.workers.media.audio.speech import codec2_speech
from workers.media.audio import io
from workers.media.types import MediaInputError

REPO = Path(__file__).resolve().parents[4]


def tone(seconds: float, sr: int, hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize(
    ("fmt", "subtype", "lossless"),
    [("WAV", "PCM_16", True), ("FLAC", "PCM_16", True), ("OGG", "VORBIS", False), ("MP3", "MPEG_LAYER_III", False)],
)
def test_each_allowed_format_decodes_to_the_written_speech(
    tmp_path: Path, fmt: str, subtype: str, lossless: bool
) -> None:
    """Catches a format the loader cannot read, or one decoded with a wrong scale, rate or length."""
    speech = codec2_speech()
    path = tmp_path / "clip"  # no extension: the format must come from the bytes
    sf.write(str(path), speech, 8000, format=fmt, subtype=subtype)
    loaded = io.load_audio(path)
    assert loaded.format == fmt.lower().replace("vorbis", "ogg")
    assert loaded.sample_rate == 8000 and loaded.channels == 1 and not loaded.cropped
    if lossless:
        np.testing.assert_allclose(loaded.wave, np.round(speech * 32767) / 32768, atol=1 / 32768)
    else:  # lossy codecs add delay/padding: compare the level instead of samples
        assert abs(loaded.wave.size - speech.size) < 0.1 * 8000
        rms = float(np.sqrt(np.mean(loaded.wave**2)))
        assert rms == pytest.approx(float(np.sqrt(np.mean(speech**2))), rel=0.2)


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    """Catches keeping one channel only, or summing channels (clipping) instead of averaging."""
    left, right = tone(0.5, 8000, 300), tone(0.5, 8000, 700, amp=0.25)
    sf.write(str(tmp_path / "s.wav"), np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    loaded = io.load_audio(tmp_path / "s.wav")
    assert loaded.channels == 2
    np.testing.assert_allclose(loaded.wave, (left + right) / 2, atol=1e-6)


def test_long_clip_is_cropped_to_max_seconds_and_flagged(tmp_path: Path) -> None:
    """Catches reading the whole file when only the analysed seconds are wanted, or a missing ``cropped`` flag."""
    sf.write(str(tmp_path / "l.wav"), tone(5.0, 8000), 8000)
    loaded = io.load_audio(tmp_path / "l.wav", max_seconds=1.5)
    assert loaded.wave.size == 12000 and loaded.cropped and loaded.duration_s == pytest.approx(5.0)
    assert not io.load_audio(tmp_path / "l.wav", max_seconds=5.0).cropped


def test_a_lying_extension_is_judged_by_its_bytes(tmp_path: Path) -> None:
    """Catches trusting the file name: a PNG named .wav is refused, a FLAC named .mp3 is read as FLAC."""
    Image.new("RGB", (4, 4)).save(tmp_path / "picture.wav", format="PNG")
    with pytest.raises(MediaInputError, match="not WAV, FLAC, OGG or MP3"):
        io.probe_audio(tmp_path / "picture.wav")
    sf.write(str(tmp_path / "speech.mp3"), codec2_speech(), 8000, format="FLAC")
    assert io.probe_audio(tmp_path / "speech.mp3")["format"] == "flac"


def test_sniff_format_known_headers() -> None:
    """Catches a magic-number table that misses a format or accepts a RIFF that is not WAVE (AVI)."""
    assert io.sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert io.sniff_format(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert io.sniff_format(b"fLaC\x00") == "flac"
    assert io.sniff_format(b"OggS\x00") == "ogg"
    assert io.sniff_format(b"ID3\x04") == "mp3"
    assert io.sniff_format(b"\xff\xfb\x90\x00") == "mp3"  # MPEG-1 layer III frame header
    assert io.sniff_format(b"\xff\xd8\xff\xe0") is None  # JPEG
    assert io.sniff_format(b"") is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVE" + bytes(range(256)) * 4), "corrupt or truncated"),
        (lambda p: sf.write(str(p), np.zeros(16000, np.float32), 8000), "silent"),
        (lambda p: sf.write(str(p), tone(0.05, 8000), 8000), "at least 100 ms"),
        (lambda p: sf.write(str(p), np.full(8000, np.nan, np.float32), 8000, subtype="FLOAT"), "non-finite"),
        (lambda p: sf.write(str(p), np.zeros((800, 9), np.float32), 8000), "9 channels"),
        (lambda p: sf.write(str(p), np.full(601 * 4000, 0.1, np.float32), 4000, subtype="PCM_U8"), "limit is 600 s"),
    ],
    ids=["empty", "corrupt", "silent", "too-short", "nan", "too-many-channels", "too-long"],
)
def test_hostile_files_are_refused_with_what_to_fix(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    """Catches a crash, a hang or a silent success on an empty, corrupt, silent, tiny, NaN, many-channel or overlong
    file."""
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(MediaInputError, match=message):
        io.load_audio(path)


def test_truncated_wav_is_read_up_to_where_its_data_ends(tmp_path: Path) -> None:
    """Catches a crash on a WAV whose header promises more data than the file holds (documented: read what is there)."""
    sf.write(str(tmp_path / "full.wav"), codec2_speech(), 8000)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    loaded = io.load_audio(tmp_path / "cut.wav")
    assert 0.4 * 24000 < loaded.wave.size <= 0.55 * 24000


def test_oversized_upload_is_refused_before_reading(tmp_path: Path) -> None:
    """Catches decoding a file over the upload limit (a sparse 50 MiB + 1 byte file with a valid header)."""
    path = tmp_path / "big.wav"
    sf.write(str(path), tone(1.0, 8000), 8000)
    with path.open("r+b") as handle:
        handle.truncate(io.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(MediaInputError, match="limit is 50 MiB"):
        io.probe_audio(path)


def test_probe_reads_the_header_without_torch_or_scipy(tmp_path: Path) -> None:
    """Catches probe_audio pulling heavy imports into the web process (torch, or scipy which it does not need)."""
    sf.write(str(tmp_path / "a.wav"), tone(1.0, 16000), 16000)
    script = (
        "import json, sys\nfrom workers.media.audio.io import probe_audio\n"
        f"facts = probe_audio({str(tmp_path / 'a.wav')!r})\n"
        "print(json.dumps([facts, 'torch' in sys.modules, 'scipy' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    facts, has_torch, has_scipy = json.loads(out.stdout)
    assert facts["sample_rate"] == 16000 and facts["frames"] == 16000 and facts["duration_s"] == 1.0
    assert not has_torch and not has_scipy


def test_resample_matches_the_tone_sampled_at_the_new_rate() -> None:
    """Catches swapped up/down factors or a wrong gcd reduction (the tone would change pitch or length)."""
    out = io.resample(tone(1.0, 8000), 8000, 22050)
    assert out.size == 22050 and out.dtype == np.float32
    np.testing.assert_allclose(out[500:-500], tone(1.0, 22050)[500:-500], atol=2e-3)


def test_write_wav_round_trips_16_bit(tmp_path: Path) -> None:
    """Catches a wrong scale or wrap-around instead of clipping when writing the reconstructions the browser plays."""
    wave = np.array([0.0, 0.5, -0.5, 1.2, -1.2], dtype=np.float32)
    io.write_wav(tmp_path / "w.wav", wave, 8000)
    back, sr = sf.read(str(tmp_path / "w.wav"), dtype="int16")
    assert sr == 8000 and back.tolist() == [0, 16384, -16384, 32767, -32768]


def test_waveform_peaks_by_hand() -> None:
    """Catches off-by-one spans or min/max swapped in the waveform overview."""
    wave = np.array([0.1, -0.2, 0.3, 0.4, -0.5, 0.0], dtype=np.float32)
    assert io.waveform_peaks(wave, n=3) == [[-0.2, 0.1], [0.3, 0.4], [-0.5, 0.0]]
    assert io.waveform_peaks(wave[:2], n=1000) == [[0.1, 0.1], [-0.2, -0.2]]


def test_spectrogram_puts_a_tone_at_its_frequency(tmp_path: Path) -> None:
    """Catches a flipped or mis-scaled frequency axis: a 1 kHz tone at 8 kHz must light the row at 1000/4000 height."""
    info = io.spectrogram_png(tmp_path / "s.png", tone(2.0, 8000, hz=1000.0), 8000)
    image = np.asarray(Image.open(tmp_path / "s.png")).astype(float)
    assert info["max_hz"] == 4000 and image.shape[:2] == (info["height"], info["width"])
    brightness = image.sum(axis=2).mean(axis=1)
    row_from_bottom = info["height"] - 1 - int(np.argmax(brightness))
    assert row_from_bottom == pytest.approx(1000 / 4000 * (info["height"] - 1), abs=2)


def test_a_corrupt_file_message_names_no_server_path(tmp_path: Path) -> None:
    """Catches soundfile's "Error opening '/tmp/tmpXXXX.upload.wav'" (a server path) in the 400 a user sees."""
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 16 + b"data\x00\x00\x00\x00")
    with pytest.raises(MediaInputError) as caught:
        io.probe_audio(path)
    message = str(caught.value)
    assert "corrupt or truncated" in message and str(tmp_path) not in message and "Error opening" not in message
