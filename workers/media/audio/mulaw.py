"""8-bit mu-law: WaveNet's sample tokenizer (van den Oord et al. 2016), one token per sample.

Companding, mu = 255 (the ITU-T G.711 constant, applied here as the continuous formula, not G.711's
segmented approximation): F(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu) for x in [-1, 1], then uniform 8-bit
quantisation code = floor((F(x) + 1) / 2 * mu + 0.5) in 0..255; decoding inverts both:
y = 2 code / mu - 1, x = sign(y) ((1 + mu)^|y| - 1) / mu.
"""

from __future__ import annotations

import numpy as np

from workers.media.audio.io import resample
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo

MU = 255
SAMPLE_RATE = 16000  # WaveNet's rate

INFO = MediaTokenizerInfo(
    id="audio/mulaw-8bit",
    modality="audio",
    family="classical",
    label="mu-law 8-bit",
    description=(
        "WaveNet-style mu-law companding (mu = 255) and 8-bit quantisation at 16 kHz: one token per sample, "
        "256 codes, 128 kbit/s. A fixed formula, no training; the decoder inverts it (quantisation noise only)."
    ),
    layout="strip",
    has_decoder=True,
    codebook_sizes=(MU + 1,),
    sample_rate=SAMPLE_RATE,
    frame_rate=float(SAMPLE_RATE),
    source="formula (ITU-T G.711 mu constant; WaveNet, arXiv:1609.03499)",
    licence="n/a (a formula)",
)


def mulaw_encode(x: np.ndarray, mu: int = MU) -> np.ndarray:
    """int64 codes in 0..mu for samples in [-1, 1] (clipped)."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.floor((companded + 1.0) / 2.0 * mu + 0.5).astype(np.int64)


def mulaw_decode(codes: np.ndarray, mu: int = MU) -> np.ndarray:
    """float32 samples for codes in 0..mu."""
    y = 2.0 * np.asarray(codes, dtype=np.float64) / mu - 1.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


class MuLawTokenizer:
    info = INFO

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        x = resample(wave, sample_rate, SAMPLE_RATE)
        if x.size == 0:
            raise MediaInputError("mu-law needs at least one sample.")
        return AudioTokens(codes=mulaw_encode(x)[None, :], sample_rate=SAMPLE_RATE, frame_rate=float(SAMPLE_RATE))

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        codes = np.asarray(tokens.codes)
        if codes.ndim != 2 or codes.shape[0] != 1 or codes.min(initial=0) < 0 or codes.max(initial=0) > MU:
            raise MediaInputError(f"mu-law codes must be [1, n] in 0..{MU}.")
        return mulaw_decode(codes[0])


def load(ref: str | None = None) -> MuLawTokenizer:
    return MuLawTokenizer()
