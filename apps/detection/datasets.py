"""Uploaded labelled datasets (hostile input): read with size, field and depth limits, checked, normalised to rows.

Layouts (docs/api.md, "Detection datasets"):
- ``labelled``: a text column and a binary label column (1 = member / machine, 0 = non-member / human). WikiMIA and
  MIMIR files (``input`` / ``label``) are this layout; the text column defaults to ``text``, else ``input``.
- ``pairs``: one human and one machine text per row (e.g. ``human`` / ``machine``, or Fast-DetectGPT's
  ``original`` / ``sampled``); each row gives two rows, labelled 0 and 1.
Formats: JSON lines (``.jsonl``, ``.ndjson``), JSON (an array of objects, or an object of equal-length lists such as
Fast-DetectGPT's ``{"original": [...], "sampled": [...]}``) and CSV / TSV with a header row.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from apps.core.errors import ApplicationError, PayloadTooLarge
from apps.core.sizes import format_mib
from apps.uploads.text_decoding import decode_text_file
from workers.pipelines.detection_common import MAX_DATASET_ROWS, MAX_TEXT_CHARS

DEFAULT_BOOTSTRAP = 1000
LAYOUTS = ("labelled", "pairs")
TEXT_COLUMN_DEFAULTS = ("text", "input")
PAIR_COLUMN_DEFAULTS = (("human", "machine"), ("original", "sampled"))
CSV_FIELD_LIMIT = 131_072
"""Characters in one CSV field (Python's csv default, stated here so it is documented and tested)."""
_LABELS = {"1": 1, "0": 0, "true": 1, "false": 0}


@dataclass(frozen=True)
class Row:
    text: str
    label: int


@dataclass(frozen=True)
class ParsedDataset:
    rows: list[Row]
    filename: str
    encoding: str
    sha256: str
    layout: str
    columns: dict[str, str]

    def describe(self) -> dict[str, Any]:
        positives = sum(row.label for row in self.rows)
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "encoding": self.encoding,
            "layout": self.layout,
            "columns": self.columns,
            "rows": len(self.rows),
            "positives": positives,
            "negatives": len(self.rows) - positives,
        }

    def to_jsonl(self) -> str:
        return "".join(orjson.dumps({"text": r.text, "label": r.label}).decode() + "\n" for r in self.rows)


def read_upload_limited(upload: UploadedFile, limit: int) -> bytes:
    """The file's bytes, refused as soon as more than ``limit`` have streamed in (never read whole first)."""
    name = upload.name or "the file"
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"'{name}' is {format_mib(upload.size)}; the limit is {format_mib(limit)}.")
    chunks, total = [], 0
    for chunk in upload.chunks():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"'{name}' is larger than {format_mib(limit)}, the limit for this upload.")
        chunks.append(chunk)
    return b"".join(chunks)


def rows_from_jsonl_lines(lines: Iterable[str], filename: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records.append(_json_object(line, f"'{filename}' line {number}"))
        if len(records) > MAX_DATASET_ROWS:
            raise _too_many()
    return records


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)  # refuses nesting deeper than 1,024 levels (no RecursionError)
    except orjson.JSONDecodeError as exc:
        raise ApplicationError(f"{where} is not valid JSON ({exc}).") from exc
    if not isinstance(value, dict):
        raise ApplicationError(f'{where} must be a JSON object such as {{"text": "...", "label": 1}}.')
    return value


def _too_many() -> ApplicationError:
    return ApplicationError(f"The dataset has more than {MAX_DATASET_ROWS:,} rows, the limit; split it.")


def rows_from_json(text: str, filename: str) -> list[dict[str, Any]]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ApplicationError(f"'{filename}' is not valid JSON ({exc}).") from exc
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        lengths = {len(v) for v in value.values()}
        if len(lengths) != 1:
            raise ApplicationError(f"'{filename}' is an object of lists of different lengths; they must be equal.")
        (size,) = lengths
        if size > MAX_DATASET_ROWS:
            raise _too_many()
        return [{key: column[i] for key, column in value.items()} for i in range(size)]
    if isinstance(value, list):
        if len(value) > MAX_DATASET_ROWS:
            raise _too_many()
        if not all(isinstance(item, dict) for item in value):
            raise ApplicationError(f"'{filename}' must be a JSON array of objects (one per row).")
        return value
    raise ApplicationError(
        f"'{filename}' must be a JSON array of objects, or an object of equal-length lists (columns)."
    )


def rows_from_csv(text: str, filename: str, delimiter: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[dict[str, Any]] = []
    previous = csv.field_size_limit(CSV_FIELD_LIMIT)  # process-wide: restored below
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ApplicationError(f"'{filename}' has no header row (the first line names the columns).")
        header = [cell.strip() for cell in header]
        if len(set(header)) != len(header):
            raise ApplicationError(f"'{filename}' names a column twice in its header: {header}.")
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ApplicationError(
                    f"'{filename}' line {reader.line_num} has {len(row)} fields; the header has {len(header)}."
                )
            records.append(dict(zip(header, row, strict=True)))
            if len(records) > MAX_DATASET_ROWS:
                raise _too_many()
    except csv.Error as exc:
        raise ApplicationError(
            f"'{filename}' is not a readable CSV file (line {reader.line_num}: {exc}). Fields hold at most "
            f"{CSV_FIELD_LIMIT:,} characters."
        ) from exc
    finally:
        csv.field_size_limit(previous)
    if not records:
        raise ApplicationError(f"'{filename}' has a header but no rows.")
    return records


def parse_records(text: str, filename: str) -> list[dict[str, Any]]:
    lower = filename.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        return rows_from_jsonl_lines(text.splitlines(), filename)
    if lower.endswith(".json"):
        return rows_from_json(text, filename)
    if lower.endswith(".csv"):
        return rows_from_csv(text, filename, ",")
    if lower.endswith(".tsv"):
        return rows_from_csv(text, filename, "\t")
    raise ApplicationError(f"'{filename}': upload a .jsonl, .json, .csv or .tsv file.")


def _columns_found(records: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for record in records[:50] for key in record))


def _label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        return _LABELS.get(value.strip().lower())
    return None


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ApplicationError(f"{where} is not text (found {type(value).__name__}).")
    if not value.strip():
        raise ApplicationError(f"{where} is empty: every row needs a text to score.")
    if len(value) > MAX_TEXT_CHARS:
        raise ApplicationError(f"{where} has {len(value):,} characters; the limit is {MAX_TEXT_CHARS:,}.")
    return value


def _require(records: list[dict[str, Any]], column: str, role: str) -> None:
    if column not in _columns_found(records):
        raise ApplicationError(
            f"There is no {role} column '{column}'. Columns found: {', '.join(_columns_found(records)) or 'none'}.",
            extra={"columns": _columns_found(records)},
        )


def normalise(
    records: list[dict[str, Any]],
    *,
    layout: str,
    text_column: str | None,
    label_column: str | None,
    human_column: str | None,
    machine_column: str | None,
) -> tuple[list[Row], dict[str, str]]:
    found = _columns_found(records)
    if layout == "labelled":
        text_column = text_column or next((c for c in TEXT_COLUMN_DEFAULTS if c in found), "text")
        label_column = label_column or "label"
        _require(records, text_column, "text")
        _require(records, label_column, "label")
        rows, bad = [], []
        for number, record in enumerate(records, start=1):
            label = _label(record.get(label_column))
            if label is None:
                bad.append(record.get(label_column))
                continue
            rows.append(Row(_text(record.get(text_column), f"Row {number}'s '{text_column}'"), label))
        if bad:
            shown = sorted({repr(v) for v in bad})[:8]
            raise ApplicationError(
                f"Labels must be binary (1/0, true/false): column '{label_column}' also holds {', '.join(shown)} "
                f"({len(bad)} rows).",
                extra={"values": shown},
            )
        return rows, {"text": text_column, "label": label_column}
    if layout == "pairs":
        if not (human_column and machine_column):
            pair = next(((h, m) for h, m in PAIR_COLUMN_DEFAULTS if h in found and m in found), None)
            human_column, machine_column = pair or (human_column or "human", machine_column or "machine")
        _require(records, human_column, "human text")
        _require(records, machine_column, "machine text")
        rows = []
        for number, record in enumerate(records, start=1):
            rows.append(Row(_text(record.get(human_column), f"Row {number}'s '{human_column}'"), 0))
            rows.append(Row(_text(record.get(machine_column), f"Row {number}'s '{machine_column}'"), 1))
        return rows, {"human": human_column, "machine": machine_column}
    raise ApplicationError(f"Unknown layout '{layout}'; use one of {', '.join(LAYOUTS)}.")


def parse_dataset(
    upload: UploadedFile,
    *,
    layout: str = "labelled",
    text_column: str | None = None,
    label_column: str | None = None,
    human_column: str | None = None,
    machine_column: str | None = None,
) -> ParsedDataset:
    filename = upload.name or "dataset"
    raw = read_upload_limited(upload, settings.DETECTION_DATASET_MAX_BYTES)
    decoded = decode_text_file(raw, filename=filename)
    records = parse_records(decoded.text, filename)
    if not records:
        raise ApplicationError(f"'{filename}' has no rows.")
    rows, columns = normalise(
        records,
        layout=layout,
        text_column=text_column,
        label_column=label_column,
        human_column=human_column,
        machine_column=machine_column,
    )
    if len(rows) > MAX_DATASET_ROWS:
        raise _too_many()
    if len(rows) < 2:
        raise ApplicationError("The dataset has one row; the metrics need at least one row of each class.")
    positives = sum(row.label for row in rows)
    if positives in (0, len(rows)):
        raise ApplicationError(
            f"Every row is labelled {rows[0].label}: the metrics need both classes (1 = member / machine, "
            "0 = non-member / human)."
        )
    return ParsedDataset(
        rows=rows,
        filename=filename,
        encoding=decoded.encoding,
        sha256=hashlib.sha256(raw).hexdigest(),
        layout=layout,
        columns=columns,
    )


def corpus_texts(text: str) -> list[str]:
    """An uploaded reference corpus: one text per non-empty line (as DC-PDD's JSON-lines corpora)."""
    return [line for line in text.splitlines() if line.strip()]
