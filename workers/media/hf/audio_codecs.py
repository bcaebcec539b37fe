"""The neural audio codecs transformers implements (EnCodec, DAC, Mimi, X-Codec), loaded
by hub id or allowed folder and wrapped as ``AudioTokenizer``: mono float32 in, codes ``[n_codebooks, frames]`` out,
and back.

Each codec runs at its own sample rate (inputs are resampled to it) and quantizes with a residual VQ whose depth is
a choice: ``n_codebooks`` (EnCodec and X-Codec call it a bandwidth; DAC and Mimi a number of quantizers). The default
is each model's usual operating point; the bitrate is frame rate x n_codebooks x log2 codebook size.

Not wired (transformers 5.23 has them, see docs/media.md): 48 kHz EnCodec (stereo, chunked with per-chunk scales),
X-Codec2 and NeuCodec (one FSQ codebook over w2v-BERT features), Higgs Audio v2's tokenizer (needs torchaudio,
not installed here), VibeVoice's and PocketTTS's tokenizers (continuous
latents, no discrete codes).

torch and transformers are imported lazily (loading runs in a worker, never in the web process).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.media.hf.loading import checked_config, local_folder, safetensors_files
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo

ENTRY_ID = "audio/hf-codec"


@dataclass(frozen=True)
class CodecArch:
    model_type: str
    label: str
    model_class: str  # transformers' class, looked up by this table's own name: never by a name in the checkpoint
    config_class: str
    nested: tuple[str, ...] = ()  # sub-model types its config may build (X-Codec: a DAC and a HuBERT/WavLM)
    pad_to_hop: bool = False  # the model's feature extractor pads the input to a whole number of frames (DAC's)
    sample_rate_key: str = "sampling_rate"


ARCHS: dict[str, CodecArch] = {
    arch.model_type: arch
    for arch in (
        CodecArch("encodec", "EnCodec", "EncodecModel", "EncodecConfig"),
        CodecArch("dac", "DAC", "DacModel", "DacConfig", pad_to_hop=True),
        CodecArch("mimi", "Mimi", "MimiModel", "MimiConfig"),
        CodecArch("xcodec", "X-Codec", "XcodecModel", "XcodecConfig", ("dac", "hubert", "wavlm"), True, "sample_rate"),
    )
}
# Samples per model call (a whole number of frames): X-Codec's HuBERT attends over all frames of a call, so a 10-minute
# clip in one call would need tens of GB; codes near a window's edges can differ from a whole-clip call.
WINDOW_SECONDS = 30.0
DEFAULT_CODEBOOKS = {"encodec": 8, "mimi": 8}  # EnCodec 24 kHz at 6 kbit/s; Mimi as Moshi uses it


class HFAudioCodec:
    """One loaded codec at one quantizer depth. ``encode``/``decode`` follow workers.media.types.AudioTokenizer."""

    def __init__(self, *, model: Any, arch: CodecArch, ref: str, n_codebooks: int | None = None) -> None:
        self.model = model
        self.arch = arch
        self.ref = ref
        config = model.config
        self.sample_rate = int(getattr(config, arch.sample_rate_key))
        self.hop_length = self._hop_length()
        self.codebook_size = int(config.codebook_size)
        choices = self.codebook_choices()
        default = DEFAULT_CODEBOOKS.get(arch.model_type, max(choices))
        wanted = (
            n_codebooks if n_codebooks is not None else max((n for n in choices if n <= default), default=min(choices))
        )
        if wanted not in choices:
            raise MediaInputError(
                f"{arch.label} {ref!r} quantizes with {', '.join(map(str, sorted(choices)))} codebooks; "
                f"{wanted} is not one of them."
            )
        self.n_codebooks = wanted
        self.frame_rate = self.sample_rate / self.hop_length
        bitrate = self.frame_rate * wanted * math.log2(self.codebook_size)
        self.info = MediaTokenizerInfo(
            id=ENTRY_ID,
            modality="audio",
            family="codec",
            label=f"{arch.label} ({Path(ref).name if Path(ref).is_absolute() else ref}, {wanted} codebooks)",
            description=(
                f"transformers' {arch.label} neural codec: residual VQ, {wanted} codebooks of {self.codebook_size} "
                f"at {self.frame_rate:g} frames/s ({bitrate / 1000:g} kbit/s), {self.sample_rate} Hz mono."
            ),
            layout="frames",
            has_decoder=True,
            codebook_sizes=(self.codebook_size,) * wanted,
            sample_rate=self.sample_rate,
            frame_rate=self.frame_rate,
            source=f"transformers {_transformers_version()} {arch.model_class}, weights {ref}",
            licence="see the checkpoint's model card",
        )

    @property
    def bitrate_bps(self) -> float:
        return self.frame_rate * self.n_codebooks * math.log2(self.codebook_size)

    def _hop_length(self) -> int:
        config = self.model.config
        if self.arch.model_type == "mimi":  # Mimi downsamples its encoder frames once more (25 -> 12.5 Hz)
            return round(self.sample_rate / float(config.frame_rate))
        return int(config.hop_length)

    def _bandwidths(self) -> dict[int, float]:
        """EnCodec / X-Codec: each allowed bandwidth (kbit/s) by the number of codebooks the model uses for it."""
        quantizer = self.model.quantizer
        return {
            int(quantizer.get_num_quantizers_for_bandwidth(bw)): float(bw) for bw in self.model.config.target_bandwidths
        }

    def codebook_choices(self) -> list[int]:
        config = self.model.config
        if self.arch.model_type == "dac":
            return list(range(1, int(config.n_codebooks) + 1))
        if self.arch.model_type == "mimi":
            return list(range(max(1, int(config.num_semantic_quantizers)), int(config.num_quantizers) + 1))
        return sorted(self._bandwidths())

    def prepare(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """The mono float32 wave at the model's rate."""
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1:
            raise MediaInputError(f"Expected a mono wave (one dimension), got shape {wave.shape}.")
        if wave.size == 0 or not np.all(np.isfinite(wave)):
            raise MediaInputError("The audio is empty or holds non-finite samples.")
        if int(sample_rate) != self.sample_rate:
            from workers.media.audio.io import resample

            wave = np.asarray(resample(wave, int(sample_rate), self.sample_rate), dtype=np.float32)
        return wave

    def window_samples(self) -> int:
        """Samples per model call: WINDOW_SECONDS rounded to whole frames."""
        return max(1, round(WINDOW_SECONDS * self.sample_rate / self.hop_length)) * self.hop_length

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        """Codes of the whole clip, encoded in windows of WINDOW_SECONDS (whole frames) so that memory stays bounded
        (X-Codec's HuBERT attends over every frame of a call); ``extra["windows"]`` records each window's frames,
        samples and (EnCodec) scale, so that decode cuts the codes where encode did."""
        import torch

        prepared = self.prepare(wave, sample_rate)
        if prepared.size < self.hop_length:
            raise MediaInputError(
                f"The clip is shorter than one {self.arch.label} frame ({self.hop_length / self.sample_rate * 1000:g} ms)."
            )
        step = self.window_samples()
        parts: list[np.ndarray] = []
        windows: list[dict[str, Any]] = []
        with torch.inference_mode():
            for start in range(0, prepared.size, step):
                chunk = prepared[start : start + step]
                if self.arch.pad_to_hop and chunk.size % self.hop_length:  # as the model's feature extractor pads
                    chunk = np.pad(chunk, (0, self.hop_length - chunk.size % self.hop_length))
                codes, scale = self._encode(torch.from_numpy(np.ascontiguousarray(chunk))[None, None])
                parts.append(codes.cpu().numpy().astype(np.int64))
                samples = min(step, prepared.size - start)
                windows.append({"frames": int(parts[-1].shape[1]), "samples": samples, "scale": scale})
        extra: dict[str, Any] = {
            "n_samples": int(prepared.size),
            "bitrate_bps": self.bitrate_bps,
            "ref": self.ref,
            "window_seconds": step / self.sample_rate,
            "windows": windows,
        }
        return AudioTokens(
            codes=np.concatenate(parts, axis=1),
            sample_rate=self.sample_rate,
            frame_rate=self.frame_rate,
            extra=extra,
        )

    def _encode(self, values: Any) -> tuple[Any, float | None]:
        """codes [n_codebooks, frames] and, for EnCodec with ``normalize``, the input's scale."""
        kind = self.arch.model_type
        if kind == "encodec":
            out = self.model.encode(values, bandwidth=self._bandwidths()[self.n_codebooks], return_dict=True)
            scale = out.audio_scales[0]
            return out.audio_codes[0, 0], None if scale is None else float(scale.reshape(-1)[0])
        if kind == "dac":
            return self.model.encode(values, n_quantizers=self.n_codebooks, return_dict=True).audio_codes[0], None
        if kind == "mimi":
            return self.model.encode(values, num_quantizers=self.n_codebooks, return_dict=True).audio_codes[0], None
        bandwidth = self._bandwidths()[self.n_codebooks]
        return self.model.encode(values, bandwidth=bandwidth, return_dict=True).audio_codes[0], None

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        import torch

        codes = np.asarray(tokens.codes)
        max_codebooks = max(self.codebook_choices())
        if codes.ndim != 2 or not 1 <= codes.shape[0] <= max_codebooks or codes.shape[1] == 0:
            raise MediaInputError(f"Expected codes [n_codebooks <= {max_codebooks}, frames], got shape {codes.shape}.")
        if codes.min() < 0 or codes.max() >= self.codebook_size:
            raise MediaInputError(f"Codes must lie in [0, {self.codebook_size}).")
        windows = tokens.extra.get("windows") or [{"frames": codes.shape[1], "samples": None, "scale": None}]
        if sum(int(w["frames"]) for w in windows) != codes.shape[1]:
            raise MediaInputError("The codes do not match the windows they were encoded in (extra.windows).")
        pieces: list[np.ndarray] = []
        offset = 0
        with torch.inference_mode():
            for window in windows:
                frames = int(window["frames"])
                part = torch.from_numpy(np.ascontiguousarray(codes[:, offset : offset + frames], dtype=np.int64))
                wave = self._decode(part, window.get("scale")).reshape(-1).float().cpu().numpy()
                pieces.append(wave if window.get("samples") is None else wave[: int(window["samples"])])
                offset += frames
        return np.concatenate(pieces).astype(np.float32)

    def _decode(self, audio_codes: Any, scale: float | None) -> Any:
        import torch

        kind = self.arch.model_type
        if kind == "encodec":
            scales = [None if scale is None else torch.tensor([[scale]], dtype=torch.float32)]
            return self.model.decode(audio_codes[None, None], scales, return_dict=True).audio_values[0, 0]
        if kind == "dac":
            return self.model.decode(audio_codes=audio_codes[None], return_dict=True).audio_values[0]
        return self.model.decode(audio_codes[None], return_dict=True).audio_values[0, 0]


def check_supported(arch: CodecArch, config: Any) -> None:
    if arch.model_type == "encodec" and (config.chunk_length_s is not None or int(config.audio_channels) != 1):
        raise MediaInputError(
            "This EnCodec checkpoint encodes stereo in overlapping chunks (the 48 kHz model); only the mono, "
            "unchunked EnCodec models (24 kHz, 32 kHz) are supported."
        )


def load_audio_codec(ref: str, *, n_codebooks: int | None = None) -> HFAudioCodec:
    """The codec at ``ref`` (resolved hub id or allowed folder), safetensors only, never remote code."""
    import torch
    import transformers

    folder = local_folder(ref, example="facebook/encodec_24khz")
    data = checked_config(folder, allowed=ARCHS, nested_allowed={n for arch in ARCHS.values() for n in arch.nested})
    arch = ARCHS[data["model_type"]]
    safetensors_files(folder)
    config_class = getattr(transformers, arch.config_class)
    model_class = getattr(transformers, arch.model_class)
    try:
        config = config_class.from_dict(data)
    except (TypeError, ValueError) as exc:  # a config transformers' own validation refuses
        raise MediaInputError(f"This {arch.label} config is not valid: {str(exc)[:300]}") from None
    check_supported(arch, config)
    try:
        model = model_class.from_pretrained(
            str(folder), config=config, use_safetensors=True, local_files_only=True, dtype=torch.float32
        )
    except (OSError, ValueError, RuntimeError) as exc:  # missing/mismatched tensors, a truncated file
        raise MediaInputError(f"Could not load the {arch.label} weights from {ref!r}: {str(exc)[:300]}") from None
    return HFAudioCodec(model=model.eval(), arch=arch, ref=ref, n_codebooks=n_codebooks)


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)
