"""A result's "Run details" in a real browser: the manifest is shown, and "Re-run from manifest" opens an identical
new result."""

from __future__ import annotations

from typing import Any

import pytest

from apps.jobs.models import Job
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, make_team, make_user, token_client
from tests.workers.test_manifest import without_timings

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_run_details_show_the_manifest_and_rerun_it(browser: Any, app_url: str) -> None:
    """Catches a result page without its manifest, or a Re-run button that does not reproduce the result."""
    alice = make_user("alice")
    team = make_team("Alice lab", alice)
    body = {"text": "Run details: naïve café 12345 🙂", "tokenizers": ["tiktoken:cl100k_base", "mistral:v3"]}
    first = token_client(alice, team).post("/api/v1/tokenize/", body, format="json").json()
    manifest = first["result"]["manifest"]

    page = sign_in(browser, app_url, "alice", PASSWORD)
    page.goto(f"{app_url}/results/{first['id']}")
    details = page.get_by_test_id("run-details")
    details.wait_for(timeout=30_000)
    details.locator("summary").click()
    text = details.inner_text()
    assert f"tokenscope {manifest['product']['version']}" in text
    assert f"tiktoken {manifest['libraries']['tiktoken']}" in text and "mistral_instruct_tokenizer" in text
    shas = details.get_by_test_id("run-details-sha")
    assert (
        shas.count() == 2
        and shas.first.get_attribute("title") == f"sha256 {manifest['tokenizers'][0]['files'][0]['sha256']}"
    )
    screenshot(page, "run-details")

    details.get_by_test_id("run-details-rerun").click()
    page.wait_for_url(lambda url: "/results/" in url and first["id"] not in url, timeout=30_000)
    page.get_by_test_id("result-panel").first.wait_for(timeout=30_000)
    second = Job.objects.exclude(pk=first["id"]).get()
    assert page.url.endswith(f"/results/{second.id}")
    # The first result was computed in this test process, the re-run in the web server: the same everything, except
    # the commit each process read at its start (others commit to this checkout while the tests run).
    again = second.result["manifest"]
    assert {**again, "product": None} == {**manifest, "product": None}
    assert again["product"]["version"] == manifest["product"]["version"]
    assert without_timings(second.result) == without_timings(first["result"])
