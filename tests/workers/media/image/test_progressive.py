"""The coarse-to-fine 1D tokenizer: the prefix property, quality never falling with k, exact token counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.media.image import kmeans, progressive
from workers.media.image.metrics import psnr
from workers.media.types import ImageTokenizer, ImageTokens, MediaInputError

from .conftest import TEST_PROGRESSIVE_SIZE


@pytest.fixture(scope="module")
def tokenizer(progressive_file: Path) -> progressive.ProgressiveTokenizer:
    return progressive.load_progressive_tokenizer(progressive_file)


def test_stage_layout_counts() -> None:
    """Catches a stage table that does not add up to 256 tokens or whose stages do not end at powers of two."""
    assert progressive.MAX_TOKENS == 256
    assert progressive.STAGE_STARTS == (0, 1, 2, 4, 8, 16, 32, 64, 128, 256)


@pytest.mark.parametrize("size", [(256, 256), (300, 451), (1000, 800), (1, 1)])
def test_every_input_becomes_256_tokens(tokenizer: progressive.ProgressiveTokenizer, size: tuple[int, int]) -> None:
    """Catches a token count that depends on the input size (the fixed-size policy is resize + centre crop)."""
    tokens = tokenizer.encode(np.random.default_rng(0).random((*size, 3)).astype(np.float32))
    assert tokens.codes.shape == (256,) and tokens.input_size == (256, 256)
    assert tokens.extra["stage_starts"] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert tokenizer.decode(tokens, k=3).shape == (256, 256, 3)


def test_psnr_never_falls_as_tokens_are_added(
    tokenizer: progressive.ProgressiveTokenizer, held_out: dict[str, np.ndarray], training_images: list
) -> None:
    """Catches an encoder and decoder that disagree on a region's place or order, a missing zero code, or a nearest
    search that is not nearest: any of them makes some token raise the error. Every k from 1 to 256, on two held-out
    photographs and one training photograph, with the product's own PSNR."""
    images = {**held_out, "astronaut": training_images[0].pixels}
    for name, image in images.items():
        reference, _ = tokenizer.preprocess(image)
        tokens = tokenizer.encode(image)
        curve = [psnr(reference, tokenizer.decode(tokens, k=k)) for k in range(1, 257)]
        drops = np.diff(curve)
        assert drops.min() >= -1e-6, f"{name}: token {int(drops.argmin()) + 2} lowers PSNR by {-drops.min()} dB"
        assert curve[-1] >= curve[0] + 4.0, name
        assert curve[-1] >= 15.0, f"{name}: full-length PSNR {curve[-1]:.2f} dB"


def test_random_codebooks_keep_the_guarantee() -> None:
    """Catches a guarantee that holds only for well-trained codebooks: random tables (with the zero code) on random
    images still never raise the error."""
    rng = np.random.default_rng(7)
    tables = [np.concatenate([np.zeros((1, s.dim)), rng.uniform(-1, 1, (31, s.dim))]) for s in progressive.STAGES]
    tables[0] = np.concatenate([np.zeros((1, 3)), rng.uniform(0, 1, (31, 3))])
    tokenizer = progressive.ProgressiveTokenizer(tables)
    image = rng.random((256, 256, 3)).astype(np.float32)
    tokens = tokenizer.encode(image)
    errors = [float(((tokenizer.decode(tokens, k=k) - image) ** 2).mean()) for k in range(0, 257)]
    assert np.diff(errors).max() <= 1e-9


def test_decoding_k_tokens_ignores_the_rest(tokenizer: progressive.ProgressiveTokenizer, held_out: dict) -> None:
    """Catches a decoder that reads past the prefix: changing tokens after k leaves the k-token image unchanged."""
    tokens = tokenizer.encode(held_out["camera.png"])
    for k in (1, 2, 5, 64, 200):
        scrambled = tokens.codes.copy()
        scrambled[k:] = np.random.default_rng(k).integers(0, TEST_PROGRESSIVE_SIZE, 256 - k)
        np.testing.assert_array_equal(
            tokenizer.decode(tokens, k=k), tokenizer.decode(ImageTokens(scrambled, (256, 256)), k=k)
        )
    assert not np.array_equal(tokenizer.decode(tokens, k=2), tokenizer.decode(tokens, k=256))


def test_first_token_is_the_nearest_mean_colour(tokenizer: progressive.ProgressiveTokenizer, held_out: dict) -> None:
    """Known answer for stage 0: the first token is the stage-0 vector nearest to the image's mean colour (brute
    force) and one token decodes to that colour everywhere."""
    reference, _ = tokenizer.preprocess(held_out["retina.jpg"])
    mean = reference.astype(np.float64).reshape(-1, 3).mean(axis=0)
    table = tokenizer.tables[0].astype(np.float64)
    distances = ((table - mean) ** 2).sum(axis=1)
    tokens = tokenizer.encode(held_out["retina.jpg"])
    assert distances[tokens.codes[0]] <= distances.min() + 1e-12
    one = tokenizer.decode(tokens, k=1)
    np.testing.assert_allclose(one, np.broadcast_to(np.clip(table[tokens.codes[0]], 0, 1), one.shape), atol=1e-6)


def test_encoding_is_deterministic_and_codes_are_checked(tokenizer: progressive.ProgressiveTokenizer) -> None:
    """Catches randomness in encoding and a decoder indexing out of its codebook or accepting a wrong length."""
    image = np.random.default_rng(1).random((64, 80, 3)).astype(np.float32)
    np.testing.assert_array_equal(tokenizer.encode(image).codes, tokenizer.encode(image).codes)
    assert isinstance(tokenizer, ImageTokenizer) and tokenizer.info.max_tokens == 256
    with pytest.raises(MediaInputError, match="256 tokens"):
        tokenizer.decode(ImageTokens(np.zeros(10, np.int64), (256, 256)))
    with pytest.raises(MediaInputError, match="lie in"):
        tokenizer.decode(ImageTokens(np.full(256, TEST_PROGRESSIVE_SIZE), (256, 256)))
    with pytest.raises(MediaInputError, match="between 0 and 256"):
        tokenizer.decode(ImageTokens(np.zeros(256, np.int64), (256, 256)), k=257)


def test_training_is_seeded(training_images: list, tmp_path: Path) -> None:
    """Catches unseeded stage training (the defaults would differ between runs of make setup)."""
    crop = training_images[1].pixels[:100, :100]  # a small image keeps the three trainings quick
    images = [kmeans.TrainingImage(name="crop", sha256="0" * 64, pixels=crop)]
    paths = [
        progressive.train_progressive_codebook(images, codebook_size=8, seed=seed, out=tmp_path / f"{i}.npz")
        for i, seed in enumerate((4, 4, 5))
    ]
    a, b, c = (progressive.load_progressive_tokenizer(p).tables for p in paths)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_every_token_is_a_nearest_vector_of_its_residual(
    tokenizer: progressive.ProgressiveTokenizer, held_out: dict[str, np.ndarray]
) -> None:
    """Known answer for every stage, computed the slow obvious way: the residual left by the earlier stages,
    averaged over each cell of the token's region (row-major cells, then RGB), has the token's vector among its
    nearest. Catches a second-best search, cells read in another order, or a residual taken from the wrong prefix."""
    reference, _ = tokenizer.preprocess(held_out["camera.png"])
    tokens = tokenizer.encode(held_out["camera.png"])
    for stage, table, start in zip(progressive.STAGES, tokenizer.tables, progressive.STAGE_STARTS, strict=False):
        residual = reference.astype(np.float64) - tokenizer.decode(tokens, k=start).astype(np.float64)
        cell = stage.span * progressive.CELL
        t_rows, t_cols = stage.grid
        for index in range(stage.n_tokens):
            top, left = (index // t_cols) * stage.rows * cell, (index % t_cols) * stage.cols * cell
            vector = np.array(
                [
                    residual[top + r * cell : top + (r + 1) * cell, left + c * cell : left + (c + 1) * cell].mean(
                        axis=(0, 1)
                    )
                    for r in range(stage.rows)
                    for c in range(stage.cols)
                ]
            ).reshape(-1)
            distances = ((table.astype(np.float64) - vector) ** 2).sum(axis=1)
            code = tokens.codes[start + index]
            assert distances[code] <= distances.min() + 1e-6, (start + index, code, int(distances.argmin()))


def test_training_windows_of_an_extreme_strip_stay_small() -> None:
    """Catches a team upload of 2 x 60,000 pixels making codebook training scale it to 512 x 15 million pixels
    (about 92 GB of float32) for its windows: it is centre-cropped to 4:1 first, so its windows are those of 2 x 8."""
    import tracemalloc

    strip = np.random.default_rng(1).random((2, 60_000, 3), dtype=np.float32)
    tracemalloc.start()
    windows = progressive.training_windows([kmeans.TrainingImage(name="s", sha256="0" * 64, pixels=strip)], seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    same = progressive.training_windows(
        [kmeans.TrainingImage(name="c", sha256="0" * 64, pixels=strip[:, 29_996:30_004])], seed=0
    )
    np.testing.assert_array_equal(windows, same)
    assert peak < 300 * 2**20, f"peak {peak / 2**20:.0f} MiB"
