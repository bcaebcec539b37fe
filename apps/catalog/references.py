"""Which model and tokenizer references a team may use: the one place that turns a user's string into something a
worker may open.

A reference is a catalogue id, a Hugging Face hub id (``org/name[@revision]``: never looked up on disk), or a
folder. A folder is usable only when, with symlinks and ``..`` resolved, it lies

- in this team's own area of a team-partitioned store (its distilled drafts, ``<model store>/drafts/<team slug>``);
  every other team's area, and the uploads folder (``MEDIA_ROOT``: uploads are chosen by id), is refused; or
- under a root the administrator allows (``TOKENSCOPE_ALLOWED_MODEL_ROOTS``; none on a hosted instance, the model
  store on the embedded default).

Every refused folder gets the same message, so a caller learns nothing about what exists on the server.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from apps.accounts.models import Team
from apps.core.errors import ApplicationError
from workers.model_store.store import store_dir
from workers.models.hub import is_hub_id

ALLOWED_FOLDERS = "a folder under the model folders this server's administrator allows (TOKENSCOPE_ALLOWED_MODEL_ROOTS)"
REFUSED_MODEL_FOLDER = (
    "The {role} model must be a model id from GET /api/v1/models/ (bundled models and your team's distilled drafts), "
    f"a Hugging Face hub id (org/name) or {ALLOWED_FOLDERS}. This path is none of these."
)
REFUSED_TOKENIZER_FOLDER = (
    f"hf_id must be a Hugging Face hub id (owner/name) or {ALLOWED_FOLDERS}. This path is none of these; to use "
    "your own tokenizer file, upload it."
)


def drafts_root() -> Path:
    """Distilled drafts, one folder per team: ``<model store>/drafts/<team slug>/<job id>``."""
    return store_dir() / "drafts"


def team_drafts_folder(*, team: Team) -> Path:
    return drafts_root() / team.slug


def looks_like_path(ref: str) -> bool:
    """A reference that is not a hub id and reads as a path (``/…``, ``./…``, ``~/…``, ``a/b/c``, ``C:\\…``)."""
    return not is_hub_id(ref) and (ref.startswith((".", "~")) or "/" in ref or "\\" in ref)


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def allowed_model_roots() -> list[Path]:
    return [_real(Path(root).expanduser()) for root in settings.TOKENSCOPE_ALLOWED_MODEL_ROOTS if str(root).strip()]


def folder_for_team(*, team: Team, ref: str, refused_message: str) -> Path:
    """The real folder a path reference names, when this team may use it; otherwise one message for every refusal.

    Relative paths are taken from the project folder (where the server runs). The answer is the resolved path, so
    what a worker later opens is what was checked here.
    """
    refused = ApplicationError(refused_message)
    if "\x00" in ref:  # no file system call accepts it
        raise refused
    path = Path(ref.strip()).expanduser()
    if not path.is_absolute():
        path = Path(settings.BASE_DIR) / path
    real = _real(path)
    team_areas = [(_real(drafts_root()), _real(team_drafts_folder(team=team))), (_real(settings.MEDIA_ROOT), None)]
    for area, own in team_areas:
        if real.is_relative_to(area):
            if own is not None and real.is_relative_to(own) and real != own:
                return real
            raise refused
    if any(real.is_relative_to(root) for root in allowed_model_roots()):
        return real
    raise refused


def model_ref_for_team(*, team: Team, ref: str, role: str) -> str:
    """The reference as the job will carry it: folders replaced by their checked real path, the rest unchanged
    (catalogue and hub ids are resolved by ``workers.models.catalog.resolve_model``)."""
    ref = ref.strip()
    if looks_like_path(ref):
        return str(folder_for_team(team=team, ref=ref, refused_message=REFUSED_MODEL_FOLDER.format(role=role)))
    return ref


def tokenizer_ref_for_team(*, team: Team, ref: str) -> str:
    """A custom tokenizer's ``hf_id``: a hub id, or an allowed folder (returned as its real path)."""
    ref = ref.strip()
    if is_hub_id(ref) and "@" not in ref:
        return ref
    if looks_like_path(ref):
        return str(folder_for_team(team=team, ref=ref, refused_message=REFUSED_TOKENIZER_FOLDER))
    raise ApplicationError(
        f"{ref[:100]!r} is not a Hugging Face hub id: write it as owner/name (for example openai-community/gpt2), "
        "or upload the tokenizer file."
    )


def saved_tokenizer_ref_for_team(*, team: Team, ref: str) -> str:
    """A saved ``hf_id`` as the loader gets it on every use: a folder is checked again (a row saved before the
    allow-list gains nothing from its age); a hub id, including a legacy single name such as ``gpt2``, is passed on
    as an id."""
    ref = ref.strip()
    if looks_like_path(ref):
        return str(folder_for_team(team=team, ref=ref, refused_message=REFUSED_TOKENIZER_FOLDER))
    return ref
