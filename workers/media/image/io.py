"""Image files from strangers: sniffed, size-checked before decoding, decoded to float32 RGB, written as PNG.

Policy (docs/media.md, docs/limits.md):
- Formats: PNG, JPEG, WebP, GIF (first frame) and BMP, recognised from the file's first bytes; the file name and
  extension are never consulted. Anything else is a ``MediaInputError``.
- Size: at most ``MAX_PIXELS`` (40 megapixels). The width and height are read from the header and checked before a
  single pixel is decoded, so a decompression bomb costs a header read; Pillow's DecompressionBombWarning is an error.
- Decoding: EXIF orientation applied; alpha flattened on white; grayscale, palette, CMYK, YCbCr and 16-bit images
  converted to RGB (16-bit scaled by 65535, not clipped); a truncated or corrupt file is a ``MediaInputError``.
- Result: float32 [H, W, 3] in [0, 1] at the file's own size (a one-pixel image is a 1x1x3 array: tokenizers with a
  minimum size resize it up, see ``fit_square`` and ``fit_patch_grid``).

``probe_image`` reads the header only and imports neither torch nor scikit-image, so the web process can call it
on an upload before any job exists.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from workers.media.types import MediaInputError

MAX_PIXELS = 40_000_000
"""Decoded width x height above which an image is refused (before decoding)."""
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
"""Pillow format names accepted, recognised by ``sniff_image_format`` from the first bytes."""
SNIFF_BYTES = 16
"""How many leading bytes ``sniff_image_format`` needs (an upload handler passes the first chunk)."""
MAX_INTERMEDIATE_PIXELS = 4_000_000
"""A resize before a centre crop larger than this crops the source first (``_resize_then_crop``)."""
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ORIENTATION_TAG = 0x0112


def sniff_image_format(head: bytes) -> str | None:
    """The Pillow format name from the file's first bytes, or None when it is not an accepted format."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    return None


def _open(path: Path, *, max_pixels: int) -> Any:
    """Opens (header only) with Pillow restricted to the sniffed format, and checks the pixel count."""
    from PIL import Image

    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaInputError(f"The image file cannot be read: {exc.strerror}.") from exc
    fmt = sniff_image_format(head)
    if fmt is None:
        raise MediaInputError(
            "This file is not a PNG, JPEG, WebP, GIF or BMP image (judged from its content, not its "
            "name); convert it to PNG or JPEG and upload it again."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=[fmt])
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise MediaInputError(
                "The image is too large to decode safely: its header claims more pixels than the decompression-bomb "
                f"limit; at most {max_pixels / 1e6:.0f} megapixels are accepted. Downscale it and upload it again."
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise MediaInputError(
                f"The {fmt} file is damaged or truncated and cannot be read ({exc}); export it again from the original."
            ) from exc
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise MediaInputError(f"The image header gives a size of {width}x{height}; the file is damaged.")
    if width * height > max_pixels:
        image.close()
        raise MediaInputError(
            f"The image is {width}x{height} = {width * height / 1e6:.1f} megapixels; at most "
            f"{max_pixels / 1e6:.0f} megapixels are accepted. Downscale it and upload it again."
        )
    return image


def _orientation(image: Any) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block is ignored, as browsers do
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def probe_image(path: Path, *, max_pixels: int = MAX_PIXELS) -> dict[str, Any]:
    """Header facts (no pixel decoding): format, width and height as displayed (EXIF rotation applied), mode, EXIF
    orientation, whether it has alpha. Raises MediaInputError for a refused file."""
    image = _open(path, max_pixels=max_pixels)
    with image:
        orientation = _orientation(image)
        width, height = image.size
        if orientation in (5, 6, 7, 8):  # rotated by 90 degrees
            width, height = height, width
        return {
            "format": image.format,
            "width": width,
            "height": height,
            "mode": image.mode,
            "orientation": orientation,
            "has_alpha": image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info,
        }


def _to_rgb_array(image: Any) -> np.ndarray:
    from PIL import Image

    if image.mode in _SIXTEEN_BIT_MODES:
        gray = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(gray, 0.0, 1.0)[:, :, None], 3, axis=2)
    if image.mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[:, :, 3:4]
        return rgba[:, :, :3] * alpha + (1.0 - alpha)  # flattened on white
    if image.mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    assert isinstance(image, Image.Image)
    pixels = np.asarray(image, dtype=np.float32)
    pixels /= 255.0  # in place: a 40-megapixel image is 480 MB as float32, so no second copy
    return pixels


def load_image(path: Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """float32 [H, W, 3] in [0, 1]; refused files raise MediaInputError with what to do about them."""
    from PIL import Image, ImageOps

    image = _open(path, max_pixels=max_pixels)
    with image, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.seek(0)  # GIF / animated WebP: the first frame
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy when the orientation is already upright
            array = _to_rgb_array(image)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning) as exc:
            raise MediaInputError(
                f"The {image.format} file is damaged or truncated and cannot be decoded ({exc}); "
                "export it again from the original."
            ) from exc
    return np.ascontiguousarray(array, dtype=np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[H, W, 3] float in [0, 1] (clipped) to uint8, rounding to the nearest step."""
    return np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def write_png(path: Path, image: np.ndarray) -> Path:
    """Writes float [H, W, 3] in [0, 1] (or uint8) as an 8-bit RGB PNG."""
    from PIL import Image

    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"write_png takes [H, W, 3], got {pixels.shape}")
    Image.fromarray(pixels, mode="RGB").save(path, format="PNG")
    return path


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Lanczos resampling of each channel in float (antialiased when shrinking), clipped to [0, 1]."""
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image.astype(np.float32, copy=True)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32), mode="F").resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )
        for c in range(3)
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


def _centre_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    top = (image.shape[0] - height) // 2
    left = (image.shape[1] - width) // 2
    return image[top : top + height, left : left + width]


def _resize_then_crop(image: np.ndarray, new_h: int, new_w: int, crop_h: int, crop_w: int) -> np.ndarray:
    """Resize to ``new_h`` x ``new_w``, then centre-crop to ``crop_h`` x ``crop_w``.

    When the resized image would be far larger than what is kept (an extreme aspect ratio: a 1 x 100,000 PNG of a
    few hundred bytes enlarged to 256 x 25.6 million pixels is 78 GB of float32), the source is first centre-cropped
    to the part that survives plus the filter's margin, so the work stays the size of the output. Ordinary images
    stay under ``MAX_INTERMEDIATE_PIXELS`` and take the plain path (bit-identical results)."""
    if new_h * new_w > max(MAX_INTERMEDIATE_PIXELS, 4 * crop_h * crop_w):
        height, width = image.shape[:2]
        keep_h = _source_span(height, new_h, crop_h)
        keep_w = _source_span(width, new_w, crop_w)
        new_h = max(crop_h, round(keep_h * new_h / height))
        new_w = max(crop_w, round(keep_w * new_w / width))
        image = _centre_crop(image, keep_h, keep_w)
    return _centre_crop(resize(image, new_h, new_w), crop_h, crop_w)


def _source_span(length: int, resized: int, kept: int) -> int:
    """Source pixels along one axis that a centre crop of ``kept`` out of ``resized`` needs (Lanczos: 3 taps)."""
    scale = resized / length
    margin = math.ceil(3 / min(scale, 1.0)) + 1
    return min(length, math.ceil(kept / scale) + 2 * margin)


def fit_square(image: np.ndarray, size: int) -> tuple[np.ndarray, str]:
    """The fixed-size policy: scale (Lanczos) so the shorter side is ``size``, then centre-crop the longer side to
    ``size``. Returns the square image and a sentence saying what was done."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    fitted = _resize_then_crop(image, new_h, new_w, size, size)
    steps = []
    if (new_h, new_w) != (height, width):
        steps.append(f"resized {width}x{height} to {new_w}x{new_h}")
    if (new_h, new_w) != (size, size):
        steps.append(f"centre-cropped to {size}x{size}")
    return fitted, ", ".join(steps) or f"used as is ({size}x{size})"


def _patch_grid_plan(height: int, width: int, *, patch: int, max_side: int) -> tuple[int, int, int, int]:
    scale = min(1.0, max_side / max(height, width))
    if min(height, width) * scale < patch:
        scale = patch / min(height, width)
    new_h, new_w = max(patch, round(height * scale)), max(patch, round(width * scale))
    return new_h, new_w, min(new_h, max_side) // patch * patch, min(new_w, max_side) // patch * patch


def patch_grid_shape(height: int, width: int, *, patch: int, max_side: int) -> tuple[int, int]:
    """The token grid (rows, columns) ``fit_patch_grid`` gives an image of this size, without resizing anything."""
    _, _, crop_h, crop_w = _patch_grid_plan(height, width, patch=patch, max_side=max_side)
    return crop_h // patch, crop_w // patch


def fit_patch_grid(image: np.ndarray, *, patch: int, max_side: int) -> tuple[np.ndarray, str]:
    """The any-size policy for patch grids: shrink (Lanczos) so the longer side is at most ``max_side``; enlarge so
    the shorter side is at least ``patch``; centre-crop each side to at most ``max_side`` and to a multiple of
    ``patch``. A grid of (H // patch) x (W // patch) tokens covers the result."""
    height, width = image.shape[:2]
    new_h, new_w, crop_h, crop_w = _patch_grid_plan(height, width, patch=patch, max_side=max_side)
    fitted = _resize_then_crop(image, new_h, new_w, crop_h, crop_w)
    steps = []
    if (new_h, new_w) != (height, width):
        steps.append(f"resized {width}x{height} to {new_w}x{new_h}")
    if (crop_h, crop_w) != (new_h, new_w):
        steps.append(f"centre-cropped to {crop_w}x{crop_h} (a multiple of the {patch}-pixel patch)")
    return fitted, ", ".join(steps) or f"used as is ({width}x{height})"
