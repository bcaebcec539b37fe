"""The catalogue entry ``image/flextok``: our implementation of FlexTok loading the official checkpoints.

The reference names the checkpoint: an official hub id (``EPFL-VILAB/flextok_*``: ``config.json`` +
``model.safetensors``, taken from this server's Hugging Face cache, or downloaded when the hub answers) or a folder
the app has already resolved and allowed. Without weights the entry is "not installed" with how to install them; it
never runs on random weights. Cheap at import and in ``status`` (no torch): the web process lists the catalogue.
"""

from __future__ import annotations

import os
from pathlib import Path

from workers.media.catalog import MediaEntry, MediaStatus
from workers.media.image.flextok.tokenizer import flextok_info

# The published tokenizers (apple/ml-flextok README, "Model Zoo"); the first is the best one.
EXAMPLE_REFS = (
    "EPFL-VILAB/flextok_d18_d28_dfn",
    "EPFL-VILAB/flextok_d18_d28_in1k",
    "EPFL-VILAB/flextok_d18_d18_in1k",
    "EPFL-VILAB/flextok_d12_d12_in1k",
)
INSTALL = (
    "On a machine with the Hugging Face hub, `huggingface-cli download {ref} config.json model.safetensors` (and "
    "the config.json of the VAE repository its config names in vae.hf_hub_path, e.g. EPFL-VILAB/flextok_vae_c16) puts "
    "it in the server's cache; or copy those files into a folder under an allowed model root "
    "(TOKENSCOPE_ALLOWED_MODEL_ROOTS) and give that folder. Safetensors only."
)


def hub_cache() -> Path:
    default = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    return Path(os.environ.get("HF_HUB_CACHE", default))


def cached_checkpoints() -> list[str]:
    """Official FlexTok repos with a model.safetensors in the local hub cache (file names only, no weights read)."""
    found = []
    for ref in EXAMPLE_REFS:
        snapshots = hub_cache() / f"models--{ref.replace('/', '--')}" / "snapshots"
        if snapshots.is_dir() and any(snapshots.glob("*/model.safetensors")):
            found.append(ref)
    return found


def status() -> MediaStatus:
    found = cached_checkpoints()
    if found:
        return MediaStatus(installed=True, detail=f"in the Hugging Face cache: {', '.join(found)}")
    return MediaStatus(
        installed=False,
        detail="no FlexTok weights on this server (the tokenizer never runs on random weights)",
        install=INSTALL.format(ref=EXAMPLE_REFS[0]),
    )


def load(ref: str | None) -> object:
    from workers.media.image.flextok.tokenizer import load_tokenizer

    return load_tokenizer(ref)


def entries() -> list[MediaEntry]:
    return [MediaEntry(info=flextok_info(), load=load, status=status, needs_ref=True, example_refs=EXAMPLE_REFS)]
