"""FlexTok's published configuration, read as data.

The official checkpoints (``EPFL-VILAB/flextok_*``) ship a ``config.json`` in Hydra's style: every module is a dict
whose ``_target_`` names a Python class of the official package (``flextok.model.trunks.transformers.
FlexTransformer``, ...), the other keys are its constructor arguments. The official loader hands that to
``hydra.utils.instantiate``, which imports whatever the file names. We never import anything a file names: each
``_target_`` is looked up in ``ALLOWED_TARGETS`` (official name -> our class, see ``build.py``) and anything else is
refused. Framework-free: no torch here.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

# The official class names we implement, mapped to the attribute of workers.media.image.flextok.modules (or .vae,
# .layers) that builds the same module with the same parameter names (so official state-dict keys load as they are).
ALLOWED_TARGETS: dict[str, str] = {
    "flextok.flextok_wrapper.FlexTok": "FlexTok",
    "flextok.flextok_wrapper.FlexTokFromHub": "FlexTok",
    "flextok.vae_wrapper.StableDiffusionVAE": "StableDiffusionVAE",
    "flextok.model.utils.wrappers.SequentialModuleDictWrapper": "SequentialModuleDictWrapper",
    "flextok.model.utils.dict_ops.PerSampleOp": "PerSampleOp",
    "flextok.model.preprocessors.patching.PatchEmbedder": "PatchEmbedder",
    "flextok.model.utils.posembs.PositionalEmbeddingAdder": "PositionalEmbeddingAdder",
    "flextok.model.preprocessors.registers.Registers1D": "Registers1D",
    "flextok.model.preprocessors.flex_seq_packing.BlockWiseSequencePacker": "BlockWiseSequencePacker",
    "flextok.model.trunks.transformers.FlexTransformer": "FlexTransformer",
    "flextok.model.postprocessors.seq_unpacking.SequenceUnpacker": "SequenceUnpacker",
    "flextok.model.postprocessors.heads.LinearHead": "LinearHead",
    "flextok.model.postprocessors.heads.ToPatchesLinearHead": "ToPatchesLinearHead",
    "flextok.model.preprocessors.linear.LinearLayer": "LinearLayer",
    "flextok.model.preprocessors.token_dropout.MaskedNestedDropout": "MaskedNestedDropout",
    "flextok.model.preprocessors.nullcond.LearnedNullCond": "LearnedNullCond",
    "flextok.model.preprocessors.nullcond.ZeroNullCond": "ZeroNullCond",
    "flextok.model.preprocessors.time_embedding.TimestepEmbedder": "TimestepEmbedder",
    "flextok.regularizers.quantize_fsq.FSQ": "FSQ",
    "flextok.flow_matching.noise_modules.MinRFNoiseModule": "MinRFNoiseModule",
    "flextok.flow_matching.pipelines.MinRFPipeline": "MinRFPipeline",
}

# Values a config may name as a function or class argument (``per_sample_op``, ``act_layer``), in Hydra's three
# spellings: ``{"_target_": name, "_partial_": true}``, ``{"_target_": "hydra.utils.get_method", "path": name}``
# (or get_class/get_object), or the bare name as a string.
ALLOWED_REFERENCES: dict[str, str] = {
    "flextok.model.utils.dict_ops.channels_first_to_last": "channels_first_to_last",
    "flextok.model.utils.dict_ops.channels_last_to_first": "channels_last_to_first",
    "torch.nn.SiLU": "SiLU",
    "torch.nn.modules.activation.SiLU": "SiLU",
    "torch.nn.GELU": "GELU",
    "torch.nn.modules.activation.GELU": "GELU",
}
HYDRA_GETTERS = ("hydra.utils.get_method", "hydra.utils.get_class", "hydra.utils.get_object")

# The six top-level parts of a FlexTok config (FlexTokFromHub's constructor arguments).
PARTS = ("vae", "encoder", "decoder", "regularizer", "flow_matching_noise_module", "pipeline")

# Bounds that keep a hostile config from asking for absurd allocations before any weight is read.
MAX_CONFIG_BYTES = 1_000_000
MAX_DIM = 8192
MAX_DEPTH = 96
MAX_REGISTERS = 4096
MAX_CODEBOOK = 1 << 24


class FlexTokConfigError(ValueError):
    """The checkpoint's configuration or weights are not a FlexTok model we can build: says what is wrong."""


def read_config_json(path: Path) -> dict[str, Any]:
    """``config.json`` of a hub folder: either the six parts at the top level or under ``"config"``."""
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise FlexTokConfigError(f"{path.name} is larger than {MAX_CONFIG_BYTES} bytes; not a FlexTok config")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FlexTokConfigError(f"{path.name} is not valid JSON (or nested absurdly deep): {exc}") from exc
    return _six_parts(data, source=path.name)


def config_from_metadata(metadata: dict[str, str]) -> dict[str, Any]:
    """The config embedded in a ``.safetensors`` header (the official ``save_safetensors`` writes each part as a
    Python literal string). Parsed with ``ast.literal_eval``: literals only, nothing is evaluated."""
    parsed: dict[str, Any] = {}
    for key, text in metadata.items():
        if len(text) > MAX_CONFIG_BYTES:
            raise FlexTokConfigError(f"safetensors metadata entry {key!r} is too large")
        try:
            parsed[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parsed[key] = text
    return _six_parts(parsed, source="safetensors metadata")


def _six_parts(data: Any, *, source: str) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "encoder" not in data:
        data = data["config"]
    if not isinstance(data, dict):
        raise FlexTokConfigError(f"{source}: expected a JSON object with the parts {', '.join(PARTS)}")
    missing = [part for part in PARTS if not isinstance(data.get(part), dict)]
    if missing:
        raise FlexTokConfigError(f"{source}: not a FlexTok config, missing part(s): {', '.join(missing)}")
    check_targets(data)
    check_bounds(data)
    return data


def check_targets(node: Any, where: str = "config") -> None:
    """Every ``_target_`` anywhere in the tree must be an allowed official name; refused before anything is built."""
    if isinstance(node, dict):
        target = node.get("_target_")
        if target is not None:
            if not isinstance(target, str):
                raise FlexTokConfigError(f"{where}._target_ must be a string")
            if target in HYDRA_GETTERS:
                name = node.get("path")
                if name not in ALLOWED_REFERENCES:
                    raise FlexTokConfigError(f"{where}: {target} of {name!r} is not allowed")
            elif target not in ALLOWED_TARGETS and target not in ALLOWED_REFERENCES:
                raise FlexTokConfigError(
                    f"{where}: class {target!r} is not one FlexTok's loader builds (allowed: the official flextok "
                    "modules); nothing named in a checkpoint is ever imported"
                )
        for key, value in node.items():
            check_targets(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            check_targets(value, f"{where}[{index}]")


def check_bounds(node: Any, where: str = "config") -> None:
    """Sizes within sane limits (a real FlexTok is d18/d28 at dim 1152/1792, 256 registers, 64,000 codes)."""
    if isinstance(node, dict):
        limits = {"dim": MAX_DIM, "dim_in": MAX_DIM, "dim_out": MAX_DIM, "channels_in": MAX_DIM}
        limits |= {"channels_out": MAX_DIM, "extra_registers_dim": MAX_DIM, "frequency_embedding_size": MAX_DIM}
        limits |= {"depth": MAX_DEPTH, "n_max": MAX_REGISTERS, "n_min": MAX_REGISTERS, "head_dim": MAX_DIM}
        limits |= {"latent_channels": 1024, "out_channels": 1024}
        for key, limit in limits.items():
            value = node.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= limit):
                raise FlexTokConfigError(f"{where}.{key} must be an integer in 1..{limit}, got {value!r}")
        levels = node.get("levels")
        if levels is not None:
            ok = isinstance(levels, list) and 0 < len(levels) <= 16
            ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 4096 for v in levels)
            if not ok or math.prod(levels) > MAX_CODEBOOK:
                raise FlexTokConfigError(f"{where}.levels must be 1..16 integers >= 2 with product <= {MAX_CODEBOOK}")
        sizes = node.get("max_sizes") or node.get("patch_sizes")
        if sizes is not None and not (
            isinstance(sizes, list) and all(isinstance(v, int) and 0 < v <= 1024 for v in sizes)
        ):
            raise FlexTokConfigError(f"{where}: max_sizes/patch_sizes must be small positive integers")
        ratio = node.get("mlp_ratio")
        if ratio is not None and not (isinstance(ratio, int | float) and 0 < ratio <= 16):
            raise FlexTokConfigError(f"{where}.mlp_ratio must be in (0, 16]")
        for key, value in node.items():
            check_bounds(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            check_bounds(value, f"{where}[{index}]")
