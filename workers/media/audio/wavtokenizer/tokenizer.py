"""WavTokenizer as the product's AudioTokenizer: numpy in, one code per frame out, a 24 kHz waveform back.

Long clips are processed in windows of ``WINDOW_SECONDS`` (a whole number of frames, so codes and samples line up
across windows). The official code runs a whole clip at once; its decoder attends over every frame (memory grows
with the square of the length), so beyond one window our codes and audio near window edges can differ from what
the official code would give for the same long clip. Within one window they are the same (docs/media.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workers.media.audio.wavtokenizer.config import SAMPLE_RATE, WavTokenizerConfig
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo

TOKENIZER_ID = "audio/wavtokenizer"
WINDOW_SECONDS = 30
SOURCE = "WavTokenizer (Ji et al. 2024, arXiv:2408.16532); our implementation, official checkpoints converted"
LICENCE = "MIT (official code and checkpoints)"


def tokenizer_info(*, frame_rate: float | None, codebook_size: int = 4096) -> MediaTokenizerInfo:
    rate = f"{frame_rate:g} tokens/s" if frame_rate else "40 or 75 tokens/s"
    return MediaTokenizerInfo(
        id=TOKENIZER_ID,
        modality="audio",
        family="neural",
        label="WavTokenizer",
        description=(
            f"Neural codec with one codebook of {codebook_size} at 24 kHz ({rate}): EnCodec's SEANet encoder, "
            "one VQ, a Vocos decoder (ConvNeXt with attention, ISTFT head). Our implementation; needs converted "
            "official weights."
        ),
        layout="strip",
        has_decoder=True,
        codebook_sizes=(codebook_size,),
        sample_rate=SAMPLE_RATE,
        frame_rate=frame_rate,
        source=SOURCE,
        licence=LICENCE,
    )


class WavTokenizer:
    """Implements workers.media.types.AudioTokenizer over a loaded ``WavTokenizerModel``."""

    def __init__(self, model: object, *, folder: Path) -> None:
        from workers.media.audio.wavtokenizer.model import WavTokenizerModel

        assert isinstance(model, WavTokenizerModel)
        self.model = model
        self.config: WavTokenizerConfig = model.config
        self.folder = folder
        self.info = tokenizer_info(frame_rate=self.config.frame_rate, codebook_size=self.config.codebook_size)

    @property
    def window_samples(self) -> int:
        return WINDOW_SECONDS * SAMPLE_RATE // self.config.hop_length * self.config.hop_length

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        import torch

        from workers.media.audio.io import resample

        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1 or wave.size == 0:
            raise MediaInputError("WavTokenizer needs a non-empty mono waveform.")
        if not np.isfinite(wave).all():
            raise MediaInputError("The waveform holds NaN or infinite samples.")
        wave = resample(wave, sample_rate, SAMPLE_RATE)
        device = next(self.model.parameters()).device
        codes = []
        with torch.inference_mode():
            for start in range(0, wave.size, self.window_samples):
                window = torch.from_numpy(np.ascontiguousarray(wave[start : start + self.window_samples]))
                codes.append(self.model.encode(window[None].to(device))[0, 0].cpu())
        return AudioTokens(
            codes=torch.cat(codes)[None].numpy().astype(np.int64),
            sample_rate=SAMPLE_RATE,
            frame_rate=self.config.frame_rate,
            extra={"samples": int(wave.size), "window_seconds": WINDOW_SECONDS, "bandwidth_id": 0},
        )

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        """The waveform at 24 kHz, trimmed to the encoded clip's length when the tokens record it."""
        import torch

        codes = np.asarray(tokens.codes)
        if codes.ndim != 2 or codes.shape[0] != 1 or codes.shape[1] == 0:
            raise MediaInputError(f"WavTokenizer decodes codes of shape [1, frames]; got {list(codes.shape)}.")
        if codes.min() < 0 or codes.max() >= self.config.codebook_size:
            raise MediaInputError(f"WavTokenizer codes must lie in [0, {self.config.codebook_size}).")
        device = next(self.model.parameters()).device
        window_frames = self.window_samples // self.config.hop_length
        pieces = []
        with torch.inference_mode():
            for start in range(0, codes.shape[1], window_frames):
                window = torch.from_numpy(codes[:, start : start + window_frames].astype(np.int64)).to(device)
                pieces.append(self.model.decode(self.model.codes_to_features(window))[0].cpu())
        audio = torch.cat(pieces).numpy().astype(np.float32)
        samples = tokens.extra.get("samples")
        return audio[:samples] if isinstance(samples, int) else audio
