"""Test inputs made in the test: tones and silence with numpy + soundfile, PNGs with Pillow, hand-built PNG headers
(a bomb, an image over the pixel limit) and Codec 2's real speech recordings."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

SPEECH = Path("/usr/share/codec2/raw/hts1a.raw")  # codec2-examples: 3 s of real speech, 8 kHz signed 16-bit


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def wav_bytes(wave: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> bytes:
    out = io.BytesIO()
    soundfile.write(out, wave, sample_rate, format="WAV", subtype=subtype)
    return out.getvalue()


def tone(seconds: float = 1.0, sample_rate: int = 8000, hz: float = 440.0) -> bytes:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return wav_bytes(0.3 * np.sin(2 * np.pi * hz * t), sample_rate)


def long_clip(seconds: float) -> bytes:
    """A long clip kept small: 4 kHz, 8-bit (``seconds`` x 4 KB)."""
    t = np.arange(int(seconds * 4000)) / 4000
    return wav_bytes(0.3 * np.sin(2 * np.pi * 300 * t), 4000, "PCM_U8")


def silence(seconds: float = 1.0, sample_rate: int = 8000) -> bytes:
    return wav_bytes(np.zeros(int(seconds * sample_rate)), sample_rate)


def speech() -> bytes:
    pcm = np.fromfile(SPEECH, dtype="<i2").astype(np.float32) / 32768.0
    return wav_bytes(pcm, 8000)


def png(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A smooth gradient with a little noise (something a codebook can reconstruct)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x / max(1, width - 1), y / max(1, height - 1), 0.5 + 0 * x], axis=-1)
    pixels = np.clip(pixels + rng.normal(0, 0.02, pixels.shape), 0, 1)
    out = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming ``width`` x ``height`` RGB pixels, with a tiny compressed body: what a
    decompression bomb or an oversized image looks like to a header reader."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
