"""Catalogue entries for what transformers implements, by hub id or allowed folder: the neural audio codecs
(``audio/hf-codec``: EnCodec, DAC, Mimi, X-Codec) and the image VQ-VAEs of multimodal models (``image/hf-vq``:
Chameleon, Emu3, Janus). Nothing is bundled: the user names the checkpoint, and a worker loads it
(workers/media/hf/). The checkpoint decides the architecture (its config's ``model_type``, from an allow-list).
"""

from __future__ import annotations

from typing import Any

from workers.media.catalog import MediaEntry, MediaStatus
from workers.media.types import MediaTokenizerInfo

AUDIO_EXAMPLES = (
    "facebook/encodec_24khz",
    "facebook/encodec_32khz",
    "descript/dac_16khz",
    "descript/dac_24khz",
    "descript/dac_44khz",
    "kyutai/mimi",
    "hf-audio/xcodec-hubert-librispeech",
)
IMAGE_EXAMPLES = ("deepseek-community/Janus-Pro-1B", "BAAI/Emu3-Chat-hf", "facebook/chameleon-7b")
NEEDS = "needs a hub id or allowed folder; nothing bundled"
INSTALL = (
    "Give a Hugging Face hub id (for example {example}) on a server that reaches the hub, or download the "
    "repository's config.json, preprocessor_config.json and .safetensors files into a folder the administrator "
    "allows (TOKENSCOPE_ALLOWED_MODEL_ROOTS) and give that folder. Safetensors only; no remote code."
)


def _status(supported: str, example: str) -> MediaStatus:
    return MediaStatus(installed=False, detail=f"{NEEDS} ({supported})", install=INSTALL.format(example=example))


def _load_audio(ref: str | None) -> Any:
    from workers.media.hf.audio_codecs import load_audio_codec
    from workers.media.types import MediaInputError

    if not ref:
        raise MediaInputError("audio/hf-codec needs a hub id or an allowed folder.")
    return load_audio_codec(ref)


def _load_image(ref: str | None) -> Any:
    from workers.media.hf.image_vq import load_image_vq
    from workers.media.types import MediaInputError

    if not ref:
        raise MediaInputError("image/hf-vq needs a hub id or an allowed folder.")
    return load_image_vq(ref)


def entries() -> list[MediaEntry]:
    audio = MediaTokenizerInfo(
        id="audio/hf-codec",
        modality="audio",
        family="codec",
        label="transformers codec (by checkpoint)",
        description=(
            "A neural audio codec transformers implements, from the checkpoint you name: EnCodec (mono 24/32 kHz), "
            "DAC, Mimi or X-Codec. Residual VQ: several codebooks per frame; rate and codebooks come from the "
            "checkpoint."
        ),
        layout="frames",
        has_decoder=True,
        codebook_sizes=(),
        source="transformers (EncodecModel, DacModel, MimiModel, XcodecModel)",
        licence="the checkpoint's",
    )
    image = MediaTokenizerInfo(
        id="image/hf-vq",
        modality="image",
        family="codec",
        label="transformers image VQ-VAE (by checkpoint)",
        description=(
            "The image VQ-VAE of a multimodal model transformers implements, from the checkpoint you name: Janus "
            "(384 px, decoder), Emu3 (any aspect, decoder) or Chameleon (512 px, encoder only). A 2D grid of codes."
        ),
        layout="grid",
        has_decoder=True,
        codebook_sizes=(),
        source="transformers (JanusVQVAE, Emu3VQVAE, ChameleonVQVAE)",
        licence="the checkpoint's",
    )
    return [
        MediaEntry(
            info=audio,
            load=_load_audio,
            status=lambda: _status("EnCodec, DAC, Mimi, X-Codec", AUDIO_EXAMPLES[0]),
            needs_ref=True,
            example_refs=AUDIO_EXAMPLES,
        ),
        MediaEntry(
            info=image,
            load=_load_image,
            status=lambda: _status("Janus, Emu3, Chameleon VQ-VAEs", IMAGE_EXAMPLES[0]),
            needs_ref=True,
            example_refs=IMAGE_EXAMPLES,
        ),
    ]
