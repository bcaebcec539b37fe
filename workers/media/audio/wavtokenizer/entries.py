"""The catalogue entry ``audio/wavtokenizer``: our implementation over converted official checkpoints.

The reference names the checkpoint: an official hub id (looked up as an installed, converted folder
``<model store>/media/wavtokenizer/<org>--<name>``; the hub's files are pickles, so nothing is downloaded and loaded
at run time) or a folder the app has already resolved and allowed. Without converted weights the entry is
"not installed" and says how to install them; it never runs on random weights.

Cheap at import and in ``status`` (no torch): the web process lists the catalogue.
"""

from __future__ import annotations

from pathlib import Path

from workers.media.audio.wavtokenizer.loader import CONFIG_NAME, WEIGHTS_NAME
from workers.media.audio.wavtokenizer.tokenizer import WavTokenizer, tokenizer_info
from workers.media.catalog import MediaEntry, MediaStatus
from workers.media.store import media_store_dir
from workers.media.types import NotInstalledError
from workers.models.hub import is_hub_id

# Official checkpoints (github.com/jishengpeng/WavTokenizer, "Available models"); the first is the default.
EXAMPLE_REFS = (
    "novateur/WavTokenizer-large-speech-75token",
    "novateur/WavTokenizer-large-unify-40token",
    "novateur/WavTokenizer",
)
CONFIGS = "configs/wavtokenizer_smalldata_frame75_... (75 tokens/s) or ..._frame40_... (40 tokens/s)"


def installed_root() -> Path:
    return media_store_dir() / "wavtokenizer"


def installed_folder(hub_id: str) -> Path:
    """Where the converted checkpoint of a hub id is installed (``org/name`` -> ``org--name``)."""
    return installed_root() / hub_id.replace("/", "--")


def install_steps(hub_id: str) -> str:
    return (
        f"On a machine with the Hugging Face hub, download the .ckpt of {hub_id} and the matching official config "
        f"from github.com/jishengpeng/WavTokenizer ({CONFIGS}); on a trusted machine, outside the server, run "
        f"`python -m workers.media.audio.wavtokenizer.convert <file.ckpt> {installed_folder(hub_id)} --config "
        f"<config.yaml>` (or convert into any folder under an allowed model root and give that folder as the "
        f"reference). The folder holds {CONFIG_NAME} and {WEIGHTS_NAME}."
    )


def is_installed(folder: Path) -> bool:
    return (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file()


def status() -> MediaStatus:
    root = installed_root()
    found = sorted(p.name.replace("--", "/") for p in root.iterdir() if is_installed(p)) if root.is_dir() else []
    if found:
        return MediaStatus(installed=True, detail=f"converted checkpoints installed: {', '.join(found)}")
    return MediaStatus(
        installed=False,
        detail="no converted WavTokenizer checkpoint on this server (no weights are shipped; none is downloaded)",
        install=install_steps(EXAMPLE_REFS[0]),
    )


def load(ref: str | None) -> WavTokenizer:
    from workers.media.audio.wavtokenizer.loader import load_model

    ref = ref or EXAMPLE_REFS[0]
    if is_hub_id(ref):
        folder = installed_folder(ref)
        if not is_installed(folder):
            raise NotInstalledError(f"WavTokenizer {ref} is not installed on this server.", install=install_steps(ref))
    else:
        folder = Path(ref)  # already resolved and allowed by the app (apps/catalog/references.py)
    return WavTokenizer(load_model(folder), folder=folder)


def entries() -> list[MediaEntry]:
    return [
        MediaEntry(
            info=tokenizer_info(frame_rate=None),
            load=load,
            status=status,
            needs_ref=True,
            example_refs=EXAMPLE_REFS,
        )
    ]
