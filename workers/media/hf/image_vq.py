"""The image VQ-VAEs inside transformers' multimodal models (Chameleon, Emu3, Janus), loaded by hub id or allowed
folder and wrapped as ``ImageTokenizer``: an image in, a 2D grid of codebook indices out, and back (Emu3, Janus;
transformers implements only Chameleon's encoder, so Chameleon has no decoder here).

A published checkpoint is the whole multimodal model (7B for Chameleon); only the VQ-VAE is built, from the config's
``vq_config``, and only its tensors (``…vqmodel.*``) are read, from the shards that hold them. A folder saved from the
VQ-VAE alone (``model_type`` ``chameleon_vqgan`` / ``emu3_vqgan`` / ``janus_vqgan``) loads too.

Preprocessing is each model's own image processor (transformers' class from this module's table, its settings from
the checkpoint's preprocessor_config.json read as data): Chameleon resizes the short side to 512 and centre-crops
512x512; Janus resizes the long side to 384 and pads to a square; Emu3 resizes to a multiple of its spatial factor
within a pixel budget, keeping the aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.media.hf.loading import (
    PREPROCESSOR_FILE,
    checked_config,
    local_folder,
    read_json,
    safetensors_files,
)
from workers.media.types import ImageTokens, MediaInputError, MediaTokenizerInfo

ENTRY_ID = "image/hf-vq"
VQ_PREFIX = "vqmodel."
# Keys of preprocessor_config.json that name classes or code; the processor class comes from our table instead.
PROCESSOR_KEYS_IGNORED = frozenset({"image_processor_type", "processor_class", "auto_map", "feature_extractor_type"})


@dataclass(frozen=True)
class VQArch:
    full_type: str  # the multimodal model's model_type (the published checkpoints)
    vq_type: str  # the VQ-VAE's own model_type (a folder saved from the VQ-VAE alone)
    label: str
    model_class: str  # transformers' classes, named by this table, never by the checkpoint
    config_class: str
    processor_class: str
    has_decoder: bool
    siblings: tuple[str, ...]  # the multimodal config's other sub-configs (text, vision): allowed, never built


ARCHS: tuple[VQArch, ...] = (
    VQArch(
        "chameleon",
        "chameleon_vqgan",
        "Chameleon VQ-VAE",
        "ChameleonVQVAE",
        "ChameleonVQVAEConfig",
        "ChameleonImageProcessorPil",
        False,
        (),
    ),
    VQArch(
        "emu3",
        "emu3_vqgan",
        "Emu3 VQ-VAE",
        "Emu3VQVAE",
        "Emu3VQVAEConfig",
        "Emu3ImageProcessor",
        True,
        ("emu3_text_model",),
    ),
    VQArch(
        "janus",
        "janus_vqgan",
        "Janus VQ-VAE",
        "JanusVQVAE",
        "JanusVQVAEConfig",
        "JanusImageProcessorPil",
        True,
        ("llama", "janus_vision_model", "siglip_vision_model"),
    ),
)
BY_TYPE = {arch.full_type: arch for arch in ARCHS} | {arch.vq_type: arch for arch in ARCHS}


class HFImageVQ:
    """One loaded VQ-VAE with its image processor. ``encode``/``decode`` follow workers.media.types.ImageTokenizer."""

    def __init__(self, *, model: Any, processor: Any, arch: VQArch, ref: str) -> None:
        self.model = model
        self.processor = processor
        self.arch = arch
        self.ref = ref
        config = model.config
        self.codebook_size = int(getattr(config, "num_embeddings", None) or config.codebook_size)
        size = getattr(processor, "crop_size", None) or getattr(processor, "size", None) or {}
        side = size.get("height") if isinstance(size, dict) and arch.full_type != "emu3" else None
        name = Path(ref).name if Path(ref).is_absolute() else ref
        self.info = MediaTokenizerInfo(
            id=ENTRY_ID,
            modality="image",
            family="codec",
            label=f"{arch.label} ({name})",
            description=(
                f"transformers' {arch.label}: a 2D grid of indices into one codebook of {self.codebook_size}"
                + ("" if arch.has_decoder else "; transformers implements only its encoder, so no reconstruction")
                + "."
            ),
            layout="grid",
            has_decoder=arch.has_decoder,
            codebook_sizes=(self.codebook_size,),
            image_size=int(side) if side else None,
            source=f"transformers {_transformers_version()} {arch.model_class}, weights {ref}",
            licence="see the checkpoint's model card",
        )

    def pixel_inputs(self, image: np.ndarray) -> dict[str, Any]:
        """The model's inputs for ``image`` (float32 [H, W, 3] in [0, 1]), through its own image processor."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise MediaInputError(f"Expected an RGB image [height, width, 3], got shape {image.shape}.")
        if not np.all(np.isfinite(image)):
            raise MediaInputError("The image holds non-finite values.")
        pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
        try:
            return dict(self.processor(images=pixels, return_tensors="pt"))
        except ValueError as exc:  # e.g. an image too small for the processor's resize
            raise MediaInputError(f"{self.arch.label} cannot take this image: {str(exc)[:300]}") from None

    def to_image(self, pixel_values: Any) -> np.ndarray:
        """Model pixels [1, 3, H, W] (normalised as the processor does) back to float32 [H, W, 3] in [0, 1]."""
        processor = self.processor
        mean = np.asarray(processor.image_mean if processor.do_normalize else [0.0] * 3, dtype=np.float32)
        std = np.asarray(processor.image_std if processor.do_normalize else [1.0] * 3, dtype=np.float32)
        scale = float(processor.rescale_factor) * 255.0 if processor.do_rescale else 1.0
        array = pixel_values[0].float().cpu().numpy().transpose(1, 2, 0)
        return np.clip((array * std + mean) / scale, 0.0, 1.0).astype(np.float32)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """The image as the tokenizer sees it (resized, cropped or padded), in [0, 1]: what a reconstruction is
        compared with."""
        return self.to_image(self.pixel_inputs(image)["pixel_values"])

    def encode(self, image: np.ndarray) -> ImageTokens:
        import torch

        inputs = self.pixel_inputs(image)
        pixel_values = inputs["pixel_values"].float()
        with torch.inference_mode():
            if self.arch.full_type == "emu3":
                grid = self.model.encode(pixel_values, inputs["image_sizes"]).image_tokens[0]
            else:
                out = self.model.encode(pixel_values)
                h, w = out.quantized_last_hidden_state.shape[-2:]
                grid = out.image_tokens.reshape(h, w)  # the quantizer flattens [h, w] row-major
        height, width = (int(v) for v in pixel_values.shape[-2:])
        codes = grid.cpu().numpy().astype(np.int64)
        return ImageTokens(
            codes=codes,
            input_size=(height, width),
            extra={
                "ref": self.ref,
                "grid": list(codes.shape),
                "processed": f"{self.arch.label} preprocessing to {height}x{width}",
            },
        )

    def decode(self, tokens: ImageTokens, *, k: int | None = None, seed: int = 0) -> np.ndarray:
        import torch

        if not self.arch.has_decoder:
            raise NotImplementedError(f"transformers implements only the encoder of the {self.arch.label}.")
        codes = np.asarray(tokens.codes)
        if codes.ndim != 2 or codes.size == 0:
            raise MediaInputError(f"Expected a 2D grid of codes, got shape {codes.shape}.")
        if k is not None and k < codes.size:
            raise MediaInputError("A grid tokenizer decodes all its tokens; prefixes apply to 1D strips only.")
        if codes.min() < 0 or codes.max() >= self.codebook_size:
            raise MediaInputError(f"Codes must lie in [0, {self.codebook_size}).")
        grid = torch.from_numpy(codes.astype(np.int64))[None]
        with torch.inference_mode():
            try:
                if self.arch.full_type == "janus":  # Janus decodes a flat sequence of its fixed square grid
                    pixel_values = self.model.decode(grid.reshape(1, -1))
                else:
                    pixel_values = self.model.decode(grid)
            except (ValueError, RuntimeError) as exc:
                raise MediaInputError(
                    f"{self.arch.label} cannot decode a {codes.shape} grid: {str(exc)[:200]}"
                ) from None
        return self.to_image(pixel_values)


def _vq_shards(index: dict[str, Any]) -> list[str]:
    """The shards of a sharded multimodal checkpoint that hold VQ-VAE tensors (all of them for a VQ-only one)."""
    weight_map: dict[str, str] = index.get("weight_map", {})
    wanted = {shard for key, shard in weight_map.items() if VQ_PREFIX in key}
    return sorted(wanted or set(weight_map.values()))


def _vq_state(files: list[Path], *, standalone: bool) -> dict[str, Any]:
    """The VQ-VAE's tensors, as float32, keyed as the module names them (``…vqmodel.`` prefix removed)."""
    from safetensors import safe_open

    state: dict[str, Any] = {}
    for path in files:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open handles are not mappings
                if standalone:
                    name = key
                elif VQ_PREFIX in key:
                    name = key.split(VQ_PREFIX, 1)[1]
                else:
                    continue
                tensor = handle.get_tensor(key)
                state[name] = tensor.float() if tensor.is_floating_point() else tensor
    return state


def _processor(arch: VQArch, folder: Path) -> Any:
    import transformers

    settings: dict[str, Any] = {}
    if (folder / PREPROCESSOR_FILE).is_file():
        settings = {k: v for k, v in read_json(folder / PREPROCESSOR_FILE).items() if k not in PROCESSOR_KEYS_IGNORED}
    try:
        return getattr(transformers, arch.processor_class)(**settings)
    except (TypeError, ValueError) as exc:
        raise MediaInputError(
            f"{PREPROCESSOR_FILE} is not a valid {arch.label} image processor config: {exc}"
        ) from None


def load_image_vq(ref: str) -> HFImageVQ:
    """The VQ-VAE at ``ref`` (resolved hub id or allowed folder), safetensors only, never remote code."""
    import transformers

    folder = local_folder(ref, example="deepseek-community/Janus-Pro-1B", weight_filter=_vq_shards)
    siblings = {kind for arch in ARCHS for kind in (arch.vq_type, *arch.siblings)}
    data = checked_config(folder, allowed=BY_TYPE, nested_allowed=siblings)
    arch = BY_TYPE[data["model_type"]]
    standalone = data["model_type"] == arch.vq_type
    vq_data = data if standalone else data.get("vq_config")
    if not isinstance(vq_data, dict):
        raise MediaInputError(f"This {arch.full_type} checkpoint's config has no vq_config.")
    try:
        config = getattr(transformers, arch.config_class).from_dict(
            {k: v for k, v in vq_data.items() if k != "model_type"}
        )
    except (TypeError, ValueError) as exc:
        raise MediaInputError(f"This {arch.label} config is not valid: {str(exc)[:300]}") from None
    state = _vq_state(safetensors_files(folder), standalone=standalone)
    model = getattr(transformers, arch.model_class)(config)
    expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    if missing:
        raise MediaInputError(
            f"The checkpoint lacks {len(missing)} {arch.label} tensors (first: {missing[0]!r}); it is not a complete "
            f"{arch.full_type} checkpoint."
        )
    try:
        model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=True)
    except RuntimeError as exc:  # a tensor of the wrong shape for the config
        raise MediaInputError(f"The {arch.label} weights do not fit its config: {str(exc)[:300]}") from None
    return HFImageVQ(model=model.eval(), processor=_processor(arch, folder), arch=arch, ref=ref)


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)
