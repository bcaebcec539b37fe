"""k-means units over log-mel frames: a codebook trained here, one token per 10 ms frame.

Features: 40-band natural-log mel energies (workers.media.audio.features; 25 ms Hann window, 10 ms hop) at the
codebook's sample rate, standardised per band with the training data's mean and standard deviation; each frame's
token is its nearest centroid (Euclidean). 100 tokens per second; log2(k) bits per token.

Decoder (approximate, labelled so): each token's centroid, un-standardised, is a log-mel frame; mel power goes
back to a linear power spectrum through the filterbank's pseudo-inverse (negative values clipped), and
Griffin-Lim (32 iterations, phases started from a fixed seed) finds a waveform with that magnitude. It is a
rendering of the units, not a codec: expect buzzy, smeared speech.

Codebook file: the shared format of workers.media.codebook_file (an ``.npz`` of numeric arrays, read defensively,
never pickle) of kind ``audio-kmeans-mel``: ``centroids`` [k, n_mels], ``mean`` and ``std`` [n_mels]; the header's
params hold k, seed, sample rate, n_mels and the tokenizer id, its training record each clip's name and the sha256
of its float32 samples.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.media.audio.features import frame_sizes, log_mel, mel_filterbank
from workers.media.audio.io import resample
from workers.media.codebook_file import read_codebook, require_array, require_int, save_codebook, sha256_file
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo

KIND = "audio-kmeans-mel"
ID_PREFIX = "audio/kmeans-mel-"  # the shipped codebooks; a team codebook gets the app's id (audio/codebook-<job>)
ID_PATTERN = re.compile(r"audio/[A-Za-z0-9._-]{1,100}")
N_MELS = 40
MAX_SAMPLE_RATE = 16000  # the rate a codebook is trained at: its clips' lowest rate, at most this
MIN_STD = 0.1  # per-band floor of the standardisation (natural-log units): a near-constant band cannot dominate
MAX_TRAINING_FRAMES = 200_000  # about 33 minutes of audio; more is subsampled (seeded)
MIN_K, MAX_K = 2, 4096
GRIFFIN_LIM_ITERATIONS = 32
GRIFFIN_LIM_SEED = 0

# The default codebooks: real speech from Debian's codec2-examples (8 kHz, 16-bit raw), about 60 s in all.
SPEECH_DIR = Path("/usr/share/codec2/raw")
DEFAULT_SPEECH = (
    "hts1a.raw",
    "hts2a.raw",
    "big_dog.raw",
    "kristoff.raw",
    "mmt1.raw",
    "morig.raw",
    "forig.raw",
    "g3plx.raw",
    "vk5qi.raw",
    "cq_ref.raw",
    "ve9qrp_10s.raw",
)
DEFAULT_SPEECH_RATE = 8000
DEFAULT_TRAINING_SUMMARY = f"{len(DEFAULT_SPEECH)} codec2-examples speech recordings (8 kHz, 59 s)"
DEFAULT_KS = (64, 256)
DEFAULT_SEED = 0

Report = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainingClip:
    name: str
    wave: np.ndarray  # float32 mono
    sample_rate: int


def default_codebook_path(store: Path, k: int) -> Path:
    return store / "audio" / f"kmeans-mel-{k}.npz"


def read_codec2_speech(name: str) -> TrainingClip:
    """One of codec2-examples' raw recordings (8 kHz, signed 16-bit little-endian) as a clip."""
    pcm = np.fromfile(SPEECH_DIR / name, dtype="<i2")
    return TrainingClip(name=name, wave=(pcm / 32768.0).astype(np.float32), sample_rate=DEFAULT_SPEECH_RATE)


def clip_sha256(clip: TrainingClip) -> str:
    return hashlib.sha256(np.ascontiguousarray(clip.wave, dtype=np.float32).tobytes()).hexdigest()


def train_mel_units(
    clips: Sequence[TrainingClip],
    *,
    k: int,
    seed: int,
    out_path: Path,
    sample_rate: int | None = None,
    tokenizer_id: str | None = None,
    training_summary: str | None = None,
    report: Report | None = None,
) -> Path:
    """Trains a k-means codebook on the clips' log-mel frames and writes it to ``out_path``; returns the path."""
    from sklearn.cluster import KMeans

    if not MIN_K <= k <= MAX_K:
        raise MediaInputError(f"k must be in {MIN_K}..{MAX_K}; it was {k}.")
    if not clips:
        raise MediaInputError("Training k-means units needs at least one clip.")
    # The clips' lowest rate: above it some clips have no energy, and those bands would only measure that.
    sample_rate = sample_rate or min(MAX_SAMPLE_RATE, *(c.sample_rate for c in clips))
    say = report or (lambda _progress, _message: None)
    say(0.0, f"log-mel features of {len(clips)} clips")
    feats = np.concatenate(
        [log_mel(resample(c.wave, c.sample_rate, sample_rate), sample_rate, n_mels=N_MELS) for c in clips]
    )
    if feats.shape[0] < k:
        raise MediaInputError(
            f"{feats.shape[0]} frames ({feats.shape[0] / 100:.1f} s) cannot train {k} units: add audio."
        )
    rng = np.random.default_rng(seed)
    if feats.shape[0] > MAX_TRAINING_FRAMES:
        feats = feats[np.sort(rng.choice(feats.shape[0], MAX_TRAINING_FRAMES, replace=False))]
    mean = feats.mean(axis=0)
    std = np.maximum(feats.std(axis=0), MIN_STD)
    say(0.3, f"k-means with k={k} on {feats.shape[0]} frames")
    model = KMeans(n_clusters=k, n_init=1, random_state=seed, max_iter=100).fit((feats - mean) / std)
    save_codebook(
        out_path,
        kind=KIND,
        params={
            "k": k,
            "seed": seed,
            "sample_rate": sample_rate,
            "n_mels": N_MELS,
            "frames": int(feats.shape[0]),
            "inertia": float(model.inertia_),
            "tokenizer_id": tokenizer_id or f"{ID_PREFIX}{k}",
        },
        training={
            "summary": training_summary
            or f"{len(clips)} clips ({', '.join(c.name for c in clips[:3])}{', ...' if len(clips) > 3 else ''})",
            "clips": [{"name": c.name, "sha256": clip_sha256(c), "sample_rate": c.sample_rate} for c in clips],
        },
        arrays={
            "centroids": model.cluster_centers_.astype(np.float32),
            "mean": mean.astype(np.float32),
            "std": std.astype(np.float32),
        },
    )
    say(1.0, f"saved {out_path.name}")
    return out_path


def prepare_defaults(store: Path) -> list[Path]:
    """The shipped codebooks (k in DEFAULT_KS) from codec2-examples speech; deterministic, a few seconds."""
    clips = [read_codec2_speech(name) for name in DEFAULT_SPEECH]
    return [
        train_mel_units(
            clips,
            k=k,
            seed=DEFAULT_SEED,
            out_path=default_codebook_path(store, k),
            sample_rate=DEFAULT_SPEECH_RATE,
            training_summary=DEFAULT_TRAINING_SUMMARY,
        )
        for k in DEFAULT_KS
    ]


def make_info(tokenizer_id: str, k: int, sample_rate: int, training: str) -> MediaTokenizerInfo:
    return MediaTokenizerInfo(
        id=tokenizer_id,
        modality="audio",
        family="classical",
        label=f"k-means mel units (k={k})",
        description=(
            f"{k} k-means units over 40-band log-mel frames at {sample_rate} Hz: one token per 10 ms, 100 tokens/s, "
            f"{np.log2(k):.0f} bits per token. Trained on {training}. The decoder is approximate (centroid "
            "log-mel frames inverted with Griffin-Lim): it shows what the units keep, it is not a codec."
        ),
        layout="strip",
        has_decoder=True,
        codebook_sizes=(k,),
        sample_rate=sample_rate,
        frame_rate=100.0,
        source="k-means (scikit-learn) trained here",
        licence="codebook built from the training data named in its header",
    )


class MelUnitsTokenizer:
    def __init__(self, path: Path, *, tokenizer_id: str | None = None) -> None:
        self.path = path
        self.source_files = [path]  # the manifest records their sha256
        self.header, arrays = read_codebook(path, kind_prefix=KIND)
        params = self.header["params"]
        k = require_int(params, "k", low=MIN_K, high=MAX_K)
        n_mels = require_int(params, "n_mels", low=1, high=128)
        self.sample_rate = require_int(params, "sample_rate", low=4000, high=192_000)
        self.centroids = require_array(arrays, "centroids", (k, n_mels), max_abs=1e4).astype(np.float64)
        self.mean = require_array(arrays, "mean", (n_mels,), max_abs=100.0).astype(np.float64)
        self.std = require_array(arrays, "std", (n_mels,), max_abs=100.0).astype(np.float64)
        if np.any(self.std <= 0):
            raise MediaInputError(f"{path.name}: the codebook's std must be positive.")
        name = tokenizer_id or str(params.get("tokenizer_id", ""))
        if not ID_PATTERN.fullmatch(name):
            raise MediaInputError(f"{path.name}: {name!r} is not an audio tokenizer id (audio/<letters, digits, ._->).")
        summary = str(self.header["training"].get("summary", "data named in the codebook file"))
        self.info = make_info(name, k, self.sample_rate, summary)

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        x = resample(wave, sample_rate, self.sample_rate)
        if x.size == 0:
            raise MediaInputError("k-means units need at least one sample.")
        z = (log_mel(x, self.sample_rate, n_mels=self.centroids.shape[1]) - self.mean) / self.std
        # Squared distances without the [n, k, d] intermediate: |z|^2 - 2 z.c + |c|^2.
        dist = (z**2).sum(1)[:, None] - 2 * z @ self.centroids.T + (self.centroids**2).sum(1)[None, :]
        return AudioTokens(
            codes=np.argmin(dist, axis=1).astype(np.int64)[None, :],
            sample_rate=self.sample_rate,
            frame_rate=100.0,
            extra={"n_samples": int(x.size), "codebook_sha256": sha256_file(self.path)},
        )

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        codes = np.asarray(tokens.codes, dtype=np.int64)
        k = self.centroids.shape[0]
        if codes.ndim != 2 or codes.shape[0] != 1 or codes.size == 0 or codes.min() < 0 or codes.max() >= k:
            raise MediaInputError(f"k-means unit codes must be [1, n >= 1] in 0..{k - 1}.")
        log_mel_frames = self.centroids[codes[0]] * self.std + self.mean
        win, hop, n_fft = frame_sizes(self.sample_rate)
        fb = mel_filterbank(self.sample_rate, n_fft, self.centroids.shape[1])
        power = np.maximum(np.exp(log_mel_frames) @ np.linalg.pinv(fb).T, 0.0)
        wave = griffin_lim(np.sqrt(power), win=win, hop=hop, n_fft=n_fft)
        n = int(tokens.extra.get("n_samples", wave.size))
        return np.pad(wave, (0, max(0, n - wave.size)))[:n].astype(np.float32)


def _stft(x: np.ndarray, window: np.ndarray, hop: int, n_fft: int, n_frames: int) -> np.ndarray:
    x = np.pad(x, (0, max(0, (n_frames - 1) * hop + window.size - x.size)))
    frames = np.lib.stride_tricks.sliding_window_view(x, window.size)[::hop][:n_frames] * window
    return np.fft.rfft(frames, n=n_fft, axis=1)


def _istft(spec: np.ndarray, window: np.ndarray, hop: int, n_fft: int) -> np.ndarray:
    frames = np.fft.irfft(spec, n=n_fft, axis=1)[:, : window.size] * window
    length = (spec.shape[0] - 1) * hop + window.size
    out = np.zeros(length)
    norm = np.zeros(length)
    for i, frame in enumerate(frames):
        out[i * hop : i * hop + window.size] += frame
        norm[i * hop : i * hop + window.size] += window**2
    # Where only window tails overlap (the clip's first and last samples) the sum of squared windows is near zero;
    # flooring it keeps those few samples from blowing up instead of dividing garbage by ~0.
    return out / np.maximum(norm, 0.1 * norm.max())


def griffin_lim(magnitude: np.ndarray, *, win: int, hop: int, n_fft: int) -> np.ndarray:
    """A waveform whose STFT magnitude approximates ``magnitude`` [n_frames, n_fft // 2 + 1] (Griffin and Lim
    1984), with the framing of workers.media.audio.features and phases started from GRIFFIN_LIM_SEED."""
    window = np.hanning(win)
    phase = np.exp(2j * np.pi * np.random.default_rng(GRIFFIN_LIM_SEED).random(magnitude.shape))
    for _ in range(GRIFFIN_LIM_ITERATIONS):
        x = _istft(magnitude * phase, window, hop, n_fft)
        spec = _stft(x, window, hop, n_fft, magnitude.shape[0])
        phase = np.exp(1j * np.angle(spec))
    return np.clip(_istft(magnitude * phase, window, hop, n_fft), -1.0, 1.0)


def load_codebook_tokenizer(path: str | Path, *, tokenizer_id: str | None = None) -> MelUnitsTokenizer:
    """The tokenizer of a codebook file written by ``train_mel_units``; ``tokenizer_id`` (e.g. a team codebook's
    catalogue id) overrides the one the file records."""
    return MelUnitsTokenizer(Path(path), tokenizer_id=tokenizer_id)
