"""Real speech for the audio tests: Debian's codec2-examples recordings and espeak-ng clips (both installed by
make setup), never synthetic stand-ins where real speech is the point."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

CODEC2_RAW = Path("/usr/share/codec2/raw")


def codec2_raw(name: str = "hts1a.raw") -> np.ndarray:
    """int16 samples at 8 kHz of a codec2-examples recording (hts1a: 3.0 s, a male speaker)."""
    return np.fromfile(CODEC2_RAW / name, dtype="<i2")


def codec2_speech(name: str = "hts1a.raw") -> np.ndarray:
    return (codec2_raw(name) / 32768.0).astype(np.float32)


def espeak_wav(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path
