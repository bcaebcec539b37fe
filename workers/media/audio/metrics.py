"""Reconstruction quality of a decoded clip against its original.

Alignment and lengths, for every metric here: both signals must be at one sample rate; codecs delay their output,
so the estimate is shifted by the lag (within +-``MAX_LAG_S``; see ``align``) that best matches the reference,
then both are cut to their overlap. ``reconstruction_metrics`` brings both to one rate first.

- ``snr_db``: 10 log10(sum r^2 / sum (r - e)^2) on the aligned overlap (no gain matching: a codec that changes
  the level is charged for it). Parametric codecs (Codec2, LPCNet) do not keep the waveform's phase, so their SNR
  is near or below 0 dB while they sound fine; the mel distance is the fairer number for them.
- ``mel_distance``: the mean absolute difference of the two 40-band natural-log mel spectrograms
  (workers.media.audio.features, 25 ms / 10 ms) over all frames and bands, converted to dB (x 10 / ln 10): a
  log-mel L1 distance; 0 for identical signals. Both spectrograms are floored at ``MEL_RANGE_DB`` below the
  reference's loudest cell, so digital silence (log of ~0) cannot dominate the mean.
- ``stoi``: pystoi's short-time objective intelligibility (0..1; it resamples to 10 kHz itself).
- ``pesq``: ITU-T P.862 via the ``pesq`` package: wide-band at 16 kHz when the clip's rate allows it, else
  narrow-band at 8 kHz; None with the reason below 8 kHz or when PESQ finds no speech.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from workers.media.audio.features import log_mel
from workers.media.audio.io import resample

MAX_LAG_S = 0.1
REFINE_S = 0.002
MEL_RANGE_DB = 80.0
MIN_STOI_S = 0.4  # pystoi needs 30 frames of 384 ms analysis at 10 kHz; shorter clips give no number


class Score(NamedTuple):
    value: float | None
    reason: str = ""  # why ``value`` is None


def _xcorr(reference: np.ndarray, estimate: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """sum_t estimate[t + lag] * reference[t] for each lag, by FFT."""
    size = 1 << (reference.size + estimate.size - 2).bit_length()
    corr = np.fft.irfft(np.fft.rfft(estimate, size) * np.conj(np.fft.rfft(reference, size)), size)
    return corr[lags % size]


def _envelope(x: np.ndarray, width: int) -> np.ndarray:
    smooth = np.convolve(np.abs(x), np.ones(width) / width, mode="same")
    return smooth - smooth.mean()


def align(reference: np.ndarray, estimate: np.ndarray, *, sample_rate: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(reference, estimate, lag): the estimate shifted by ``lag`` samples (positive: it was late), both cut to their
    overlap. The lag maximises the cross-correlation of the two amplitude envelopes (5 ms moving average of |x|)
    within +-MAX_LAG_S, which works for decoders that do not keep the waveform's phase (Griffin-Lim, vocoders), then
    is refined to the waveform cross-correlation's peak within +-REFINE_S of it (exact for waveform codecs)."""
    r = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    max_lag = round(MAX_LAG_S * sample_rate)
    coarse = np.arange(-max_lag, max_lag + 1)
    width = max(1, round(0.005 * sample_rate))
    lag = int(coarse[np.argmax(_xcorr(_envelope(r, width), _envelope(e, width), coarse))])
    refine = round(REFINE_S * sample_rate)
    fine = np.arange(lag - refine, lag + refine + 1)
    lag = int(fine[np.argmax(_xcorr(r, e, fine))])
    if lag >= 0:
        e = e[lag:]
    else:
        r = r[-lag:]
    m = min(r.size, e.size)
    return r[:m], e[:m], lag


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """SNR of already aligned, equal-length signals (see ``align``); +inf when identical."""
    r = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    if r.shape != e.shape:
        raise ValueError(f"snr_db needs equal lengths (align first): {r.shape} vs {e.shape}")
    noise = float(np.sum((r - e) ** 2))
    signal = float(np.sum(r**2))
    if noise == 0.0:
        return float("inf")
    return 10.0 * float(np.log10(max(signal, 1e-30) / noise))


def mel_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Log-mel L1 distance in dB of already aligned, equal-length signals at ``sample_rate``."""
    a = log_mel(reference, sample_rate).astype(np.float64)
    b = log_mel(estimate, sample_rate).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"mel_distance needs equal lengths (align first): {a.shape} vs {b.shape}")
    floor = a.max() - MEL_RANGE_DB * np.log(10.0) / 10.0
    return float(np.mean(np.abs(np.maximum(a, floor) - np.maximum(b, floor))) * 10.0 / np.log(10.0))


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> Score:
    if reference.size < MIN_STOI_S * sample_rate:
        return Score(None, f"STOI needs at least {MIN_STOI_S} s")
    from pystoi import stoi as pystoi_stoi

    return Score(float(pystoi_stoi(reference, estimate, sample_rate, extended=False)))


def pesq(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> Score:
    """P.862 MOS-LQO: wide-band at 16 kHz when ``sample_rate`` >= 16 kHz, narrow-band at 8 kHz when >= 8 kHz."""
    if sample_rate >= 16000:
        rate, mode = 16000, "wb"
    elif sample_rate >= 8000:
        rate, mode = 8000, "nb"
    else:
        return Score(None, f"PESQ needs 8 kHz or more; the clip is {sample_rate} Hz")
    from pesq import PesqError
    from pesq import pesq as p862

    ref = resample(reference, sample_rate, rate).astype(np.float32)
    est = resample(estimate, sample_rate, rate).astype(np.float32)
    try:
        return Score(float(p862(rate, ref, est, mode)))
    except PesqError as exc:  # e.g. NoUtterancesError: no speech found
        return Score(None, f"PESQ: {type(exc).__name__}")


def reconstruction_metrics(reference: np.ndarray, ref_sr: int, estimate: np.ndarray, est_sr: int) -> dict:
    """Every metric for a decoded clip, at the lower of the two rates (the codec's band limit), after alignment.

    Returns {"snr_db", "mel_distance", "pesq", "stoi", "lag_ms", "sample_rate", "notes"}: None values come
    with the reason in ``notes``."""
    rate = min(ref_sr, est_sr)
    r = resample(reference, ref_sr, rate)
    e = resample(estimate, est_sr, rate)
    r, e, lag = align(r, e, sample_rate=rate)
    notes: dict[str, str] = {}
    p = pesq(r, e, rate)
    s = stoi(r, e, rate)
    for name, score in (("pesq", p), ("stoi", s)):
        if score.value is None:
            notes[name] = score.reason
    snr = snr_db(r, e)
    if not np.isfinite(snr):
        notes["snr_db"] = "the reconstruction is identical to the original (infinite SNR)"
    return {
        "snr_db": None if not np.isfinite(snr) else round(snr, 3),
        "mel_distance": round(mel_distance(r, e, rate), 4),
        "pesq": None if p.value is None else round(p.value, 3),
        "stoi": None if s.value is None else round(s.value, 4),
        "lag_ms": round(1000.0 * lag / rate, 3),
        "sample_rate": rate,
        "notes": notes,
    }
