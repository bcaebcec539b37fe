"""The tokenizer catalogue as a team sees it: the built-in tokenizers plus the team's own.

This module is the only bridge between Django and the framework-free engine in ``workers.text_tokenizers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.accounts.models import Team
from apps.catalog.models import CustomTokenizer
from apps.catalog.references import looks_like_path, saved_tokenizer_ref_for_team, tokenizer_ref_for_team
from apps.core.errors import ApplicationError, PayloadTooLarge
from apps.core.sizes import format_mib
from workers.text_tokenizers import catalog as engine_catalog
from workers.text_tokenizers.custom import load_hf, validate_upload
from workers.text_tokenizers.errors import TokenizerError

CUSTOM_PREFIX = "custom:"
_SUFFIX_KINDS = {
    ".json": CustomTokenizer.Kind.TOKENIZER_JSON,
    ".model": CustomTokenizer.Kind.SENTENCEPIECE,
    ".tiktoken": CustomTokenizer.Kind.TIKTOKEN,
}


def _custom_dict(custom: CustomTokenizer) -> dict[str, Any]:
    return {
        "id": custom.catalog_id,
        "name": custom.name,
        "family": "Custom",
        "algorithm": custom.info.get("algorithm", custom.get_kind_display()),
        "library": custom.info.get("library", ""),
        "vocab_size": custom.vocab_size,
        "special_tokens": custom.info.get("special_tokens", []),
        "source": _custom_source(custom),
        "licence": "as uploaded",
        "description": f"Added by {custom.created_by.username if custom.created_by else 'a former member'}.",
        "available": True,
        "builtin": False,
    }


def _custom_source(custom: CustomTokenizer) -> str:
    """Where it came from, in the user's terms: the hub id, the folder's name or the uploaded file's name (never a
    server path)."""
    if not custom.reference:
        return f"uploaded file {custom.info.get('filename', '')}".strip()
    if looks_like_path(custom.reference):
        return f"server folder {Path(custom.reference).name}"
    return f"Hugging Face hub {custom.reference}"


def tokenizer_list_for_team(*, team: Team) -> list[dict[str, Any]]:
    builtins = [spec.to_dict() for spec in engine_catalog.builtin_specs()]
    return builtins + [_custom_dict(c) for c in CustomTokenizer.objects.filter(team=team).select_related("created_by")]


def tokenizer_describe(*, team: Team, tokenizer_id: str) -> dict[str, Any]:
    for entry in tokenizer_list_for_team(team=team):
        if entry["id"] == tokenizer_id:
            return entry
    raise ApplicationError(f"Unknown tokenizer '{tokenizer_id}'. See GET /api/v1/tokenizers/ for the catalogue.")


def tokenizer_inputs_for_team(*, team: Team, tokenizer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Check every id is usable by this team; return the custom ones as pipeline inputs (path, kind, name)."""
    custom: dict[str, dict[str, Any]] = {}
    for tokenizer_id in tokenizer_ids:
        if tokenizer_id.startswith(CUSTOM_PREFIX):
            row_id = _uuid_or_none(tokenizer_id)
            row = CustomTokenizer.objects.filter(team=team, id=row_id).first() if row_id else None
            if row is None:
                raise ApplicationError(f"Unknown tokenizer '{tokenizer_id}' in this team.")
            custom[tokenizer_id] = {
                # A folder is checked again on every use: a row made before the allowed roots keeps no privilege.
                "path": row.file.path if row.file else saved_tokenizer_ref_for_team(team=team, ref=row.reference),
                "kind": row.kind,
                "name": row.name,
            }
        elif not engine_catalog.is_builtin(tokenizer_id):
            raise ApplicationError(
                f"Unknown tokenizer '{tokenizer_id}'. See GET /api/v1/tokenizers/ for the catalogue."
            )
        elif not engine_catalog.get_spec(tokenizer_id).available:
            raise ApplicationError(
                f"Tokenizer '{tokenizer_id}' is not installed on this server; run the set-up command to prepare it.",
                status=409,
            )
    return custom


def _uuid_or_none(tokenizer_id: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(tokenizer_id[len(CUSTOM_PREFIX) :]))
    except ValueError:
        return None


@transaction.atomic
def custom_tokenizer_create(
    *, team: Team, user: User, name: str, file: UploadedFile | None = None, reference: str = ""
) -> CustomTokenizer:
    """Validate by really loading the tokenizer; a file that does not load is refused with the loader's reason."""
    name = name.strip()
    if not name:
        raise ApplicationError("Give the tokenizer a name.")
    if file is None and not reference.strip():
        raise ApplicationError("Upload a tokenizer file, or give a Hugging Face hub id (owner/name) as hf_id.")
    if file is not None and reference.strip():
        raise ApplicationError("Send either a tokenizer file or hf_id, not both.")
    row = CustomTokenizer(team=team, created_by=user, name=name[:120])
    if file is not None:
        if file.size and file.size > settings.CUSTOM_TOKENIZER_MAX_BYTES:
            raise PayloadTooLarge(
                f"'{file.name}' is {format_mib(file.size)}; tokenizer files are limited to "
                f"{format_mib(settings.CUSTOM_TOKENIZER_MAX_BYTES)}."
            )
        suffix = Path(file.name or "").suffix.lower()
        if suffix not in _SUFFIX_KINDS:
            raise ApplicationError(
                "Upload a Hugging Face tokenizer.json, a SentencePiece .model or a tiktoken .tiktoken file."
            )
        row.kind = _SUFFIX_KINDS[suffix]
        row.file.save(f"{row.id}{suffix}", file, save=False)
        location = row.file.path
        row.info = {"filename": file.name}
    else:
        row.kind = CustomTokenizer.Kind.HF
        row.reference = tokenizer_ref_for_team(team=team, ref=reference)
        location = row.reference
    # What the user called it, to put in place of server paths and stored file names in any message.
    as_given = (file.name or "the file") if file is not None else reference.strip()
    try:
        if row.file:
            spec = validate_upload(location, filename=file.name if file else None, kind=row.kind, name=row.name)
        else:
            spec = load_hf(f"hf:{location}").spec
    except BaseException as exc:
        if row.file:
            row.file.delete(save=False)  # never leave an orphan file behind a refused upload, whatever the failure
        if isinstance(exc, TokenizerError):
            message = _without_server_paths(
                exc.message, location=location, as_given=as_given, is_upload=file is not None
            )
            raise ApplicationError(f"This tokenizer could not be loaded: {message}") from exc
        raise
    row.vocab_size = spec.vocab_size or 0
    row.info.update(
        {"special_tokens": list(spec.special_tokens)[:200], "algorithm": spec.algorithm, "library": spec.library}
    )
    row.save()
    return row


def _without_server_paths(message: str, *, location: str, as_given: str, is_upload: bool) -> str:
    """Put the user's own name for the file or folder in place of where the server keeps it."""
    server_names = [location, Path(location).name] if is_upload else [location]  # an upload's stored <uuid>.json too
    for server_name in server_names:
        message = message.replace(server_name, as_given)
    return message
