"""WavTokenizer's official YAML configuration, read as data.

The official code builds its model by importing whatever ``class_path`` the file names. Here a class path is only a
key into ``ALLOWED_CLASSES``: the three parts WavTokenizer's inference uses (EnCodec-style feature extractor, Vocos
backbone with attention, ISTFT head). Anything else is refused with the list of what is accepted; nothing a file
names is ever imported.

Both layouts the official loaders read are accepted: the training file (``model.init_args.feature_extractor`` ...,
what ``from_hparams0802`` reads) and the bare one (top-level ``feature_extractor``/``backbone``/``head``).

Framework-free: no torch at import (the catalogue reads configs in the web process).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workers.media.types import MediaInputError

SAMPLE_RATE = 24000  # every official WavTokenizer works at 24 kHz ("encodec_24khz")
MAX_CONFIG_BYTES = 256 * 1024  # the official files are ~3 KiB
# Fixed by the official EncodecFeatures (not configurable in the YAML): the SEANet encoder's width and depth.
ENCODER_DIMENSION = 512
ENCODER_FILTERS = 32
ENCODER_LSTM_LAYERS = 2
GROUP_NORM_GROUPS = 32  # the attention stage's GroupNorm: the backbone width must be a multiple of it

# Official class path -> the part it configures here. Nothing else may be named.
ALLOWED_CLASSES = {
    "decoder.feature_extractors.EncodecFeatures": "feature_extractor",
    "decoder.models.VocosBackbone": "backbone",
    "decoder.heads.ISTFTHead": "head",
}


class InvalidCheckpointError(MediaInputError):
    """A WavTokenizer config or weights file that cannot be used as it is (a 4xx naming what is wrong)."""


@dataclass(frozen=True)
class WavTokenizerConfig:
    # feature extractor (EnCodec SEANet encoder + VQ)
    downsamples: tuple[int, ...]  # encoder stride per stage, as written in the file (applied in reverse order)
    num_quantizers: int  # codebooks stored; inference uses the first (official ``infer`` sets n_q = 1)
    codebook_size: int  # vq_bins
    bandwidths: tuple[float, ...]
    # backbone
    input_channels: int
    dim: int
    intermediate_dim: int
    num_layers: int
    layer_scale_init_value: float | None
    adanorm_num_embeddings: int | None
    # head
    n_fft: int
    hop_length: int
    padding: str

    @property
    def frame_rate(self) -> float:
        return SAMPLE_RATE / self.hop_length


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidCheckpointError(f"WavTokenizer config: {where} must be a mapping, not {type(value).__name__}.")
    return value


def _part(section: Any, role: str) -> dict[str, Any]:
    """The ``init_args`` of one part, after checking its ``class_path`` against the allow-list."""
    section = _mapping(section, role)
    class_path = section.get("class_path")
    if ALLOWED_CLASSES.get(str(class_path)) != role:
        allowed = [path for path, part in ALLOWED_CLASSES.items() if part == role]
        raise InvalidCheckpointError(
            f"WavTokenizer config: {role}.class_path {str(class_path)[:200]!r} is not supported; "
            f"this loader builds only {allowed}."
        )
    return _mapping(section.get("init_args", {}), f"{role}.init_args")


def _int(args: dict[str, Any], key: str, default: Any = None, *, low: int = 1, high: int = 1 << 20) -> int:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidCheckpointError(
            f"WavTokenizer config: {key} must be an integer in [{low}, {high}], got {value!r}."
        )
    return value


def _optional_int(args: dict[str, Any], key: str) -> int | None:
    return None if args.get(key) is None else _int(args, key)


def _float_list(args: dict[str, Any], key: str, default: list[float]) -> tuple[float, ...]:
    value = args.get(key, default)
    if not isinstance(value, list) or not value or not all(isinstance(v, (int, float)) for v in value):
        raise InvalidCheckpointError(f"WavTokenizer config: {key} must be a non-empty list of numbers.")
    return tuple(float(v) for v in value)


def parse_config(data: Any) -> WavTokenizerConfig:
    """The config from already-parsed YAML; every value the model's shapes depend on is checked here."""
    root = _mapping(data, "the file")
    if "model" in root:
        model = _mapping(root["model"], "model")
        if model.get("class_path") != "decoder.experiment.WavTokenizer":
            raise InvalidCheckpointError(
                "WavTokenizer config: model.class_path must be decoder.experiment.WavTokenizer."
            )
        root = _mapping(model.get("init_args"), "model.init_args")
        sample_rate = root.get("sample_rate", SAMPLE_RATE)
        if sample_rate != SAMPLE_RATE:
            raise InvalidCheckpointError(
                f"WavTokenizer config: sample_rate must be {SAMPLE_RATE}, got {sample_rate!r}."
            )
    features = _part(root.get("feature_extractor"), "feature_extractor")
    backbone = _part(root.get("backbone"), "backbone")
    head = _part(root.get("head"), "head")

    if features.get("encodec_model", "encodec_24khz") != "encodec_24khz":
        raise InvalidCheckpointError("WavTokenizer config: encodec_model must be 'encodec_24khz'.")
    downsamples = features.get("dowmsamples", [6, 5, 5, 4])  # sic: the official key is misspelt
    if not isinstance(downsamples, list) or not 1 <= len(downsamples) <= 8:
        raise InvalidCheckpointError("WavTokenizer config: dowmsamples must be a list of 1 to 8 strides.")
    strides = tuple(_int({"stride": s}, "stride", high=64) for s in downsamples)
    layer_scale = backbone.get("layer_scale_init_value")
    if layer_scale is not None and (isinstance(layer_scale, bool) or not isinstance(layer_scale, (int, float))):
        raise InvalidCheckpointError("WavTokenizer config: layer_scale_init_value must be a number or null.")
    padding = head.get("padding", "same")
    if padding not in ("same", "center"):
        raise InvalidCheckpointError("WavTokenizer config: head padding must be 'same' or 'center'.")

    config = WavTokenizerConfig(
        downsamples=strides,
        num_quantizers=_int(features, "num_quantizers", 1, high=32),
        codebook_size=_int(features, "vq_bins", 16384, low=2, high=1 << 18),
        bandwidths=_float_list(features, "bandwidths", [1.5, 3.0, 6.0, 12.0]),
        input_channels=_int(backbone, "input_channels"),
        dim=_int(backbone, "dim", high=1 << 14),
        intermediate_dim=_int(backbone, "intermediate_dim", high=1 << 16),
        num_layers=_int(backbone, "num_layers", high=256),
        layer_scale_init_value=None if layer_scale is None else float(layer_scale),
        adanorm_num_embeddings=_optional_int(backbone, "adanorm_num_embeddings"),
        n_fft=_int(head, "n_fft", low=4, high=1 << 16),
        hop_length=_int(head, "hop_length", high=1 << 16),
        padding=padding,
    )
    _check_consistent(config, head_dim=_int(head, "dim", high=1 << 14))
    return config


def _check_consistent(config: WavTokenizerConfig, *, head_dim: int) -> None:
    """The relations the official model assumes without checking (a mismatch there fails deep in a forward)."""
    problems = []
    if config.input_channels != ENCODER_DIMENSION:
        problems.append(f"backbone input_channels must be the encoder's {ENCODER_DIMENSION}")
    if head_dim != config.dim:
        problems.append("head dim must equal backbone dim")
    if config.dim % GROUP_NORM_GROUPS:
        problems.append(f"backbone dim must be a multiple of {GROUP_NORM_GROUPS} (GroupNorm)")
    if math.prod(config.downsamples) != config.hop_length:
        problems.append("head hop_length must equal the product of dowmsamples (one token frame per STFT hop)")
    if config.codebook_size & (config.codebook_size - 1):
        problems.append("vq_bins must be a power of two")
    if config.n_fft <= config.hop_length:
        problems.append("n_fft must be larger than hop_length (overlapping ISTFT windows)")
    if problems:
        raise InvalidCheckpointError("WavTokenizer config: " + "; ".join(problems) + ".")


def read_config(path: Path) -> WavTokenizerConfig:
    """Parse a config file (size-capped, ``yaml.safe_load``: plain data, no tags that build objects)."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise InvalidCheckpointError(
            f"WavTokenizer config {path.name} is {size} bytes; the limit is {MAX_CONFIG_BYTES}."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidCheckpointError(f"WavTokenizer config {path.name} is not valid YAML: {str(error)[:300]}") from None
    return parse_config(data)
