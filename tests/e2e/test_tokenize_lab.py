"""A user's path through the tokenize lab in a real browser: paste, compare, hover, share, follow a job."""

from __future__ import annotations

import re
from typing import Any

import pytest
import tiktoken

from apps.accounts.models import Role
from apps.jobs.models import Job
from tests.e2e.conftest import E2E_SYNC_LIMIT, screenshot, sign_in
from tests.factories import PASSWORD, add_member, make_team, make_user
from workers.text_tokenizers.catalog import load_tokenizer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = "Hello world! 12345 naïve café\n\tTabs   and spaces 🙂"


def test_paste_compare_hover_and_open_the_permalink(browser: Any, app_url: str) -> None:
    alice = make_user("alice")
    team = make_team("Alice lab", alice)
    bob = make_user("bob")
    add_member(team, bob, Role.VIEWER)
    make_team("Elsewhere", make_user("mallory"))

    page = sign_in(browser, app_url, "alice", PASSWORD)
    page.get_by_test_id("text-input").fill(TEXT)
    chips = page.get_by_test_id("tokenizer-chip")
    chips.nth(1).wait_for(timeout=15_000)
    chosen = [chips.nth(i).get_attribute("data-tokenizer-id") for i in range(chips.count())]
    assert len(chosen) >= 2, "the lab opens with a pair of tokenizers to compare"
    page.get_by_test_id("tokenize-button").click()
    panels = page.get_by_test_id("result-panel")
    panels.first.wait_for(timeout=30_000)
    assert panels.count() == len(chosen)

    # The spans shown are the library's tokens.
    load_tokenizer("tiktoken:cl100k_base")
    cl100k = page.locator('[data-testid="result-panel"][data-tokenizer-id="tiktoken:cl100k_base"]')
    expected = tiktoken.get_encoding("cl100k_base").encode_ordinary(TEXT)
    assert cl100k.get_by_test_id("token").count() == len(expected)

    first_token = cl100k.get_by_test_id("token").first
    first_token.hover()
    tooltip = page.get_by_test_id("token-tooltip")
    tooltip.wait_for(timeout=5_000)
    assert str(expected[0]) in tooltip.inner_text()
    screenshot(page, "lab-compare")

    permalink = page.get_by_test_id("permalink-button").get_attribute("title") or ""
    assert re.search(r"/results/[0-9a-f-]{36}$", permalink), permalink
    if permalink.startswith("/"):
        permalink = app_url + permalink

    # A teammate opens the stored result (not a re-run); an outsider does not see it.
    teammate = sign_in(browser, app_url, "bob", PASSWORD)
    teammate.goto(permalink)
    teammate.get_by_test_id("result-panel").first.wait_for(timeout=15_000)
    assert teammate.get_by_test_id("result-panel").count() == len(chosen)
    screenshot(teammate, "permalink-teammate")

    outsider = sign_in(browser, app_url, "mallory", PASSWORD)
    outsider.goto(permalink)
    outsider.get_by_text(re.compile("not found|no such|not available", re.I)).first.wait_for(timeout=15_000)
    assert outsider.get_by_test_id("result-panel").count() == 0
    screenshot(outsider, "permalink-outsider")


# Records what the page shows while a job runs: a small job can finish faster than a poll from the test would look.
WATCH_JOB_PROGRESS = """() => {
  const seen = (window.__jobProgressSeen = { card: false, bar: false, progress: [] });
  const look = () => {
    const card = document.querySelector('[data-testid="job-progress"]');
    if (!card) return;
    seen.card = true;
    const bar = card.querySelector('[role="progressbar"][data-testid="progress-bar"]');
    if (bar) {
      seen.bar = true;
      seen.progress.push(Number(bar.getAttribute('data-progress')));
    }
  };
  new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
}"""


def test_large_text_runs_as_a_job_with_progress(browser: Any, app_url: str) -> None:
    """Catches a large text answered in the request (no job card, no progress bar, no job in the URL to come back to)."""
    make_team("Big lab", make_user("carol"))
    page = sign_in(browser, app_url, "carol", PASSWORD)
    big = ("A long document. " * 40 + "\n") * (E2E_SYNC_LIMIT // 300)
    assert len(big.encode()) > E2E_SYNC_LIMIT
    page.get_by_test_id("text-input").fill(big)
    page.evaluate(WATCH_JOB_PROGRESS)
    page.get_by_test_id("tokenize-button").click()
    page.get_by_test_id("result-panel").first.wait_for(timeout=60_000)
    assert page.get_by_test_id("error-banner").count() == 0
    seen = page.evaluate("window.__jobProgressSeen")
    assert seen["card"] and seen["bar"], seen
    assert seen["progress"] and max(seen["progress"]) == 100, seen  # the bar ends full

    # The job is in the URL, ran on the worker (not in the web request), and a reload shows it again.
    match = re.search(r"[?&]job=([0-9a-f-]{36})", page.url)
    assert match, page.url
    job = Job.objects.get(pk=match.group(1))
    assert job.status == "succeeded" and job.worker != "web (inline)" and job.input_upload is not None
    screenshot(page, "lab-job-result")
    page.reload()
    page.get_by_test_id("result-panel").first.wait_for(timeout=30_000)
    assert page.get_by_test_id("job-progress").count() == 0 and match.group(1) in page.url
