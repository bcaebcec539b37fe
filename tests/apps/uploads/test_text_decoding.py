from __future__ import annotations

import codecs
import random

import pytest

from apps.core.errors import ApplicationError
from apps.uploads.text_decoding import decode_text_file


def test_utf8_with_and_without_bom() -> None:
    assert decode_text_file("héllo ✓".encode()).text == "héllo ✓"
    decoded = decode_text_file(codecs.BOM_UTF8 + "héllo".encode())
    assert (decoded.text, decoded.encoding) == ("héllo", "utf-8-sig")


def test_utf16_with_bom() -> None:
    decoded = decode_text_file("naïve text, 日本語".encode("utf-16"))
    assert decoded.text == "naïve text, 日本語"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 10, "cp1251"),
        ("いろはにほへと ちりぬるを わかよたれそ つねならむ。日本語の文章です。" * 10, "shift_jis"),
    ],
)
def test_legacy_encoding_is_detected_and_reported(text: str, encoding: str) -> None:
    decoded = decode_text_file(text.encode(encoding))
    assert decoded.detected
    assert decoded.text == text


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (random.Random(7).randbytes(4000).replace(b"\x00", b"\x01"), "not valid UTF-8"),
    ],
)
def test_refusals_say_what_to_do(data: bytes, fragment: str) -> None:
    with pytest.raises(ApplicationError) as error:
        decode_text_file(data)
    assert fragment in error.value.message
