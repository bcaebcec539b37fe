"""The web process may import the detection names (SCORES, the metrics) without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from workers.detection import SCORES

REPO = Path(__file__).resolve().parents[3]


def test_importing_the_package_imports_neither_torch_nor_django() -> None:
    """Catches a module-level ``import torch`` (or Django) in workers/detection, which the web process imports."""
    script = "import workers.detection, json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not {"torch", "transformers", "django"} & modules


def test_every_score_states_its_task_direction_and_inputs() -> None:
    """Catches a score added without a sign convention consistent with its task."""
    for name, spec in SCORES.items():
        assert spec.name == name
        allowed = {"membership": {"member", "non-member"}, "machine": {"machine", "human"}}[spec.task]
        assert spec.higher_means in allowed, name
        assert spec.needs <= {"lowercase_text", "reference_model", "second_model", "frequency_table"}
