"""Builds the media assets the product ships ready to use (deterministic, from files that install offline):
the default k-means codebooks. Run by ``make setup`` (``python -m workers.media.prepare``)."""

from __future__ import annotations

import sys
from pathlib import Path

from workers.media.store import media_store_dir


def main(argv: list[str] | None = None) -> int:
    from workers.media.audio.units import SPEECH_DIR
    from workers.media.audio.units import prepare_defaults as prepare_audio
    from workers.media.image.kmeans import prepare_defaults as prepare_image

    store: Path = media_store_dir()
    store.mkdir(parents=True, exist_ok=True)
    built = prepare_image(store)
    if SPEECH_DIR.is_dir():
        built += prepare_audio(store)
    else:  # a machine where set-up could not install Debian packages: the entries say "not installed"
        print(
            f"codec2-examples is not installed ({SPEECH_DIR} is missing): the default mel-unit codebooks were not "
            "built. Install it (apt-get install codec2-examples) and run make setup again.",
            file=sys.stderr,
        )
    for path in built:
        print(f"media asset ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
