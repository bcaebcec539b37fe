"""Reading, checking and writing audio for every audio tokenizer; the limits are the constants below.

Strangers' files are hostile: the format is sniffed from the first bytes (never the extension), the header is
checked before anything is decoded, only the frames analysed are read, and every refusal is a MediaInputError
saying what to fix. ``probe_audio`` reads the header only and imports nothing heavier than soundfile (the web
process calls it on upload).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.media.types import MediaInputError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # the upload limit (the app also stops the stream there)
MAX_DURATION_S = 600.0  # longer clips are refused at probe time
DEFAULT_ANALYSIS_S = 60.0  # a job analyses the first this many seconds unless asked for up to MAX_DURATION_S
MIN_DURATION_S = 0.1  # the shortest clip every tokenizer here can frame (Codec2 700C needs 40 ms)
MAX_CHANNELS = 8  # a header claiming more is refused before decoding (memory is frames x channels)
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 192_000
SILENCE_PEAK = 10 ** (-80 / 20)  # a clip whose analysed part never rises above -80 dBFS is "silent"
READ_BLOCK_FRAMES = 65_536  # decode in blocks and downmix each, so memory holds mono samples only

# What each allowed format starts with; anything else is refused whatever its name says.
ALLOWED_FORMATS = ("wav", "flac", "ogg", "mp3")


@dataclass(frozen=True)
class LoadedAudio:
    wave: np.ndarray  # float32 mono in [-1, 1], the analysed part only
    sample_rate: int
    duration_s: float  # of the whole file (the header's length)
    channels: int  # in the file (the wave is their mean)
    format: str  # one of ALLOWED_FORMATS
    cropped: bool  # True when only the first ``max_seconds`` were read

    @property
    def analysed_s(self) -> float:
        return self.wave.size / self.sample_rate


def sniff_format(head: bytes) -> str | None:
    """The audio format the first bytes announce, or None. WAV may be RIFF or RF64 (its 64-bit variant)."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    # An MPEG audio frame header: 11 sync bits, a version other than "reserved", layer III.
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and ((head[1] >> 1) & 0x3) == 0x1:
        return "mp3"
    return None


def _reason(exc: Exception) -> str:
    """libsndfile's own words without soundfile's "Error opening '<server path>': " prefix (no server paths in
    messages users see)."""
    reason = getattr(exc, "error_string", None)
    return reason if isinstance(reason, str) and reason else type(exc).__name__


def probe_audio(path: str | Path) -> dict:
    """The header's facts (format, sample_rate, channels, frames, duration_s, subtype, size_bytes) after every
    check that needs no decoding; raises MediaInputError for a file the product refuses."""
    import soundfile as sf

    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaInputError("The audio file is empty: upload a WAV, FLAC, OGG or MP3 file.")
    if size > MAX_UPLOAD_BYTES:
        raise MediaInputError(
            f"The audio file is {size / 2**20:.1f} MiB; the limit is {MAX_UPLOAD_BYTES // 2**20} MiB: "
            "trim it or compress it (FLAC, OGG or MP3)."
        )
    with path.open("rb") as handle:
        fmt = sniff_format(handle.read(16))
    if fmt is None:
        raise MediaInputError(
            "The file is not WAV, FLAC, OGG or MP3 audio (its first bytes say so, whatever its name): "
            "convert it to one of those."
        )
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaInputError(
            f"The {fmt.upper()} file cannot be read ({_reason(exc)}): it is corrupt or truncated; export it again."
        ) from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise MediaInputError(f"The {fmt.upper()} file holds no audio samples: export it again.")
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise MediaInputError(
            f"The sample rate {info.samplerate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz: resample it."
        )
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise MediaInputError(f"The file has {info.channels} channels; at most {MAX_CHANNELS} are read: mix it down.")
    duration = info.frames / info.samplerate
    if duration > MAX_DURATION_S:
        raise MediaInputError(
            f"The clip is {duration:.1f} s long; the limit is {MAX_DURATION_S:.0f} s: trim it to the part to analyse."
        )
    if duration < MIN_DURATION_S:
        raise MediaInputError(f"The clip is {duration * 1000:.0f} ms long; at least {MIN_DURATION_S * 1000:.0f} ms.")
    return {
        "format": fmt,
        "sample_rate": int(info.samplerate),
        "channels": int(info.channels),
        "frames": int(info.frames),
        "duration_s": duration,
        "subtype": str(info.subtype),
        "size_bytes": size,
    }


def load_audio(path: str | Path, *, max_seconds: float = DEFAULT_ANALYSIS_S) -> LoadedAudio:
    """The first ``max_seconds`` of the file as float32 mono at its own rate (channels averaged).

    A file whose data ends before its header says (truncated) is read up to where the data ends; one that yields
    no samples, or only silence, is refused."""
    import soundfile as sf

    if not 0 < max_seconds <= MAX_DURATION_S:
        raise MediaInputError(f"max_seconds must be in (0, {MAX_DURATION_S:.0f}]; it was {max_seconds}.")
    facts = probe_audio(path)
    sample_rate = facts["sample_rate"]
    wanted = min(facts["frames"], math.ceil(max_seconds * sample_rate))
    blocks: list[np.ndarray] = []
    try:
        with sf.SoundFile(str(path)) as handle:
            remaining = wanted
            while remaining > 0:
                block = handle.read(min(READ_BLOCK_FRAMES, remaining), dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                blocks.append(block.mean(axis=1, dtype=np.float32))
                remaining -= block.shape[0]
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaInputError(
            f"The {facts['format'].upper()} file cannot be decoded ({_reason(exc)}): it is corrupt or truncated; export it again."
        ) from exc
    wave = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    if wave.size < MIN_DURATION_S * sample_rate:
        raise MediaInputError(
            f"The {facts['format'].upper()} file decodes to {wave.size} samples: it is truncated or corrupt; "
            "export it again."
        )
    if not np.all(np.isfinite(wave)):
        raise MediaInputError("The file decodes to non-finite samples (NaN or infinity): export it as PCM.")
    wave = np.clip(wave, -1.0, 1.0)
    if float(np.max(np.abs(wave))) < SILENCE_PEAK:
        raise MediaInputError(
            f"The first {wave.size / sample_rate:.1f} s are silent (below -80 dBFS): upload a clip with sound in it."
        )
    return LoadedAudio(
        wave=wave,
        sample_rate=sample_rate,
        duration_s=facts["duration_s"],
        channels=facts["channels"],
        format=facts["format"],
        cropped=wanted < facts["frames"],
    )


def resample(wave: np.ndarray, from_sr: int, to_sr: int) -> np.ndarray:
    """Polyphase resampling (scipy's resample_poly, Kaiser-windowed FIR) to ``to_sr``; float32."""
    x = np.asarray(wave, dtype=np.float32)
    if from_sr == to_sr:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(int(from_sr), int(to_sr))
    return resample_poly(x, int(to_sr) // g, int(from_sr) // g).astype(np.float32)


def to_int16(wave: np.ndarray) -> np.ndarray:
    """float in [-1, 1] to int16 PCM, the input every C codec here takes: x 32768 (the exact inverse of the
    usual int16 / 32768), rounded, clipped to -32768..32767."""
    return np.clip(np.round(np.asarray(wave, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int) -> Path:
    """16-bit PCM mono WAV (what every browser plays)."""
    import soundfile as sf

    path = Path(path)
    sf.write(str(path), to_int16(wave), int(sample_rate), subtype="PCM_16", format="WAV")
    return path


def waveform_peaks(wave: np.ndarray, n: int = 1000) -> list[list[float]]:
    """[[min, max], ...] over ``n`` equal spans of the wave (fewer when it has fewer samples), for drawing."""
    x = np.asarray(wave, dtype=np.float32)
    if x.size == 0:
        return []
    n = max(1, min(n, x.size))
    edges = np.linspace(0, x.size, n + 1).astype(np.int64)
    lows = np.minimum.reduceat(x, edges[:-1])
    highs = np.maximum.reduceat(x, edges[:-1])
    return [[round(float(lo), 4), round(float(hi), 4)] for lo, hi in zip(lows, highs, strict=True)]


# Anchors of a perceptually ordered dark-to-bright colormap (viridis' endpoints and quartiles), interpolated.
_COLORMAP_ANCHORS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)
SPECTROGRAM_MAX_COLUMNS = 1200
SPECTROGRAM_FLOOR_DB = -80.0


def spectrogram_image(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """uint8 [n_bins, n_columns, 3]: the power spectrogram in dB (0 dB = its maximum, floored at -80 dB),
    low frequencies at the bottom, 0..Nyquist, at most SPECTROGRAM_MAX_COLUMNS columns spread over the clip."""
    x = np.asarray(wave, dtype=np.float64)
    n_fft = 1 << (round(0.032 * sample_rate) - 1).bit_length()
    x = np.pad(x, (0, max(0, n_fft - x.size)))
    hop = max(n_fft // 4, math.ceil((x.size - n_fft + 1) / SPECTROGRAM_MAX_COLUMNS))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    db = 10 * np.log10(np.maximum(power, 1e-20))
    level = np.clip((db - db.max() - SPECTROGRAM_FLOOR_DB) / -SPECTROGRAM_FLOOR_DB, 0.0, 1.0)
    pos = level.T[::-1] * (len(_COLORMAP_ANCHORS) - 1)
    lo = np.floor(pos).astype(np.int64).clip(0, len(_COLORMAP_ANCHORS) - 2)
    frac = (pos - lo)[..., None]
    rgb = _COLORMAP_ANCHORS[lo] * (1 - frac) + _COLORMAP_ANCHORS[lo + 1] * frac
    return np.round(rgb).astype(np.uint8)


def spectrogram_png(path: str | Path, wave: np.ndarray, sample_rate: int) -> dict:
    """Writes the spectrogram as a PNG; returns {"max_hz", "width", "height"} for the view's axes."""
    from PIL import Image

    image = spectrogram_image(wave, sample_rate)
    Image.fromarray(image).save(Path(path), format="PNG")
    return {"max_hz": sample_rate / 2, "width": int(image.shape[1]), "height": int(image.shape[0])}
