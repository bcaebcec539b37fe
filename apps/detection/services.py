"""Detection runs: everything checkable is checked in the request (a clear 400, nothing saved), then a job is queued.

Models go through the team's allow-list (``check_model_ref_allowed``) and the model catalogue; texts are counted
with each model's own tokenizer where the text-tokenizer catalogue has it (no torch in the web process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.models import Membership, Team
from apps.core.errors import ApplicationError
from apps.detection import datasets
from apps.detection.selectors import FREQUENCY_TABLE_KIND, frequency_table_get_for_team
from apps.jobs.models import Job
from apps.jobs.services import job_create
from apps.speculative.drafts import check_model_ref_allowed
from apps.uploads.services import upload_create_text
from workers.models.catalog import ModelNotFoundError, ModelSpec, ModelUnavailableError, resolve_model
from workers.pipelines.detection_common import DetectionJobError, DetectParams, parse_detect_params
from workers.pipelines.detection_corpora import CorpusUnavailableError, shipped_corpus
from workers.pipelines.detection_text import parse_texts
from workers.text_tokenizers.catalog import load_tokenizer
from workers.text_tokenizers.errors import TokenizerError

MAX_CORPUS_TEXTS = 200_000
"""Texts read from a corpus for one frequency table (a shipped corpus has at most ~60,000)."""


def _model(*, team: Team, ref: str, role: str) -> tuple[str, ModelSpec]:
    checked = check_model_ref_allowed(team=team, ref=ref, role=role)
    try:
        return checked, resolve_model(checked)
    except (ModelNotFoundError, ModelUnavailableError) as exc:
        raise ApplicationError(f"The {role} model is not usable: {exc}.") from exc


def _same_tokenizer(a: ModelSpec, b: ModelSpec) -> bool | None:
    """True/False when the catalogue knows both vocabularies; None when it cannot tell (checked in the worker)."""
    if a.tokenizer_id and b.tokenizer_id:
        return a.tokenizer_id == b.tokenizer_id and a.vocab_size == b.vocab_size
    if a.vocab_size and b.vocab_size and a.vocab_size != b.vocab_size:
        return False
    return None


def _token_counts(spec: ModelSpec, texts: Sequence[str]) -> list[int] | None:
    if not spec.tokenizer_id:
        return None
    try:
        tokenizer = load_tokenizer(spec.tokenizer_id)
    except TokenizerError:
        return None
    return [int(tokenizer.encode_ids(text).size) for text in texts]


def _check_lengths(spec: ModelSpec, texts: Sequence[str], what: str) -> None:
    counts = _token_counts(spec, texts)
    if counts is None:
        return
    short = [index + 1 for index, count in enumerate(counts) if count < 2]
    if short:
        shown = ", ".join(str(i) for i in short[:10]) + (" …" if len(short) > 10 else "")
        raise ApplicationError(
            f"{what} {shown} {'is' if len(short) == 1 else 'are'} a single token for {spec.name}: a score needs at "
            "least two tokens (the first token is not predicted). Use longer texts.",
            extra={"rows": short[:100]},
        )


def detect_validate(*, team: Team, inputs: dict[str, Any], texts: Sequence[str], what: str) -> dict[str, Any]:
    """The job's checked parameters (model references as the allow-list resolved them, the table's id)."""
    try:
        params: DetectParams = parse_detect_params(inputs)
    except DetectionJobError as exc:
        raise ApplicationError(str(exc)) from exc
    models = [_model(team=team, ref=ref, role="scored") for ref in params.models]
    reference = second = None
    if params.reference_model and "reference_model" in params.needs:
        reference = _model(team=team, ref=params.reference_model, role="reference")
    uses_second = params.second_model and any(name in ("binoculars", "fast_detectgpt") for name in params.scores)
    if uses_second:
        second = _model(team=team, ref=str(params.second_model), role="second")
        for _, spec in models:
            if _same_tokenizer(spec, second[1]) is False:
                raise ApplicationError(
                    f"{second[1].name} and {spec.name} have different tokenizers; Binoculars and Fast-DetectGPT with "
                    "two models need a pair that shares one (same vocabulary). Choose another second model."
                )
    table_id = None
    if "frequency_table" in params.needs:
        table_id = str(inputs.get("frequency_table"))
        table = frequency_table_get_for_team(team=team, table_id=table_id)
        for _, spec in models:
            built_for = table.params.get("tokenizer_id")
            if built_for != spec.tokenizer_id or (table.result or {}).get("vocab_size") not in (None, spec.vocab_size):
                raise ApplicationError(
                    f"The frequency table was built for another tokenizer ({built_for or 'unknown'}) than "
                    f"{spec.name}'s ({spec.tokenizer_id or 'unknown'}); build one with {spec.name} and choose it."
                )
    for _, spec in models:
        _check_lengths(spec, texts, what)
    return {
        "models": [ref for ref, _ in models],
        "scores": list(params.scores),
        "params": dict(inputs.get("params") or {}),
        "reference_model": reference[0] if reference else None,
        "second_model": second[0] if second else None,
        "frequency_table": table_id,
        "batch_size": params.batch_size,
    }


def _title(kind: str, models: list[str], text: str) -> str:
    return f"{kind} · {', '.join(models)} · {' '.join(text.split())[:60]}"


def detect_text_submit(*, membership: Membership, user: User, inputs: dict[str, Any]) -> Job:
    try:
        texts = parse_texts(inputs)
    except DetectionJobError as exc:
        raise ApplicationError(str(exc)) from exc
    params = detect_validate(team=membership.team, inputs=inputs, texts=texts, what="Text")
    # The texts (up to 20 x 100,000 characters) live in an upload, not in the parameters every history page lists.
    params["texts"] = {"count": len(texts), "chars": [len(text) for text in texts]}
    title = _title("detect", params["models"], texts[0])
    with transaction.atomic():
        upload = upload_create_text(
            team=membership.team, owner=user, text=orjson.dumps(texts).decode(), filename="texts.json"
        )
        return job_create(
            team=membership.team, owner=user, kind="detect_text", params=params, title=title, input_upload=upload
        )


def detect_dataset_submit(
    *, membership: Membership, user: User, inputs: dict[str, Any], dataset: datasets.ParsedDataset
) -> Job:
    params = detect_validate(team=membership.team, inputs=inputs, texts=[row.text for row in dataset.rows], what="Row")
    params["dataset"] = dataset.describe()
    params["bootstrap"] = inputs.get("bootstrap", datasets.DEFAULT_BOOTSTRAP)
    params["seed"] = inputs.get("seed", 0)
    title = f"detect dataset · {', '.join(params['models'])} · {dataset.filename}"
    # The stored rows and their job are saved together (nothing half-saved), and queued once both are committed.
    with transaction.atomic():
        upload = upload_create_text(
            team=membership.team,
            owner=user,
            text=dataset.to_jsonl(),
            filename=dataset.filename,
            encoding=dataset.encoding,
        )
        return job_create(
            team=membership.team, owner=user, kind="detect_dataset", params=params, title=title, input_upload=upload
        )


def frequency_table_submit(
    *,
    membership: Membership,
    user: User,
    model: str,
    corpus: str | None,
    corpus_text: str | None,
    filename: str = "",
    encoding: str = "utf-8",
    max_tokens_per_text: int | None = None,
) -> Job:
    team = membership.team
    ref, spec = _model(team=team, ref=model, role="tokenizer's")
    if (corpus is None) == (corpus_text is None):
        raise ApplicationError("Choose one corpus: a shipped corpus id (corpus) or an uploaded text file (file).")
    params: dict[str, Any] = {
        "model": ref,
        "tokenizer_id": spec.tokenizer_id,
        "vocab_size": spec.vocab_size,
        "max_tokens_per_text": max_tokens_per_text,
    }
    if corpus is not None:
        try:
            found = shipped_corpus(corpus)
        except CorpusUnavailableError as exc:
            raise ApplicationError(str(exc)) from exc
        if not found.installed:
            raise ApplicationError(
                f"The corpus '{corpus}' is not installed on this server (package {found.package}).", status=409
            )
        params["corpus"] = {"shipped": corpus}
        return job_create(
            team=team,
            owner=user,
            kind=FREQUENCY_TABLE_KIND,
            params=params,
            title=f"frequencies · {spec.name} · {corpus}",
        )
    assert corpus_text is not None
    if not datasets.corpus_texts(corpus_text):
        raise ApplicationError(f"'{filename or 'The corpus'}' has no text: one text per non-empty line.")
    params["corpus"] = {"upload": filename or "corpus.txt", "encoding": encoding}
    with transaction.atomic():
        upload = upload_create_text(team=team, owner=user, text=corpus_text, filename=filename, encoding=encoding)
        return job_create(
            team=team,
            owner=user,
            kind=FREQUENCY_TABLE_KIND,
            params=params,
            title=f"frequencies · {spec.name} · {filename}",
            input_upload=upload,
        )
