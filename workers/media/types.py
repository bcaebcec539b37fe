"""The shared shapes of image and audio tokenizers: what every family (classical, codecs, FlexTok, WavTokenizer,
transformers' codecs) implements, so the pipeline, the metrics and the views treat them alike.

Framework-free: numpy only at import (torch is imported lazily by the families that need it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Modality = Literal["image", "audio"]
# classical: a fixed signal-processing rule (mu-law) or a codebook trained here (k-means);
# codec: a real trained codec from a library (Codec2, LPCNet, transformers' EnCodec/DAC/...);
# neural: an architecture we implement ourselves and load official checkpoints into (FlexTok, WavTokenizer);
# units: discrete units with no decoder (PocketSphinx phones).
Family = Literal["classical", "codec", "neural", "units"]
# strip: one token sequence in time (audio) or in order (FlexTok-style 1D image tokens);
# grid: a 2D grid over image patches; frames: audio frames each holding one token per codebook.
Layout = Literal["strip", "grid", "frames"]


class MediaInputError(ValueError):
    """An input the tokenizer cannot take (wrong shape, too short, unsupported rate): a 4xx, never a crash."""


class NotInstalledError(RuntimeError):
    """The tokenizer's weights or library are not on this machine; ``install`` says how to get them."""

    def __init__(self, message: str, *, install: str = "") -> None:
        super().__init__(message)
        self.install = install


@dataclass(frozen=True)
class MediaTokenizerInfo:
    id: str  # catalogue id, e.g. "audio/mulaw-8bit", "image/kmeans-patch-256"
    modality: Modality
    family: Family
    label: str  # short name for pickers
    description: str  # what it is, honestly labelled (e.g. "discrete units, no decoder")
    layout: Layout
    has_decoder: bool
    codebook_sizes: tuple[int, ...]  # one entry per codebook (Codec2: one per frame field)
    sample_rate: int | None = None  # audio: the rate the tokenizer works at (inputs are resampled to it)
    frame_rate: float | None = None  # audio: token frames per second (None for variable-rate units)
    image_size: int | None = None  # image: the square side inputs are resized/cropped to (None: any size)
    max_tokens: int | None = None  # image 1D tokenizers: the longest prefix
    source: str = ""  # provenance: package + version, paper, licence
    licence: str = ""


@dataclass
class AudioTokens:
    codes: np.ndarray  # int64 [n_codebooks, n_frames]
    sample_rate: int  # the tokenizer's native rate (what decode returns)
    frame_rate: float | None  # frames per second; None when frames have their own times (units)
    times: np.ndarray | None = None  # float64 [n_frames, 2] start/end seconds, for variable-length units
    labels: list[str] | None = None  # a readable name per frame (phones), else None
    extra: dict = field(default_factory=dict)  # JSON-ready facts worth showing (mode, bits per frame, ...)


@dataclass
class ImageTokens:
    codes: np.ndarray  # int64: [h, w] for a grid, [n] for a strip (ordered: a prefix of k is a valid code)
    input_size: tuple[int, int]  # (height, width) of the image the codes describe (after resize/crop)
    extra: dict = field(default_factory=dict)


@runtime_checkable
class AudioTokenizer(Protocol):
    info: MediaTokenizerInfo

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        """``wave``: float32 mono in [-1, 1] at ``sample_rate`` (resampling to ``info.sample_rate`` is the
        tokenizer's job, via workers.media.audio.io.resample)."""
        ...

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        """float32 mono at ``tokens.sample_rate``; raises NotImplementedError when ``has_decoder`` is False."""
        ...


@runtime_checkable
class ImageTokenizer(Protocol):
    info: MediaTokenizerInfo

    def encode(self, image: np.ndarray) -> ImageTokens:
        """``image``: float32 [H, W, 3] in [0, 1] (any size; the tokenizer resizes/crops and records it)."""
        ...

    def decode(self, tokens: ImageTokens, *, k: int | None = None, seed: int = 0) -> np.ndarray:
        """float32 [h, w, 3] in [0, 1]; ``k``: use only the first k tokens (strip layouts); ``seed``: for
        stochastic decoders (FlexTok's flow), recorded in the result."""
        ...
