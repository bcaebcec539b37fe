"""Convert an official WavTokenizer checkpoint (a PyTorch Lightning ``.ckpt``) into the folder the product loads.

    python -m workers.media.audio.wavtokenizer.convert <checkpoint.ckpt> <out_dir> --config <official.yaml>

Run it only on files you trust, on your own machine, never inside the server: a ``.ckpt`` is a pickle.
``torch.load(weights_only=True)`` refuses pickled code objects, but the format stays one to keep out of a server.
The output is ``<out_dir>/config.yaml`` (the official YAML, copied after it parses) and ``<out_dir>/model.safetensors``
(the tensors under ``feature_extractor.``/``backbone.``/``head.``, as the official ``from_pretrained0802`` keeps
them, less EnCodec's SEANet decoder, which inference never runs), checked by the product's loader before it says done.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
from pathlib import Path

from workers.media.audio.wavtokenizer.config import InvalidCheckpointError, read_config
from workers.media.audio.wavtokenizer.loader import CONFIG_NAME, UNUSED_PREFIXES, WEIGHTS_NAME, load_model

KEPT_PREFIXES = ("feature_extractor.", "backbone.", "head.")


def convert(checkpoint: Path, out_dir: Path, *, config: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    read_config(config)  # refuse an unusable config before reading the checkpoint
    raw = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise InvalidCheckpointError(f"{checkpoint.name} holds no state dict.")
    kept = {
        name: tensor.contiguous()
        for name, tensor in state.items()
        if isinstance(tensor, torch.Tensor) and name.startswith(KEPT_PREFIXES) and not name.startswith(UNUSED_PREFIXES)
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, out_dir / CONFIG_NAME)
    save_file(kept, str(out_dir / WEIGHTS_NAME), metadata={"source": checkpoint.name, "format": "wavtokenizer"})
    load_model(out_dir)  # the product's own checks: same keys, shapes and dtypes as the config's model
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.media.audio.wavtokenizer.convert",
        description=(
            "Convert an official WavTokenizer .ckpt into config.yaml + model.safetensors for Tokenscope. "
            "Run it ONLY on checkpoint files you trust, on your own machine, outside the server: a .ckpt is a "
            "pickle (read with torch.load(weights_only=True)). Then place the folder under "
            "<model store>/media/wavtokenizer/<org>--<name> or an allowed model folder."
        ),
    )
    parser.add_argument("checkpoint", type=Path, help="the official .ckpt file")
    parser.add_argument("out_dir", type=Path, help="the folder to write (created if missing)")
    parser.add_argument(
        "--config", type=Path, required=True, help="the official YAML the checkpoint was trained with (its configs/)"
    )
    args = parser.parse_args(argv)
    try:
        folder = convert(args.checkpoint, args.out_dir, config=args.config)
    except (InvalidCheckpointError, pickle.UnpicklingError, RuntimeError, OSError) as error:  # refused, readable
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {folder / CONFIG_NAME} and {folder / WEIGHTS_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
