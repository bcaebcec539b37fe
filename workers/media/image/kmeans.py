"""K-means patch quantization: an image becomes a 2D grid of "visual words".

The image is fitted to the patch grid (``io.fit_patch_grid``: longer side at most ``MAX_SIDE`` pixels, shorter side
at least one patch, centre-cropped to a multiple of the patch), cut into non-overlapping ``PATCH`` x ``PATCH`` RGB
patches, and each patch is replaced by the index of its nearest centroid (squared Euclidean distance over the
``PATCH * PATCH * 3`` pixel values in [0, 1]). Decoding tiles the centroids back. The codebook is plain k-means
(Lloyd's algorithm, seeded) over patches of training images; the defaults are trained from scikit-image's bundled
sample photographs by ``prepare_defaults`` (deterministic, seconds, no network).

Also here: the numpy k-means (``kmeans_fit``, ``nearest``) that the progressive tokenizer reuses for its stages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.media.codebook_file import (
    CodebookFileError,
    read_codebook,
    require_array,
    require_int,
    save_codebook,
    sha256_file,
)
from workers.media.image.io import fit_patch_grid, load_image, patch_grid_shape
from workers.media.types import ImageTokens, MediaInputError, MediaTokenizerInfo, NotInstalledError

KIND = "image/kmeans-patch"
PATCH = 8
MAX_SIDE = 512  # so at most (512 / 8) ** 2 = 4096 tokens per image
DEFAULT_SIZES = (256, 1024)
MAX_CODEBOOK_SIZE = 65536
MAX_TRAINING_PATCHES = 16384  # k-means runs on at most this many patches (a seeded random subset)
ITERATIONS = 12
MAX_DISTANCE_ENTRIES = 1 << 24  # distances held at once by ``nearest`` (128 MiB of float64)
DEFAULT_SEED = 0
SAMPLE_TRAINING_IMAGES = (
    # scikit-image's bundled sample photographs (skimage/data, shipped in the wheel; no pooch download) and licences
    ("astronaut.png", "NASA, public domain"),
    ("chelsea.png", "CC0, Stefan van der Walt"),
    ("coffee.png", "CC0, Rachel Michetti"),
    ("rocket.jpg", "SpaceX, public domain"),
    ("hubble_deep_field.jpg", "NASA, public domain"),
    ("ihc.png", "immunohistochemistry, no known copyright restrictions"),
)

Report = Callable[[float, str], None]


def _no_report(progress: float, message: str) -> None:
    return None


# ---- k-means (numpy, deterministic) ----


def nearest(vectors: np.ndarray, centroids: np.ndarray, *, chunk: int = 4096, dtype: type = np.float64) -> np.ndarray:
    """Index of the nearest centroid (squared Euclidean) for each row; ties go to the lower index. Tokenizers use
    float64; k-means training uses float32 (twice as fast, and a near-tie there changes nothing that matters)."""
    data: np.ndarray = np.asarray(vectors, dtype=dtype)
    table: np.ndarray = np.asarray(centroids, dtype=dtype)
    table_sq = (table * table).sum(axis=1)
    out = np.empty(len(data), dtype=np.int64)
    chunk = max(1, min(chunk, MAX_DISTANCE_ENTRIES // max(1, len(table))))  # a large codebook: smaller chunks
    for start in range(0, len(data), chunk):
        block = data[start : start + chunk]
        distances = table_sq[None, :] - 2.0 * block @ table.T  # + |x|^2, the same for every centroid
        out[start : start + chunk] = distances.argmin(axis=1)
    return out


def kmeans_fit(
    vectors: np.ndarray, k: int, *, seed: int, iterations: int = ITERATIONS, zero_code: bool = False
) -> np.ndarray:
    """Lloyd's k-means from ``k`` distinct seeded samples; an emptied cluster is re-seeded at the sample farthest
    from its centroid. ``zero_code``: centroid 0 is the zero vector and stays there (residual stages use it as
    "no change"). Returns float32 [k, dim]."""
    data = np.asarray(vectors, dtype=np.float32)
    free = k - 1 if zero_code else k
    if len(data) < free:
        raise MediaInputError(
            f"Training a codebook of {k} codes needs at least {free} samples, got {len(data)}; "
            "train on more or larger images, or choose a smaller codebook."
        )
    rng = np.random.default_rng(seed)
    centroids = data[rng.choice(len(data), size=free, replace=False)].copy()
    if zero_code:
        centroids = np.concatenate([np.zeros((1, data.shape[1]), np.float32), centroids])
    first = 1 if zero_code else 0
    for _ in range(iterations):
        assign = nearest(data, centroids, dtype=np.float32)
        sums = np.stack([np.bincount(assign, weights=data[:, d], minlength=k) for d in range(data.shape[1])], axis=1)
        counts = np.bincount(assign, minlength=k)
        updated = centroids.copy()
        filled = counts > 0
        updated[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
        empty = np.flatnonzero(~filled)
        empty = empty[empty >= first]
        if empty.size:
            errors = ((data - updated[assign]) ** 2).sum(axis=1)
            updated[empty] = data[np.argsort(-errors, kind="stable")[: empty.size]]
        if zero_code:
            updated[0] = 0.0
        if np.array_equal(updated, centroids):
            break
        centroids = updated
    return centroids


# ---- patches ----


def to_patches(image: np.ndarray, patch: int) -> np.ndarray:
    """[H, W, 3] with H and W multiples of ``patch`` -> [H/p * W/p, p*p*3], rows in raster order."""
    rows, cols = image.shape[0] // patch, image.shape[1] // patch
    blocks = image.reshape(rows, patch, cols, patch, 3).transpose(0, 2, 1, 3, 4)
    return blocks.reshape(rows * cols, patch * patch * 3)


def from_patches(vectors: np.ndarray, rows: int, cols: int, patch: int) -> np.ndarray:
    return vectors.reshape(rows, cols, patch, patch, 3).transpose(0, 2, 1, 3, 4).reshape(rows * patch, cols * patch, 3)


# ---- the tokenizer ----


def tokenizer_id(codebook_size: int) -> str:
    return f"{KIND}-{codebook_size}"


def tokenizer_info(
    codebook_size: int, *, patch: int = PATCH, max_side: int = MAX_SIDE, label: str = "", source: str = ""
) -> MediaTokenizerInfo:
    return MediaTokenizerInfo(
        id=tokenizer_id(codebook_size),
        modality="image",
        family="classical",
        label=label or f"k-means patches ({codebook_size})",
        description=(
            f"Each {patch}x{patch} patch becomes the index of its nearest k-means centroid ({codebook_size} "
            f"codes): a 2D grid of visual words, {patch}x{patch} = 1 token (256x256 pixels: "
            f"{(256 // patch) ** 2} tokens). Any size up to {max_side} pixels on the longer side."
        ),
        layout="grid",
        has_decoder=True,
        codebook_sizes=(codebook_size,),
        image_size=None,
        source=source or "k-means trained here (Tokenscope)",
        licence="codebook trained from scikit-image sample photographs (public domain / CC0)",
    )


class KMeansPatchTokenizer:
    def __init__(
        self,
        centroids: np.ndarray,
        *,
        patch: int = PATCH,
        max_side: int = MAX_SIDE,
        info: MediaTokenizerInfo | None = None,
        header: dict[str, Any] | None = None,
    ) -> None:
        if centroids.ndim != 2 or centroids.shape[1] != patch * patch * 3:
            raise ValueError(f"centroids must be [k, {patch * patch * 3}], got {centroids.shape}")
        self.centroids = np.asarray(centroids, dtype=np.float32)
        self.source_files: list[Path] = []  # the files it was loaded from (none when built in memory)
        self.patch = patch
        self.max_side = max_side
        self.info = info or tokenizer_info(len(centroids), patch=patch, max_side=max_side)
        self.header = header or {}

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, str]:
        """The image the codes describe (the reference for PSNR/SSIM) and what was done to get it."""
        return fit_patch_grid(image, patch=self.patch, max_side=self.max_side)

    def grid_shape(self, height: int, width: int) -> tuple[int, int]:
        """Token rows and columns for an input of this size (the tokens a resolution costs)."""
        return patch_grid_shape(height, width, patch=self.patch, max_side=self.max_side)

    def encode(self, image: np.ndarray) -> ImageTokens:
        fitted, processed = self.preprocess(image)
        rows, cols = fitted.shape[0] // self.patch, fitted.shape[1] // self.patch
        codes = nearest(to_patches(fitted, self.patch), self.centroids).reshape(rows, cols)
        return ImageTokens(
            codes=codes,
            input_size=(fitted.shape[0], fitted.shape[1]),
            extra={"processed": processed, "patch": self.patch},
        )

    def decode(self, tokens: ImageTokens, *, k: int | None = None, seed: int = 0) -> np.ndarray:
        """The centroids tiled in grid order; a grid has no prefix, so ``k`` must be None or the token count."""
        codes = np.asarray(tokens.codes)
        if codes.ndim != 2:
            raise MediaInputError(f"k-means patch codes are a 2D grid, got shape {codes.shape}")
        if k is not None and k != codes.size:
            raise MediaInputError("A k-means patch grid decodes all of its tokens; it has no ordered prefix.")
        if codes.size and (int(codes.min()) < 0 or int(codes.max()) >= len(self.centroids)):
            raise MediaInputError(f"Codes must lie in [0, {len(self.centroids)}).")
        rows, cols = codes.shape
        return np.clip(from_patches(self.centroids[codes.ravel()], rows, cols, self.patch), 0.0, 1.0)


# ---- codebook files ----


def load_kmeans_tokenizer(path: Path) -> KMeansPatchTokenizer:
    """Reads and checks a k-means patch codebook file (CodebookFileError, a 4xx, for anything malformed)."""
    header, arrays = read_codebook(path, kind_prefix=KIND)
    if header["kind"] != KIND:
        raise CodebookFileError(f"The codebook file is of kind {header['kind']!r}, not {KIND!r}.")
    params = header["params"]
    patch = require_int(params, "patch", low=2, high=32)
    size = require_int(params, "codebook_size", low=2, high=MAX_CODEBOOK_SIZE)
    max_side = require_int(params, "max_side", low=patch, high=MAX_SIDE)  # bounds the tokens (and work) per image
    centroids = require_array(arrays, "centroids", (size, patch * patch * 3), max_abs=1.5)
    label = header.get("label") if isinstance(header.get("label"), str) else ""
    info = tokenizer_info(size, patch=patch, max_side=max_side, label=str(label)[:80])
    tokenizer = KMeansPatchTokenizer(centroids, patch=patch, max_side=max_side, info=info, header=header)
    tokenizer.source_files = [Path(path)]  # the manifest records their sha256
    return tokenizer


@dataclass(frozen=True)
class TrainingImage:
    name: str
    sha256: str  # of the file (or of the pixel bytes when it came from memory)
    pixels: np.ndarray  # float32 [H, W, 3] in [0, 1]


def training_image_from_file(path: Path, *, name: str | None = None) -> TrainingImage:
    pixels = load_image(path)
    return TrainingImage(name=name or path.name, sha256=sha256_file(path), pixels=pixels)


def sample_images() -> list[TrainingImage]:
    """scikit-image's bundled sample photographs listed in SAMPLE_TRAINING_IMAGES (read from the installed wheel)."""
    try:
        import skimage.data
    except ImportError as exc:
        raise NotInstalledError("scikit-image is not installed.", install="pip install -r requirements.txt") from exc
    folder = Path(skimage.data.__file__).parent
    missing = [name for name, _ in SAMPLE_TRAINING_IMAGES if not (folder / name).is_file()]
    if missing:
        raise NotInstalledError(
            f"scikit-image's sample images {missing} are missing from {folder}.",
            install="pip install --force-reinstall -r requirements.txt",
        )
    return [training_image_from_file(folder / name) for name, _ in SAMPLE_TRAINING_IMAGES]


def _training_record(images: Sequence[TrainingImage], samples: int) -> dict[str, Any]:
    return {"images": [{"name": image.name, "sha256": image.sha256} for image in images], "samples": samples}


def train_patch_codebook(
    images: Sequence[TrainingImage],
    *,
    codebook_size: int,
    seed: int,
    out: Path,
    report: Report = _no_report,
    patch: int = PATCH,
    max_side: int = MAX_SIDE,
    label: str = "",
) -> Path:
    """K-means over the patches of ``images`` (each fitted as the tokenizer fits inputs), saved to ``out``."""
    if not 2 <= codebook_size <= MAX_CODEBOOK_SIZE:
        raise MediaInputError(f"The codebook size must be between 2 and {MAX_CODEBOOK_SIZE}.")
    if not images:
        raise MediaInputError("Choose at least one image to train the codebook on.")
    report(0.0, f"cutting {len(images)} images into {patch}x{patch} patches")
    patches = np.concatenate(
        [to_patches(fit_patch_grid(image.pixels, patch=patch, max_side=max_side)[0], patch) for image in images]
    )
    rng = np.random.default_rng(seed)
    if len(patches) > MAX_TRAINING_PATCHES:
        patches = patches[np.sort(rng.choice(len(patches), size=MAX_TRAINING_PATCHES, replace=False))]
    report(0.2, f"k-means with {codebook_size} codes on {len(patches)} patches")
    centroids = kmeans_fit(patches, codebook_size, seed=seed)
    report(0.95, "saving the codebook")
    params = {
        "patch": patch,
        "codebook_size": codebook_size,
        "max_side": max_side,
        "seed": seed,
        "iterations": ITERATIONS,
        "max_training_patches": MAX_TRAINING_PATCHES,
    }
    return save_codebook(
        out,
        kind=KIND,
        params=params,
        training=_training_record(images, len(patches)),
        arrays={"centroids": centroids},
        label=label,
    )


def default_codebook_path(store: Path, codebook_size: int) -> Path:
    return store / "image" / f"kmeans-patch-{codebook_size}.npz"


def prepare_defaults(store: Path) -> list[Path]:
    """The default k-means patch codebooks and the progressive codebook, from scikit-image's samples."""
    from workers.media.image.progressive import default_codebook_path as progressive_path
    from workers.media.image.progressive import train_progressive_codebook

    images = sample_images()
    written = [
        train_patch_codebook(images, codebook_size=size, seed=DEFAULT_SEED, out=default_codebook_path(store, size))
        for size in DEFAULT_SIZES
    ]
    written.append(train_progressive_codebook(images, seed=DEFAULT_SEED, out=progressive_path(store)))
    return written
