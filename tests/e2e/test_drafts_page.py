"""A team member distils a draft model for SmolLM2 in the browser, watches it train, then cancels a second run.

The smallest budget the API accepts (2 layers, 8 sequences of 16 tokens, 1 step, 10 s) finished in 10–46 s on a
2-core CPU (loading the target, generating the corpus, one step, the held-out evaluation and saving; the slow end
with cold caches and a busy machine), so that run is left to finish. A second run with longer continuations is
cancelled once its progress streams in. Drafts are written to the model store under the test team's folder, which
is removed afterwards.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from apps.accounts.models import Role, Team
from apps.jobs.models import Job, JobStatus
from apps.speculative.drafts import drafts_root
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, add_member, make_team, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TARGET = "smollm2-135m-instruct"
SMALLEST = {"num_layers": "2", "num_sequences": "8", "max_new_tokens": "16", "max_steps": "1", "time_budget_s": "10"}
# One held-out continuation, then a batch of seven: the page shows "Generated 1/8" well before the run could end.
CANCELLED_RUN = {"num_layers": "2", "num_sequences": "8", "max_new_tokens": "64", "time_budget_s": "60"}
LIMITS = {
    "num_layers": "2–8",
    "num_sequences": "8–2,048",
    "max_new_tokens": "16–256",
    "max_steps": "1–20,000",
    "time_budget_s": "10–3,600 s",
}
FINISH_TIMEOUT_MS = 240_000  # 10–46 s measured; generous for a loaded CI machine


@pytest.fixture
def team() -> Iterator[Team]:
    team = make_team(f"Draft lab {uuid.uuid4().hex[:6]}", make_user("dora"))
    yield team
    shutil.rmtree(drafts_root() / team.slug, ignore_errors=True)


def job_id_from_url(page: Any) -> str:
    match = re.search(r"[?&]job=([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def fill_smallest_budget(page: Any) -> None:
    page.get_by_test_id("drafts-target").select_option(TARGET)
    for key, value in SMALLEST.items():
        page.get_by_test_id(f"drafts-param-{key}").fill(value)


RECORD_STREAM = """() => {
    window.__draftsSeen = [];
    const record = () => {
        const bar = document.querySelector('[data-testid="progress-bar"]');
        const live = document.querySelector('[data-testid="drafts-live"]');
        const message = document.querySelector('[data-testid="job-progress"] .progress-message');
        if (bar && live) window.__draftsSeen.push({
            progress: Number(bar.dataset.progress), phase: live.dataset.phase, message: message ? message.textContent : '',
        });
    };
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def wait_for_streamed_progress(page: Any) -> None:
    """Progress from the worker reached the page over the websocket: a running job with a stage past loading."""
    page.wait_for_function(
        """() => {
            const card = document.querySelector('[data-testid="job-progress"]');
            const bar = document.querySelector('[data-testid="progress-bar"]');
            const live = document.querySelector('[data-testid="drafts-live"]');
            return card && card.dataset.status === 'running' && bar && Number(bar.dataset.progress) > 0
                && live && ['generating', 'training', 'saving'].includes(live.dataset.phase);
        }""",
        timeout=120_000,
    )


def test_distil_smallest_draft_then_cancel_another(browser: Any, app_url: str, team: Team) -> None:
    page = sign_in(browser, app_url, "dora", PASSWORD)
    page.get_by_test_id("nav-drafts").click()
    page.wait_for_url(re.compile(r"/drafts$"))
    page.get_by_test_id("drafts-form").wait_for(timeout=15_000)
    for key, limits in LIMITS.items():
        assert page.get_by_test_id(f"drafts-limit-{key}").inner_text() == limits
    assert page.get_by_test_id("drafts-models-empty").is_visible()

    # 1. The smallest budget, left to finish; every state the page shows on the way is recorded.
    fill_smallest_budget(page)
    page.evaluate(RECORD_STREAM)
    page.get_by_test_id("drafts-submit").click()
    page.get_by_test_id("job-progress").wait_for(timeout=15_000)
    job_id = job_id_from_url(page)
    page.get_by_test_id("drafts-summary").wait_for(timeout=FINISH_TIMEOUT_MS)
    seen = page.evaluate("window.__draftsSeen")
    streamed = [s for s in seen if 0 < s["progress"] < 100]
    assert streamed, seen  # progress arrived over the websocket before the end
    assert any(s["phase"] == "generating" and s["message"].startswith("Generated ") for s in streamed), streamed
    assert [s["progress"] for s in streamed] == sorted(s["progress"] for s in streamed)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.params["max_steps"] == 1 and job.params["num_layers"] == 2

    name = page.get_by_test_id("drafts-draft-name").inner_text()
    assert name == "Distilled draft for SmolLM2-135M-Instruct (2 layers)"
    agreement = page.get_by_test_id("drafts-fig-agreement").inner_text()
    assert re.search(r"\d+\.\d%\s*→\s*\d+\.\d%", agreement), agreement
    assert "held-out tokens" in agreement
    assert re.search(r"\d", page.get_by_test_id("drafts-fig-time").inner_text())
    assert "1 step" in page.get_by_test_id("drafts-fig-training").inner_text()
    assert "Now selectable as a drafter" in page.get_by_test_id("drafts-use-hint").inner_text()
    assert page.get_by_test_id("drafts-draft-id").get_attribute("title") == job.result["output_dir"]
    new_row = page.locator('[data-testid="drafts-model-row"][data-new="true"]')
    new_row.wait_for(timeout=15_000)
    assert new_row.get_attribute("data-model-id") == job.result["output_dir"]
    page.locator(f'[data-testid="drafts-job-row"][data-job-id="{job_id}"][data-status="succeeded"]').wait_for(
        timeout=15_000
    )
    screenshot(page, "drafts-finished")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "drafts-finished-390")
    page.set_viewport_size({"width": 1400, "height": 1000})

    # The draft is offered as a draft model on the Speculative page.
    page.get_by_test_id("drafts-use-link").click()
    page.get_by_test_id("spec-form").wait_for(timeout=15_000)
    page.get_by_test_id("spec-target").select_option(TARGET)
    page.get_by_test_id("spec-drafter-kind").select_option("draft_model")
    options = page.locator('[data-testid="spec-draft-model"] option').evaluate_all("els => els.map(e => e.value)")
    assert job.result["output_dir"] in options, options

    # 2. Longer continuations (several seconds per generation batch), cancelled once progress streams in.
    page.goto(app_url + "/drafts")
    page.get_by_test_id("drafts-form").wait_for(timeout=15_000)
    page.locator('[data-testid="drafts-preset"][data-preset="default"]').click()
    assert page.get_by_test_id("drafts-param-max_steps").input_value() == "300"
    for key, value in CANCELLED_RUN.items():
        page.get_by_test_id(f"drafts-param-{key}").fill(value)
    page.get_by_test_id("drafts-submit").click()
    page.get_by_test_id("job-progress").wait_for(timeout=15_000)
    second_id = job_id_from_url(page)
    assert second_id != job_id
    wait_for_streamed_progress(page)
    screenshot(page, "drafts-live")
    page.get_by_test_id("cancel-button").click()
    cancelled = page.get_by_test_id("drafts-cancelled")
    cancelled.wait_for(timeout=30_000)
    assert "The distillation was cancelled" in cancelled.inner_text()
    assert page.get_by_test_id("job-progress").count() == 0
    assert page.get_by_test_id("drafts-submit").is_enabled()
    page.locator(f'[data-testid="drafts-job-row"][data-job-id="{second_id}"][data-status="cancelled"]').wait_for(
        timeout=15_000
    )
    assert Job.objects.get(pk=second_id).status == JobStatus.CANCELLED
    # Only the finished draft is listed.
    rows = page.get_by_test_id("drafts-model-row")
    assert rows.count() == 1 and rows.first.get_attribute("data-model-id") == job.result["output_dir"]
    screenshot(page, "drafts-cancelled")


def test_viewer_sees_the_servers_refusal(browser: Any, app_url: str, team: Team) -> None:
    add_member(team, make_user("vic"), Role.VIEWER)
    page = sign_in(browser, app_url, "vic", PASSWORD)
    page.goto(app_url + "/drafts")
    page.get_by_test_id("drafts-form").wait_for(timeout=15_000)
    assert "viewer" in page.get_by_test_id("drafts-viewer-hint").inner_text()
    fill_smallest_budget(page)
    page.get_by_test_id("drafts-submit").click()
    message = page.locator('[data-testid="drafts-form"] [data-testid="error-message"]')
    message.wait_for(timeout=15_000)
    assert "viewer" in message.inner_text() and "member" in message.inner_text()
    assert page.get_by_test_id("job-progress").count() == 0
    assert not Job.objects.filter(team=team).exists()
    screenshot(page, "drafts-viewer-refused")
