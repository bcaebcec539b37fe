"""A user uploads an image and a speech clip on the Media page, against the real API, worker and tokenizers: moves the
k slider and sees the reconstruction change, sees the token strips aligned with the clip, and presses play."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, make_team, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SPEECH = Path("/usr/share/codec2/raw/hts1a.raw")  # codec2-examples: real speech, 8 kHz signed 16-bit mono
RESULT_TIMEOUT_MS = 300_000

# The reconstruction <img>'s pixels as one number per colour channel (summed over a 32x32 downscale), read in the page.
PIXELS_JS = """img => {
  const c = document.createElement('canvas'); c.width = 32; c.height = 32;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0, 32, 32);
  const d = g.getImageData(0, 0, 32, 32).data; let s = 0, v = 0;
  for (let i = 0; i < d.length; i += 4) { s += d[i] + d[i + 1] + d[i + 2]; v += (d[i] - 128) ** 2; }
  return [s, v];
}"""


def _png(tmp_path: Path) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).resize((128, 128)).save(path)
    return path


def _wav(tmp_path: Path) -> Path:
    samples = np.frombuffer(SPEECH.read_bytes(), dtype="<i2")  # 3 s
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())
    path = tmp_path / "speech.wav"
    path.write_bytes(buffer.getvalue())
    return path


def _run(page: Any, app_url: str, file: Path, tokenizers: list[str], name: str) -> Any:
    page.goto(app_url + "/media")
    page.get_by_test_id("media-form").wait_for(timeout=15_000)
    page.get_by_test_id("media-file").set_input_files(str(file))
    for tokenizer_id in tokenizers:
        page.locator(f'[data-testid="media-tokenizer-check"][value="{tokenizer_id}"]').check()
    page.get_by_test_id("media-run").click()
    result = page.get_by_test_id("media-result")
    try:
        result.wait_for(timeout=RESULT_TIMEOUT_MS)
    except Exception:
        screenshot(page, f"{name}-timeout")
        raise
    return result


def _loaded(page: Any, locator: Any) -> None:
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=locator.element_handle(), timeout=15_000)


def test_image_k_slider_changes_the_reconstruction(browser: Any, app_url: str, tmp_path: Path) -> None:
    """Catches a slider that does not swap the reconstruction (same src or same pixels), artifacts that do not load
    for the owning team, or a grid tokenizer drawn without its grid."""
    make_team("Media img", make_user("imogen"))
    page = sign_in(browser, app_url, "imogen", PASSWORD)
    _run(page, app_url, _png(tmp_path), ["image/progressive-1d", "image/kmeans-patch-256"], "media-image")
    card = page.locator('[data-testid="media-tokenizer"][data-tokenizer-id="image/progressive-1d"]')
    img = card.get_by_test_id("media-reconstruction")
    _loaded(page, img)
    full_src, full_k = img.get_attribute("src"), int(img.get_attribute("data-k") or 0)
    full_pixels = page.evaluate(PIXELS_JS, img.element_handle())
    slider = card.get_by_test_id("media-k-slider")
    slider.focus()
    page.keyboard.press("Home")  # the coarsest prefix, k = 1
    assert card.get_by_test_id("media-k-value").inner_text() == "1"
    assert img.get_attribute("src") != full_src and img.get_attribute("data-k") == "1"
    _loaded(page, img)
    coarse_pixels = page.evaluate(PIXELS_JS, img.element_handle())
    assert coarse_pixels != full_pixels
    assert full_k > 1
    page.keyboard.press("ArrowRight")
    assert card.get_by_test_id("media-k-value").inner_text() == "2"
    grid = page.locator('[data-testid="media-tokenizer"][data-tokenizer-id="image/kmeans-patch-256"]').get_by_test_id(
        "media-grid"
    )
    rows, cols = int(grid.get_attribute("data-rows") or 0), int(grid.get_attribute("data-cols") or 0)
    assert rows > 1 and cols > 1 and grid.locator(".media-grid-cell").count() == rows * cols
    assert page.get_by_test_id("media-compare-row").count() == 2
    assert page.get_by_test_id("media-rate-quality").get_attribute("data-points") not in (None, "0")
    budget = page.get_by_test_id("media-budget")
    budget.wait_for(timeout=120_000)  # the first request loads the bundled text tokenizers
    modalities = {row.get_attribute("data-modality") for row in page.get_by_test_id("media-budget-row").all()}
    assert modalities == {"audio", "image", "text"}
    screenshot(page, "media-image")
    page.get_by_test_id("media-open-page").click()  # the permalink shows the same result
    page.wait_for_url("**/media/jobs/*")
    page.get_by_test_id("media-k-slider").first.wait_for(timeout=15_000)
    assert page.get_by_test_id("media-tokenizer").count() == 2
    job_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.goto(f"{app_url}/results/{job_id}")  # History's links: a media job opens on its own page
    page.wait_for_url(f"**/media/jobs/{job_id}")
    page.get_by_test_id("media-result").wait_for(timeout=15_000)
    page.get_by_test_id("run-details").locator("summary").click()  # re-run from the manifest: a new job, same input
    page.get_by_test_id("run-details-rerun").click()
    page.wait_for_url(lambda url: "/media/jobs/" in url and job_id not in url, timeout=30_000)
    page.get_by_test_id("media-k-slider").first.wait_for(timeout=RESULT_TIMEOUT_MS)


def test_audio_token_strips_and_playback(browser: Any, app_url: str, tmp_path: Path) -> None:
    """Catches token strips missing or not spanning the clip, phone labels lost, an original that does not play, an
    A/B switch that restarts the clip instead of keeping the position, or audio not played from the artifact URL by
    byte ranges (a blob copy, or a server that answers Range with the whole file: the clip is then not seekable)."""
    make_team("Media audio", make_user("otto"))
    page = sign_in(browser, app_url, "otto", PASSWORD)
    wav_answers: list[tuple[int, str | None]] = []  # (status, Content-Range) of every WAV artifact response

    def record(response: Any) -> None:
        if "/artifacts/" in response.url and ".wav/" in response.url:
            wav_answers.append((response.status, response.headers.get("content-range")))

    page.on("response", record)
    tokenizers = ["audio/mulaw-8bit", "audio/codec2-3200", "audio/phones-pocketsphinx"]
    _run(page, app_url, _wav(tmp_path), tokenizers, "media-audio")
    strips = page.get_by_test_id("media-token-strip")
    assert [strips.nth(i).get_attribute("data-tokenizer-id") for i in range(strips.count())] == tokenizers
    tokens = {
        strips.nth(i).get_attribute("data-tokenizer-id"): int(strips.nth(i).get_attribute("data-tokens") or 0)
        for i in range(3)
    }
    assert (
        tokens["audio/mulaw-8bit"] == 48_000
        and tokens["audio/codec2-3200"] == 150
        and tokens["audio/phones-pocketsphinx"] > 3
    )
    assert page.locator(".media-track-labels span").count() > 0
    _loaded(page, page.get_by_test_id("media-spectrogram"))
    page.get_by_test_id("media-play").click()
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=media-audio-a]'); return !a.paused && a.currentTime > 0.3; }",
        timeout=15_000,
    )
    page.get_by_test_id("media-ab-b").click()
    position = page.evaluate(
        "() => [document.querySelector('[data-testid=media-audio-a]').currentTime,"
        " document.querySelector('[data-testid=media-audio-b]').currentTime,"
        " document.querySelector('[data-testid=media-audio-a]').paused]"
    )
    assert position[2] is True and position[1] >= position[0] - 0.05 and position[1] > 0.3
    page.wait_for_function("() => !document.querySelector('[data-testid=media-audio-b]').paused", timeout=10_000)
    sources = page.evaluate(
        "() => [...document.querySelectorAll('audio')].map(a => [a.currentSrc, a.seekable.length ? a.seekable.end(0)"
        " : 0, a.duration])"
    )
    for src, seekable_to, duration in sources:
        assert src.startswith(f"{app_url}/api/v1/media/jobs/") and seekable_to >= duration - 0.05 > 0, sources
    assert any(status == 206 and (content_range or "").startswith("bytes 0-") for status, content_range in wav_answers)
    screenshot(page, "media-audio")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "media-audio-390")
    wide = page.evaluate(
        "() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth"
        " + 0.5).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
    )
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, wide
