"""Codec 2 (David Rowe's low-bit-rate speech codec) through ``pycodec2``: real trained quantisers at 8 kHz.

Tokens: each Codec 2 frame is a fixed tuple of bit-fields (voicing bits, pitch, energy, LSP indexes), and the
token of a frame in codebook j is the quantiser index of field j, so ``codes`` is [n_fields, n_frames] and
``codebook_sizes`` is 2 ** (field width) per field; sum(log2 V) = bits per frame, and frame rate x bits per
frame = the mode's bit rate exactly. Codec 2 Gray-codes the fields of 3200 and 1200 on the wire (700C sends them
natural); the tokens are the plain indexes, so neighbouring pitch or energy values get neighbouring codes.
The field layout is that of ``codec2_encode_3200/1200/700c`` in codec2's src/codec2.c; packing the tokens back
reproduces the encoder's bits exactly (tested against Debian's ``c2enc``).

Decoding runs in a fresh process (workers.media.audio.fresh_process): Codec 2's unvoiced-phase generator is a
process-global pseudo-random sequence, so only a fresh process gives the same samples for the same codes.
"""

from __future__ import annotations

import importlib.metadata
import sys
from dataclasses import dataclass

import numpy as np

from workers.media.audio.fresh_process import run_fresh, serve
from workers.media.audio.io import resample, to_int16
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo, NotInstalledError

SAMPLE_RATE = 8000
INSTALL = "pip install pycodec2 (pinned in requirements.txt; its wheel bundles libcodec2 1.2)"


@dataclass(frozen=True)
class Codec2Mode:
    bitrate: int
    cli_name: str  # the mode as c2enc/c2dec spell it
    frame_s: float
    gray: bool  # fields Gray-coded on the wire
    fields: tuple[tuple[str, int], ...]  # (name, width in bits), in transmission order

    @property
    def bits_per_frame(self) -> int:
        return sum(width for _, width in self.fields)

    @property
    def samples_per_frame(self) -> int:
        return round(self.frame_s * SAMPLE_RATE)


_LSPD = tuple((f"lspd_{i}", 5) for i in range(1, 11))
MODES = {
    3200: Codec2Mode(3200, "3200", 0.020, True, (("voiced_1", 1), ("voiced_2", 1), ("Wo", 7), ("energy", 5), *_LSPD)),
    1200: Codec2Mode(
        1200,
        "1200",
        0.040,
        True,
        (
            ("voiced_1", 1),
            ("voiced_2", 1),
            ("Wo_energy_2", 8),
            ("voiced_3", 1),
            ("voiced_4", 1),
            ("Wo_energy_4", 8),
            ("lsp_vq_1", 9),
            ("lsp_vq_2", 9),
            ("lsp_vq_3", 9),
            ("spare", 1),
        ),
    ),
    700: Codec2Mode(700, "700C", 0.040, False, (("amp_vq_1", 9), ("amp_vq_2", 9), ("energy", 4), ("Wo_voicing", 6))),
}


def pycodec2_version() -> str | None:
    try:
        return importlib.metadata.version("pycodec2")
    except importlib.metadata.PackageNotFoundError:
        return None


def make_info(mode: Codec2Mode) -> MediaTokenizerInfo:
    name = "700C" if mode.bitrate == 700 else str(mode.bitrate)
    fields = ", ".join(f"{n} ({w} bit{'s' if w > 1 else ''})" for n, w in mode.fields)
    return MediaTokenizerInfo(
        id=f"audio/codec2-{mode.bitrate}",
        modality="audio",
        family="codec",
        label=f"Codec 2 {name}",
        description=(
            f"Codec 2 mode {name}: a parametric speech codec at 8 kHz, one {mode.frame_s * 1000:.0f} ms frame of "
            f"{mode.bits_per_frame} bits = {mode.bitrate} bit/s. Each frame is a tuple of bit-fields and each field "
            f"is one codebook (token = the field's quantiser index): {fields}. Speech only; it keeps the spectral "
            "envelope, pitch and voicing, not the waveform (SNR is low even when it sounds right)."
        ),
        layout="frames",
        has_decoder=True,
        codebook_sizes=tuple(1 << width for _, width in mode.fields),
        sample_rate=SAMPLE_RATE,
        frame_rate=1.0 / mode.frame_s,
        source=f"pycodec2 {pycodec2_version() or '(not installed)'} bundling libcodec2 1.2 (github.com/drowe67/codec2)",
        licence="Codec 2: LGPL-2.1; pycodec2: BSD-3-Clause",
    )


def gray_to_index(gray: np.ndarray, width: int) -> np.ndarray:
    index = gray.copy()
    shift = 1
    while shift < width:
        index ^= index >> shift
        shift <<= 1
    return index


def index_to_gray(index: np.ndarray) -> np.ndarray:
    return index ^ (index >> 1)


def bits_to_fields(bits: np.ndarray, mode: Codec2Mode) -> np.ndarray:
    """[n_frames, bits_per_frame] of 0/1 (MSB first per field) -> int64 [n_fields, n_frames] indexes."""
    out = np.zeros((len(mode.fields), bits.shape[0]), dtype=np.int64)
    start = 0
    for j, (_, width) in enumerate(mode.fields):
        weights = 1 << np.arange(width - 1, -1, -1, dtype=np.int64)
        value = bits[:, start : start + width].astype(np.int64) @ weights
        out[j] = gray_to_index(value, width) if mode.gray else value
        start += width
    return out


def fields_to_bits(codes: np.ndarray, mode: Codec2Mode) -> np.ndarray:
    """The inverse of ``bits_to_fields``: uint8 [n_frames, bits_per_frame]."""
    columns = []
    for j, (_, width) in enumerate(mode.fields):
        value = index_to_gray(codes[j]) if mode.gray else codes[j]
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        columns.append(((value[:, None] >> shifts) & 1).astype(np.uint8))
    return np.concatenate(columns, axis=1)


def encode_frames(pcm: np.ndarray, mode: Codec2Mode) -> np.ndarray:
    """int16 8 kHz samples (a whole number of frames) -> the encoder's bytes, uint8 [n_frames, bytes_per_frame]."""
    import pycodec2

    codec = pycodec2.Codec2(mode.bitrate)
    spf = codec.samples_per_frame()
    frames = [codec.encode(np.ascontiguousarray(pcm[i : i + spf])) for i in range(0, pcm.size, spf)]
    return np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(len(frames), codec.bytes_per_frame())


def decode_frames(packed: np.ndarray, mode: Codec2Mode) -> np.ndarray:
    """uint8 [n_frames, bytes_per_frame] -> int16 samples, with a new decoder (call in a fresh process)."""
    import pycodec2

    codec = pycodec2.Codec2(mode.bitrate)
    return np.concatenate([codec.decode(row.tobytes()) for row in packed]).astype(np.int16)


class Codec2Tokenizer:
    def __init__(self, mode: Codec2Mode) -> None:
        import pycodec2

        codec = pycodec2.Codec2(mode.bitrate)
        if (codec.bits_per_frame(), codec.samples_per_frame()) != (mode.bits_per_frame, mode.samples_per_frame):
            raise NotInstalledError(
                f"the installed libcodec2 frames mode {mode.bitrate} as {codec.bits_per_frame()} bits per "
                f"{codec.samples_per_frame()} samples, not the layout this tokenizer was written for",
                install=INSTALL,
            )
        self.mode = mode
        self.info = make_info(mode)

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        pcm = to_int16(resample(wave, sample_rate, SAMPLE_RATE))
        spf = self.mode.samples_per_frame
        if pcm.size == 0:
            raise MediaInputError("Codec 2 needs at least one sample.")
        padded = np.pad(pcm, (0, -pcm.size % spf))
        packed = encode_frames(padded, self.mode)
        bits = np.unpackbits(packed, axis=1)[:, : self.mode.bits_per_frame]
        return AudioTokens(
            codes=bits_to_fields(bits, self.mode),
            sample_rate=SAMPLE_RATE,
            frame_rate=1.0 / self.mode.frame_s,
            extra={
                "mode": self.mode.cli_name,
                "bits_per_frame": self.mode.bits_per_frame,
                "samples_per_frame": spf,
                "fields": [name for name, _ in self.mode.fields],
                "n_samples": int(pcm.size),  # before padding the last frame with zeros
            },
        )

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        codes = np.asarray(tokens.codes, dtype=np.int64)
        sizes = np.array(self.info.codebook_sizes)[:, None]
        if codes.ndim != 2 or codes.shape[0] != len(self.mode.fields) or np.any(codes < 0) or np.any(codes >= sizes):
            raise MediaInputError(
                f"Codec 2 {self.mode.cli_name} codes must be [{len(self.mode.fields)}, n] within each field's size."
            )
        packed = np.packbits(fields_to_bits(codes, self.mode), axis=1)
        seconds = codes.shape[1] * self.mode.frame_s
        pcm = run_fresh(__name__, ["decode", str(self.mode.bitrate)], packed, timeout_s=30 + 2 * seconds)
        n = int(tokens.extra.get("n_samples", pcm.size))
        return (pcm[:n].astype(np.float32) / 32768.0).astype(np.float32)


def load(bitrate: int) -> Codec2Tokenizer:
    if pycodec2_version() is None:
        raise NotInstalledError("pycodec2 is not installed", install=INSTALL)
    return Codec2Tokenizer(MODES[bitrate])


def _decode_op(args: list[str], payload: np.ndarray) -> np.ndarray:
    return decode_frames(payload, MODES[int(args[0])])


if __name__ == "__main__":
    sys.exit(serve({"decode": _decode_op}, sys.argv[1:]))
