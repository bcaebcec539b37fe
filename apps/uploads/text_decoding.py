"""Turn an uploaded file's bytes into text, or refuse it with a message that names the file and says what to do.

In order: a byte-order mark (UTF-8/16/32) is taken as it is. A file with NUL bytes in its first 8 KiB is UTF-16/32
without a BOM when charset-normalizer recognises it, or UTF-8 text when it decodes as UTF-8 with at most one NUL byte
in ten there; any other is binary. Then UTF-8. Other text is detected with
charset-normalizer, whose guess is kept only when it is unambiguous: a multi-byte encoding (Shift-JIS, GB18030, …), or
a single-byte code page for a language it recognises (Cyrillic cp1251, Polish cp1250, …) that Windows-1252 does not
explain equally well. Everything else that reads as clean text in Windows-1252 (the superset of Latin-1 that browsers
use for "latin1") is read as Windows-1252: short or Western European legacy text, where charset-normalizer cannot
tell cp1250, cp1252 or even EBCDIC apart ("crème brûlée" came back as "crčme brűlée", a lone "é" as cp037).
The encoding used is reported with the result (``DecodedText.encoding``, stored in the job's parameters).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from charset_normalizer.models import CharsetMatch
from charset_normalizer.utils import is_multi_byte_encoding

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
_WESTERN_FALLBACK = "cp1252"
# Control characters never found in text (tab, newlines and form feed are fine): their presence means "not text".
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    detected: bool  # True when the encoding was guessed rather than declared or UTF-8


def decode_text_file(data: bytes, *, filename: str = "") -> DecodedText:
    label = f"'{filename}'" if filename else "The uploaded file"
    if not data:
        raise ApplicationError(f"{label} is empty.")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), encoding, detected=False)
            except UnicodeDecodeError as exc:
                raise ApplicationError(
                    f"{label} starts with a {encoding} byte-order mark but is not valid {encoding} "
                    f"(byte {exc.start}). Re-save it as UTF-8."
                ) from exc
    if b"\x00" in data[:8192]:
        return _utf16_or_32_without_bom(data, label)
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", detected=False)
    except UnicodeDecodeError as exc:
        utf8_error = exc
    matches = from_bytes(data[:_DETECTION_SAMPLE_BYTES])
    best = matches.best()
    if best is not None and _detection_is_unambiguous(best, list(matches)):
        decoded = _decode_clean(data, best.encoding)
        if decoded is not None:
            return decoded
    decoded = _decode_clean(data, _WESTERN_FALLBACK)
    if decoded is not None:
        return decoded
    raise ApplicationError(
        f"{label} is not valid UTF-8 (invalid byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start}) "
        "and its encoding could not be detected reliably. Save it as UTF-8 and upload it again."
    )


def _utf16_or_32_without_bom(data: bytes, label: str) -> DecodedText:
    best = from_bytes(data[:_DETECTION_SAMPLE_BYTES]).best()
    if best is not None and best.chaos <= _MAX_CHAOS and best.encoding.startswith(("utf_16", "utf_32")):
        decoded = _decode_clean(data, best.encoding)
        if decoded is not None:
            return decoded
    if data.count(0, 0, 8192) <= 0.1 * min(len(data), 8192):
        try:  # UTF-8 text that holds a few NULs (tokenizer research needs them); binaries are mostly NUL or not UTF-8
            return DecodedText(data.decode("utf-8"), "utf-8", detected=False)
        except UnicodeDecodeError:
            pass
    raise ApplicationError(
        f"{label} looks like a binary file (it contains NUL bytes and is not UTF-16 or UTF-32 text). "
        "Upload a plain-text file (.txt, .md, .csv…)."
    )


def _detection_is_unambiguous(best: CharsetMatch, matches: list[CharsetMatch]) -> bool:
    if best.chaos > _MAX_CHAOS:
        return False
    if is_multi_byte_encoding(best.encoding):
        return True
    if best.coherence <= 0:  # no language recognised: any single-byte code page fits as well
        return False
    western = [m.chaos for m in matches if _WESTERN_FALLBACK in (m.encoding, *m.could_be_from_charset)]
    return not western or min(western) > best.chaos  # a tie goes to Windows-1252


def _decode_clean(data: bytes, encoding: str) -> DecodedText | None:
    """The text when ``data`` decodes strictly in ``encoding`` to text without control characters; else None."""
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if _NOT_TEXT.search(text):
        return None
    return DecodedText(text, codecs.lookup(encoding).name, detected=True)
