"""Loading an official FlexTok checkpoint safely: a folder (or hub id) with ``config.json`` + ``model.safetensors``.

Order of checks, all before a single weight is read: pickle files refused; config parsed as data, every
``_target_`` in the allow-list, sizes bounded; the VAE's own diffusers config (``hf_hub_path``) checked; the model
built on the meta device and every tensor in the safetensors header compared with it (missing, unexpected, shape,
dtype). Only then are the weights loaded, strictly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.media.image.flextok.config import (
    FlexTokConfigError,
    config_from_metadata,
    read_config_json,
)

if TYPE_CHECKING:
    from workers.media.image.flextok.model import FlexTok

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
HUB_EXAMPLE = "EPFL-VILAB/flextok_d18_d28_dfn"
# diffusers' AutoencoderKL settings our VAE implements (FlexTok's VAE_BASE_CFG); anything else is refused.
VAE_FIXED = {
    "act_fn": "silu",
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": "DownEncoderBlock2D",
    "up_block_types": "UpDecoderBlock2D",
}


def resolve_folder(ref: str) -> Path:
    """A resolved reference (absolute allowed folder, or hub id) -> the local folder (see workers.media.hf.loading)."""
    from workers.media.hf.loading import local_folder

    return local_folder(ref, example=HUB_EXAMPLE)


def refuse_pickle(folder: Path) -> None:
    if not (folder / WEIGHTS_FILE).is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise FlexTokConfigError(
                f"{folder.name} has only pickle weights ({', '.join(pickles[:3])}); pickle files can run code when "
                f"loaded and are refused. FlexTok needs {WEIGHTS_FILE}."
            )
        raise FlexTokConfigError(f"{folder.name} has no {WEIGHTS_FILE}")


def read_header(path: Path) -> tuple[dict[str, tuple[str, list[int]]], dict[str, str]]:
    """The safetensors header (tensor name -> dtype, shape; and the metadata), read without loading any tensor."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) != 8:
            raise FlexTokConfigError(f"{path.name} is not a safetensors file (truncated)")
        length = int.from_bytes(head, "little")
        if length <= 0 or length > min(size - 8, 100 * 1024 * 1024):
            raise FlexTokConfigError(f"{path.name} is not a safetensors file (bad header length)")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FlexTokConfigError(f"{path.name} is not a safetensors file (header is not JSON)") from exc
    if not isinstance(header, dict):
        raise FlexTokConfigError(f"{path.name} is not a safetensors file")
    metadata = header.pop("__metadata__", None) or {}
    tensors: dict[str, tuple[str, list[int]]] = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list):
            raise FlexTokConfigError(f"{path.name}: malformed entry for tensor {name!r}")
        tensors[name] = (str(entry.get("dtype")), [int(v) for v in entry["shape"]])
    return tensors, {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def read_config(folder: Path, metadata: dict[str, str]) -> dict[str, Any]:
    if (folder / CONFIG_FILE).is_file():
        return read_config_json(folder / CONFIG_FILE)
    if metadata:
        return config_from_metadata(metadata)
    raise FlexTokConfigError(f"{folder.name} has no {CONFIG_FILE} and its {WEIGHTS_FILE} carries no config")


def vae_architecture(folder: Path, vae_config: dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """The VAE's shape from its own diffusers config (``hf_hub_path``: a hub id, or a folder inside the checkpoint
    folder), as extra keyword arguments for our StableDiffusionVAE (the base config when there is none), and the
    path of that config file."""
    hub_path = vae_config.get("hf_hub_path")
    if hub_path is None:
        return {}, None
    if not isinstance(hub_path, str):
        raise FlexTokConfigError("vae.hf_hub_path must be a string")
    local = Path(hub_path) if Path(hub_path).is_absolute() else folder / hub_path
    if local.is_dir():
        if not local.resolve().is_relative_to(folder.resolve()):
            raise FlexTokConfigError("vae.hf_hub_path points to a folder outside the checkpoint folder")
        vae_folder = local
    else:
        vae_folder = resolve_folder(hub_path)
    path = vae_folder / CONFIG_FILE
    if not path.is_file() or path.stat().st_size > 100_000:
        raise FlexTokConfigError(f"the VAE at {hub_path!r} has no readable {CONFIG_FILE}")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FlexTokConfigError(f"the VAE's {CONFIG_FILE} is not JSON") from exc
    return check_vae_config(cfg, vae_config), path


def check_vae_config(cfg: Any, vae_config: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(cfg, dict) or cfg.get("_class_name") != "AutoencoderKL":
        raise FlexTokConfigError("the VAE config is not a diffusers AutoencoderKL config")
    for key, value in VAE_FIXED.items():
        found = cfg.get(key, value)
        values = found if isinstance(found, list) else [found]
        if any(v != value for v in values):
            raise FlexTokConfigError(f"VAE config: {key}={found!r} is not supported (expected {value!r})")
    for flag in ("use_quant_conv", "use_post_quant_conv", "mid_block_add_attention"):
        if cfg.get(flag, True) is not True:
            raise FlexTokConfigError(f"VAE config: {flag}=false is not supported")
    channels = cfg.get("block_out_channels")
    groups, layers = cfg.get("norm_num_groups", 32), cfg.get("layers_per_block", 2)
    if not isinstance(channels, list):
        raise FlexTokConfigError("VAE config: block_out_channels must be a list")
    ok = 1 <= len(channels) <= 6
    ok = ok and all(isinstance(c, int) and 0 < c <= 2048 for c in channels) and isinstance(groups, int) and groups > 0
    ok = ok and all(c % groups == 0 for c in channels) and isinstance(layers, int) and 0 < layers <= 8
    if not ok:
        raise FlexTokConfigError("VAE config: block_out_channels / norm_num_groups / layers_per_block out of range")
    latent = cfg.get("latent_channels")
    if latent != vae_config.get("latent_channels", 16):
        raise FlexTokConfigError(f"VAE config has {latent} latent channels, FlexTok's config expects another number")
    extra: dict[str, Any] = {"block_out_channels": channels, "layers_per_block": layers, "norm_num_groups": groups}
    if vae_config.get("scaling_factor") is None:
        scale = cfg.get("scaling_factor")
        if not isinstance(scale, int | float) or not 0 < scale < 1000:
            raise FlexTokConfigError("the VAE config has no usable scaling_factor")
        extra["scaling_factor"] = float(scale)
    return extra


TORCH_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def check_tensors(expected: dict[str, Any], found: dict[str, tuple[str, list[int]]], name: str) -> None:
    """Every parameter present with the config's shape, nothing extra; a clear list of what is wrong."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [
        f"{key}: file {found[key][1]} vs config {list(expected[key].shape)}"
        for key in sorted(set(expected) & set(found))
        if list(expected[key].shape) != found[key][1]
    ]
    bad_dtype = sorted(key for key in set(expected) & set(found) if found[key][0] not in TORCH_DTYPES)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append(f"{len(wrong)} with the wrong shape (e.g. {'; '.join(wrong[:3])})")
    if bad_dtype:
        problems.append(f"{len(bad_dtype)} not floating point (e.g. {', '.join(bad_dtype[:3])})")
    if problems:
        raise FlexTokConfigError(f"{name} does not match its config: " + "; ".join(problems))


def load_flextok(folder: Path) -> tuple[FlexTok, dict[str, Any], list[Path]]:
    """(our FlexTok module with the checkpoint's weights, the parsed config, the files it was built from)."""
    import torch
    from safetensors.torch import load_file

    from workers.media.image.flextok.build import build_flextok

    refuse_pickle(folder)
    weights = folder / WEIGHTS_FILE
    found, metadata = read_header(weights)
    config = read_config(folder, metadata)
    vae_arch, vae_config_file = vae_architecture(folder, config["vae"])
    with torch.device("meta"):
        skeleton = build_flextok(config, vae_architecture=vae_arch)
    check_tensors(skeleton.state_dict(), found, WEIGHTS_FILE)
    model = build_flextok(config, vae_architecture=vae_arch)
    state = {key: tensor.float() for key, tensor in load_file(str(weights)).items()}
    model.load_state_dict(state, strict=True)
    files = [p for p in (folder / CONFIG_FILE, weights, vae_config_file) if p is not None and p.is_file()]
    return model.eval(), config, files
