"""Architecture boundaries: the web process never imports torch; framework-free packages never import Django."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FRAMEWORK_FREE = [
    "workers/pipelines",
    "workers/text_tokenizers",
    "workers/decoding",
    "workers/models",
    "workers/distill",
    "workers/detection",
]


def imported_modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True, env=env)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_web_process_never_imports_torch() -> None:
    modules = imported_modules(
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'webapp.settings.test'\n"
        "import django; django.setup()\n"
        "from django.urls import resolve; import webapp.urls, webapp.asgi\n"
        "from apps.tokenization import services\n"
        "from workers.pipelines import tokenize\n"
        "from workers.text_tokenizers import catalog; [catalog.load_tokenizer(s.id) for s in catalog.builtin_specs()[:3]]\n"
    )
    assert "torch" not in modules
    assert "transformers" not in modules


def framework_free_modules() -> list[str]:
    names = []
    for folder in FRAMEWORK_FREE:
        for path in sorted((REPO / folder).glob("*.py")):
            if path.name != "__init__.py":
                names.append(".".join(path.relative_to(REPO).with_suffix("").parts))
    return names


@pytest.mark.parametrize("module", framework_free_modules())
def test_framework_free_code_never_imports_django(module: str) -> None:
    assert "django" not in imported_modules(f"import {module}")
