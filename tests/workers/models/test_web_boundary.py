"""The web process lists models from the catalogue; importing it must never pull in torch or transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import sys
import workers.models
from workers.models import catalog
from workers.models.catalog import ModelSpec, list_models, resolve_model
listed = list_models()
resolve_model("smollm2-135m-instruct")
heavy = sorted(name for name in ("torch", "transformers", "tokenizers", "safetensors") if name in sys.modules)
assert not heavy, f"catalog imported {heavy}"
print("ok", len(listed))
"""


def test_catalog_import_does_not_import_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok 4"
