"""Distilling a real draft for SmolLM2-135M-Instruct with a small budget (about two minutes on one CPU core).

Fails when the model store has not been prepared (``python -m workers.model_store prepare``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workers.decoding.drafters import ModelDrafter
from workers.decoding.engine import MethodConfig, generate
from workers.distill.data import encode_prompt
from workers.models.catalog import resolve_model
from workers.models.registry import get_model
from workers.pipelines import distill_draft

pytestmark = pytest.mark.slow
TARGET = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def smollm2() -> Any:
    if not resolve_model(TARGET).available:
        pytest.fail(f"{TARGET} is not in the model store")
    return get_model(TARGET)


def test_distilled_draft_beats_its_init_and_is_lossless(smollm2: Any, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "smollm2-draft"
    summary = distill_draft.run(
        {
            "target": TARGET,
            "num_layers": 2,
            "num_sequences": 32,
            "max_new_tokens": 48,
            "max_steps": 60,
            "time_budget_s": 400,
            "output_dir": str(out),
        }
    )
    assert summary["training"]["steps"] == 60
    assert summary["draft"]["parameters"] < summary["draft"]["target_parameters"] / 2
    assert summary["agreement"]["after"] > summary["agreement"]["before"] + 0.02

    draft = AutoModelForCausalLM.from_pretrained(out).eval()
    eos = tuple(sorted(int(i) for i in {smollm2.tokenizer.eos_token_id, smollm2.model.config.eos_token_id}))
    for text in ("Give me three tips for staying focused while studying.", "Write a Python function that sums a list."):
        prompt = encode_prompt(smollm2.tokenizer, text, chat=True)
        baseline, _ = generate(smollm2.model, None, prompt, 32, MethodConfig(eos_token_ids=eos))
        config = MethodConfig(method="speculative", gamma=4, eos_token_ids=eos)
        output, trace = generate(smollm2.model, ModelDrafter(draft), prompt, 32, config)
        assert output == baseline
        assert trace.summary is not None and trace.summary.drafted > 0
