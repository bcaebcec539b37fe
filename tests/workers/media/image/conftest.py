"""Small codebooks trained once per session on scikit-image's samples (the defaults' recipe at a smaller size, so
the tests run in seconds), and held-out sample photographs that no codebook was trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from workers.media.image import kmeans, progressive
from workers.media.image.io import load_image

HELD_OUT = ("retina.jpg", "camera.png")  # CC0; not in kmeans.SAMPLE_TRAINING_IMAGES
TEST_KMEANS_SIZE = 64
TEST_PROGRESSIVE_SIZE = 128


@pytest.fixture(scope="session")
def training_images() -> list[kmeans.TrainingImage]:
    return kmeans.sample_images()


@pytest.fixture(scope="session")
def held_out() -> dict[str, np.ndarray]:
    folder = Path(skimage.data.__file__).parent
    return {name: load_image(folder / name) for name in HELD_OUT}


@pytest.fixture(scope="session")
def kmeans_file(training_images: list[kmeans.TrainingImage], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kmeans") / "k.npz"
    return kmeans.train_patch_codebook(training_images[:2], codebook_size=TEST_KMEANS_SIZE, seed=3, out=out)


@pytest.fixture(scope="session")
def progressive_file(training_images: list[kmeans.TrainingImage], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("progressive") / "p.npz"
    return progressive.train_progressive_codebook(training_images, codebook_size=TEST_PROGRESSIVE_SIZE, seed=0, out=out)
