"""Tiny transformers checkpoints for the media tests: the real classes and key names at toy sizes, RANDOM weights
(seeded), saved with save_pretrained (safetensors) into a folder. They are not codecs anyone could listen to or look
at; they prove the plumbing (shapes, rates, axes, preprocessing, loading rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RATE = 8000  # every tiny audio codec works at 8 kHz with a hop of 16 (EnCodec, Mimi) or 8 (DAC, X-Codec) samples

_DAC: dict[str, Any] = {
    "encoder_hidden_size": 4,
    "downsampling_ratios": [2, 4],
    "upsampling_ratios": [4, 2],
    "decoder_hidden_size": 16,
    "n_codebooks": 3,
    "codebook_size": 16,
    "codebook_dim": 4,
    "sampling_rate": RATE,
    "hidden_size": 32,
}
_HUBERT: dict[str, Any] = {
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "conv_dim": [8, 8],
    "conv_stride": [4, 2],
    "conv_kernel": [4, 2],
    "num_conv_pos_embeddings": 4,
    "num_conv_pos_embedding_groups": 2,
}


def audio_config(kind: str) -> Any:
    import transformers as t

    if kind == "encodec":
        return t.EncodecConfig(
            sampling_rate=RATE,
            target_bandwidths=[2.0, 4.0, 8.0],  # 500 frames/s x 4 bits: 1, 2, 4 codebooks
            hidden_size=16,
            num_filters=4,
            num_residual_layers=1,
            upsampling_ratios=[4, 4],
            codebook_size=16,
            num_lstm_layers=1,
            codebook_dim=16,
        )
    if kind == "dac":
        return t.DacConfig(**_DAC)
    if kind == "mimi":
        return t.MimiConfig(
            sampling_rate=RATE,
            hidden_size=16,
            num_filters=4,
            upsampling_ratios=[4, 4],
            codebook_size=16,
            codebook_dim=8,
            vector_quantization_hidden_dimension=8,
            num_quantizers=4,
            num_semantic_quantizers=1,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=8,
            intermediate_size=32,
            sliding_window=16,
            upsample_groups=16,
        )
    if kind == "xcodec":
        return t.XcodecConfig(
            sample_rate=RATE,
            target_bandwidths=[4.0, 8.0],  # 1000 frames/s x 4 bits: 1, 2 codebooks
            codebook_size=16,
            acoustic_model_config=dict(_DAC),
            semantic_model_config=dict(_HUBERT),
        )
    raise ValueError(kind)


MODEL_CLASSES = {"encodec": "EncodecModel", "dac": "DacModel", "mimi": "MimiModel", "xcodec": "XcodecModel"}


def save_audio_codec(folder: Path, kind: str, *, seed: int = 0) -> Path:
    import torch
    import transformers as t

    torch.manual_seed(seed)
    model = getattr(t, MODEL_CLASSES[kind])(audio_config(kind)).eval()
    model.save_pretrained(folder)  # safetensors
    return folder


VQ_COMMON: dict[str, Any] = {
    "embed_dim": 4,
    "latent_channels": 4,
    "base_channels": 32,
    "channel_multiplier": [1, 1],
    "num_res_blocks": 1,
}
VQ_CONFIGS: dict[str, dict[str, Any]] = {
    "chameleon": {**VQ_COMMON, "num_embeddings": 32, "attn_resolutions": [], "resolution": 16},
    "emu3": {**VQ_COMMON, "codebook_size": 32, "attn_resolutions": [], "hidden_size": 32},
    "janus": {
        **VQ_COMMON,
        "num_embeddings": 32,
        "num_patches": 8,
        "projection_dim": 16,
        "image_token_embed_dim": 16,
    },
}
# The image processors' settings at toy size (written as preprocessor_config.json, as published checkpoints do).
PROCESSORS: dict[str, dict[str, Any]] = {
    "chameleon": {"size": {"shortest_edge": 16}, "crop_size": {"height": 16, "width": 16}},
    "emu3": {
        "min_pixels": 16 * 16,
        "max_pixels": 32 * 32,
        "spatial_factor": 2,
        "image_mean": [0.5] * 3,
        "image_std": [0.5] * 3,
    },
    "janus": {"size": {"height": 16, "width": 16}, "image_mean": [0.5] * 3, "image_std": [0.5] * 3},
}
VQ_CLASSES = {"chameleon": "ChameleonVQVAE", "emu3": "Emu3VQVAE", "janus": "JanusVQVAE"}
_TEXT: dict[str, Any] = {
    "vocab_size": 64,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
}


def vq_model(kind: str, *, seed: int = 0) -> Any:
    import torch
    import transformers as t

    torch.manual_seed(seed)
    return getattr(t, VQ_CLASSES[kind])(getattr(t, VQ_CLASSES[kind] + "Config")(**VQ_CONFIGS[kind])).eval()


def save_vq(folder: Path, kind: str, *, seed: int = 0) -> Path:
    """A folder saved from the VQ-VAE alone (model_type ``<kind>_vqgan``)."""
    vq_model(kind, seed=seed).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(PROCESSORS[kind]))
    return folder


def full_model(kind: str, *, seed: int = 0) -> Any:
    """The whole multimodal model (what the hub publishes), toy-sized, its VQ-VAE at ``.model.vqmodel``."""
    import torch
    import transformers as t

    torch.manual_seed(seed)
    vq = VQ_CONFIGS[kind]
    config: Any
    if kind == "chameleon":
        config = t.ChameleonConfig(vq_config=vq, vocabulary_map={"<image>": 3}, **_TEXT)
        return t.ChameleonForConditionalGeneration(config).eval()
    if kind == "emu3":
        text = {**_TEXT, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
        config = t.Emu3Config(vq_config=vq, text_config=text, vocabulary_map={"<image>": 3})
        return t.Emu3ForConditionalGeneration(config).eval()
    vision = {
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 16,
        "patch_size": 4,
        "projection_dim": 16,
    }
    config = t.JanusConfig(vq_config=vq, text_config={"model_type": "llama", **_TEXT}, vision_config=vision)
    return t.JanusForConditionalGeneration(config).eval()


def save_full(folder: Path, kind: str, *, seed: int = 0) -> Any:
    model = full_model(kind, seed=seed)
    model.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(
        json.dumps({**PROCESSORS[kind], "image_processor_type": f"{kind.capitalize()}ImageProcessor"})
    )
    return model
