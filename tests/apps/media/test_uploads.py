"""The streaming upload handler: it refuses at the size limit and on a non-media first chunk while the body is
still arriving, and leaves no temporary file behind."""

from __future__ import annotations

import os
from typing import Any

import pytest

from apps.core.errors import ApplicationError, PayloadTooLarge
from apps.media.uploads import MediaUploadHandler, sniff_media
from tests.apps.media import files


def _handler(max_bytes: int) -> MediaUploadHandler:
    handler = MediaUploadHandler(None, max_bytes=max_bytes)
    handler.new_file("file", "clip.wav", "audio/wav", None)
    return handler


def test_the_stream_stops_at_the_limit_and_deletes_its_temporary_file() -> None:
    """Catches a handler that reads the whole body before checking its size, or keeps the partial file."""
    handler = _handler(max_bytes=1000)
    temp_path = handler.file.temporary_file_path()
    chunk = files.tone()[:100]
    fed = 0
    with pytest.raises(PayloadTooLarge, match="clip.wav"):
        for _ in range(100):
            handler.receive_data_chunk(chunk, fed)
            fed += len(chunk)
    assert fed == 1000  # refused on the chunk that crossed the limit, not at the end of the body
    assert not os.path.exists(temp_path)


def test_a_non_media_first_chunk_is_refused_at_once() -> None:
    """Catches a handler that stores a file whose first bytes are no accepted format (the name says .wav)."""
    handler = _handler(max_bytes=10_000)
    temp_path = handler.file.temporary_file_path()
    with pytest.raises(ApplicationError, match="clip.wav") as refused:
        handler.receive_data_chunk(b"MZ\x90\x00 an executable, not audio", 0)
    assert refused.value.status == 415 and not os.path.exists(temp_path)


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    """Catches a request whose Content-Length already exceeds the limit but is streamed anyway."""
    handler: Any = MediaUploadHandler(None, max_bytes=1000)
    with pytest.raises(PayloadTooLarge):
        handler.handle_raw_input(None, {}, 10 * 1024 * 1024, b"x")
    assert handler.handle_raw_input(None, {}, 2000, b"x") is None  # within the form overhead


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (files.png()[:16], ("image", "png")),
        (files.tone()[:16], ("audio", "wav")),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ("image", "jpeg")),
        (b"fLaC\x00\x00\x00\x22", ("audio", "flac")),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ("image", "webp")),
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"<svg xmlns=", None),
    ],
)
def test_sniffing_reads_the_bytes(head: bytes, expected: tuple[str, str] | None) -> None:
    """Catches a format decided by anything but the first bytes (a RIFF AVI is neither WAV nor WebP)."""
    found = sniff_media(head)
    assert (None if found is None else (found.modality, found.format)) == expected


def test_the_web_process_lists_media_without_torch() -> None:
    """Catches a media import (catalogue status, budget, probes, the API) that pulls torch into the web process."""
    from tests.test_boundaries import imported_modules

    modules = imported_modules(
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'webapp.settings.test'\n"
        "import django; django.setup()\n"
        "from apps.media import api, services, selectors, budget, jobs\n"
        "from workers.media.catalog import media_entries\n"
        "[entry.status() for entry in media_entries().values()]\n"
        "budget.text_rows()\n"
        "from workers.media.audio.io import probe_audio\n"
        "from workers.media.image.io import probe_image\n"
    )
    assert "torch" not in modules and "transformers" not in modules
