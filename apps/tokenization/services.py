"""Tokenize text for a team: small inputs in the request, large ones as queued jobs. Every result is saved."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership
from apps.catalog.services import tokenizer_inputs_for_team
from apps.core.errors import ApplicationError, PayloadTooLarge
from apps.core.sizes import format_mib
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create
from apps.uploads.services import StoredBytes, upload_create_text
from workers.pipelines import tokenize as tokenize_pipeline
from workers.text_tokenizers.errors import TokenizerError


@dataclass(frozen=True)
class TokenizeOutcome:
    job: Job
    ran_inline: bool


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def _title(text: str, filename: str) -> str:
    """A one-line label for the history: no control characters (a title column cannot hold NUL on Postgres)."""
    if filename:
        return _CONTROLS.sub("", filename)[:200]
    first_line = " ".join(_CONTROLS.sub(" ", text[:1000]).split())
    return first_line[:80] + ("…" if len(first_line) > 80 else "")


def tokenize_validate(
    *, text: str, tokenizers: list[str], baseline: str | None, utf8_size: int | None = None
) -> tuple[list[str], str, int]:
    if not text:
        raise ApplicationError("There is no text to tokenize: paste some text or upload a text file.")
    try:
        size = utf8_size if utf8_size is not None else len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ApplicationError(
            f"The text contains an unpaired surrogate (invalid Unicode) at character {exc.start}; remove it and retry."
        ) from exc
    if size > settings.TOKENIZE_MAX_BYTES:
        raise PayloadTooLarge(
            f"The text is {format_mib(size)}; the limit is {format_mib(settings.TOKENIZE_MAX_BYTES)}. "
            "Split it into smaller files."
        )
    if not tokenizers:
        raise ApplicationError("Choose at least one tokenizer.")
    if len(tokenizers) > settings.TOKENIZE_MAX_TOKENIZERS:
        raise ApplicationError(f"Compare at most {settings.TOKENIZE_MAX_TOKENIZERS} tokenizers at once.")
    if len(set(tokenizers)) != len(tokenizers):
        raise ApplicationError("Each tokenizer may be chosen only once.")
    baseline = baseline or tokenizers[0]
    if baseline not in tokenizers:
        raise ApplicationError("The baseline must be one of the chosen tokenizers.")
    return tokenizers, baseline, size


def tokenize_submit(
    *,
    membership: Membership,
    user: User,
    text: str,
    tokenizers: list[str],
    baseline: str | None = None,
    filename: str = "",
    encoding: str = "utf-8",
    special_tokens: str = "plain",
    stored_as_is: StoredBytes | None = None,
) -> TokenizeOutcome:
    """``stored_as_is``: the uploaded file when its bytes are exactly the text's UTF-8 (kept as the job's input)."""
    utf8_size = len(stored_as_is.data) if stored_as_is is not None else None
    tokenizers, baseline, size = tokenize_validate(
        text=text, tokenizers=tokenizers, baseline=baseline, utf8_size=utf8_size
    )
    filename = _CONTROLS.sub("", filename)
    team = membership.team
    custom = tokenizer_inputs_for_team(team=team, tokenizer_ids=tokenizers)
    params: dict[str, Any] = {
        "tokenizers": tokenizers,
        "baseline": baseline,
        "bytes": size,
        "filename": filename,
        "encoding": encoding,
        "special_tokens": special_tokens,
    }
    if size <= settings.TOKENIZE_SYNC_MAX_BYTES:
        started = timezone.now()
        t0 = time.perf_counter()
        inputs = {
            "text": text,
            "tokenizers": tokenizers,
            "baseline": baseline,
            "custom": custom,
            "special_tokens": special_tokens,
        }
        try:
            result = tokenize_pipeline.run(inputs, lambda *args, **kwargs: None)
        except TokenizerError as exc:  # e.g. a team's own tokenizer crashed or ran out of time in its sandbox
            raise ApplicationError(exc.message) from exc
        versions = result.pop("versions", {})
        params["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        job = Job.objects.create(
            team=team,
            owner=user,
            kind="tokenize",
            title=_title(text, filename),
            params=params,
            status=JobStatus.SUCCEEDED,
            progress=1.0,
            message="done",
            result=result,
            versions=versions,
            started_at=started,
            finished_at=timezone.now(),
            worker="web (inline)",
        )
        return TokenizeOutcome(job=job, ran_inline=True)

    # The upload and its job are stored together (a web process killed between the two left an upload without a
    # job); the job is queued once both are committed.
    with transaction.atomic():
        upload = upload_create_text(
            team=team, owner=user, text=text, filename=filename, encoding=encoding, stored_as_is=stored_as_is
        )
        job = job_create(
            team=team, owner=user, kind="tokenize", params=params, title=_title(text, filename), input_upload=upload
        )
    return TokenizeOutcome(job=job, ran_inline=False)
