"""A user trains a small image codebook from the shipped samples on the Media page, against the real API and worker,
finds it in the tokenizer picker as the team's, runs it on an uploaded image and sees the reconstruction; the training
job's result page says what was trained on what and links back to use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, screenshot, sign_in
from tests.factories import PASSWORD, make_team, make_user
from workers.media.image.kmeans import SAMPLE_TRAINING_IMAGES

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_MS = 300_000
CODEBOOK_SIZE = 16


def _png(tmp_path: Path) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).resize((96, 64)).save(path)
    return path


def test_train_a_codebook_pick_it_and_run_it(browser: Any, app_url: str, tmp_path: Path) -> None:
    """Catches a trained codebook missing from the picker (the tokenizer list not reloaded), not marked as the team's,
    unusable in a run (no reconstruction), a result page that cannot display media_codebook jobs or drops the training
    images, a "use it" link that does not choose the codebook, or training on an earlier upload that is not offered or
    not sent."""
    make_team("Codebooks", make_user("cora"))
    page = sign_in(browser, app_url, "cora", PASSWORD)
    page.goto(app_url + "/media")
    page.get_by_test_id("codebook-trainer").wait_for(timeout=15_000)
    page.get_by_test_id("codebook-list-empty").wait_for(timeout=15_000)
    page.get_by_test_id("codebook-method").select_option("kmeans-patch")
    page.get_by_test_id("codebook-size").fill(str(CODEBOOK_SIZE))
    page.get_by_test_id("codebook-name").fill("e2e visual words")
    page.get_by_test_id("codebook-source-samples").check()
    page.get_by_test_id("codebook-train").click()
    try:
        page.get_by_test_id("codebook-trained").wait_for(timeout=JOB_TIMEOUT_MS)
    except Exception:
        screenshot(page, "media-codebook-timeout")
        raise
    tokenizer_id = page.get_by_test_id("codebook-trained").locator("code").inner_text()
    assert tokenizer_id.startswith("image/codebook-")

    row = page.locator(f'[data-testid="codebook-row"][data-tokenizer-id="{tokenizer_id}"]')
    row.wait_for(timeout=15_000)
    assert f"{len(SAMPLE_TRAINING_IMAGES)} images" in row.inner_text()
    option = page.locator(f'[data-testid="media-tokenizer-option"][data-tokenizer-id="{tokenizer_id}"]')
    option.wait_for(timeout=15_000)
    assert option.get_by_test_id("media-team-codebook").is_visible()
    assert option.get_by_test_id("media-tokenizer-check").is_checked()  # chosen for the next run

    page.get_by_test_id("media-file").set_input_files(str(_png(tmp_path)))
    page.get_by_test_id("media-run").click()
    card = page.locator(f'[data-testid="media-tokenizer"][data-tokenizer-id="{tokenizer_id}"]')
    try:
        card.wait_for(timeout=JOB_TIMEOUT_MS)
    except Exception:
        screenshot(page, "media-codebook-run-timeout")
        raise
    assert card.get_by_test_id("media-tokenizer-error").count() == 0
    grid = card.get_by_test_id("media-grid")
    assert int(grid.get_attribute("data-rows") or 0) == 8 and int(grid.get_attribute("data-cols") or 0) == 12
    codes = [int(c) for c in grid.evaluate("g => [...g.querySelectorAll('.media-grid-cell')].map(c => c.dataset.code)")]
    assert codes and all(0 <= c < CODEBOOK_SIZE for c in codes)
    image = card.get_by_test_id("media-reconstruction")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=15_000)
    screenshot(page, "media-codebook-run")
    page.get_by_test_id("codebook-trainer").screenshot(path=str(ARTIFACTS / "media-codebook-trainer.png"))

    page.get_by_test_id("codebook-trained-open").click()  # the training job's own page
    page.wait_for_url("**/results/*")
    result = page.get_by_test_id("codebook-result")
    result.wait_for(timeout=15_000)
    assert page.get_by_test_id("codebook-result-id").inner_text() == tokenizer_id
    assert page.get_by_test_id("codebook-result-size").inner_text() == str(CODEBOOK_SIZE)
    names = page.get_by_test_id("codebook-training-item").locator("td:first-child").all_inner_texts()
    assert names == [name for name, _ in SAMPLE_TRAINING_IMAGES]
    assert page.get_by_text("cannot be displayed").count() == 0
    screenshot(page, "media-codebook-result")

    page.get_by_test_id("codebook-use").click()  # back to /media with the codebook chosen, from a fresh list
    page.wait_for_url("**/media?use=*")
    again = page.locator(f'[data-testid="media-tokenizer-option"][data-tokenizer-id="{tokenizer_id}"]')
    again.wait_for(timeout=15_000)
    assert again.get_by_test_id("media-tokenizer-check").is_checked()

    # A second codebook from the team's earlier upload (the image just tokenized), listed beside the first.
    page.get_by_test_id("codebook-source-uploads").check()
    upload = page.get_by_test_id("codebook-upload")
    upload.wait_for(timeout=15_000)
    assert upload.count() == 1
    upload.check()
    page.get_by_test_id("codebook-size").fill("4")
    page.get_by_test_id("codebook-name").fill("from my upload")
    page.get_by_test_id("codebook-train").click()
    page.get_by_test_id("codebook-trained").wait_for(timeout=JOB_TIMEOUT_MS)
    second_id = page.get_by_test_id("codebook-trained").locator("code").inner_text()
    assert second_id != tokenizer_id
    second = page.locator(f'[data-testid="codebook-row"][data-tokenizer-id="{second_id}"]')
    second.wait_for(timeout=15_000)
    assert "uploads: 1 images" in second.inner_text()
    assert page.get_by_test_id("codebook-row").count() == 2
