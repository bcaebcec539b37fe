"""The front end's speculative-decoding fixtures (``frontend/src/fixtures/speculative-*.json``), made by the real
pipeline so that they have exactly the fields a stored result has.

Regenerate after changing what ``workers.pipelines.speculative.run`` returns (needs the model store)::

    .venv/bin/python -m tests.workers.decoding.speculative_fixtures

``test_speculative_fixtures.py`` fails while a fixture's fields differ from a fresh pipeline result's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[3] / "frontend" / "src" / "fixtures"
TARGET = "smollm2-135m-instruct"
REPEAT = "Repeat exactly: the quick brown fox jumps over the lazy dog."

CASES: dict[str, dict[str, Any]] = {
    "greedy": {
        "drafter": {"kind": "prompt_lookup"},
        "prompt": REPEAT,
        "max_new_tokens": 32,
        "seed": 0,
    },
    "sampled": {
        "drafter": {"kind": "prompt_lookup", "min_ngram_size": 1},  # HF's rule: drafts often, rejections to show
        "prompt": REPEAT,
        "max_new_tokens": 24,
        "temperature": 0.8,
        "seed": 3,
    },
    "tree": {
        "drafter": {"kind": "tree_dyspec", "model": TARGET, "node_budget": 8},
        "prompt": "Count from 1 to 10.",
        "max_new_tokens": 12,
        "temperature": 0.9,
        "seed": 2,
    },
}
"""Each fixture's inputs, without the target model and the chat template (the bundled chat model uses both)."""


def path(name: str) -> Path:
    return FIXTURES / f"speculative-{name}.json"


def main() -> None:
    from workers.pipelines import speculative

    for name, inputs in CASES.items():
        result = speculative.run({"target": TARGET, "chat_template": True, **inputs})
        path(name).write_text(json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(f"wrote {path(name)}: {len(result['trace']['steps'])} steps, {len(result['output_ids'])} tokens")


if __name__ == "__main__":
    main()
