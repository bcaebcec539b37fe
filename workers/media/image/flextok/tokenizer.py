"""FlexTok as the product's ImageTokenizer: an image -> an ordered strip of up to 256 tokens; any prefix of k tokens
-> an image through the seeded rectified-flow decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workers.media.image.flextok.config import FlexTokConfigError
from workers.media.types import ImageTokens, MediaInputError, MediaTokenizerInfo, NotInstalledError

TOKENIZER_ID = "image/flextok"
SOURCE = "FlexTok (Bachmann et al. 2025, arXiv:2502.13967); our implementation of apple/ml-flextok's architecture"
LICENCE = "weights: Apple Machine Learning Research Model licence (LICENSE_WEIGHTS of apple/ml-flextok)"
# The official README's decoding settings (timesteps=20, guidance_scale=7.5, perform_norm_guidance=True).
DEFAULT_STEPS = 20
DEFAULT_GUIDANCE = 7.5


def flextok_info(*, codebook_size: int = 64000, max_tokens: int = 256, image_size: int = 256) -> MediaTokenizerInfo:
    return MediaTokenizerInfo(
        id=TOKENIZER_ID,
        modality="image",
        family="neural",
        label="FlexTok",
        description=(
            "1D tokens of flexible length: an image becomes up to 256 ordered tokens (FSQ, 64,000 codes); any "
            "prefix of k tokens decodes to an image through a rectified-flow decoder (stochastic: seeded)."
        ),
        layout="strip",
        has_decoder=True,
        codebook_sizes=(codebook_size,),
        image_size=image_size,
        max_tokens=max_tokens,
        source=SOURCE,
        licence=LICENCE,
    )


class FlexTokTokenizer:
    def __init__(
        self, model: Any, config: dict[str, Any], *, source_files: list[Path], steps: int, guidance_scale: float
    ) -> None:
        self.model = model
        self.source_files = source_files  # the manifest records their sha256
        encoder = config["encoder"]["module_dict"]
        patch = encoder["enc_patch_emb"]["patch_sizes"][0]
        grid = encoder["enc_posemb_module"]["max_sizes"][0]
        self.latent_side = grid * patch
        self.image_size = self.latent_side * model.vae.downsample_factor
        self.steps, self.guidance_scale = steps, guidance_scale
        self.info = flextok_info(
            codebook_size=model.regularizer.codebook_size, max_tokens=model.max_tokens, image_size=self.image_size
        )

    def encode(self, image: np.ndarray) -> ImageTokens:
        import torch

        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise MediaInputError("FlexTok needs an RGB image (height x width x 3)")
        square, processed = self.preprocess(image)
        pixels = torch.from_numpy(np.ascontiguousarray(square.transpose(2, 0, 1)))[None].float() * 2 - 1
        codes = self.model.tokenize(pixels)[0].numpy().astype(np.int64)
        extra = {
            "processed": processed,
            "decoder": {"steps": self.steps, "guidance_scale": self.guidance_scale, "norm_guidance": True},
        }
        return ImageTokens(codes=codes, input_size=(self.image_size, self.image_size), extra=extra)

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, str]:
        """The image the codes describe (what reconstructions are compared with), and what was done to get it."""
        return center_square(image, self.image_size)

    def decode(self, tokens: ImageTokens, *, k: int | None = None, seed: int = 0) -> np.ndarray:
        import torch

        from workers.media.image.flextok.model import SamplerSettings

        codes = np.asarray(tokens.codes, dtype=np.int64).reshape(-1)
        k = len(codes) if k is None else k
        if not 1 <= k <= min(len(codes), self.model.max_tokens):
            raise MediaInputError(f"k must be between 1 and {min(len(codes), self.model.max_tokens)}, got {k}")
        if codes.min() < 0 or codes.max() >= self.model.regularizer.codebook_size:
            raise MediaInputError("token ids outside FlexTok's codebook")
        settings = SamplerSettings(steps=self.steps, guidance_scale=self.guidance_scale, norm_guidance=True, seed=seed)
        image = self.model.detokenize(
            torch.from_numpy(codes[:k])[None], latent_size=(self.latent_side, self.latent_side), settings=settings
        )
        return ((image[0].permute(1, 2, 0).numpy() + 1) / 2).clip(0, 1).astype(np.float32)


def center_square(image: np.ndarray, size: int) -> tuple[np.ndarray, str]:
    """Centre-crop to a square and resize to size x size (bicubic), float32 in [0, 1]; says what was done."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.clip(image[top : top + side, left : left + side], 0, 1)
    steps = [] if (h, w) == (side, side) else [f"centre-cropped {w}x{h} to {side}x{side}"]
    if side != size:
        pil = Image.fromarray((crop * 255 + 0.5).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
        crop = np.asarray(pil, dtype=np.float32) / 255
        steps.append(f"resized to {size}x{size}")
    return crop.astype(np.float32), "; ".join(steps) or "none"


def load_tokenizer(
    ref: str | None, *, steps: int = DEFAULT_STEPS, guidance_scale: float = DEFAULT_GUIDANCE
) -> FlexTokTokenizer:
    """Load an official checkpoint (hub id or allowed folder, already resolved by the app)."""
    from workers.media.image.flextok.loader import load_flextok, resolve_folder

    if not ref:
        raise MediaInputError("FlexTok needs a checkpoint: a hub id such as EPFL-VILAB/flextok_d18_d28_dfn or a folder")
    folder = resolve_folder(ref)
    try:
        model, config, files = load_flextok(folder)
    except FlexTokConfigError as exc:
        raise MediaInputError(f"FlexTok checkpoint {Path(ref).name!r}: {exc}") from exc
    except OSError as exc:
        raise NotInstalledError(f"FlexTok checkpoint could not be read: {exc}") from exc
    return FlexTokTokenizer(model, config, source_files=files, steps=steps, guidance_scale=guidance_scale)
