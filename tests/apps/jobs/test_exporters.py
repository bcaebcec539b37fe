"""CSV exports cannot smuggle spreadsheet formulas: cells a spreadsheet would evaluate are neutralised."""

from __future__ import annotations

import csv
import io

import pytest

from apps.jobs import services
from apps.jobs.exporters import export_job, neutralise_cell
from tests.factories import make_team, make_user, token_client

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def token(text: str, position: int) -> dict:
    return {"id": position, "start": position, "end": position + 1, "kind": "normal", "bytes": "", "text": text}


def test_formula_cells_are_neutralised_in_the_csv_export() -> None:
    """Catches CSV injection: token texts starting with = + - @ (or tab/CR) exported as live formulas."""
    user = make_user("exporter")
    team = make_team("Export lab", user)
    job = services.job_create(team=team, owner=user, kind="tokenize", params={}, dispatch=False)
    texts = [*HOSTILE, "-1", "+2.5", "plain", "a=b"]
    result = {"results": [{"tokenizer": {"id": "builtin:chars"}, "tokens": [token(t, i) for i, t in enumerate(texts)]}]}
    services.job_succeed(job_id=job.id, result=result)
    job.refresh_from_db()

    body, content_type = export_job(job=job, fmt="csv")
    assert isinstance(body, str)
    rows = list(csv.reader(io.StringIO(body, newline="")))
    exported = [row[-1] for row in rows[1:]]
    assert exported == [*("'" + t for t in HOSTILE), "-1", "+2.5", "plain", "a=b"]
    assert content_type.startswith("text/csv")

    response = token_client(user, team).get(f"/api/v1/jobs/{job.id}/export/?format=csv")
    assert response.status_code == 200 and response.content.decode() == body


@pytest.mark.parametrize(("cell", "expected"), [("=1", "'=1"), ("-", "'-"), ("-0.5e3", "-0.5e3"), ("", ""), ("x", "x")])
def test_neutralise_cell(cell: str, expected: str) -> None:
    """Catches plain numbers turned into text, or a lone sign left as a formula prefix."""
    assert neutralise_cell(cell) == expected
