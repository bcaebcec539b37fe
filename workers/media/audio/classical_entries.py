"""Catalogue entries of the audio tokenizers that work here out of the box: mu-law, Codec 2 (3200/1200/700C),
LPCNet (FreeDV 2020), PocketSphinx phones and the default k-means mel units. ``status`` never loads a model:
it checks that the package, library or codebook file is there."""

from __future__ import annotations

from pathlib import Path

from workers.media.audio import codec2, lpcnet, mulaw, phones, units
from workers.media.catalog import MediaEntry, MediaStatus
from workers.media.store import media_store_dir
from workers.media.types import NotInstalledError

PREPARE = "make setup (runs python -m workers.media.prepare, which builds the default codebooks)"


def _always() -> MediaStatus:
    return MediaStatus(installed=True, detail="a formula; nothing to install")


def _codec2_status() -> MediaStatus:
    version = codec2.pycodec2_version()
    if version is None:
        return MediaStatus(installed=False, detail="pycodec2 is not installed", install=codec2.INSTALL)
    return MediaStatus(installed=True, detail=f"pycodec2 {version} (libcodec2 1.2 bundled)")


def _lpcnet_status() -> MediaStatus:
    try:
        lpcnet.library()
    except NotInstalledError as exc:
        return MediaStatus(installed=False, detail=str(exc), install=exc.install)
    return MediaStatus(installed=True, detail=f"{lpcnet.LIBRARY} (Debian libcodec2-1.0) with LPCNet")


def _phones_status() -> MediaStatus:
    folder = phones.model_dir()
    if folder is None:
        return MediaStatus(installed=False, detail="pocketsphinx or its en-us model is missing", install=phones.INSTALL)
    return MediaStatus(installed=True, detail=f"pocketsphinx {phones.pocketsphinx_version()}, model {folder}")


def _codec2_entry(bitrate: int) -> MediaEntry:
    return MediaEntry(
        info=codec2.make_info(codec2.MODES[bitrate]),
        load=lambda _ref: codec2.load(bitrate),
        status=_codec2_status,
    )


def _units_entry(k: int) -> MediaEntry:
    def path() -> Path:
        return units.default_codebook_path(media_store_dir(), k)

    def status() -> MediaStatus:
        if path().is_file():
            return MediaStatus(installed=True, detail=str(path()))
        return MediaStatus(installed=False, detail=f"{path()} has not been built", install=PREPARE)

    def load(_ref: str | None) -> units.MelUnitsTokenizer:
        if not path().is_file():
            raise NotInstalledError(f"the default codebook {path()} has not been built", install=PREPARE)
        return units.load_codebook_tokenizer(path())

    info = units.make_info(f"audio/kmeans-mel-{k}", k, units.DEFAULT_SPEECH_RATE, units.DEFAULT_TRAINING_SUMMARY)
    return MediaEntry(info=info, load=load, status=status)


def entries() -> list[MediaEntry]:
    return [
        MediaEntry(info=mulaw.INFO, load=mulaw.load, status=_always),
        *(_codec2_entry(bitrate) for bitrate in (3200, 1200, 700)),
        MediaEntry(info=lpcnet.INFO, load=lpcnet.load, status=_lpcnet_status),
        MediaEntry(info=phones.INFO, load=phones.load, status=_phones_status),
        *(_units_entry(k) for k in units.DEFAULT_KS),
    ]
