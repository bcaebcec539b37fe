"""PSNR/SSIM against hand values and scikit-image itself; codebook usage against hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from workers.media.image.metrics import PSNR_CAP_DB, psnr, ssim
from workers.media.usage import ZIPF_LIMIT, codebook_usage


def _random(seed: int, shape: tuple[int, ...] = (32, 24, 3)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_psnr_hand_value() -> None:
    """Catches a wrong data range or a mean over the wrong axis: an error of 0.1 everywhere is MSE 0.01, 20 dB."""
    reference = np.zeros((4, 5, 3), np.float32)
    assert psnr(reference, reference + 0.1) == pytest.approx(20.0, abs=1e-5)
    half = reference.copy()
    half[:2] = 0.2  # MSE = 0.04 / 2 = 0.02
    assert psnr(reference, half) == pytest.approx(10 * math.log10(1 / 0.02), abs=1e-5)


def test_psnr_equals_scikit_image_with_data_range_one() -> None:
    """Catches a data range of 255 or a float32 rounding difference against the library's own function."""
    a, b = _random(0), _random(1)
    assert psnr(a, b) == pytest.approx(
        peak_signal_noise_ratio(a.astype(np.float64), b.astype(np.float64), data_range=1)
    )


def test_psnr_of_identical_images_is_capped_and_finite() -> None:
    """Catches an infinite PSNR reaching JSON."""
    a = _random(2)
    assert psnr(a, a) == PSNR_CAP_DB


def test_ssim_equals_scikit_image_per_channel() -> None:
    """Catches SSIM computed on a flattened or gray image instead of per colour channel with data_range 1."""
    a, b = _random(3), _random(4)
    b = 0.7 * a + 0.3 * b
    expected = structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=1.0, channel_axis=-1)
    assert ssim(a, b) == pytest.approx(expected)
    assert ssim(a, a) == pytest.approx(1.0)


def test_ssim_on_tiny_images() -> None:
    """Catches scikit-image's ValueError on images under 7 pixels escaping as a crash."""
    a, b = _random(5, (5, 9, 3)), _random(6, (5, 9, 3))
    expected = structural_similarity(
        a.astype(np.float64), b.astype(np.float64), data_range=1.0, channel_axis=-1, win_size=5
    )
    assert ssim(a, b) == pytest.approx(expected)
    assert ssim(_random(7, (2, 2, 3)), _random(8, (2, 2, 3))) is None


def test_metrics_refuse_mismatched_shapes() -> None:
    """Catches comparing a reconstruction with an image of another size (a broadcasting bug gives a number)."""
    with pytest.raises(ValueError, match="one shape"):
        psnr(_random(0, (4, 4, 3)), _random(0, (4, 5, 3)))


def test_codebook_usage_hand_computed() -> None:
    """Catches a wrong log base, perplexity or utilisation: codes 0,0,1,2 of 4 have p = 1/2, 1/4, 1/4."""
    usage = codebook_usage(np.array([0, 0, 1, 2]), 4)
    assert usage["entropy_bits"] == pytest.approx(1.5)
    assert usage["perplexity"] == pytest.approx(2**1.5)
    assert usage["used"] == 3
    assert usage["utilisation"] == pytest.approx(0.75)
    assert usage["zipf"] == [2, 1, 1]
    assert usage["max_entropy_bits"] == pytest.approx(2.0)
    assert usage["n_tokens"] == 4


def test_codebook_usage_edges() -> None:
    """Catches -0.0 entropy, a crash on empty codes, 2D codes not flattened, an untruncated Zipf list, bad codes."""
    single = codebook_usage(np.full((3, 3), 5), 8)
    assert single["entropy_bits"] == 0.0 and single["perplexity"] == 1.0 and single["used"] == 1
    assert codebook_usage(np.array([], dtype=np.int64), 8)["used"] == 0
    wide = codebook_usage(np.arange(3000) % 2000, 2000)
    assert len(wide["zipf"]) == ZIPF_LIMIT and wide["zipf"][0] == 2 and wide["zipf"][-1] == 1
    assert wide["entropy_bits"] == pytest.approx(
        -(1000 * (2 / 3000) * math.log2(2 / 3000) + 1000 * (1 / 3000) * math.log2(1 / 3000))
    )
    for bad in (np.array([0, 8]), np.array([-1]), np.array([0.5])):
        with pytest.raises(ValueError):
            codebook_usage(bad, 8)
