"""Load a converted WavTokenizer checkpoint folder: ``config.yaml`` (the official YAML) + ``model.safetensors`` (the
official state dict, official key names).

The weights file is checked against the config before any tensor is read: its header (safetensors' JSON header, no
code) must list exactly the tensors the configured model has, with the same shapes and a float dtype. Pickle files
(the official Lightning ``.ckpt``, ``.bin``, ``.pt``) are never opened here; they are converted once, offline, by
``python -m workers.media.audio.wavtokenizer.convert`` on a trusted machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workers.media.audio.wavtokenizer.config import InvalidCheckpointError, WavTokenizerConfig, read_config

if TYPE_CHECKING:
    import torch

    from workers.media.audio.wavtokenizer.model import WavTokenizerModel

CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "model.safetensors"
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl")
FLOAT_DTYPES = ("F32", "F16", "BF16")
# In every official file but never run at inference (EnCodec's SEANet decoder): accepted and skipped.
UNUSED_PREFIXES = ("feature_extractor.encodec.decoder.",)
INITED_KEY = "feature_extractor.encodec.quantizer.vq.layers.0._codebook.inited"
MAX_LISTED = 5


@dataclass(frozen=True)
class CheckpointFiles:
    folder: Path
    config: Path
    weights: Path


def checkpoint_files(folder: Path) -> CheckpointFiles:
    """The two files of a converted folder, or an error saying what to do (convert, not load, a pickle)."""
    if not folder.is_dir():
        raise InvalidCheckpointError(f"WavTokenizer checkpoint folder {folder} does not exist.")
    config, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not weights.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        hint = (
            f" It holds {pickles[:MAX_LISTED]}: pickle files are never loaded here; convert one on a trusted machine "
            "with `python -m workers.media.audio.wavtokenizer.convert <file.ckpt> <folder> --config <official yaml>`."
            if pickles
            else ""
        )
        raise InvalidCheckpointError(f"WavTokenizer checkpoint folder has no {WEIGHTS_NAME}.{hint}")
    if not config.is_file():
        raise InvalidCheckpointError(f"WavTokenizer checkpoint folder has no {CONFIG_NAME} (the official YAML config).")
    return CheckpointFiles(folder=folder, config=config, weights=weights)


def expected_tensors(config: WavTokenizerConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor the configured model loads, with its shape (built on the meta device: no memory, no weights)."""
    import torch

    from workers.media.audio.wavtokenizer.model import WavTokenizerModel

    with torch.device("meta"):
        model = WavTokenizerModel(config)
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def check_header(weights: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """Compare the safetensors header with the expected tensors; raise naming the first differences."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            found = {name: handle.get_slice(name) for name in handle.keys()}  # noqa: SIM118 (a safetensors handle, not a dict)
            header = {name: (tuple(part.get_shape()), part.get_dtype()) for name, part in found.items()}
    except (SafetensorError, OSError, ValueError) as error:
        raise InvalidCheckpointError(
            f"{weights.name} is not a readable safetensors file ({str(error)[:200]}); pickles are never loaded here."
        ) from None
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(name for name in set(header) - set(expected) if not name.startswith(UNUSED_PREFIXES))
    wrong_shape = [
        f"{name}: {list(header[name][0])} in the file, {list(shape)} for the config"
        for name, shape in expected.items()
        if name in header and header[name][0] != shape
    ]
    wrong_dtype = [
        f"{name}: {header[name][1]}" for name in expected if name in header and header[name][1] not in FLOAT_DTYPES
    ]
    problems = []
    for label, names in (
        ("missing tensors", missing),
        ("tensors this model does not have", unexpected),
        ("shapes that do not match the config", wrong_shape),
        (f"dtypes other than {'/'.join(FLOAT_DTYPES)}", wrong_dtype),
    ):
        if names:
            problems.append(f"{len(names)} {label} (e.g. {'; '.join(names[:MAX_LISTED])})")
    if problems:
        raise InvalidCheckpointError(
            f"{weights.name} does not fit {CONFIG_NAME}: " + ", ".join(problems) + ". Convert the checkpoint together "
            "with the official config it was trained with."
        )


def read_weights(weights: Path, names: list[str]) -> dict[str, torch.Tensor]:
    import torch
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        return {name: handle.get_tensor(name).to(torch.float32) for name in names}


def load_model(folder: Path, *, device: str = "cpu") -> WavTokenizerModel:
    """The network from a converted folder, in eval mode; every check runs before a weight is read."""
    import torch

    from workers.media.audio.wavtokenizer.model import WavTokenizerModel

    files = checkpoint_files(folder)
    config = read_config(files.config)
    expected = expected_tensors(config)
    check_header(files.weights, expected)
    state = read_weights(files.weights, list(expected))
    if not all(bool(torch.isfinite(tensor).all()) for tensor in state.values()):
        raise InvalidCheckpointError(f"{WEIGHTS_NAME} holds NaN or infinite values.")
    if float(state[INITED_KEY][0]) != 1.0:
        raise InvalidCheckpointError(
            "The checkpoint's codebook was never initialised (inited = 0: an untrained model); refusing to load it."
        )
    model = WavTokenizerModel(config)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def frames_for(samples: int, config: WavTokenizerConfig) -> int:
    """Token frames for a clip of ``samples`` at 24 kHz (each strided conv rounds up)."""
    return math.ceil(samples / config.hop_length)
