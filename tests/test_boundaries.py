"""Architecture boundaries: the web process never imports torch; framework-free packages never import Django."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRAMEWORK_FREE = [
    "workers/pipelines",
    "workers/text_tokenizers",
    "workers/decoding",
    "workers/models",
    "workers/distill",
    "workers/detection",
    "workers/media",
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
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name != "__init__.py":
                names.append(".".join(path.relative_to(REPO).with_suffix("").parts))
    return names


def test_framework_free_code_never_imports_django() -> None:
    """Catches a pipeline or worker module that imports Django (directly or through what it imports). One
    interpreter imports every module in turn and names the first one after which Django is loaded."""
    modules = framework_free_modules()
    assert len(modules) > 50  # the folders were found
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'django' in sys.modules:\n"
        "        print(json.dumps(name)); break\n"
        "else:\n"
        "    print(json.dumps(None))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    culprit = json.loads(out.stdout.strip().splitlines()[-1])
    assert culprit is None, f"{culprit} imports Django"
