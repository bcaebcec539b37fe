"""Reconstruction metrics against hand computations and the metric packages called directly."""

from __future__ import annotations

import numpy as np
import pytest
from pesq import pesq as p862
from pystoi import stoi as pystoi_stoi

from tests.workers.media.audio.speech import codec2_speech
from workers.media.audio import metrics
from workers.media.audio.io import resample


def test_snr_by_hand() -> None:
    """Catches a swapped ratio or a natural log: signal energy 4, noise energy 4 x 0.01 -> 10 log10(100) = 20 dB."""
    reference = np.ones(4)
    assert metrics.snr_db(reference, reference + 0.1) == pytest.approx(20.0)
    assert metrics.snr_db(reference, reference) == float("inf")
    with pytest.raises(ValueError, match="equal lengths"):
        metrics.snr_db(reference, reference[:3])


def test_align_finds_a_codec_delay() -> None:
    """Catches comparing a delayed reconstruction sample by sample (its SNR would be meaningless) or a sign error."""
    speech = codec2_speech().astype(np.float64)
    delayed = np.concatenate([np.zeros(37), speech])[: speech.size]
    ref, est, lag = metrics.align(speech, delayed, sample_rate=8000)
    assert lag == 37 and ref.size == est.size == speech.size - 37
    assert metrics.snr_db(ref, est) == float("inf")
    _, _, early = metrics.align(delayed, speech, sample_rate=8000)
    assert early == -37


def test_mel_distance_of_half_amplitude_is_6_02_db() -> None:
    """Catches a mel distance not in dB or not on log power: halving the amplitude is 10 log10(4) = 6.02 dB in every
    band (white noise keeps every band above the log floor)."""
    noise = np.random.default_rng(0).standard_normal(16000) * 0.1
    assert metrics.mel_distance(noise, noise, 16000) == 0.0
    assert metrics.mel_distance(noise, 0.5 * noise, 16000) == pytest.approx(10 * np.log10(4), abs=1e-4)


def test_stoi_is_pystoi_and_one_for_identical_speech() -> None:
    """Catches swapped arguments or a wrong rate passed to pystoi, and scoring clips too short for STOI."""
    speech = codec2_speech().astype(np.float64)
    noisy = speech + np.random.default_rng(1).standard_normal(speech.size) * 0.05
    assert metrics.stoi(speech, speech, 8000).value == pytest.approx(1.0, abs=1e-6)
    assert metrics.stoi(speech, noisy, 8000).value == pytest.approx(pystoi_stoi(speech, noisy, 8000), abs=1e-9)
    short = metrics.stoi(speech[:2000], speech[:2000], 8000)
    assert short.value is None and "at least" in short.reason


def test_pesq_uses_wideband_at_16k_and_narrowband_at_8k() -> None:
    """Catches a wrong P.862 mode for the clip's rate, and a crash instead of a reason below 8 kHz."""
    speech8 = codec2_speech()
    noisy8 = (speech8 + np.random.default_rng(2).standard_normal(speech8.size) * 0.02).astype(np.float32)
    assert metrics.pesq(speech8, noisy8, 8000).value == pytest.approx(p862(8000, speech8, noisy8, "nb"), abs=1e-6)
    speech16, noisy16 = resample(speech8, 8000, 16000), resample(noisy8, 8000, 16000)
    wide = metrics.pesq(speech16, noisy16, 16000).value
    assert wide == pytest.approx(p862(16000, speech16, noisy16, "wb"), abs=1e-6)
    low = metrics.pesq(speech8[::2], noisy8[::2], 4000)
    assert low.value is None and "8 kHz" in low.reason


def test_reconstruction_metrics_compare_at_the_lower_rate_after_alignment() -> None:
    """Catches comparing clips of different rates sample by sample, or forgetting the alignment."""
    speech8 = codec2_speech()
    delayed16 = np.concatenate([np.zeros(160, np.float32), resample(speech8, 8000, 16000)])
    result = metrics.reconstruction_metrics(speech8, 8000, delayed16, 16000)
    assert result["sample_rate"] == 8000 and result["lag_ms"] == pytest.approx(10.0)
    assert result["snr_db"] > 25 and result["mel_distance"] < 0.5 and result["stoi"] > 0.98
    assert result["pesq"] > 4.0
