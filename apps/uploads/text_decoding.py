"""Turn an uploaded file's bytes into text, or refuse it with a message that says what to do.

UTF-8 (with or without BOM) and BOM-marked UTF-16/32 are taken as they are. Other encodings are detected with
charset-normalizer and accepted only when the detection is confident; binary files are refused.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from apps.core.errors import ApplicationError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DETECTION_SAMPLE_BYTES = 1 << 20
_MAX_CHAOS = 0.2  # charset-normalizer's "mess" ratio; above it the guess is not trustworthy


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    detected: bool  # True when the encoding was guessed rather than declared or UTF-8


def decode_text_file(data: bytes) -> DecodedText:
    if not data:
        raise ApplicationError("The uploaded file is empty.")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), encoding, detected=False)
            except UnicodeDecodeError as exc:
                raise ApplicationError(
                    f"The file starts with a {encoding} byte-order mark but is not valid {encoding} "
                    f"(byte {exc.start}). Re-save it as UTF-8."
                ) from exc
    if b"\x00" in data[:8192]:
        raise ApplicationError(
            "This looks like a binary file (it contains NUL bytes), not text. Upload a plain-text file (.txt, .md, .csv…)."
        )
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", detected=False)
    except UnicodeDecodeError as exc:
        utf8_error = exc
    best = from_bytes(data[:_DETECTION_SAMPLE_BYTES]).best()
    if best is None or best.chaos > _MAX_CHAOS:
        raise ApplicationError(
            f"The file is not valid UTF-8 (invalid byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start}) "
            "and its encoding could not be detected reliably. Save it as UTF-8 and upload it again."
        )
    try:
        return DecodedText(data.decode(best.encoding), best.encoding, detected=True)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ApplicationError(
            f"The file looked like {best.encoding} but does not decode as it. Save it as UTF-8 and upload it again."
        ) from exc
