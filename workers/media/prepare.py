"""Builds the media assets the product ships ready to use (deterministic, from files that install offline):
the default k-means codebooks. Run by ``make setup`` (``python -m workers.media.prepare``)."""

from __future__ import annotations

import sys
from pathlib import Path

from workers.media.store import media_store_dir


def main(argv: list[str] | None = None) -> int:
    from workers.media.audio.units import prepare_defaults as prepare_audio
    from workers.media.image.kmeans import prepare_defaults as prepare_image

    store: Path = media_store_dir()
    store.mkdir(parents=True, exist_ok=True)
    for path in [*prepare_image(store), *prepare_audio(store)]:
        print(f"media asset ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
