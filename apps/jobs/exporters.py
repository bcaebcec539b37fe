"""Downloads of stored results (never a re-run)."""

from __future__ import annotations

import csv
import io
import json
import re

from apps.core.errors import ApplicationError
from apps.jobs.kinds import job_kind
from apps.jobs.models import Job
from apps.jobs.serializers import JobSummarySerializer

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): token texts such as
# "=HYPERLINK(...)" or "@SUM(...)" come from user text. Plain numbers ("-1", "+2.5") are left as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def export_job(*, job: Job, fmt: str) -> tuple[str | bytes, str]:
    if fmt == "npz":
        to_npz = job_kind(job.kind).load_npz_exporter()
        if to_npz is None:
            raise ApplicationError(f"{job.kind} results do not export as NumPy; use format=json.")
        return to_npz(job), "application/octet-stream"
    if fmt == "json":
        payload = {"job": JobSummarySerializer(job).data, "result": job.result}
        return json.dumps(payload, ensure_ascii=False, indent=1), "application/json; charset=utf-8"
    to_csv = job_kind(job.kind).load_csv_exporter()
    if to_csv is None:
        raise ApplicationError(f"{job.kind} results export as JSON only; use format=json.")
    assert job.result is not None
    return neutralise_formulas(manifest_line(job.result) + to_csv(job.result)), "text/csv; charset=utf-8"


def manifest_line(result: dict) -> str:
    """The CSV's first line: ``# manifest,"<the result's manifest as JSON>"`` (skip it to read the table)."""
    if not isinstance(result.get("manifest"), dict):
        return ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["# manifest", json.dumps(result["manifest"], ensure_ascii=False)])
    return out.getvalue()


def neutralise_cell(value: str) -> str:
    """Prefix a cell a spreadsheet would evaluate with an apostrophe (shown as text, OWASP's advice)."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_formulas(csv_text: str) -> str:
    """The same CSV with every formula-like cell neutralised (one pass for every kind's exporter)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as the exporters write it
    for row in csv.reader(io.StringIO(csv_text, newline="")):
        writer.writerow([neutralise_cell(cell) for cell in row])
    return out.getvalue()
