"""Log-mel features shared by the metrics (mel distance) and the k-means mel units, so both measure the same thing.

Framing: a Hann window of ``WIN_S`` and a hop of ``HOP_S`` (100 frames per second), an FFT of the next power of two,
a Slaney-style triangular mel filterbank (HTK mel formula), natural-log energies with a floor of ``LOG_FLOOR``.
"""

from __future__ import annotations

import functools

import numpy as np

WIN_S = 0.025
HOP_S = 0.010
LOG_FLOOR = 1e-10


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def frame_sizes(sample_rate: int) -> tuple[int, int, int]:
    """(window, hop, n_fft) in samples for ``sample_rate``."""
    win = round(WIN_S * sample_rate)
    hop = round(HOP_S * sample_rate)
    n_fft = 1 << (win - 1).bit_length()
    return win, hop, n_fft


@functools.cache
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] triangular filters between 0 Hz and Nyquist, each of unit area."""
    edges_hz = mel_to_hz(np.linspace(0.0, float(hz_to_mel(sample_rate / 2)), n_mels + 2))
    bins_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    fb = np.zeros((n_mels, bins_hz.size))
    for m in range(n_mels):
        lo, mid, hi = edges_hz[m], edges_hz[m + 1], edges_hz[m + 2]
        rising = (bins_hz - lo) / (mid - lo)
        falling = (hi - bins_hz) / (hi - mid)
        fb[m] = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (hi - lo))
    fb.setflags(write=False)
    return fb


def power_frames(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """[n_frames, n_fft // 2 + 1] power spectra; the wave is zero-padded to a whole number of hops (at least one
    frame), frame i covering samples [i * hop, i * hop + win)."""
    win, hop, n_fft = frame_sizes(sample_rate)
    x = np.asarray(wave, dtype=np.float64)
    n_frames = max(1, int(np.ceil(max(x.size - win, 0) / hop)) + 1)
    x = np.pad(x, (0, (n_frames - 1) * hop + win - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n_frames] * np.hanning(win)
    return np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2


def log_mel(wave: np.ndarray, sample_rate: int, *, n_mels: int = 40) -> np.ndarray:
    """float32 [n_frames, n_mels]: natural log of the mel-filtered power spectrum (100 frames per second)."""
    power = power_frames(wave, sample_rate)
    _, _, n_fft = frame_sizes(sample_rate)
    mel = power @ mel_filterbank(sample_rate, n_fft, n_mels).T
    return np.log(np.maximum(mel, LOG_FLOOR)).astype(np.float32)
