"""Image I/O: formats sniffed from content, limits checked before decoding, every mode converted to float RGB."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workers.media.image.io import (
    MAX_PIXELS,
    fit_patch_grid,
    fit_square,
    load_image,
    patch_grid_shape,
    probe_image,
    sniff_image_format,
    to_uint8,
    write_png,
)
from workers.media.types import MediaInputError

REPO = Path(__file__).resolve().parents[4]


def _save(path: Path, image: Image.Image, fmt: str, **kwargs: object) -> Path:
    image.save(path, format=fmt, **kwargs)
    return path


def _noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming ``width`` x ``height`` RGB, then IEND: no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [("PNG", {}), ("BMP", {}), ("WEBP", {"lossless": True}), ("GIF", {})],
)
def test_lossless_formats_decode_to_the_exact_pixels(tmp_path: Path, fmt: str, kwargs: dict) -> None:
    """Catches a format that is refused or decoded with a colour shift (a GIF is palette-quantised: 8 colours)."""
    pixels = _noise(12, 20) // 64 * 85 if fmt == "GIF" else _noise(12, 20)
    path = _save(tmp_path / "x.bin", Image.fromarray(pixels), fmt, **kwargs)
    loaded = load_image(path)
    assert loaded.dtype == np.float32 and loaded.shape == (12, 20, 3)
    np.testing.assert_array_equal(to_uint8(loaded), pixels)
    assert probe_image(path)["format"] == fmt


def test_jpeg_decodes_close_to_the_source(tmp_path: Path) -> None:
    """Catches a JPEG decoded in the wrong channel order or scale."""
    pixels = np.zeros((16, 16, 3), np.uint8)
    pixels[..., 0] = 200
    path = _save(tmp_path / "x.jpeg", Image.fromarray(pixels), "JPEG", quality=95)
    assert np.abs(load_image(path) * 255 - pixels).max() < 4


def test_gif_uses_the_first_frame(tmp_path: Path) -> None:
    """Catches an animated GIF decoded at its last frame."""
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    blue = Image.new("RGB", (8, 8), (0, 0, 255))
    path = tmp_path / "anim.gif"
    red.save(path, format="GIF", save_all=True, append_images=[blue])
    np.testing.assert_array_equal(to_uint8(load_image(path))[0, 0], [255, 0, 0])


def test_the_extension_is_ignored_and_the_content_decides(tmp_path: Path) -> None:
    """Catches a loader that trusts the file name: a PNG named .jpg works, text named .png and a TIFF are refused."""
    png_named_jpg = _save(tmp_path / "photo.jpg", Image.fromarray(_noise(4, 4)), "PNG")
    assert probe_image(png_named_jpg)["format"] == "PNG"
    assert load_image(png_named_jpg).shape == (4, 4, 3)
    text = tmp_path / "notes.png"
    text.write_text("hello, not an image")
    tiff = _save(tmp_path / "scan.png", Image.fromarray(_noise(4, 4)), "TIFF")
    for path in (text, tiff):
        with pytest.raises(MediaInputError, match="judged from its content"):
            probe_image(path)
        with pytest.raises(MediaInputError, match="judged from its content"):
            load_image(path)


def test_sniffing_table() -> None:
    """Catches a magic-byte rule that accepts the wrong format or misses one (the upload handler uses it)."""
    assert sniff_image_format(b"\x89PNG\r\n\x1a\n" + b"\0" * 8) == "PNG"
    assert sniff_image_format(b"\xff\xd8\xff\xe0" + b"\0" * 8) == "JPEG"
    assert sniff_image_format(b"RIFF\0\0\0\0WEBPVP8 ") == "WEBP"
    assert sniff_image_format(b"RIFF\0\0\0\0WAVEfmt ") is None
    assert sniff_image_format(b"GIF89a") == "GIF"
    assert sniff_image_format(b"BM\0\0") == "BMP"
    assert sniff_image_format(b"II*\0") is None
    assert sniff_image_format(b"") is None


def test_a_bomb_is_refused_from_its_header_before_any_pixel_is_decoded(tmp_path: Path) -> None:
    """Catches a size check done after decoding: the file has no pixel data, so only a header check can say 'too
    large' (a decode would fail as truncated, or allocate 120 MB)."""
    over = tmp_path / "over.png"
    over.write_bytes(_png_header_only(8000, MAX_PIXELS // 8000 + 1))
    for call in (probe_image, load_image):
        with pytest.raises(MediaInputError, match="megapixels"):
            call(over)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(MediaInputError, match="too large"):
        load_image(bomb)


def test_pillows_bomb_warning_is_an_error_even_under_a_looser_limit(tmp_path: Path) -> None:
    """Catches DecompressionBombWarning left as a warning (the decode would go ahead) when a caller raises max_pixels."""
    path = tmp_path / "warn.png"
    path.write_bytes(_png_header_only(10_000, 9_500))  # 95 MP: above Pillow's warning limit, below its error limit
    with pytest.raises(MediaInputError, match="too large to decode safely"):
        load_image(path, max_pixels=10**12)


def test_max_pixels_is_applied(tmp_path: Path) -> None:
    """Catches a limit parameter that is ignored."""
    path = _save(tmp_path / "x.png", Image.fromarray(_noise(10, 10)), "PNG")
    with pytest.raises(MediaInputError, match="megapixels"):
        load_image(path, max_pixels=99)
    assert load_image(path, max_pixels=100).shape == (10, 10, 3)


def test_truncated_and_corrupt_files_are_input_errors(tmp_path: Path) -> None:
    """Catches a truncated file crashing the worker with OSError instead of a 4xx with what to do."""
    buffer = io.BytesIO()
    Image.fromarray(_noise(64, 64)).save(buffer, format="PNG")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    jpeg = io.BytesIO()
    Image.fromarray(_noise(64, 64)).save(jpeg, format="JPEG")
    truncated_jpeg = tmp_path / "cut.jpg"
    truncated_jpeg.write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    for path in (truncated, truncated_jpeg, garbage):
        with pytest.raises(MediaInputError, match="damaged or truncated"):
            load_image(path)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """Catches a phone photo shown on its side: orientation 6 means 'rotate 90 degrees clockwise to display'."""
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(tmp_path / "phone.jpg", Image.fromarray(pixels), "JPEG", quality=95, exif=exif.tobytes())
    probe = probe_image(path)
    assert (probe["width"], probe["height"], probe["orientation"]) == (20, 40, 6)
    loaded = load_image(path)
    assert loaded.shape == (40, 20, 3)
    assert loaded[2, 10, 0] > 0.9 and loaded[2, 10, 1] < 0.1  # the left half is now on top
    assert loaded[-3, 10, 0] < 0.1


def test_alpha_is_flattened_on_white(tmp_path: Path) -> None:
    """Catches transparency decoded as black (or dropped): a transparent pixel is white, half-alpha red is pink."""
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)
    rgba[0, 1] = (255, 0, 0, 255)
    rgba[0, 2] = (255, 0, 0, 128)
    loaded = load_image(_save(tmp_path / "a.png", Image.fromarray(rgba, mode="RGBA"), "PNG"))
    np.testing.assert_allclose(loaded[0, 0], [1, 1, 1])
    np.testing.assert_allclose(loaded[0, 1], [1, 0, 0])
    np.testing.assert_allclose(loaded[0, 2], [1, 1 - 128 / 255, 1 - 128 / 255], atol=1e-6)


def test_palette_transparency_grayscale_and_cmyk_convert(tmp_path: Path) -> None:
    """Catches modes that are refused or mis-converted (palette transparency, L, CMYK JPEG)."""
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.putpixel((1, 0), 1)
    loaded = load_image(_save(tmp_path / "p.png", palette, "PNG", transparency=0))
    np.testing.assert_allclose(loaded[0], [[1, 1, 1], [0, 1, 0]])
    gray = load_image(_save(tmp_path / "g.png", Image.new("L", (2, 2), 51), "PNG"))
    np.testing.assert_allclose(gray, 0.2, atol=1e-6)
    cyan = load_image(_save(tmp_path / "c.jpg", Image.new("CMYK", (16, 16), (255, 0, 0, 0)), "JPEG", quality=95))
    assert np.abs(cyan[8, 8] - [0, 1, 1]).max() < 0.03


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    """Catches Pillow's I;16 -> RGB conversion, which clips everything above 255 to white."""
    image = Image.fromarray(np.array([[65535, 32768, 0]], dtype=np.uint16))
    loaded = load_image(_save(tmp_path / "deep.png", image, "PNG"))
    np.testing.assert_allclose(loaded[0, :, 0], [1.0, 32768 / 65535, 0.0], atol=1e-6)


def test_one_pixel_image_loads_and_is_resized_up_by_the_policies(tmp_path: Path) -> None:
    """Catches a 1x1 image crashing a tokenizer: it loads as 1x1 and both fitting policies enlarge it."""
    path = _save(tmp_path / "dot.png", Image.new("RGB", (1, 1), (255, 128, 0)), "PNG")
    dot = load_image(path)
    assert dot.shape == (1, 1, 3)
    square, note = fit_square(dot, 256)
    assert square.shape == (256, 256, 3) and "resized 1x1 to 256x256" in note
    np.testing.assert_allclose(square, np.broadcast_to(dot, square.shape), atol=1e-5)
    grid, _ = fit_patch_grid(dot, patch=8, max_side=512)
    assert grid.shape == (8, 8, 3)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((256, 256), (32, 32)),
        ((300, 451), (37, 56)),  # 296 x 448 pixels used
        ((1000, 800), (64, 51)),  # shrunk to 512 x 410, cropped to 512 x 408
        ((513, 513), (64, 64)),
        ((7, 9), (1, 1)),  # enlarged to 8 x 10, cropped to 8 x 8
        ((5, 2000), (1, 64)),  # enlarged to 8 x 3200, cropped to 8 x 512
        ((1, 1), (1, 1)),
    ],
)
def test_patch_grid_token_counts_per_resolution(size: tuple[int, int], expected: tuple[int, int]) -> None:
    """Catches an off-by-one in the any-size policy: exact grids for given resolutions, and the shape-only function
    agrees with the real fitting."""
    h, w = size
    assert patch_grid_shape(h, w, patch=8, max_side=512) == expected
    fitted, _ = fit_patch_grid(np.zeros((h, w, 3), np.float32), patch=8, max_side=512)
    assert fitted.shape == (expected[0] * 8, expected[1] * 8, 3)


def test_fit_square_centre_crops_the_longer_side() -> None:
    """Catches a crop taken from the corner or a stretched (non-uniform) resize."""
    image = np.zeros((100, 300, 3), np.float32)
    image[:, 100:200] = 1.0  # a white centre third
    fitted, note = fit_square(image, 100)
    assert fitted.shape == (100, 100, 3) and "centre-cropped to 100x100" in note
    np.testing.assert_allclose(fitted, 1.0)


def test_write_png_round_trip(tmp_path: Path) -> None:
    """Catches a writer that scales or rounds differently from to_uint8."""
    image = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    path = write_png(tmp_path / "out.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), to_uint8(image))


def test_probe_reads_headers_without_torch_or_scikit_image(tmp_path: Path) -> None:
    """Catches the web process importing torch (or the heavy scikit-image) through probe_image."""
    path = _save(tmp_path / "x.png", Image.fromarray(_noise(4, 6)), "PNG")
    script = (
        "import json, sys\nfrom pathlib import Path\nfrom workers.media.image.io import probe_image\n"
        f"info = probe_image(Path({str(path)!r}))\n"
        "print(json.dumps([info, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'skimage'))]))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    info, heavy = json.loads(out.stdout)
    assert info == {"format": "PNG", "width": 6, "height": 4, "mode": "RGB", "orientation": 1, "has_alpha": False}
    assert heavy == []


@pytest.mark.parametrize(("height", "width"), [(100_000, 1), (1, 100_000), (3, 60_000)])
def test_an_extreme_aspect_ratio_costs_no_more_than_the_output(height: int, width: int) -> None:
    """Catches a 274-byte 1 x 100,000 PNG killing the worker: fit_square enlarged the whole strip to 256 x 25.6
    million pixels (78 GB of float32) before cropping it; the grid policy must still give the predicted grid."""
    import tracemalloc

    strip = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    tracemalloc.start()
    square, _ = fit_square(strip, 256)
    grid, _ = fit_patch_grid(strip, patch=8, max_side=512)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert square.shape == (256, 256, 3)
    rows, cols = patch_grid_shape(height, width, patch=8, max_side=512)
    assert grid.shape == (rows * 8, cols * 8, 3)
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_fit_square_of_a_long_strip_keeps_its_centre() -> None:
    """Catches the source pre-crop of an extreme strip taking the wrong part: the centre of a 10 x 20,000 strip,
    white only in its middle 10 pixels, fills the whole square."""
    strip = np.zeros((10, 20_000, 3), np.float32)
    strip[:, 9_995:10_005] = 1.0
    square, note = fit_square(strip, 64)
    assert "centre-cropped to 64x64" in note
    np.testing.assert_allclose(square[:, 8:56], 1.0, atol=0.05)  # Lanczos ringing at the band edges


def test_pillows_bomb_refusal_states_the_products_limit(tmp_path: Path) -> None:
    """Catches Pillow's own 'could be decompression bomb DOS attack' text (with Pillow's limit, not ours) reaching
    the user instead of the accepted megapixels and what to do."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(MediaInputError) as caught:
        probe_image(bomb)
    message = str(caught.value)
    assert "at most 40 megapixels" in message and "Downscale" in message and "DOS" not in message
