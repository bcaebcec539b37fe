"""LPCNet (Valin and Skoglund 2019) as FreeDV 2020 uses it: a neural vocoder with a 52-bit, 30 ms frame at 16 kHz.

The network weights are compiled into Debian 12's ``libcodec2.so.1.0`` (codec2 1.0.x; later codec2 releases
dropped LPCNet). We call its FreeDV API through ctypes: ``lpcnet_freedv_create(1)`` (the direct-split VQ FreeDV
2020 uses), ``lpcnet_enc``/``lpcnet_dec`` on 480-sample frames, one bit per char. Where the library or a symbol
is missing the entry is "not installed".

Tokens: a frame is 4 stages of direct-split VQ indexes of the 18 band energies (11 bits, 2048 entries each, the
sizes read from the library's ``direct_split_m``), a 6-bit pitch index and a 2-bit pitch-gain index (the order
of the library's ``pack_frame``), so ``codes`` is [6, n_frames] and 33.3 frames/s x 52 bits = 1733.3 bit/s.

The library keeps process-global state (the encoder's and the sampling network's), so encode and decode each run
in a fresh process (workers.media.audio.fresh_process): the same input always gives the same codes and audio.
The decoder samples a neural network: on a CPU it runs at roughly real time (measured in docs/media.md).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path

import numpy as np

from workers.media.audio.fresh_process import run_fresh, serve
from workers.media.audio.io import resample, to_int16
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo, NotInstalledError

LIBRARY = "libcodec2.so.1.0"
SYMBOLS = (
    "lpcnet_freedv_create",
    "lpcnet_freedv_destroy",
    "lpcnet_enc",
    "lpcnet_dec",
    "lpcnet_bits_per_frame",
    "lpcnet_samples_per_frame",
    "direct_split_num_stages",
    "direct_split_m",
)
DIRECT_SPLIT = 1  # FreeDV 2020's VQ (freedv_2020.c: lpcnet_freedv_create(1))
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = 480
BITS_PER_FRAME = 52
PITCH_BITS = 6
PITCH_GAIN_BITS = 2
INSTALL = "apt-get install libcodec2-1.0 (Debian 12 bookworm; codec2 1.0.x is the last release with LPCNet)"

INFO = MediaTokenizerInfo(
    id="audio/lpcnet-freedv2020",
    modality="audio",
    family="codec",
    label="LPCNet (FreeDV 2020)",
    description=(
        "LPCNet as in FreeDV 2020: a neural speech vocoder at 16 kHz, one 30 ms frame of 52 bits = 1733 bit/s. "
        "Six codebooks per frame: four 11-bit stages of direct-split VQ of the band energies, a 6-bit pitch and a "
        "2-bit pitch gain index. Speech only; the decoder samples a network, so the waveform differs from the "
        "input even where the speech sounds close."
    ),
    layout="frames",
    has_decoder=True,
    codebook_sizes=(2048, 2048, 2048, 2048, 1 << PITCH_BITS, 1 << PITCH_GAIN_BITS),
    sample_rate=SAMPLE_RATE,
    frame_rate=SAMPLE_RATE / SAMPLES_PER_FRAME,
    source="Debian libcodec2-1.0 (codec2 1.0.5, its LPCNet port and weights), via ctypes",
    licence="LGPL-2.1 (Debian's codec2 1.0.5 package, its LPCNet port included; upstream LPCNet is BSD-3-Clause)",
)
FIELD_WIDTHS = tuple(int(np.log2(size)) for size in INFO.codebook_sizes)


def _loaded_library_paths() -> list[str]:
    """Where the dynamic loader found ``LIBRARY`` in this process (Linux: /proc/self/maps), once it is loaded."""
    library()
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    return sorted({line.split()[-1] for line in maps if line.rstrip().endswith(LIBRARY) or f"/{LIBRARY}" in line})


@functools.cache
def library() -> ctypes.CDLL:
    """The loaded library with its signatures set; raises NotInstalledError when it or a symbol is missing."""
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as exc:
        raise NotInstalledError(f"{LIBRARY} is not installed ({exc})", install=INSTALL) from exc
    missing = [name for name in SYMBOLS if not hasattr(lib, name)]
    if missing:
        raise NotInstalledError(f"{LIBRARY} has no LPCNet ({', '.join(missing)} missing)", install=INSTALL)
    lib.lpcnet_freedv_create.restype = ctypes.c_void_p
    lib.lpcnet_freedv_create.argtypes = [ctypes.c_int]
    for name in ("lpcnet_freedv_destroy", "lpcnet_bits_per_frame", "lpcnet_samples_per_frame"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    for name in ("lpcnet_enc", "lpcnet_dec"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        getattr(lib, name).restype = None
    return lib


def check_layout() -> None:
    """The library's frame must be the layout the tokens describe (stages x 11 bits + pitch + gain = 52)."""
    lib = library()
    stages = ctypes.c_int.in_dll(lib, "direct_split_num_stages").value
    sizes = list((ctypes.c_int * stages).in_dll(lib, "direct_split_m"))
    handle = lib.lpcnet_freedv_create(DIRECT_SPLIT)
    try:
        bits, samples = lib.lpcnet_bits_per_frame(handle), lib.lpcnet_samples_per_frame(handle)
    finally:
        lib.lpcnet_freedv_destroy(handle)
    found = (tuple(sizes), bits, samples)
    expected = (INFO.codebook_sizes[:-2], BITS_PER_FRAME, SAMPLES_PER_FRAME)
    if found != expected:
        raise NotInstalledError(f"{LIBRARY}'s LPCNet frame is {found}, not {expected}", install=INSTALL)


def encode_bits(pcm: np.ndarray) -> np.ndarray:
    """int16 16 kHz samples (whole frames) -> int8 [n_frames, 52] bits, with a new encoder."""
    lib = library()
    n = pcm.size // SAMPLES_PER_FRAME
    bits = np.zeros((n, BITS_PER_FRAME), dtype=np.int8)
    handle = lib.lpcnet_freedv_create(DIRECT_SPLIT)
    try:
        for i in range(n):
            frame = np.ascontiguousarray(pcm[i * SAMPLES_PER_FRAME : (i + 1) * SAMPLES_PER_FRAME], dtype=np.int16)
            lib.lpcnet_enc(handle, frame.ctypes.data, bits[i].ctypes.data)
    finally:
        lib.lpcnet_freedv_destroy(handle)
    return bits


def decode_bits(bits: np.ndarray) -> np.ndarray:
    """int8 [n_frames, 52] bits -> int16 samples, with a new decoder."""
    lib = library()
    pcm = np.zeros(bits.shape[0] * SAMPLES_PER_FRAME, dtype=np.int16)
    handle = lib.lpcnet_freedv_create(DIRECT_SPLIT)
    try:
        for i in range(bits.shape[0]):
            frame = np.ascontiguousarray(bits[i], dtype=np.int8)
            out = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)
            lib.lpcnet_dec(handle, frame.ctypes.data, out.ctypes.data)
            pcm[i * SAMPLES_PER_FRAME : (i + 1) * SAMPLES_PER_FRAME] = out
    finally:
        lib.lpcnet_freedv_destroy(handle)
    return pcm


def bits_to_codes(bits: np.ndarray) -> np.ndarray:
    """[n_frames, 52] bits -> int64 [6, n_frames] field indexes (MSB first, as pack_frame writes them)."""
    codes = np.zeros((len(FIELD_WIDTHS), bits.shape[0]), dtype=np.int64)
    start = 0
    for j, width in enumerate(FIELD_WIDTHS):
        weights = 1 << np.arange(width - 1, -1, -1, dtype=np.int64)
        codes[j] = bits[:, start : start + width].astype(np.int64) @ weights
        start += width
    return codes


def codes_to_bits(codes: np.ndarray) -> np.ndarray:
    columns = [
        ((codes[j][:, None] >> np.arange(width - 1, -1, -1, dtype=np.int64)) & 1).astype(np.int8)
        for j, width in enumerate(FIELD_WIDTHS)
    ]
    return np.concatenate(columns, axis=1)


def _timeout(seconds: float) -> float:
    return 60.0 + 5.0 * seconds  # the decoder runs near real time on a loaded CPU


class LPCNetTokenizer:
    info = INFO

    def __init__(self) -> None:
        check_layout()
        # The shared library holds the network's weights: the manifest records its sha256.
        self.source_files = [Path(p) for p in _loaded_library_paths()]

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        pcm = to_int16(resample(wave, sample_rate, SAMPLE_RATE))
        if pcm.size == 0:
            raise MediaInputError("LPCNet needs at least one sample.")
        padded = np.pad(pcm, (0, -pcm.size % SAMPLES_PER_FRAME))
        bits = run_fresh(__name__, ["encode"], padded, timeout_s=_timeout(padded.size / SAMPLE_RATE))
        return AudioTokens(
            codes=bits_to_codes(bits),
            sample_rate=SAMPLE_RATE,
            frame_rate=SAMPLE_RATE / SAMPLES_PER_FRAME,
            extra={
                "bits_per_frame": BITS_PER_FRAME,
                "samples_per_frame": SAMPLES_PER_FRAME,
                "n_samples": int(pcm.size),
            },
        )

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        codes = np.asarray(tokens.codes, dtype=np.int64)
        sizes = np.array(INFO.codebook_sizes)[:, None]
        if codes.ndim != 2 or codes.shape[0] != len(FIELD_WIDTHS) or np.any(codes < 0) or np.any(codes >= sizes):
            raise MediaInputError(f"LPCNet codes must be [{len(FIELD_WIDTHS)}, n] within each field's size.")
        seconds = codes.shape[1] * SAMPLES_PER_FRAME / SAMPLE_RATE
        pcm = run_fresh(__name__, ["decode"], codes_to_bits(codes), timeout_s=_timeout(seconds))
        n = int(tokens.extra.get("n_samples", pcm.size))
        return (pcm[:n].astype(np.float32) / 32768.0).astype(np.float32)


def load(ref: str | None = None) -> LPCNetTokenizer:
    return LPCNetTokenizer()


if __name__ == "__main__":
    sys.exit(
        serve({"encode": lambda _a, pcm: encode_bits(pcm), "decode": lambda _a, bits: decode_bits(bits)}, sys.argv[1:])
    )
