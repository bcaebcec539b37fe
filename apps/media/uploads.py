"""Media uploads checked while they stream in: the size limit stops the upload at the limit (nothing past it is
stored) and the first bytes must be an image or audio format the product reads, whatever the file name says.

The handler writes into a temporary file that is deleted on refusal (and at the end of the request otherwise); the
service moves an accepted file into the team's folder only after ``probe_*`` read its header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.uploadhandler import TemporaryFileUploadHandler

from apps.core.errors import ApplicationError, PayloadTooLarge
from apps.media.limits import MAX_UPLOAD_BYTES

FORM_OVERHEAD_BYTES = 1024 * 1024
"""A request body may exceed the file by its form fields and multipart framing."""
SNIFF_BYTES = 16


@dataclass(frozen=True)
class Sniffed:
    modality: str  # "image" or "audio"
    format: str  # "png", "wav", ...
    extension: str  # the extension the stored file gets


ACCEPTED_FORMATS = "PNG, JPEG, WebP, GIF or BMP images; WAV, FLAC, OGG or MP3 audio"


def sniff_media(head: bytes) -> Sniffed | None:
    """The format the first bytes announce (never the file name), by the same rules the decoders apply, or None."""
    from workers.media.audio.io import sniff_format
    from workers.media.image.io import sniff_image_format

    image = sniff_image_format(head)
    if image is not None:
        fmt = image.lower()
        return Sniffed("image", fmt, "jpg" if fmt == "jpeg" else fmt)
    audio = sniff_format(head)
    if audio is not None:
        return Sniffed("audio", audio, audio)
    return None


def refused_format(filename: str) -> ApplicationError:
    return ApplicationError(
        f"'{filename}' is not an image or audio file this server reads: its first bytes match none of {ACCEPTED_FORMATS} "
        "(the file's contents decide, not its extension). Convert it to PNG or WAV and upload it again.",
        status=415,
        extra={"filename": filename},
    )


def refused_size(filename: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"'{filename}' is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB, the largest media upload accepted. "
        "Downscale the image, or cut the clip (only its first minutes are analysed), and upload it again.",
        extra={"filename": filename, "max_bytes": MAX_UPLOAD_BYTES},
    )


class MediaUploadHandler(TemporaryFileUploadHandler):
    """Streams every file of the request to a temporary file, refusing at the size limit or a non-media first chunk.

    Django reads the body chunk by chunk through this handler, so an oversized or wrong file is refused after at
    most ``MAX_UPLOAD_BYTES`` (or at once, when the declared Content-Length is already too large).
    """

    def __init__(self, request: Any = None, *, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.total = 0
        self.head = b""
        self.sniffed: Sniffed | None = None

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: str | None = None
    ) -> None:
        if content_length and content_length > self.max_bytes + FORM_OVERHEAD_BYTES:
            raise refused_size("The upload")
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.head, self.sniffed = b"", None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.total += len(raw_data)
        if self.total > self.max_bytes:
            self._discard()
            raise refused_size(self.file_name or "The file")
        if self.sniffed is None and len(self.head) < SNIFF_BYTES:
            self.head += raw_data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._sniff()
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> Any:
        if self.sniffed is None:
            self._sniff()  # a file shorter than the sniffed prefix
        uploaded: Any = super().file_complete(file_size)
        uploaded.media = self.sniffed
        return uploaded

    def _sniff(self) -> None:
        self.sniffed = sniff_media(self.head)
        if self.sniffed is None:
            self._discard()
            raise refused_format(self.file_name or "The file")

    def _discard(self) -> None:
        """Close (and so delete) the temporary file now: a refused upload leaves nothing behind."""
        file = getattr(self, "file", None)
        if file is not None:
            file.close()
