"""LPCNet (FreeDV 2020) through Debian's libcodec2.so.1.0: the symbols, the frame layout and a round trip on real
speech. Debian ships no LPCNet command-line tool (codec2 1.0.5's package has c2enc/c2dec only), so the reference
here is the library's own frame description and the decoded speech's quality."""

from __future__ import annotations

import functools
import subprocess

import numpy as np
import pytest

from tests.workers.media.audio.speech import codec2_speech
from workers.media.audio import classical_entries, lpcnet
from workers.media.audio.metrics import reconstruction_metrics
from workers.media.types import AudioTokenizer, AudioTokens, NotInstalledError


@functools.cache
def lpcnet_tokens() -> tuple[lpcnet.LPCNetTokenizer, AudioTokens]:
    tokenizer = lpcnet.load()
    return tokenizer, tokenizer.encode(codec2_speech(), 8000)


def test_every_symbol_we_call_is_exported() -> None:
    """Catches calling a symbol the installed library does not export (ctypes would fail at run time)."""
    path = "/usr/lib/x86_64-linux-gnu/" + lpcnet.LIBRARY
    exported = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in exported.splitlines() if line.strip()}
    assert set(lpcnet.SYMBOLS) <= names


def test_frame_layout_read_from_the_library() -> None:
    """Catches a token layout that disagrees with the library: 4 x 11-bit stages + 6 + 2 = 52 bits per 480 samples,
    33.3 frames/s and 1733.3 bit/s."""
    lpcnet.check_layout()
    info = lpcnet.INFO
    assert sum(np.log2(info.codebook_sizes)) == 52
    assert info.frame_rate == pytest.approx(16000 / 480)
    bitrate = (info.frame_rate or 0.0) * sum(np.log2(info.codebook_sizes))
    assert bitrate == pytest.approx(1733.333, abs=1e-3)


def test_round_trip_on_real_speech() -> None:
    """Catches a broken ctypes call (wrong buffer types give noise or silence), a wrong bit order between encode and
    decode, or a wrong rate: the decoded hts1a must stay intelligible (STOI) and spectrally close (mel distance)."""
    tokenizer, tokens = lpcnet_tokens()
    assert isinstance(tokenizer, AudioTokenizer)
    assert tokens.codes.shape == (6, 100)  # 3.0 s at 16 kHz = 48000 samples = 100 frames of 480
    assert np.all(tokens.codes < np.array(lpcnet.INFO.codebook_sizes)[:, None])
    decoded = tokenizer.decode(tokens)
    assert decoded.size == 48000 and tokens.sample_rate == 16000
    quality = reconstruction_metrics(codec2_speech(), 8000, decoded, 16000)
    assert quality["stoi"] > 0.7 and quality["mel_distance"] < 8.0
    assert 0 <= quality["lag_ms"] <= 100  # the codec delays its output, never advances it


def test_shuffled_frames_decode_worse() -> None:
    """Catches a decoder that ignores its input codes (the round-trip numbers would then be luck)."""
    tokenizer, tokens = lpcnet_tokens()
    shuffled = AudioTokens(codes=tokens.codes[:, ::-1].copy(), sample_rate=16000, frame_rate=tokens.frame_rate)
    quality = reconstruction_metrics(codec2_speech(), 8000, tokenizer.decode(shuffled), 16000)
    assert quality["stoi"] < 0.5


def test_encoding_is_repeatable() -> None:
    """Catches encoding in a process whose LPCNet state has been used before (codes then change from call to call)."""
    tokenizer, tokens = lpcnet_tokens()
    assert np.array_equal(tokenizer.encode(codec2_speech(), 8000).codes, tokens.codes)


def test_bits_codes_round_trip() -> None:
    """Catches field boundaries or bit order that do not invert."""
    bits = np.random.default_rng(0).integers(0, 2, size=(20, 52)).astype(np.int8)
    assert np.array_equal(lpcnet.codes_to_bits(lpcnet.bits_to_codes(bits)), bits)


def test_missing_library_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a crash (instead of "not installed" with the install command) on a machine without LPCNet."""
    monkeypatch.setattr(lpcnet, "LIBRARY", "libcodec2-missing.so.0")
    lpcnet.library.cache_clear()
    try:
        with pytest.raises(NotInstalledError) as raised:
            lpcnet.load()
        assert "apt-get install libcodec2-1.0" in raised.value.install
        entry = next(e for e in classical_entries.entries() if e.info.id == "audio/lpcnet-freedv2020")
        status = entry.status()
        assert not status.installed and "libcodec2-1.0" in status.install
    finally:
        lpcnet.library.cache_clear()


def test_the_manifest_can_hash_the_library_holding_the_weights() -> None:
    """Catches an LPCNet result whose manifest cannot name the shared library (and so the weights) that made it."""
    from workers.media.audio.lpcnet import LIBRARY, LPCNetTokenizer

    (path,) = LPCNetTokenizer().source_files
    assert path.name == LIBRARY and path.is_file()
