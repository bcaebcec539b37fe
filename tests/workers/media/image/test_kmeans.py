"""K-means patch grid: known answers against brute force, exact grids per resolution, seeded training."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from workers.media.codebook_file import read_codebook, sha256_file
from workers.media.image import kmeans
from workers.media.image.metrics import psnr
from workers.media.types import ImageTokenizer, ImageTokens, MediaInputError

from .conftest import TEST_KMEANS_SIZE


def test_encode_equals_brute_force_nearest_centroid(kmeans_file: Path, held_out: dict[str, np.ndarray]) -> None:
    """Catches a wrong distance (a dropped |c|^2 term, float32 cancellation, argmax) or a patch cut in the wrong
    order: every code is a nearest centroid of its patch, computed the slow obvious way."""
    tokenizer = kmeans.load_kmeans_tokenizer(kmeans_file)
    fitted, _ = tokenizer.preprocess(held_out["retina.jpg"])
    tokens = tokenizer.encode(held_out["retina.jpg"])
    rows, cols = tokens.codes.shape
    centroids = tokenizer.centroids.astype(np.float64)
    for r in range(rows):
        for c in range(0, cols, 3):
            patch = fitted[r * 8 : r * 8 + 8, c * 8 : c * 8 + 8].astype(np.float64).reshape(-1)
            distances = ((centroids - patch) ** 2).sum(axis=1)
            assert distances[tokens.codes[r, c]] <= distances.min() + 1e-9


def test_decode_is_the_centroids_tiled(kmeans_file: Path, held_out: dict[str, np.ndarray]) -> None:
    """Catches patches written back transposed or shifted."""
    tokenizer = kmeans.load_kmeans_tokenizer(kmeans_file)
    tokens = tokenizer.encode(held_out["camera.png"][:100, :60])
    image = tokenizer.decode(tokens)
    rows, cols = tokens.codes.shape
    assert image.shape == (rows * 8, cols * 8, 3)
    for r in range(rows):
        for c in range(cols):
            expected = np.clip(tokenizer.centroids[tokens.codes[r, c]].reshape(8, 8, 3), 0, 1)
            np.testing.assert_array_equal(image[r * 8 : r * 8 + 8, c * 8 : c * 8 + 8], expected)


@pytest.mark.parametrize(
    ("size", "grid"), [((256, 256), (32, 32)), ((300, 451), (37, 56)), ((1000, 800), (64, 51)), ((1, 1), (1, 1))]
)
def test_token_grid_per_resolution(kmeans_file: Path, size: tuple[int, int], grid: tuple[int, int]) -> None:
    """Catches a tokenizer whose grid disagrees with the documented policy (the tokens a resolution costs)."""
    tokenizer = kmeans.load_kmeans_tokenizer(kmeans_file)
    tokens = tokenizer.encode(np.full((*size, 3), 0.5, np.float32))
    assert tokens.codes.shape == grid == tokenizer.grid_shape(*size)
    assert tokens.input_size == (grid[0] * 8, grid[1] * 8)
    assert tokenizer.decode(tokens).shape == (grid[0] * 8, grid[1] * 8, 3)


def test_reconstruction_quality_on_held_out_photographs(kmeans_file: Path, held_out: dict[str, np.ndarray]) -> None:
    """Catches a codebook or decoder that does not describe images (measured: about 24 dB with 64 codes)."""
    tokenizer = kmeans.load_kmeans_tokenizer(kmeans_file)
    for image in held_out.values():
        reference, _ = tokenizer.preprocess(image)
        assert psnr(reference, tokenizer.decode(tokenizer.encode(image))) > 20.0


def test_training_is_seeded_and_records_its_data(training_images: list, tmp_path: Path) -> None:
    """Catches unseeded training (defaults that differ per run), files that differ byte-wise for equal codebooks (a
    zip timestamp: the manifest's file sha256 would change every make setup) and a header without the data's hashes."""
    images = training_images[1:2]
    first = kmeans.train_patch_codebook(images, codebook_size=16, seed=5, out=tmp_path / "a.npz")
    again = kmeans.train_patch_codebook(images, codebook_size=16, seed=5, out=tmp_path / "b.npz")
    other = kmeans.train_patch_codebook(images, codebook_size=16, seed=6, out=tmp_path / "c.npz")
    load = kmeans.load_kmeans_tokenizer
    np.testing.assert_array_equal(load(first).centroids, load(again).centroids)
    assert sha256_file(first) == sha256_file(again)
    with zipfile.ZipFile(first) as archive:  # two runs in one 2-second zip tick would hide a wall-clock timestamp
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert not np.array_equal(load(first).centroids, load(other).centroids)
    header, _ = read_codebook(first, kind_prefix="image/")
    assert header["kind"] == "image/kmeans-patch"
    assert header["training"]["images"] == [{"name": images[0].name, "sha256": images[0].sha256}]
    assert header["params"] == {**header["params"], "patch": 8, "codebook_size": 16, "seed": 5}


def test_kmeans_fit_keeps_a_fixed_zero_code_and_refuses_too_few_samples() -> None:
    """Catches the zero code drifting (it must stay 'no change') and k-means run with more codes than samples."""
    data = np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32) + 3
    centroids = kmeans.kmeans_fit(data, 8, seed=0, zero_code=True)
    np.testing.assert_array_equal(centroids[0], 0.0)
    assert np.all(np.abs(centroids[1:].mean(axis=1) - 3) < 1.5)
    with pytest.raises(MediaInputError, match="at least"):
        kmeans.kmeans_fit(data[:5], 8, seed=0)


def test_grid_refuses_a_prefix_and_bad_codes(kmeans_file: Path) -> None:
    """Catches a grid silently decoding a 'prefix' or indexing past its codebook."""
    tokenizer = kmeans.load_kmeans_tokenizer(kmeans_file)
    assert isinstance(tokenizer, ImageTokenizer)
    assert tokenizer.info.codebook_sizes == (TEST_KMEANS_SIZE,) and tokenizer.info.layout == "grid"
    tokens = ImageTokens(codes=np.zeros((2, 2), np.int64), input_size=(16, 16))
    with pytest.raises(MediaInputError, match="prefix"):
        tokenizer.decode(tokens, k=2)
    with pytest.raises(MediaInputError, match="lie in"):
        tokenizer.decode(ImageTokens(codes=np.full((2, 2), TEST_KMEANS_SIZE), input_size=(16, 16)))


def test_nearest_in_small_chunks_equals_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a chunk-boundary bug in the memory-bounded search a large codebook takes (rows skipped or shifted)."""
    rng = np.random.default_rng(2)
    data, table = rng.random((1001, 5)), rng.random((37, 5))
    expected = ((data[:, None, :] - table[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    monkeypatch.setattr(kmeans, "MAX_DISTANCE_ENTRIES", 37 * 7)  # 7 rows per chunk
    np.testing.assert_array_equal(kmeans.nearest(data, table), expected)
