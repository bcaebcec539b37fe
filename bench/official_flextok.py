"""Our FlexTok against the official implementation, on the same weights and the same input.

    PYTHONPATH=. <python> bench/official_flextok.py --official /path/to/ml-flextok-checkout [--no-write]

``<python>`` must import both this project (torch, numpy, safetensors) and the official code's own imports
(``hydra-core``, ``einops``, ``diffusers``, ``mup``); the official repository (github.com/apple/ml-flextok) is read
from ``--official`` or ``FLEXTOK_OFFICIAL`` and never copied here. ``torchvision`` is imported by the official
``flextok.utils.misc`` only for demo image I/O; where it cannot be imported a stub whose every attribute raises stands
in (imported after diffusers, which must not see it), and the table says so.

No official weights can be had here, so it builds tiny checkpoints in the official format
(``workers.media.image.flextok.tiny``: the published config layout with Hydra ``_target_`` entries, tiny sizes,
random weights, a tiny diffusers AutoencoderKL folder named by ``hf_hub_path``). Then
- the official ``FlexTokFromHub(config)`` is built from that config.json by Hydra and ``load_state_dict(strict=True)``
  loads model.safetensors: this is what proves our key layout and config format are the official ones;
- our loader loads the same folder;
- both tokenize the same images (tokens compared exactly) and detokenize every prefix k with the same seed, steps
  and guidance (reconstructions compared by the largest absolute difference).
Attention runs through the official code's own SDPA fallback (``use_flex_attention=False`` on its attention modules,
``return_materialized_mask=True`` on its sequence packers): FlexAttention needs torch.compile and a GPU build.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import torch

from bench.report import table, write_section
from workers.media.image.flextok.loader import load_flextok
from workers.media.image.flextok.model import SamplerSettings
from workers.media.image.flextok.tiny import write_tiny_checkpoint

DOC = Path(__file__).resolve().parents[1] / "docs" / "media.md"
TOLERANCE = 1e-4  # largest absolute difference of float32 reconstructions (in [-1, 1] image units) we call equal
# name: (tiny sizes, image side, latent side)
CONFIGS: dict[str, tuple[dict[str, Any], int, int]] = {
    "tiny-a (dim 32, depth 2, 8 registers)": ({}, 32, 8),
    "tiny-b (dim 64, depth 3, 16 registers, 6x6 patches)": (
        {"dim": 64, "depth": 3, "head_dim": 32, "registers": 16, "grid": 6},
        48,
        12,
    ),
}
SAMPLERS = [
    SamplerSettings(steps=8, guidance_scale=7.5, norm_guidance=True, seed=1),
    SamplerSettings(steps=5, guidance_scale=3.0, norm_guidance=False, seed=2),
    SamplerSettings(steps=4, guidance_scale=1.0, norm_guidance=False, seed=3),
]


def import_official(checkout: Path) -> tuple[Any, str]:
    """The official ``FlexTokFromHub`` class, and how torchvision was provided."""
    from diffusers.models import AutoencoderKL  # noqa: F401 - before any torchvision stub: diffusers sees none

    state = "real"
    try:
        import torchvision.transforms.functional  # noqa: F401
    except Exception:  # noqa: BLE001 - missing, or a CUDA build beside a CPU torch
        state = "stub (demo image I/O only, not in the compared path)"
        for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[name]

        def unavailable(name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)

            def fail(*args: object, **kwargs: object) -> None:
                raise RuntimeError(f"torchvision stub: {name} is not available in this comparison")

            return fail

        parent = None
        for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
            module = types.ModuleType(name)
            module.__getattr__ = unavailable  # type: ignore[method-assign]
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = module
            if parent is not None:
                setattr(parent, name.rsplit(".", 1)[1], module)
            parent = module
    sys.path.insert(0, str(checkout))
    from flextok.flextok_wrapper import FlexTokFromHub

    return FlexTokFromHub, state


def load_official(cls: Any, folder: Path) -> Any:
    from flextok.model.layers.attention import FlexAttention
    from flextok.model.preprocessors.flex_seq_packing import BlockWiseSequencePacker
    from safetensors.torch import load_file

    model = cls(config=json.loads((folder / "config.json").read_text()))
    model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    for module in model.modules():
        if isinstance(module, FlexAttention):
            module.use_flex_attention = False
        if isinstance(module, BlockWiseSequencePacker):
            module.return_materialized_mask = True
    return model.eval()


def test_images(side: int) -> list[tuple[str, torch.Tensor]]:
    """A smooth gradient, a checkerboard, and uniform noise, in [-1, 1]."""
    ramp = torch.linspace(-1, 1, side)
    gradient = torch.stack(
        [ramp[None, :].expand(side, side), ramp[:, None].expand(side, side), -ramp[None, :].expand(side, side)]
    )
    checker = ((torch.arange(side)[:, None] // 4 + torch.arange(side)[None, :] // 4) % 2).float() * 2 - 1
    noise = torch.rand(3, side, side, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return [
        ("gradient", gradient[None]),
        ("checkerboard", checker.expand(3, side, side)[None].clone()),
        ("noise", noise[None]),
    ]


def compare(official_cls: Any, name: str, sizes: dict[str, Any], side: int, latent: int) -> list[list[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny_checkpoint(Path(tmp) / "ckpt", seed=7, **sizes)
        ours = load_flextok(folder)[0]
        official = load_official(official_cls, folder)
        with torch.no_grad():
            for index, (label, image) in enumerate(test_images(side)):
                ours_tokens = ours.tokenize(image)
                official_tokens = official.tokenize(image)[0]
                same = int((ours_tokens == official_tokens).sum())
                for settings in SAMPLERS if index == 0 else SAMPLERS[:1]:
                    ks = [k for k in (1, 2, 4, 8, 16) if k <= ours_tokens.shape[1]]
                    worst = 0.0
                    for k in ks:
                        mine = ours.detokenize(ours_tokens[:, :k], latent_size=(latent, latent), settings=settings)
                        theirs = official.detokenize(
                            [official_tokens[:, :k]],
                            vae_image_sizes=latent,
                            timesteps=settings.steps,
                            guidance_scale=settings.guidance_scale,
                            perform_norm_guidance=settings.norm_guidance,
                            generator=torch.Generator().manual_seed(settings.seed),
                            verbose=False,
                        )
                        worst = max(worst, float((mine - theirs).abs().max()))
                    rows.append(
                        [
                            name,
                            f"{label} {side}x{side}",
                            f"{same}/{ours_tokens.shape[1]}",
                            f"steps {settings.steps}, cfg {settings.guidance_scale}, "
                            f"{'APG' if settings.norm_guidance else 'plain'}, seed {settings.seed}",
                            ",".join(map(str, ks)),
                            f"{worst:.2e}",
                            "yes" if worst <= TOLERANCE and same == ours_tokens.shape[1] else "NO",
                        ]
                    )
                    print(rows[-1], flush=True)
    return rows


def official_commit(checkout: Path) -> str:
    import subprocess

    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()[:12] if done.returncode == 0 else "an unrecorded commit"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", default=os.environ.get("FLEXTOK_OFFICIAL"), help="ml-flextok checkout")
    parser.add_argument("--commit", help="the official commit checked out (default: git rev-parse HEAD there)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/media.md alone")
    args = parser.parse_args()
    if not args.official:
        parser.error("give --official /path/to/ml-flextok (or set FLEXTOK_OFFICIAL)")
    torch.manual_seed(0)
    commit = args.commit or official_commit(Path(args.official))
    official_cls, torchvision_state = import_official(Path(args.official))
    rows = []
    for name, (sizes, side, latent) in CONFIGS.items():
        rows += compare(official_cls, name, sizes, side, latent)
    body = table(
        [
            "checkpoint",
            "input",
            "tokens equal",
            "sampler",
            "k decoded",
            "max abs(ours - official)",
            f"<= {TOLERANCE:g}",
        ],
        rows,
    )
    body += (
        f"\n\nOfficial code: apple/ml-flextok at {commit}, through its own SDPA attention fallback; torchvision: {torchvision_state}. Reconstructions are "
        "RGB in [-1, 1] (3 x side x side) after the full path: FSQ tokens -> flow decoder (CFG/APG) -> VAE decoder."
    )
    print(body)
    if not args.no_write:
        write_section("flextok-official", body, doc=DOC)
    return 0 if all(row[6] == "yes" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
