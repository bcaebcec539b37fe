"""A researcher scores a text and a small labelled set on the Detection page, against the real worker and SmolLM2."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, make_team, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MODEL = "smollm2-135m-instruct"
TEXT = "The quick brown fox jumps over the lazy dog. The dog sleeps in the warm afternoon sun."
SCORES = ["loss", "min_k", "gltr"]
# Label 1 = "member"/"machine": mostly repetitive, predictable texts; label 0: mostly odd ones (one swapped each way,
# so the classes overlap and the ROC is not a corner).
ROWS = [
    {"text": "The cat sat on the mat. The cat sat on the mat again.", "label": 1},
    {"text": "One, two, three, four, five, six, seven, eight, nine, ten.", "label": 1},
    {"text": "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday.", "label": 1},
    {"text": "January, February, March, April, May, June and July.", "label": 0},
    {"text": "Zebra quantum marmalade fights oblique turnips beneath velvet.", "label": 0},
    {"text": "Purple algorithms hum softly whilst cardboard glaciers negotiate.", "label": 0},
    {"text": "Gravel sonnets borrow umbrellas from anxious hexagonal pancakes.", "label": 0},
    {"text": "Whistling kettles audit migratory spreadsheets at dawn, reluctantly.", "label": 1},
]


def _choose_only(page: Any, test_id: str, wanted: list[str]) -> None:
    boxes = page.get_by_test_id(test_id)
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.set_checked(box.get_attribute("value") in wanted)


def _open(browser: Any, app_url: str, username: str) -> Any:
    make_team(f"Detect {username}", make_user(username))
    page = sign_in(browser, app_url, username, PASSWORD)
    page.goto(app_url + "/detection")
    page.get_by_test_id("det-form").wait_for(timeout=15_000)
    page.get_by_test_id("det-score").first.wait_for(timeout=15_000)
    page.get_by_test_id("det-model").first.wait_for(timeout=15_000)
    _choose_only(page, "det-model", [MODEL])
    _choose_only(page, "det-score", SCORES)
    return page


def test_paste_a_text_and_see_the_heatmap(browser: Any, app_url: str) -> None:
    """Catches a heatmap that does not render real per-token values, loses text, or ignores the chosen quantity."""
    page = _open(browser, app_url, "dana")
    page.get_by_test_id("det-text").fill(TEXT)
    page.get_by_test_id("det-run").click()
    heatmap = page.get_by_test_id("det-heatmap")
    try:
        heatmap.wait_for(timeout=300_000)
    except Exception:
        screenshot(page, "detection-text-timeout")
        raise
    assert heatmap.inner_text() == TEXT  # the unscored first token and the spaces are kept
    tokens = page.get_by_test_id("det-token")
    assert tokens.count() > 10
    values = [float(tokens.nth(i).get_attribute("data-value") or "nan") for i in range(tokens.count())]
    assert all(v <= 0 for v in values) and len(set(values)) > 3  # log-probabilities, not a constant
    assert page.locator(".det-tok.is-mink").count() >= 1  # Min-K% tokens outlined
    assert "log p" in (tokens.first.get_attribute("title") or "")
    rows = page.get_by_test_id("det-score-row")
    assert rows.count() == len(SCORES)
    assert "higher → non-member" in page.locator('[data-score="loss"]').inner_text()
    page.get_by_test_id("det-quantity").select_option("gltr_bucket")
    assert heatmap.get_attribute("data-quantity") == "gltr_bucket"
    buckets = {tokens.nth(i).get_attribute("data-value") for i in range(tokens.count())}
    assert buckets <= {"0", "1", "2", "3"} and "0" in buckets
    screenshot(page, "detection-text")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "detection-text-390")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px"


def test_upload_a_labelled_set_see_the_roc_and_move_the_threshold(browser: Any, app_url: str, tmp_path: Any) -> None:
    """Catches a missing ROC plot, a threshold picker whose confusion matrix does not follow the slider or the rows."""
    page = _open(browser, app_url, "eli")
    page.get_by_test_id("det-mode-dataset").click()
    data = tmp_path / "small.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
    page.get_by_test_id("det-file").set_input_files(str(data))
    assert page.get_by_test_id("det-text-column").input_value() == "text"
    assert page.get_by_test_id("det-label-column").input_value() == "label"
    page.get_by_test_id("det-run").click()
    page.get_by_test_id("det-roc").wait_for(timeout=300_000)
    assert page.get_by_test_id("det-roc-curve").count() == len(SCORES)
    assert page.get_by_test_id("det-metrics-row").count() == len(SCORES)
    assert re.search(
        r"[01]\.\d{3} \[[01]\.\d{3}, [01]\.\d{3}\]",
        page.locator('[data-testid="det-metrics-row"][data-score="min_k"]').inner_text(),
    )

    page.get_by_test_id("det-threshold-score").select_option("min_k")  # higher → member: predicted when >= t
    slider = page.get_by_test_id("det-threshold-slider")
    slider.focus()
    page.keyboard.press("Home")  # the lowest value: every row predicted positive

    def cells() -> tuple[int, ...]:
        return tuple(int(page.get_by_test_id(f"det-{c}").inner_text()) for c in ("tp", "fn", "fp", "tn"))

    assert cells() == (4, 0, 4, 0)
    assert page.get_by_test_id("det-fpr").inner_text().count("100") == 1
    page.keyboard.press("End")  # the highest value: exactly one row predicted positive
    tp, fn, fp, tn = cells()
    assert (tp + fp, tp + fn, fp + tn) == (1, 4, 4)
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    tp, fn, fp, tn = cells()
    assert tp + fp == 4  # five distinct steps up from the lowest: four rows left above the threshold
    assert page.get_by_test_id("det-roc-point").count() == 1
    page.get_by_test_id("det-histogram").wait_for()
    page.get_by_test_id("det-by-length").wait_for()
    assert page.get_by_test_id("export-csv").get_attribute("href")
    page.get_by_test_id("run-details").wait_for()
    screenshot(page, "detection-dataset")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "detection-dataset-390")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px"
    page.get_by_test_id("det-open-page").click()  # the permalink page draws the same result
    page.wait_for_url(re.compile(r"/results/"), timeout=15_000)
    page.get_by_test_id("det-roc").wait_for(timeout=15_000)
    assert page.get_by_test_id("det-roc-curve").count() == len(SCORES)


def test_score_this_text_from_a_lab_result(browser: Any, app_url: str) -> None:
    """Catches a "Score this text" link that opens the Detection page without the lab result's text."""
    make_team("Detect links", make_user("finn"))
    page = sign_in(browser, app_url, "finn", PASSWORD)
    page.get_by_test_id("text-input").fill(TEXT)
    page.get_by_test_id("tokenizer-chip").first.wait_for(timeout=15_000)
    page.get_by_test_id("tokenize-button").click()
    page.get_by_test_id("result-panel").first.wait_for(timeout=60_000)
    page.get_by_test_id("score-this-text").click()
    page.wait_for_url(re.compile(r"/detection\?from="), timeout=15_000)
    page.get_by_test_id("det-from-note").wait_for(timeout=15_000)
    assert page.get_by_test_id("det-text").input_value() == TEXT


def test_build_a_frequency_table_then_score_dcpdd_and_binoculars(browser: Any, app_url: str, tmp_path: Any) -> None:
    """Catches a frequency-table builder that does not queue the job, does not select the built table, or a DC-PDD /
    Binoculars (two-model) run that the page cannot start or draw (marks, per-token pair values)."""
    page = _open(browser, app_url, "fay")
    _choose_only(page, "det-score", ["dcpdd", "binoculars"])
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(str(row["text"]) for row in ROWS) + "\nThe quick brown fox.\n", encoding="utf-8")
    builder = page.get_by_test_id("det-freq-builder")
    builder.locator("summary").click()
    assert page.get_by_test_id("det-freq-model").input_value() == MODEL
    page.get_by_test_id("det-freq-source-file").check()
    page.get_by_test_id("det-freq-file").set_input_files(str(corpus))
    page.get_by_test_id("det-freq-build").click()
    chosen = page.get_by_test_id("det-frequency")
    try:
        page.wait_for_function(
            "() => document.querySelector('[data-testid=det-frequency]').value !== ''", timeout=180_000
        )
    except Exception:
        screenshot(page, "detection-freq-timeout")
        raise
    assert chosen.locator("option:checked").inner_text().startswith(MODEL)
    page.get_by_test_id("det-second").select_option(MODEL)  # observer = performer: degenerate, but the two-model path
    page.get_by_test_id("det-text").fill(TEXT)
    page.get_by_test_id("det-run").click()
    heatmap = page.get_by_test_id("det-heatmap")
    heatmap.wait_for(timeout=300_000)
    for name in ("dcpdd", "binoculars"):
        cell = page.locator(f'[data-score="{name}"]').inner_text()
        assert re.search(r"-?\d+\.\d+", cell), f"{name} shows no value: {cell!r}"
    page.get_by_test_id("det-quantity").select_option("dcpdd")
    tokens = page.get_by_test_id("det-token")
    titles = [tokens.nth(i).get_attribute("title") or "" for i in range(tokens.count())]
    assert any("f(x)" in t for t in titles), "DC-PDD tokens carry no f(x) on hover"
    page.get_by_test_id("det-quantity").select_option("binoculars_pair")
    assert heatmap.get_attribute("data-quantity") == "binoculars_pair"
    screenshot(page, "detection-dcpdd-binoculars")
