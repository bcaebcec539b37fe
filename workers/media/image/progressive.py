"""An ordered coarse-to-fine 1D image tokenizer: FlexTok's prefix property without a network.

What it is, exactly: multi-scale residual vector quantization of a piecewise-constant image.
- The input is fitted to ``SIZE`` x ``SIZE`` (``io.fit_square``: Lanczos so the shorter side is 256, centre crop).
- Reconstructions are constant over ``CELL`` x ``CELL`` pixel blocks (a 32 x 32 grid of blocks) and start black.
- ``STAGES`` lists nine quantization stages, coarse to fine: a stage splits the image into equal regions (1, 1, 2, 4,
  ..., 128 of them), each region into 4x4 or 4x2 cells (64, 32, 16 or 8 pixels square); a token is the index of the
  stage codebook vector nearest to the current residual's cell means over its region (squared Euclidean, code 0 is
  the zero vector, "no change"). Adding the vector to those cells and clipping to [0, 1] gives the next
  reconstruction. 1 + 1 + 2 + 4 + 8 + 16 + 32 + 64 + 128 = 256 tokens; every prefix length that is a power of two
  ends a stage. Tokens run stage by stage, each stage's regions in raster order.
- Never worse with more tokens, for every image, not just on average: within a block the reconstruction is constant,
  so a token changes the squared error of its region by (cell area) x (|r - v|^2 - |r|^2), r the cell means of the
  residual and v the vector; the nearest vector is never farther than code 0 (the zero vector, "no change"), and
  clipping to [0, 1] never moves a reconstruction away from a target inside [0, 1]. So the mean squared error
  against the fitted image is non-increasing in k, and the PSNR non-decreasing.
- Codebooks: per stage, k-means (``kmeans.kmeans_fit`` with a fixed zero code) on the residuals that the earlier
  stages leave on 32x32-block windows cut from training images at four scales (greedy residual training, as in RVQ).
  ``CODEBOOK_SIZE`` codes per stage, so each token carries log2(1024) = 10 bits; 256 tokens are 320 bytes.
Unlike FlexTok the regions are fixed (no semantic resampling) and the decoder is deterministic (``seed`` unused).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.media.codebook_file import CodebookFileError, read_codebook, require_array, require_int, save_codebook
from workers.media.image.io import fit_square, resize
from workers.media.image.kmeans import TrainingImage, kmeans_fit, nearest
from workers.media.types import ImageTokens, MediaInputError, MediaTokenizerInfo

KIND = "image/progressive-1d"
TOKENIZER_ID = "image/progressive-1d"
SIZE = 256
CELL = 8  # reconstructions are constant over CELL x CELL pixel blocks
GRID = SIZE // CELL  # 32 blocks per side
CODEBOOK_SIZE = 1024
MAX_STAGE_SAMPLES = 8192  # k-means vectors per stage (regions of a seeded subset of the windows)
MAX_WINDOWS = 4096  # training windows (a seeded random subset)
TRAINING_SCALES = (256, 320, 384, 512)  # shorter side of each training image, for the windows
WINDOW_STRIDE = 2  # blocks between training windows (16 pixels)
TRAINING_MAX_ASPECT = 4  # longer training images are centre-cropped to 4:1 first (bounded work per image)
ITERATIONS = 10

Report = Callable[[float, str], None]


@dataclass(frozen=True)
class Stage:
    span: int  # cell side in blocks (a cell is span * CELL pixels square)
    rows: int  # cells per token, vertically
    cols: int  # cells per token, horizontally

    @property
    def grid(self) -> tuple[int, int]:  # tokens per side (rows, columns)
        cells = GRID // self.span
        return cells // self.rows, cells // self.cols

    @property
    def n_tokens(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def dim(self) -> int:
        return self.rows * self.cols * 3


STAGES = (
    Stage(32, 1, 1),  # 1 token: the mean colour
    Stage(8, 4, 4),  # 1 token: 4x4 cells of 64 px
    Stage(8, 4, 2),  # 2 tokens: the same cells, a second residual pass over halves
    Stage(4, 4, 4),  # 4 tokens: 32 px cells
    Stage(4, 4, 2),  # 8
    Stage(2, 4, 4),  # 16 tokens: 16 px cells
    Stage(2, 4, 2),  # 32
    Stage(1, 4, 4),  # 64 tokens: 8 px cells
    Stage(1, 4, 2),  # 128
)
MAX_TOKENS = sum(stage.n_tokens for stage in STAGES)  # 256
STAGE_STARTS = tuple(int(x) for x in np.cumsum([0] + [stage.n_tokens for stage in STAGES]))


def _no_report(progress: float, message: str) -> None:
    return None


# ---- the stage operations, on batches of block-mean images [B, GRID, GRID, 3] (float64) ----


def block_means(image: np.ndarray) -> np.ndarray:
    """[SIZE, SIZE, 3] -> [GRID, GRID, 3] means over CELL x CELL blocks (float64)."""
    return image.astype(np.float64).reshape(GRID, CELL, GRID, CELL, 3).mean(axis=(1, 3))


def _region_vectors(values: np.ndarray, stage: Stage) -> np.ndarray:
    """[B, GRID, GRID, 3] -> [B * tokens, dim]: the cell means of each token's region, regions in raster order."""
    batch = values.shape[0]
    cells = GRID // stage.span
    means = values.reshape(batch, cells, stage.span, cells, stage.span, 3).mean(axis=(2, 4))
    t_rows, t_cols = stage.grid
    regions = means.reshape(batch, t_rows, stage.rows, t_cols, stage.cols, 3).transpose(0, 1, 3, 2, 4, 5)
    return regions.reshape(batch * t_rows * t_cols, stage.dim)


def _to_blocks(per_token: np.ndarray, stage: Stage, batch: int) -> np.ndarray:
    """[B * tokens, dim] cell values -> [B, GRID, GRID, 3] block values (each cell spread over its blocks)."""
    t_rows, t_cols = stage.grid
    cells = per_token.reshape(batch, t_rows, t_cols, stage.rows, stage.cols, 3).transpose(0, 1, 3, 2, 4, 5)
    cells = cells.reshape(batch, GRID // stage.span, GRID // stage.span, 3)
    return np.repeat(np.repeat(cells, stage.span, axis=1), stage.span, axis=2)


def apply_stage(recon: np.ndarray, codes: np.ndarray, stage: Stage, table: np.ndarray) -> np.ndarray:
    """The decoder step: add each token's vector to its cells, clip to [0, 1]. Code 0 leaves its region as is."""
    return np.clip(recon + _to_blocks(table[codes.reshape(-1)].astype(recon.dtype), stage, recon.shape[0]), 0.0, 1.0)


def encode_stage(
    target: np.ndarray, recon: np.ndarray, stage: Stage, table: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The encoder step: the nearest vector to each region's residual cell means. Returns (codes [B, tokens], the
    new reconstruction)."""
    codes = nearest(_region_vectors(target - recon, stage), table, dtype=target.dtype.type)
    return codes.reshape(target.shape[0], -1), apply_stage(recon, codes, stage, table)


# ---- the tokenizer ----


def tokenizer_info(*, codebook_size: int = CODEBOOK_SIZE, label: str = "") -> MediaTokenizerInfo:
    return MediaTokenizerInfo(
        id=TOKENIZER_ID,
        modality="image",
        family="classical",
        label=label or "Coarse-to-fine 1D (classical)",
        description=(
            "An ordered 1D strip of 256 tokens (multi-scale residual VQ over 8-pixel blocks, no network): "
            "the first k tokens give a coarse-to-fine reconstruction that never gets worse as k grows. "
            "Inputs are resized and centre-cropped to 256x256. FlexTok's prefix idea with fixed regions "
            "and blocky reconstructions."
        ),
        layout="strip",
        has_decoder=True,
        codebook_sizes=(codebook_size,),
        image_size=SIZE,
        max_tokens=MAX_TOKENS,
        source="multi-scale residual k-means trained here (Tokenscope)",
        licence="codebook trained from scikit-image sample photographs (public domain / CC0)",
    )


class ProgressiveTokenizer:
    def __init__(
        self,
        tables: Sequence[np.ndarray],
        *,
        info: MediaTokenizerInfo | None = None,
        header: dict[str, Any] | None = None,
    ) -> None:
        if len(tables) != len(STAGES):
            raise ValueError(f"one table per stage ({len(STAGES)}) expected, got {len(tables)}")
        self.tables = [np.asarray(table, dtype=np.float32) for table in tables]
        self.source_files: list[Path] = []  # the files it was loaded from (none when built in memory)
        self.codebook_size = len(self.tables[0])
        self.info = info or tokenizer_info(codebook_size=self.codebook_size)
        self.header = header or {}

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, str]:
        """The 256x256 image the codes describe (the reference for PSNR/SSIM) and what was done to get it."""
        return fit_square(image, SIZE)

    def encode(self, image: np.ndarray) -> ImageTokens:
        fitted, processed = self.preprocess(image)
        target = block_means(fitted)[None]
        recon = np.zeros_like(target)
        codes = []
        for stage, table in zip(STAGES, self.tables, strict=True):
            stage_codes, recon = encode_stage(target, recon, stage, table)
            codes.append(stage_codes[0])
        return ImageTokens(
            codes=np.concatenate(codes).astype(np.int64),
            input_size=(SIZE, SIZE),
            extra={"processed": processed, "stage_starts": list(STAGE_STARTS)},  # the strip's stage boundaries
        )

    def _checked_codes(self, tokens: ImageTokens, k: int | None) -> tuple[np.ndarray, int]:
        codes = np.asarray(tokens.codes).reshape(-1)
        if codes.size != MAX_TOKENS:
            raise MediaInputError(f"A progressive code has {MAX_TOKENS} tokens, got {codes.size}.")
        if int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size:
            raise MediaInputError(f"Codes must lie in [0, {self.codebook_size}).")
        k = MAX_TOKENS if k is None else k
        if not 0 <= k <= MAX_TOKENS:
            raise MediaInputError(f"k must be between 0 and {MAX_TOKENS}, got {k}.")
        return codes, k

    def decode_blocks(self, tokens: ImageTokens, *, k: int | None = None) -> np.ndarray:
        """The [GRID, GRID, 3] block reconstruction from the first k tokens (the rest count as code 0)."""
        codes, k = self._checked_codes(tokens, k)
        kept = np.where(np.arange(MAX_TOKENS) < k, codes, 0)
        recon = np.zeros((1, GRID, GRID, 3))
        for stage, table, start in zip(STAGES, self.tables, STAGE_STARTS, strict=False):
            if start >= k:
                break
            recon = apply_stage(recon, kept[start : start + stage.n_tokens], stage, table)
        return recon[0]

    def decode(self, tokens: ImageTokens, *, k: int | None = None, seed: int = 0) -> np.ndarray:
        """float32 [256, 256, 3]; deterministic (``seed`` is not used)."""
        blocks = self.decode_blocks(tokens, k=k)
        return np.repeat(np.repeat(blocks, CELL, axis=0), CELL, axis=1).astype(np.float32)


# ---- codebook files and training ----


def _stage_params() -> list[list[int]]:
    return [[stage.span, stage.rows, stage.cols] for stage in STAGES]


def load_progressive_tokenizer(path: Path) -> ProgressiveTokenizer:
    """Reads and checks a progressive codebook file (CodebookFileError, a 4xx, for anything malformed)."""
    header, arrays = read_codebook(path, kind_prefix=KIND)
    params = header["params"]
    if header["kind"] != KIND or params.get("stages") != _stage_params() or params.get("size") != SIZE:
        raise CodebookFileError("The codebook file is not a progressive codebook of this version's stage layout.")
    size = require_int(params, "codebook_size", low=2, high=65536)
    tables = [require_array(arrays, f"stage_{i}", (size, stage.dim), max_abs=1.0) for i, stage in enumerate(STAGES)]
    if any(np.any(table[0] != 0) for table in tables):
        raise CodebookFileError("Code 0 of every progressive stage must be the zero vector.")
    label = header.get("label") if isinstance(header.get("label"), str) else ""
    tokenizer = ProgressiveTokenizer(
        tables, info=tokenizer_info(codebook_size=size, label=str(label)[:80]), header=header
    )
    tokenizer.source_files = [Path(path)]  # the manifest records their sha256
    return tokenizer


def _training_crop(pixels: np.ndarray) -> np.ndarray:
    """The centre of an image longer than ``TRAINING_MAX_ASPECT`` times its shorter side (a team upload of 1 x 100,000
    pixels would otherwise be scaled to 512 x 51 million pixels, 300 GB of float32, for its windows)."""
    height, width = pixels.shape[:2]
    keep_h, keep_w = min(height, TRAINING_MAX_ASPECT * width), min(width, TRAINING_MAX_ASPECT * height)
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    return pixels[top : top + keep_h, left : left + keep_w]


def training_windows(images: Sequence[TrainingImage], *, seed: int) -> np.ndarray:
    """[N, GRID, GRID, 3] block means of 256x256 windows (stride WINDOW_STRIDE blocks, and mirrored) of each image
    at TRAINING_SCALES, in a seeded random order."""
    windows = []
    for image in images:
        pixels = _training_crop(image.pixels)
        height, width = pixels.shape[:2]
        for short in TRAINING_SCALES:
            scale = short / min(height, width)
            new_h, new_w = max(SIZE, round(height * scale)), max(SIZE, round(width * scale))
            scaled = resize(pixels, new_h, new_w)
            rows, cols = new_h // CELL, new_w // CELL
            blocks = scaled[: rows * CELL, : cols * CELL].astype(np.float64)
            blocks = blocks.reshape(rows, CELL, cols, CELL, 3).mean(axis=(1, 3))
            for top in range(0, rows - GRID + 1, WINDOW_STRIDE):
                for left in range(0, cols - GRID + 1, WINDOW_STRIDE):
                    window = blocks[top : top + GRID, left : left + GRID]
                    windows.extend([window, window[:, ::-1]])
    stacked = np.stack(windows).astype(np.float32)
    return stacked[np.random.default_rng(seed).permutation(len(stacked))]


def train_progressive_codebook(
    images: Sequence[TrainingImage],
    *,
    seed: int,
    out: Path,
    codebook_size: int = CODEBOOK_SIZE,
    report: Report = _no_report,
    label: str = "",
) -> Path:
    """Greedy residual training, stage by stage, on the windows of ``images``; saved to ``out``."""
    if not images:
        raise MediaInputError("Choose at least one image to train the codebook on.")
    if not 2 <= codebook_size <= 65536:
        raise MediaInputError("The codebook size must be between 2 and 65536.")
    report(0.0, f"cutting {len(images)} images into windows")
    windows = training_windows(images, seed=seed)[:MAX_WINDOWS]  # float32: training is memory-bound
    n_windows = len(windows)
    recon = np.zeros_like(windows)
    tables = []
    for index, stage in enumerate(STAGES):
        report(0.1 + 0.85 * index / len(STAGES), f"stage {index + 1}/{len(STAGES)}: k-means on residuals")
        used = min(len(windows), -(-MAX_STAGE_SAMPLES // stage.n_tokens))
        windows, recon = windows[:used], recon[:used]  # later stages need fewer windows: nested subsets
        vectors = _region_vectors(windows - recon, stage)
        table = kmeans_fit(vectors, codebook_size, seed=seed + index, iterations=ITERATIONS, zero_code=True)
        tables.append(table)
        _codes, recon = encode_stage(windows, recon, stage, table)
    params = {
        "size": SIZE,
        "cell": CELL,
        "stages": _stage_params(),
        "codebook_size": codebook_size,
        "seed": seed,
        "iterations": ITERATIONS,
        "max_stage_samples": MAX_STAGE_SAMPLES,
        "scales": list(TRAINING_SCALES),
        "window_stride": WINDOW_STRIDE,
    }
    training = {"images": [{"name": image.name, "sha256": image.sha256} for image in images], "windows": n_windows}
    report(0.97, "saving the codebook")
    return save_codebook(
        out,
        kind=KIND,
        params=params,
        training=training,
        arrays={f"stage_{i}": table for i, table in enumerate(tables)},
        label=label,
    )


def default_codebook_path(store: Path) -> Path:
    return store / "image" / "progressive-1d.npz"
