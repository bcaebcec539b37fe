"""Image reconstruction quality: PSNR and SSIM through scikit-image, on float RGB images in [0, 1].

``data_range`` is 1.0 (images are float32 in [0, 1], see workers.media.image.io); SSIM is computed per colour
channel (``channel_axis=-1``) with scikit-image's defaults (7x7 uniform window) and averaged. Identical images have
an infinite PSNR; it is reported as ``PSNR_CAP_DB`` so results stay finite JSON (100 dB is an MSE of 1e-10, far
below one 8-bit step).
"""

from __future__ import annotations

import numpy as np

DATA_RANGE = 1.0
PSNR_CAP_DB = 100.0
SSIM_WINDOW = 7


def _check_pair(reference: np.ndarray, test: np.ndarray) -> None:
    if reference.shape != test.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(f"compare two [H, W, 3] images of one shape, got {reference.shape} and {test.shape}")


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (10 log10(1 / MSE)), capped at PSNR_CAP_DB."""
    from skimage.metrics import mean_squared_error

    _check_pair(reference, test)
    mse = float(mean_squared_error(reference.astype(np.float64), test.astype(np.float64)))
    if mse <= 10 ** (-PSNR_CAP_DB / 10):
        return PSNR_CAP_DB
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(reference.astype(np.float64), test.astype(np.float64), data_range=DATA_RANGE))


def ssim(reference: np.ndarray, test: np.ndarray) -> float | None:
    """Mean structural similarity; images smaller than the 7x7 window use the largest odd window that fits, and
    images under 3 pixels on a side have no SSIM (None)."""
    from skimage.metrics import structural_similarity

    _check_pair(reference, test)
    side = min(reference.shape[:2])
    window = min(SSIM_WINDOW, side if side % 2 else side - 1)
    if window < 3:
        return None
    return float(
        structural_similarity(
            reference.astype(np.float64),
            test.astype(np.float64),
            data_range=DATA_RANGE,
            channel_axis=-1,
            win_size=window,
        )
    )
