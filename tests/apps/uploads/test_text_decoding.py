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


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("crème brûlée", "latin-1"),
        ("é", "latin-1"),
        ("Größe Übergröße naïve façade € 5", "cp1252"),
        ("Le café est très chaud, et la crème brûlée est délicieuse. Où est la bibliothèque ? " * 3, "cp1252"),
    ],
)
def test_western_legacy_text_is_read_as_windows_1252(text: str, encoding: str) -> None:
    """Catches Latin-1 decoded as the wrong code page ('crčme brűlée' as cp1250, a lone 'é' as cp037)."""
    decoded = decode_text_file(text.encode(encoding))
    assert (decoded.text, decoded.encoding, decoded.detected) == (text, "cp1252", True)


def test_a_recognised_central_european_code_page_is_kept() -> None:
    """Catches the Windows-1252 fallback overriding a confident cp1250 detection (Polish would turn into 'zaæó³æ')."""
    text = "Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig."
    decoded = decode_text_file(text.encode("cp1250"))
    assert (decoded.text, decoded.encoding) == (text, "cp1250")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    "text", ["Hello world, this is UTF-16 without a byte-order mark.", "这是中文文本，没有字节顺序标记。"]
)
def test_utf16_without_bom_is_detected(text: str, encoding: str) -> None:
    """Catches UTF-16 without a BOM refused as a 'binary file' (its NUL bytes)."""
    decoded = decode_text_file(text.encode(encoding))
    assert (decoded.text, decoded.encoding) == (text, encoding)


def test_refusals_name_the_users_file() -> None:
    """Catches messages that name no file (or the server's stored one) instead of the file the user chose."""
    with pytest.raises(ApplicationError, match="'notes.txt' is empty"):
        decode_text_file(b"", filename="notes.txt")
    with pytest.raises(ApplicationError, match="'photo.png' looks like a binary file"):
        decode_text_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), filename="photo.png")
