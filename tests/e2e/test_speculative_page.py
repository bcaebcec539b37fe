"""A researcher runs prompt-lookup speculative decoding on SmolLM2 in the browser and reads the trace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, make_team, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROMPT = "Repeat this sentence exactly: The quick brown fox jumps over the lazy dog near the river bank."


def test_run_prompt_lookup_and_inspect_steps(browser: Any, app_url: str) -> None:
    make_team("Spec lab", make_user("rita"))
    page = sign_in(browser, app_url, "rita", PASSWORD)
    page.goto(app_url + "/speculative")
    page.get_by_test_id("spec-form").wait_for(timeout=15_000)
    page.get_by_test_id("spec-target").select_option("smollm2-135m-instruct")
    page.get_by_test_id("spec-drafter-kind").select_option("prompt_lookup")
    page.get_by_test_id("spec-prompt").fill(PROMPT)
    page.get_by_test_id("spec-max-new-tokens").fill("24")
    page.get_by_test_id("spec-run").click()

    summary = page.get_by_test_id("spec-summary")
    summary.wait_for(timeout=240_000)
    assert "✓ identical" in page.get_by_test_id("fig-identical").inner_text()
    tokens = page.get_by_test_id("spec-token")
    origins = {tokens.nth(i).get_attribute("data-origin") for i in range(tokens.count())}
    assert "accepted" in origins, origins  # prompt lookup drafted tokens the target accepted
    page.get_by_test_id("spec-step").first.click()
    page.get_by_test_id("step-inspector").wait_for(timeout=5_000)
    screenshot(page, "speculative-result")
