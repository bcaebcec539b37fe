"""Codec 2 through pycodec2 against Debian's c2enc/c2dec on the same recording.

pycodec2 4.1.1 bundles libcodec2 1.2 and Debian ships the CLI of codec2 1.0.5; for these three modes both
encoders give the same bits and both decoders the same samples, so the comparison is exact."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.workers.media.audio.speech import CODEC2_RAW, codec2_raw, codec2_speech
from workers.media.audio import codec2
from workers.media.types import AudioTokenizer, AudioTokens, MediaInputError

MODES = [(3200, 64, 50.0, 14), (1200, 48, 25.0, 10), (700, 28, 25.0, 4)]


@pytest.mark.parametrize(("bitrate", "bits_per_frame", "frame_rate", "n_fields"), MODES)
def test_tokens_pack_to_the_bits_c2enc_writes(
    tmp_path: Path, bitrate: int, bits_per_frame: int, frame_rate: float, n_fields: int
) -> None:
    """Catches a wrong field layout, Gray decoding, bit order or frame size: repacking our tokens must give
    c2enc's file byte for byte, and the shapes and rates must be the mode's."""
    tokenizer = codec2.load(bitrate)
    assert isinstance(tokenizer, AudioTokenizer)
    tokens = tokenizer.encode(codec2_speech(), 8000)
    n_frames = round(3.0 * frame_rate)  # hts1a is 24000 samples: a whole number of frames in every mode
    assert tokens.codes.shape == (n_fields, n_frames) and tokens.frame_rate == frame_rate
    info = tokenizer.info
    assert sum(np.log2(info.codebook_sizes)) == bits_per_frame
    assert info.frame_rate == frame_rate and frame_rate * bits_per_frame == bitrate
    assert np.all(tokens.codes < np.array(info.codebook_sizes)[:, None])

    cli_bits = tmp_path / "cli.bit"
    subprocess.run(["c2enc", tokenizer.mode.cli_name, str(CODEC2_RAW / "hts1a.raw"), str(cli_bits)], check=True)
    ours = np.packbits(codec2.fields_to_bits(tokens.codes, tokenizer.mode), axis=1).tobytes()
    assert ours == cli_bits.read_bytes()


@pytest.mark.parametrize("bitrate", [3200, 1200, 700])
def test_decode_is_c2dec_sample_for_sample(tmp_path: Path, bitrate: int) -> None:
    """Catches decoding in a process whose Codec 2 phase generator has moved on (samples would differ from c2dec
    and from one call to the next), and a wrong scale or trimming of the output."""
    tokenizer = codec2.load(bitrate)
    tokens = tokenizer.encode(codec2_speech(), 8000)
    cli_bits, cli_raw = tmp_path / "cli.bit", tmp_path / "cli.raw"
    subprocess.run(["c2enc", tokenizer.mode.cli_name, str(CODEC2_RAW / "hts1a.raw"), str(cli_bits)], check=True)
    subprocess.run(["c2dec", tokenizer.mode.cli_name, str(cli_bits), str(cli_raw)], check=True)
    expected = np.fromfile(cli_raw, dtype="<i2")
    first, second = tokenizer.decode(tokens), tokenizer.decode(tokens)
    assert np.array_equal(np.round(first * 32768).astype(np.int16), expected)
    assert np.array_equal(first, second)


def test_partial_last_frame_is_padded_and_trimmed() -> None:
    """Catches dropping the last partial frame (lost audio) or returning the padding (a longer clip)."""
    tokenizer = codec2.load(3200)
    tokens = tokenizer.encode(codec2_speech()[:1000], 8000)
    assert tokens.codes.shape[1] == 7  # ceil(1000 / 160)
    assert tokenizer.decode(tokens).size == 1000


def test_gray_code_by_hand() -> None:
    """Catches a Gray conversion that is not the wire's: index 5 (101) is sent as 111 = 7, and back."""
    assert codec2.index_to_gray(np.array([5, 0, 127])).tolist() == [7, 0, 64]
    every = np.arange(128)
    assert np.array_equal(codec2.gray_to_index(codec2.index_to_gray(every), 7), every)


def test_input_at_another_rate_is_resampled() -> None:
    """Catches feeding 16 kHz samples to an 8 kHz codec (twice the frames, octave-shifted speech)."""
    tokenizer = codec2.load(1200)
    from workers.media.audio.io import resample

    tokens = tokenizer.encode(resample(codec2_speech(), 8000, 16000), 16000)
    assert tokens.codes.shape[1] == 75


def test_out_of_range_codes_are_refused() -> None:
    """Catches packing a code wider than its field (it would corrupt the neighbouring fields)."""
    tokenizer = codec2.load(700)
    codes = np.zeros((4, 3), dtype=np.int64)
    codes[2, 0] = 16  # the energy field has 4 bits
    with pytest.raises(MediaInputError):
        tokenizer.decode(AudioTokens(codes=codes, sample_rate=8000, frame_rate=25.0))


def test_raw_recording_is_what_the_cli_reads() -> None:
    """Catches a scaling mismatch between our float input and the CLI's int16 file (the comparisons above rely on it)."""
    from workers.media.audio.io import to_int16

    assert np.array_equal(to_int16(codec2_speech()), codec2_raw())
